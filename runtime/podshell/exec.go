package podshell

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// execArgs is the exec builtin's command line: [-cl] [-a name] command [arg...].
type execArgs struct {
	argv     []string
	name     string // -a: argv[0] instead of the command
	clearEnv bool   // -c
	login    bool   // -l: argv[0] starts with "-"
}

func parseExecArgs(args []string) (execArgs, error) {
	var x execArgs
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		for _, c := range a[1:] {
			switch c {
			case 'c':
				x.clearEnv = true
			case 'l':
				x.login = true
			case 'a':
				if len(args) == 0 {
					return x, fmt.Errorf("-a: %w", errNeedsArgument)
				}
				x.name, args = args[0], args[1:]
			default:
				return x, fmt.Errorf("-%c: %w", c, errInvalidOption)
			}
		}
	}
	x.argv = args
	return x, nil
}

// program is what the new process sees as its argv.
func (x execArgs) program() []string {
	argv := slices.Clone(x.argv)
	if x.name != "" {
		argv[0] = x.name
	}
	if x.login {
		argv[0] = "-" + argv[0]
	}
	return argv
}

// execCall is the interpreter's call handler. It makes "exec COMMAND..."
// replace the shell's process, as a shell must for COMMAND to be the
// container's main process and get the kubelet's SIGTERM: the interpreter
// alone would run COMMAND as a child and wait for it. Every other call is
// the interpreter's.
func (p *proc) execCall(ctx context.Context, args []string) ([]string, error) {
	if args[0] != "exec" || len(args) < 2 || !canExec {
		return args, nil
	}
	hc := interp.HandlerCtx(ctx)
	x, err := parseExecArgs(args[1:])
	if err != nil {
		p.lineErrorf(hc.Pos, "exec: %v", err)
		return nil, interp.ExitStatus(exitTrouble)
	}
	files, ok := stdFiles(hc)
	if len(x.argv) == 0 || !ok {
		// Only redirections, for the interpreter to keep; or streams that
		// no process can inherit, such as a test's buffers: then the
		// interpreter's exec runs the command and exits with its status.
		return append([]string{"exec"}, x.argv...), nil
	}
	return nil, p.replaceShell(hc, x, files)
}

// replaceShell makes the process x's command. It returns only if that
// fails, with the status that ends the shell.
func (p *proc) replaceShell(hc interp.HandlerContext, x execArgs, files [3]*os.File) error {
	path, err := interp.LookPathDir(hc.Dir, hc.Env, x.argv[0])
	switch {
	case err != nil && !strings.Contains(x.argv[0], "/"):
		p.lineErrorf(hc.Pos, "exec: %s: not found", x.argv[0])
		return interp.ExitStatus(exitNotFound)
	case err == nil:
		var env []string
		if !x.clearEnv {
			env = exportedEnv(hc.Env)
		}
		err = replace(path, x.program(), env, hc.Dir, files)
	}
	return p.execFailed(hc.Pos, x.argv[0], err)
}

// execFailed reports a failed exec as bash does, and ends the shell with
// bash's status: 127 when there is no such file, 126 when it does not run.
func (p *proc) execFailed(pos syntax.Pos, name string, err error) error {
	p.lineErrorf(pos, "%s: %s", name, errText(err))
	if errors.Is(err, fs.ErrNotExist) {
		return interp.ExitStatus(exitNotFound)
	}
	return interp.ExitStatus(exitNoExec)
}

// stdFiles are the command's standard streams, if all three are files.
func stdFiles(hc interp.HandlerContext) ([3]*os.File, bool) {
	in, _ := hc.Stdin.(*os.File)
	out, _ := hc.Stdout.(*os.File)
	errs, _ := hc.Stderr.(*os.File)
	return [3]*os.File{in, out, errs}, in != nil && out != nil && errs != nil
}

// exportedEnv is the environment of a command: the shell's exported
// variables. A name can come more than once, the innermost scope last.
func exportedEnv(env expand.Environ) []string {
	vals := make(map[string]string)
	for name, vr := range env.Each {
		if vr.IsSet() && vr.Exported && vr.Kind == expand.String {
			vals[name] = vr.String()
		} else {
			delete(vals, name)
		}
	}
	list := make([]string, 0, len(vals))
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		list = append(list, name+"="+vals[name])
	}
	return list
}

// replace makes this process the program at path: in the shell's
// directory, with the command's standard streams (after any redirections)
// on descriptors 0, 1 and 2. It returns only on failure.
func replace(path string, argv, env []string, dir string, files [3]*os.File) error {
	if err := os.Chdir(dir); err != nil {
		return err
	}
	for fd, f := range files {
		if int(f.Fd()) == fd {
			continue
		}
		if err := dup2(f, fd); err != nil {
			return err
		}
	}
	return execve(path, argv, env)
}
