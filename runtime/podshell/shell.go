package podshell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Prompts of an interactive shell, such as kubectl exec -it POD -- sh gives.
const (
	prompt1 = "$ "
	prompt2 = "> " // the command goes on
)

// shellArgs is a shell's command line:
// [-abefhkmnptuvxBCHP] [-o option] [-c script [name [arg...]] | -s [arg...] | file [arg...]].
type shellArgs struct {
	script      *string  // -c's
	stdin       bool     // -s: commands come from stdin even with operands
	interactive bool     // -i
	set         []string // the set builtin's options, such as -e or -o pipefail
	operands    []string
}

// ignoredLongOptions are bash's long options that change nothing here:
// there are no startup files to skip or read.
var ignoredLongOptions = []string{"--login", "--noprofile", "--norc", "--posix"}

func parseShellArgs(args []string) (shellArgs, error) {
	var sa shellArgs
	command := false
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		if strings.HasPrefix(a, "--") {
			if !slices.Contains(ignoredLongOptions, a) {
				return sa, fmt.Errorf("%s: %w", a, errInvalidOption)
			}
			continue
		}
		for _, c := range a[1:] {
			switch c {
			case 'c':
				command = true
			case 's':
				sa.stdin = true
			case 'i':
				sa.interactive = true
			case 'l': // a login shell: there is no profile to read
			case 'o':
				if i+1 == len(args) {
					return sa, fmt.Errorf("-o: %w", errNeedsArgument)
				}
				i++
				sa.set = append(sa.set, a[:1]+"o", args[i])
			default:
				sa.set = append(sa.set, a[:1]+string(c))
			}
		}
	}
	sa.operands = args[i:]
	if command {
		if len(sa.operands) == 0 {
			return sa, fmt.Errorf("-c: %w", errNeedsArgument)
		}
		sa.script, sa.operands = &sa.operands[0], sa.operands[1:]
	}
	return sa, nil
}

// A script is where a shell's commands come from.
type script struct {
	src         io.Reader
	label       string   // names the source in syntax errors
	arg0        string   // $0
	params      []string // $1 and on
	interactive bool
}

func runShell(p *proc) int {
	sa, err := parseShellArgs(p.args)
	if err != nil {
		p.errorf("%v", err)
		return exitTrouble
	}
	s, status := p.script(sa)
	if status != exitOK {
		return status
	}
	r, err := p.runner(sa.set, s)
	if err != nil {
		p.errorf("%v", err)
		return exitTrouble
	}
	if s.interactive {
		return p.interact(r, s)
	}
	return p.runScript(r, s)
}

func (p *proc) script(sa shellArgs) (script, int) {
	switch {
	case sa.script != nil:
		s := script{src: strings.NewReader(*sa.script), label: "-c", arg0: p.name}
		if len(sa.operands) > 0 {
			s.arg0, s.params = sa.operands[0], sa.operands[1:]
		}
		return s, exitOK
	case !sa.stdin && len(sa.operands) > 0:
		name := sa.operands[0]
		b, err := os.ReadFile(p.path(name))
		if err != nil {
			p.errorf("%s: %s", name, errText(err))
			return script{}, exitNotFound
		}
		return script{src: bytes.NewReader(b), label: name, arg0: name, params: sa.operands[1:]}, exitOK
	}
	s := script{src: p.stdin, label: "stdin", arg0: p.name, params: sa.operands,
		interactive: sa.interactive || isTerminal(p.stdin)}
	if !s.interactive {
		// Read it all now: the interpreter copies a stdin that is not a
		// file into a pipe of its own, from when it starts.
		b, err := io.ReadAll(p.stdin)
		if err != nil {
			p.errorf("stdin: %s", errText(err))
			return script{}, exitTrouble
		}
		s.src = bytes.NewReader(b)
	}
	return s, exitOK
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

func (p *proc) runner(set []string, s script) (*interp.Runner, error) {
	stdin := p.stdin
	if _, ok := stdin.(*os.File); !ok && s.interactive {
		// Typed commands that are not in a file: the interpreter's copy
		// of them would race the parser for them.
		stdin = nil
	}
	return interp.New(
		interp.StdIO(stdin, p.stdout, p.stderr),
		interp.Env(expand.ListEnviron(os.Environ()...)),
		interp.Dir(p.dir),
		interp.Interactive(s.interactive),
		interp.Params(slices.Concat(set, []string{"--"}, s.params)...),
		interp.CallHandler(p.execCall),
		interp.ExecHandlers(p.commands),
	)
}

// runScript parses the whole script before running any of it, as a file
// or -c script must parse: a syntax error at the end runs nothing.
func (p *proc) runScript(r *interp.Runner, s script) int {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(s.src, s.label)
	if err != nil {
		p.errorf("%v", err)
		return exitTrouble
	}
	f.Name = s.arg0 // the interpreter's $0
	quoteEscapes(f)
	return p.status(r.Run(context.Background(), f))
}

// interact runs commands as they are typed. A syntax error ends what a
// parser can read, so reading goes on with a new one, as bash goes on with
// the next line.
func (p *proc) interact(r *interp.Runner, s script) int {
	status := exitOK
	for {
		var more bool
		status, more = p.readEval(r, s.src, status)
		if !more {
			return status
		}
	}
}

// readEval runs commands until the shell exits, its input ends, or a
// syntax error, when it says there may be more to read.
func (p *proc) readEval(r *interp.Runner, src io.Reader, status int) (int, bool) {
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash))
	fmt.Fprint(p.stderr, prompt1)
	for stmts, err := range parser.InteractiveSeq(src) {
		if err != nil {
			p.errorf("%v", err)
			return exitTrouble, true
		}
		if parser.Incomplete() {
			fmt.Fprint(p.stderr, prompt2)
			continue
		}
		for _, stmt := range stmts {
			quoteEscapes(stmt)
			status = p.status(r.Run(context.Background(), stmt))
			if r.Exited() {
				return status, false
			}
		}
		fmt.Fprint(p.stderr, prompt1)
	}
	return status, false
}

// status is a script's exit status, from what the interpreter returned.
func (p *proc) status(err error) int {
	if err == nil {
		return exitOK
	}
	if es, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(es)
	}
	p.errorf("%v", err)
	return exitFailure
}

// lineErrorf reports an error in a command, as bash does, by its line.
func (p *proc) lineErrorf(pos syntax.Pos, format string, a ...any) {
	p.errorf("line %d: %s", pos.Line(), fmt.Sprintf(format, a...))
}

// commands is the interpreter's exec handler in front of its own: a
// command not on PATH is one of this package's tools if it can be, run in
// this process, so that the shell works even where the image lays out no
// links to it; otherwise it is an error in bash's words.
func (p *proc) commands(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		if strings.Contains(args[0], "/") {
			return next(ctx, args)
		}
		if _, err := interp.LookPathDir(hc.Dir, hc.Env, args[0]); err == nil {
			return next(ctx, args)
		}
		t := lookup(args[0])
		if t == nil || args[0] == "bash" || args[0] == "sh" {
			// A shell in this process would exec over its parent.
			p.lineErrorf(hc.Pos, "%s: command not found", args[0])
			return interp.ExitStatus(exitNotFound)
		}
		child := &proc{name: args[0], args: args[1:], dir: hc.Dir, stdin: hc.Stdin, stdout: hc.Stdout, stderr: hc.Stderr}
		if status := t(child); status != exitOK {
			return interp.ExitStatus(status)
		}
		return nil
	}
}
