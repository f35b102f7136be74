package podshell

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Exit statuses, as bash and the GNU tools use them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitTrouble  = 2   // ls: a command-line file is missing; bash: bad usage or syntax
	exitNoExec   = 126 // found but cannot be executed
	exitNotFound = 127
)

// A proc is one run of a tool.
type proc struct {
	name   string   // as invoked, for messages
	args   []string // after the name
	dir    string   // relative paths are taken from here; "" is the process's
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// A tool runs a proc and returns its exit status.
type tool func(p *proc) int

// Tool reports whether name, a program name such as os.Args[0], is one of
// the commands that Run provides: bash, sh, ls or chmod. Only the base name
// counts, and a login shell's leading "-" is ignored.
func Tool(name string) bool {
	return lookup(toolName(name)) != nil
}

// Run runs the command named by name (as Tool takes it) with args, the
// arguments after the name, and returns its exit status; nil streams are
// empty or discard. A shell's exec does not return: it replaces the
// process, when stdin, stdout and stderr are files (else it runs the
// command and returns its status).
func Run(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	name = toolName(name)
	t := lookup(name)
	if t == nil {
		fmt.Fprintf(stderr, "%s: not a podshell command\n", name)
		return exitNotFound
	}
	return t(&proc{name: name, args: args, stdin: stdin, stdout: stdout, stderr: stderr})
}

func toolName(name string) string {
	return strings.TrimPrefix(filepath.Base(name), "-")
}

// lookup is a switch, not a map, because the shell refers back to it: a map
// would be an initialization cycle.
func lookup(name string) tool {
	switch name {
	case "bash", "sh":
		return runShell
	case "ls":
		return runLs
	case "chmod":
		return runChmod
	}
	return nil
}

func (p *proc) errorf(format string, a ...any) {
	fmt.Fprintf(p.stderr, "%s: %s\n", p.name, fmt.Sprintf(format, a...))
}

// usage reports a bad command line the way GNU tools do.
func (p *proc) usage(err error) {
	p.errorf("%v", err)
	fmt.Fprintf(p.stderr, "Try '%s --help' for more information.\n", p.name)
}

// path is where a file operand is: relative to the shell's directory when
// a shell runs the tool in-process.
func (p *proc) path(name string) string {
	if p.dir == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.dir, name)
}

// errText is an error as the C library's strerror spells it ("No such file
// or directory"), which is what scripts and people grep for: Go's own
// spelling starts in lower case.
func errText(err error) string {
	s := err.Error()
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		s = pe.Err.Error()
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
