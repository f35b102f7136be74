package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// pyMesh has an exec Python function, a wasm function and a built-in,
// with the files they name.
var pyMesh = map[string]string{
	"shop.mesh": `mesh shop {}
topic lines string
topic loud string
topic echoed string
source gen -> lines {
  use = builtin.generator
  config { lines = ["a"] }
}
function shout(lines) -> loud {
  use = exec("python3", "fn/shout.py")
}
function echo(loud) -> echoed {
  use = wasm("echo.wasm")
}
sink print(echoed) { use = builtin.stdout }
`,
	"fn/shout.py": "import meshc_function\nmeshc_function.run(lambda m, c: m.text.upper())\n",
	"echo.wasm":   "\x00asm\x01\x00\x00\x00",
	"unused.txt":  "not in the image",
}

// writeFiles writes files into a new folder and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// planOf compiles and plans the mesh file name in dir.
func planOf(t testing.TB, dir, name string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", name, diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", name, diags)
	}
	return planner.Plan(m, planner.Options{Source: filepath.Join(dir, name)})
}

// elfMachines are the machines of fake binaries, by GOARCH.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "riscv64": elf.EM_RISCV}

// fakeELF writes the 64 bytes of an ELF header of a Linux executable for
// arch with osabi: enough for ELFPlatform, and no time spent compiling.
func fakeELF(t testing.TB, dir, arch string, osabi elf.OSABI) string {
	t.Helper()
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(elfMachines[arch]), Version: uint32(elf.EV_CURRENT), Ehsize: 64, Phentsize: 56, Shentsize: 64}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	h.Ident[elf.EI_OSABI] = byte(osabi)
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fake-"+arch)
	if err := os.WriteFile(path, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeBinary is an instance binary named meshrt made of a fake ELF per
// platform, for tests that do not run it.
func fakeBinary(t testing.TB) Binary {
	dir := t.TempDir()
	return Binary{Name: MeshrtName, file: func(_ context.Context, p v1.Platform, _ string) (string, error) {
		if _, ok := elfMachines[p.Architecture]; !ok {
			return "", fmt.Errorf("no fake binary for %s", p)
		}
		return fakeELF(t, dir, p.Architecture, elf.ELFOSABI_NONE), nil
	}}
}

// testCerts is a stand-in for this machine's CA certificates.
func testCerts(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// testOptions build the image of pyMesh with fake binaries.
func testOptions(t testing.TB) Options {
	t.Helper()
	dir := writeFiles(t, pyMesh)
	return Options{Plan: planOf(t, dir, "shop.mesh"), Dir: dir, Binary: fakeBinary(t), CACerts: testCerts(t)}
}

func build(t testing.TB, o Options) *Image {
	t.Helper()
	img, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t testing.TB, img interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tarEntry is what a test checks of a layer's entry.
type tarEntry struct {
	Name     string
	Link     string
	Mode     int64
	UID, GID int
	ModTime  time.Time
}

// layerEntries lists a layer's tar.
func layerEntries(t testing.TB, l v1.Layer) []tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var es []tarEntry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, tarEntry{Name: h.Name, Link: h.Linkname, Mode: h.Mode, UID: h.Uid, GID: h.Gid, ModTime: h.ModTime.UTC()})
	}
}
