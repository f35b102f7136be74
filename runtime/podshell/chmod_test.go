package podshell

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMode(t *testing.T) {
	const (
		file = false
		dir  = true
	)
	tests := []struct {
		mode  string
		old   uint32
		dir   bool
		umask uint32
		want  uint32
	}{
		{"755", 0o644, file, 0o022, 0o755},
		{"0644", 0o755, file, 0o022, 0o644},
		{"4755", 0o755, file, 0o022, 0o4755},
		{"0", 0o777, file, 0o022, 0},
		{"+x", 0o644, file, 0o022, 0o755},
		{"+x", 0o644, file, 0o077, 0o744}, // no class named: the umask's bits stay
		{"u+x", 0o644, file, 0o077, 0o744},
		{"a+x", 0o600, file, 0o077, 0o711},
		{"go-w", 0o666, file, 0o022, 0o644},
		{"a=r", 0o755, file, 0o022, 0o444},
		{"u+x,g+r", 0o600, file, 0o022, 0o740},
		{"u=rwx,go=rx", 0, file, 0o022, 0o755},
		{"a+rwx-w", 0, file, 0o022, 0o555},
		{"=", 0o755, file, 0o022, 0},
		{"-w", 0o666, file, 0o022, 0o466},
		{"g=u", 0o640, file, 0o022, 0o660},
		{"o=g", 0o750, file, 0o022, 0o755},
		{"+X", 0o644, file, 0o022, 0o644},
		{"+X", 0o744, file, 0o022, 0o755},
		{"+X", 0o644, dir, 0o022, 0o755},
		{"u+s", 0o755, file, 0o022, 0o4755},
		{"ug+s", 0o755, file, 0o022, 0o6755},
		{"+t", 0o755, dir, 0o022, 0o1755},
		{"o-t", 0o1777, dir, 0o022, 0o777},
		{"g-s", 0o2755, dir, 0o022, 0o755},
		// A directory keeps its set-ID bits unless a mode names them.
		{"755", 0o2755, dir, 0o022, 0o2755},
		{"00755", 0o2755, dir, 0o022, 0o755},
		{"=", 0o2755, dir, 0o022, 0o2000},
		{"u=rwx", 0o4755, dir, 0o022, 0o4755},
		{"a=rwx", 0o6000, dir, 0o022, 0o6777},
	}
	for _, tt := range tests {
		changes, err := parseMode(tt.mode)
		if err != nil {
			t.Errorf("parseMode(%q): %v", tt.mode, err)
			continue
		}
		if got := changes.apply(tt.old, tt.dir, tt.umask); got != tt.want {
			t.Errorf("chmod %s on %04o (dir %v, umask %03o) = %04o, want %04o", tt.mode, tt.old, tt.dir, tt.umask, got, tt.want)
		}
	}
}

func TestParseModeInvalid(t *testing.T) {
	for _, mode := range []string{"", "8", "0778", "77777", "-0", "u", "x", "+q", "u+x,", "u+x,,g+r", "z=r", "u+x g+r", "7a"} {
		if _, err := parseMode(mode); !errors.Is(err, errInvalidMode) {
			t.Errorf("parseMode(%q) = %v, want %v", mode, err, errInvalidMode)
		}
	}
}

func TestChmod(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"a", "tree/b", "tree/sub/c"} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/nonexistent", "tree/link"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args  []string
		want  result
		modes map[string]os.FileMode
	}{
		{[]string{"u+x,go=r", "a"}, result{}, map[string]os.FileMode{"a": 0o744}},
		{[]string{"-R", "go+rX", "tree"}, result{}, map[string]os.FileMode{"tree": 0o755, "tree/sub": 0o755, "tree/sub/c": 0o644}},
		{[]string{"0600", "missing", "a"}, result{Err: "chmod: cannot access 'missing': No such file or directory\n", Status: exitFailure},
			map[string]os.FileMode{"a": 0o600}},
		{[]string{"-f", "600", "missing"}, result{Status: exitFailure}, nil},
		{[]string{"q+", "a"}, result{Err: "chmod: invalid mode: 'q+'\nTry 'chmod --help' for more information.\n", Status: exitFailure}, nil},
		{[]string{"755"}, result{Err: "chmod: missing operand after '755'\nTry 'chmod --help' for more information.\n", Status: exitFailure}, nil},
		{nil, result{Err: "chmod: missing operand\nTry 'chmod --help' for more information.\n", Status: exitFailure}, nil},
		{[]string{"-Z", "755", "a"}, result{Err: "chmod: invalid option -- 'Z'\nTry 'chmod --help' for more information.\n", Status: exitFailure}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, runTool(t, "chmod", "", tt.args...)); diff != "" {
			t.Errorf("chmod %q (-want +got):\n%s", tt.args, diff)
		}
		for name, want := range tt.modes {
			if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != want {
				t.Errorf("after chmod %q, %s: %v %v, want %v", tt.args, name, fi.Mode().Perm(), err, want)
			}
		}
	}
}

func TestChmodNotPermitted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc, where no one may change a mode")
	}
	const file = "/proc/self/status"
	want := result{Err: "chmod: changing permissions of '" + file + "': Operation not permitted\n", Status: exitFailure}
	if diff := cmp.Diff(want, runTool(t, "chmod", "", "644", file)); diff != "" {
		t.Errorf("chmod 644 %s (-want +got):\n%s", file, diff)
	}
}

func FuzzChmodMode(f *testing.F) {
	for _, s := range []string{"755", "0644", "00755", "+x", "u+x", "go-w", "a=r", "u+x,g+r", "=", "g=u", "+X", "u+s,o-t", "a+rwx-w", "-w", "7777", "77777", "u+x,"} {
		f.Add(s, uint32(0o644), false, uint32(0o022))
	}
	f.Fuzz(func(t *testing.T, mode string, old uint32, dir bool, umask uint32) {
		changes, err := parseMode(mode)
		if err != nil {
			return
		}
		got := changes.apply(old, dir, umask)
		if got&^modeAll != 0 {
			t.Fatalf("chmod %q on %o = %o: not a mode", mode, old, got)
		}
		// An octal mode is the mode a file gets, whatever it had.
		if v, err := strconv.ParseUint(mode, 8, 32); err == nil && !dir && got != uint32(v) {
			t.Fatalf("chmod %s on %o = %o, want %s", mode, old, got, fmt.Sprintf("%o", v))
		}
	})
}
