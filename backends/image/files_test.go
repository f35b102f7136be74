package image

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/meshc/meshc/backends"
)

// TestFiles resolves exec(...) and wasm(...) paths as meshc run does, and
// says what it does not copy and what is missing, at the component.
func TestFiles(t *testing.T) {
	tests := []struct {
		name      string
		use       string
		files     map[string]string
		want      []string // paths in the image
		wantNotes []string
		wantErr   string
	}{
		{name: "python script", use: `exec("python3", "shout.py")`, files: map[string]string{"shout.py": ""},
			want:      []string{"/mesh/shout.py"},
			wantNotes: []string{`base: runs "python3" from PATH: it is not copied, the base image (--base) must have it`}},
		{name: "program and data folder", use: `exec("./bin/fn", "--rate", "0.5", "data/")`,
			files:     map[string]string{"bin/fn": "", "data/a.csv": "", "data/sub/b.csv": ""},
			want:      []string{"/mesh/bin/fn", "/mesh/data/a.csv", "/mesh/data/sub/b.csv"},
			wantNotes: []string{`the argument "0.5" looks like a file, but there is no DIR/0.5: it is not copied`}},
		{name: "absolute program", use: `exec("/usr/bin/fn")`, wantNotes: []string{`base: runs "/usr/bin/fn", an absolute path: it is not copied, the base image (--base) must have it`}},
		{name: "wasm", use: `wasm("mods/f.wasm")`, files: map[string]string{"mods/f.wasm": ""}, want: []string{"/mesh/mods/f.wasm"}},
		{name: "missing program", use: `exec("./fn.sh")`, wantErr: `function f: the program "./fn.sh" is missing: there is no DIR/fn.sh; create it`},
		{name: "missing script", use: `exec("python3", "fn.py")`, wantErr: `function f: the file "fn.py" is missing: there is no DIR/fn.py`,
			wantNotes: []string{`base: runs "python3" from PATH: it is not copied, the base image (--base) must have it`}},
		{name: "missing module", use: `wasm("f.wasm")`, wantErr: `function f: the WebAssembly module "f.wasm" is missing`},
		{name: "outside", use: `exec("../fn")`, wantErr: `function f: the program "../fn" is outside the mesh file's folder DIR`},
		{name: "builtin", use: `builtin.identity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"m.mesh": "mesh m {}\ntopic in string external\nfunction f(in) {\n  use = " + tt.use + "\n}\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			got, notes, err := Files(planOf(t, dir, "m.mesh"), dir)
			var paths []string
			for _, f := range got {
				paths = append(paths, f.Path)
				if want := filepath.Join(dir, strings.TrimPrefix(f.Path, "/mesh/")); f.Source != want {
					t.Errorf("%s comes from %s, want %s", f.Path, f.Source, want)
				}
			}
			if diff := cmp.Diff(tt.want, paths); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			var texts []string
			for _, n := range notes {
				text := strings.ReplaceAll(n.Message, dir, "DIR")
				if n.FromBase {
					text = "base: " + text
				}
				texts = append(texts, text)
			}
			if diff := cmp.Diff(tt.wantNotes, texts); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if got := strings.ReplaceAll(errText(err), dir, "DIR"); !strings.HasPrefix(got, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
				t.Errorf("error %q, want one starting %q", got, tt.wantErr)
			}
			if mes, _ := backends.MeshErrors(err); err != nil && (len(mes) != 1 || mes[0].Option != "use") {
				t.Errorf("error %v is not a MeshError at use", err)
			}
		})
	}
}

// TestFileModes keeps executables executable and makes the rest 0644.
func TestFileModes(t *testing.T) {
	dir := writeFiles(t, map[string]string{"fn": "#!/bin/sh\n", "data.txt": "x"})
	if err := os.Chmod(filepath.Join(dir, "fn"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"fn": modeExec, "data.txt": modeFile} {
		e, err := fileEntry(File{Path: "/mesh/" + name, Source: filepath.Join(dir, name)})
		if err != nil || e.mode != want {
			t.Errorf("%s: mode %o (%v), want %o", name, e.mode, err, want)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "linux/amd64,linux/arm64", want: []string{"linux/amd64", "linux/arm64"}},
		{in: " linux/arm/v7 , linux/arm/v7,linux/amd64", want: []string{"linux/arm/v7", "linux/amd64"}},
		{in: "windows/amd64", wantErr: "images are built for linux only"},
		{in: "linux/sparc", wantErr: "the architecture is one of 386, amd64"},
		{in: "linux", wantErr: "the architecture is one of"},
		{in: "linux/amd64/v3/x", wantErr: "write OS/ARCH or OS/ARCH/VARIANT"},
		{in: ",", wantErr: "no platform"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ps, err := ParsePlatforms(tt.in)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
			if !strings.Contains(errText(err), tt.wantErr) || (tt.wantErr != "" && !errors.Is(err, ErrPlatform)) {
				t.Errorf("error %v, want ErrPlatform with %q", err, tt.wantErr)
			}
		})
	}
}

func TestGoEnv(t *testing.T) {
	for p, want := range map[string][]string{
		"linux/arm/v6":   {"GOOS=linux", "GOARCH=arm", "GOARM=6"},
		"linux/amd64/v3": {"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"},
		"linux/arm64":    {"GOOS=linux", "GOARCH=arm64"},
	} {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, goEnv(*pl)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
	}
}

// TestELFPlatform reads a binary's platform from its ELF header.
func TestELFPlatform(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		wantErr          error
	}{
		{"amd64", fakeELF(t, t.TempDir(), "amd64", elf.ELFOSABI_NONE), "linux/amd64", nil},
		{"arm64", fakeELF(t, t.TempDir(), "arm64", elf.ELFOSABI_LINUX), "linux/arm64", nil},
		{"freebsd", fakeELF(t, t.TempDir(), "amd64", elf.ELFOSABI_FREEBSD), "", ErrNotLinuxBinary},
		{"script", notELF, "", ErrNotLinuxBinary},
		{"missing", filepath.Join(dir, "nothing"), "", ErrNotLinuxBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ELFPlatform(tt.path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err == nil && p.String() != tt.want {
				t.Errorf("platform %s, want %s", p, tt.want)
			}
		})
	}
}
