package podshell

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// lsOptions are the ls options supported: -1aAdhlnrt.
type lsOptions struct {
	long      bool // -l
	numeric   bool // -n: -l with numeric user and group IDs
	all       bool // -a: with . and .. and hidden files
	almostAll bool // -A: with hidden files
	dirs      bool // -d: directories themselves, not their contents
	human     bool // -h: sizes such as 4.0K
	byTime    bool // -t: newest first
	reverse   bool // -r
}

// An lsFile is a file to list: its name as shown, where it is, and its
// lstat.
type lsFile struct {
	name string
	path string
	info fs.FileInfo
}

// A lister is one run of ls.
type lister struct {
	p      *proc
	opts   lsOptions
	out    *bufio.Writer
	now    time.Time
	owners *owners
	status int
}

func runLs(p *proc) int {
	opts, names, err := parseLsArgs(p.args)
	if err != nil {
		p.usage(err)
		return exitTrouble
	}
	if len(names) == 0 {
		names = []string{"."}
	}
	l := &lister{p: p, opts: opts, out: bufio.NewWriter(p.stdout), now: time.Now(),
		owners: newOwners(opts.numeric)}
	l.list(names)
	if err := l.out.Flush(); err != nil {
		p.errorf("write error: %s", errText(err))
		return exitTrouble
	}
	return l.status
}

// parseLsArgs takes options anywhere before "--", as GNU ls does.
func parseLsArgs(args []string) (lsOptions, []string, error) {
	var opts lsOptions
	var names []string
	options := true
	for _, a := range args {
		switch {
		case !options || len(a) < 2 || a[0] != '-':
			names = append(names, a)
		case a == "--":
			options = false
		case strings.HasPrefix(a, "--"):
			return opts, nil, fmt.Errorf("%w '%s'", errUnrecognized, a)
		default:
			if err := opts.set(a[1:]); err != nil {
				return opts, nil, err
			}
		}
	}
	return opts, names, nil
}

func (o *lsOptions) set(flags string) error {
	for _, c := range flags {
		switch c {
		case '1': // one name a line is what ls always does here
		case 'l':
			o.long = true
		case 'n':
			o.long, o.numeric = true, true
		case 'a':
			o.all = true
		case 'A':
			o.almostAll = true
		case 'd':
			o.dirs = true
		case 'h':
			o.human = true
		case 't':
			o.byTime = true
		case 'r':
			o.reverse = true
		default:
			return fmt.Errorf("%w -- '%c'", errInvalidOption, c)
		}
	}
	return nil
}

// list lists its operands as GNU ls does: errors first, then the files,
// then each directory's contents, under its name when there is more than
// one operand.
func (l *lister) list(names []string) {
	var files, dirs []lsFile
	for _, name := range names {
		f, isDir, err := l.operand(name)
		switch {
		case err != nil:
			l.p.errorf("cannot access '%s': %s", name, errText(err))
			l.status = exitTrouble
		case isDir && !l.opts.dirs:
			dirs = append(dirs, f)
		default:
			files = append(files, f)
		}
	}
	l.sort(files)
	l.sort(dirs)
	// GNU ls lines up the files' columns with the directories' too.
	l.print(files, dirs...)
	for i, d := range dirs {
		if i > 0 || len(files) > 0 {
			l.out.WriteString("\n")
		}
		if len(names) > 1 {
			fmt.Fprintf(l.out, "%s:\n", d.name)
		}
		l.listDir(d)
	}
}

// operand stats a command-line name. A link to a directory is the
// directory, unless the listing is long, as with GNU ls.
func (l *lister) operand(name string) (lsFile, bool, error) {
	path := l.p.path(name)
	info, err := os.Lstat(path)
	if err != nil {
		return lsFile{}, false, err
	}
	f := lsFile{name: name, path: path, info: info}
	if info.Mode()&fs.ModeSymlink != 0 && !l.opts.long {
		target, err := os.Stat(path)
		return f, err == nil && target.IsDir(), nil
	}
	return f, info.IsDir(), nil
}

func (l *lister) listDir(d lsFile) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		l.p.errorf("cannot open directory '%s': %s", d.name, errText(err))
		l.status = exitTrouble
		return
	}
	var files []lsFile
	if l.opts.all {
		files = append(files, l.dotEntries(d)...)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && !l.opts.all && !l.opts.almostAll {
			continue
		}
		info, err := e.Info()
		if err != nil { // gone since the directory was read
			continue
		}
		files = append(files, lsFile{name: e.Name(), path: filepath.Join(d.path, e.Name()), info: info})
	}
	l.sort(files)
	if l.opts.long {
		fmt.Fprintf(l.out, "total %s\n", l.total(files))
	}
	l.print(files)
}

func (l *lister) dotEntries(d lsFile) []lsFile {
	var dots []lsFile
	for _, name := range []string{".", ".."} {
		path := filepath.Join(d.path, name)
		if info, err := os.Lstat(path); err == nil {
			dots = append(dots, lsFile{name: name, path: path, info: info})
		}
	}
	return dots
}

func (l *lister) sort(files []lsFile) {
	slices.SortStableFunc(files, func(a, b lsFile) int {
		if l.opts.byTime {
			if c := b.info.ModTime().Compare(a.info.ModTime()); c != 0 {
				return c
			}
		}
		return strings.Compare(a.name, b.name)
	})
	if l.opts.reverse {
		slices.Reverse(files)
	}
}

// print lists files, in columns as wide as those of alignWith need too.
func (l *lister) print(files []lsFile, alignWith ...lsFile) {
	if !l.opts.long {
		for _, f := range files {
			fmt.Fprintln(l.out, f.name)
		}
		return
	}
	rows := make([]longRow, 0, len(files)+len(alignWith))
	for _, f := range slices.Concat(files, alignWith) {
		rows = append(rows, l.row(f))
	}
	w := widths(rows)
	for _, r := range rows[:len(files)] {
		fmt.Fprintf(l.out, "%s %*s %-*s %-*s %*s %s %s\n",
			r.mode, w.links, r.links, w.owner, r.owner, w.group, r.group, w.size, w.sizeColumn(r), r.time, r.name)
	}
}

// total is the space the files take, in KiB as GNU ls counts it.
func (l *lister) total(files []lsFile) string {
	var blocks int64
	for _, f := range files {
		if in, ok := inodeOf(f.info); ok {
			blocks += in.blocks
		}
	}
	bytes := blocks * blockSize
	if l.opts.human {
		return humanSize(bytes)
	}
	return fmt.Sprint((bytes + kibi - 1) / kibi)
}
