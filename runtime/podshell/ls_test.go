package podshell

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestModeString(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0o755, "-rwxr-xr-x"},
		{0o640, "-rw-r-----"},
		{0, "----------"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeDir | fs.ModeSticky | 0o770, "drwxrwx--T"},
		{fs.ModeSetuid | 0o755, "-rwsr-xr-x"},
		{fs.ModeSetuid | 0o644, "-rwSr--r--"},
		{fs.ModeSetgid | 0o2750, "-rwxr-s---"},
		{fs.ModeSetgid | 0o640, "-rw-r-S---"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "crw-rw-rw-"},
		{fs.ModeDevice | 0o660, "brw-rw----"},
		{fs.ModeNamedPipe | 0o644, "prw-r--r--"},
		{fs.ModeSocket | 0o755, "srwxr-xr-x"},
	}
	for _, tt := range tests {
		if got := modeString(tt.mode); got != tt.want {
			t.Errorf("modeString(%v) = %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	tests := map[int64]string{
		0: "0", 1023: "1023", 1024: "1.0K", 1025: "1.1K", 1536: "1.5K", 10239: "10K", 10240: "10K",
		10241: "11K", 1048575: "1.0M", 1048576: "1.0M", 1073741824: "1.0G", 5000000000000: "4.6T",
	}
	for n, want := range tests {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLsTime(t *testing.T) {
	now := time.Date(2026, time.May, 9, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{now.Add(-time.Hour), "May  9 11:00"},
		{time.Date(2026, time.January, 2, 3, 4, 0, 0, time.UTC), "Jan  2 03:04"},
		{time.Date(2025, time.October, 30, 0, 0, 0, 0, time.UTC), "Oct 30  2025"},
		{time.Date(2020, time.March, 4, 5, 6, 0, 0, time.UTC), "Mar  4  2020"},
		{now.Add(time.Hour), "May  9  2026"}, // from the future: its year, as GNU ls
	}
	for _, tt := range tests {
		if got := lsTime(tt.t, now); got != tt.want {
			t.Errorf("lsTime(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// lsTree makes files with known modes, sizes and times in a new directory,
// which it makes the current one.
func lsTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	old := time.Date(2020, time.March, 4, 5, 6, 0, 0, time.Local)
	files := []struct {
		name string
		data string
		mode fs.FileMode
	}{{"data", "hello", 0o640}, {"run.sh", "#!/bin/sh\nexit\n", 0o755}, {".hidden", "", 0o600}}
	for _, f := range files {
		if err := os.WriteFile(f.name, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f.name, f.mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
		if err := os.Chtimes(f.name, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("data", "link"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLsLong(t *testing.T) {
	lsTree(t)
	link, err := os.Lstat("link")
	if err != nil {
		t.Fatal(err)
	}
	ids := fmt.Sprintf("%d %d", os.Getuid(), os.Getgid())
	want := result{
		Out: "-rw-r----- 1 " + ids + "  5 Mar  4  2020 data\n" +
			"lrwxrwxrwx 1 " + ids + "  4 " + lsTime(link.ModTime(), time.Now()) + " link -> data\n" +
			"-rwxr-xr-x 1 " + ids + " 15 Mar  4  2020 run.sh\n",
		Err:    "ls: cannot access 'missing': No such file or directory\n",
		Status: exitTrouble,
	}
	if diff := cmp.Diff(want, runTool(t, "ls", "", "-ln", "run.sh", "missing", "link", "data")); diff != "" {
		t.Errorf("ls -ln (-want +got):\n%s", diff)
	}
}

func TestLsDirectoryLong(t *testing.T) {
	lsTree(t)
	got := runTool(t, "ls", "", "-l", "-n", ".")
	lines := strings.Split(got.Out, "\n")
	if got.Status != exitOK || got.Err != "" || !regexp.MustCompile(`^total [0-9]+$`).MatchString(lines[0]) {
		t.Fatalf("ls -ln . = %+v, want a total first", got)
	}
	var names []string
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		names = append(names, strings.Join(f[8:], " "))
	}
	if diff := cmp.Diff([]string{"data", "link -> data", "run.sh", "sub"}, names); diff != "" {
		t.Errorf("ls -ln . names (-want +got):\n%s", diff)
	}
}

func TestLs(t *testing.T) {
	dir := lsTree(t)
	tests := []struct {
		args []string
		want result
	}{
		{nil, result{Out: "data\nlink\nrun.sh\nsub\n"}},
		{[]string{"-a"}, result{Out: ".\n..\n.hidden\ndata\nlink\nrun.sh\nsub\n"}},
		{[]string{"-A"}, result{Out: ".hidden\ndata\nlink\nrun.sh\nsub\n"}},
		{[]string{"-r", "."}, result{Out: "sub\nrun.sh\nlink\ndata\n"}},
		{[]string{"-d", ".", "sub"}, result{Out: ".\nsub\n"}},
		{[]string{"sub", "data", dir}, result{Out: "data\n\n" + dir + ":\ndata\nlink\nrun.sh\nsub\n\nsub:\n"}},
		{[]string{"nope", "sub"}, result{Out: "sub:\n", Err: "ls: cannot access 'nope': No such file or directory\n", Status: exitTrouble}},
		{[]string{"-Z"}, result{Err: "ls: invalid option -- 'Z'\nTry 'ls --help' for more information.\n", Status: exitTrouble}},
		{[]string{"--", "-Z"}, result{Err: "ls: cannot access '-Z': No such file or directory\n", Status: exitTrouble}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, runTool(t, "ls", "", tt.args...)); diff != "" {
			t.Errorf("ls %q (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestLsOwnerNames(t *testing.T) {
	dir := lsTree(t)
	got := runTool(t, "ls", "", "-ld", dir)
	f := strings.Fields(got.Out)
	if got.Status != exitOK || len(f) < 9 {
		t.Fatalf("ls -ld = %+v", got)
	}
	o := newOwners(false)
	if f[2] != o.user(uint32(os.Getuid())) || f[3] != o.group(uint32(os.Getgid())) {
		t.Errorf("ls -ld owner and group = %s %s, want this process's", f[2], f[3])
	}
	if filepath.Base(f[8]) != filepath.Base(dir) {
		t.Errorf("ls -ld name = %s, want %s", f[8], dir)
	}
}
