package external

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Command returns a Starter that runs argv, with env added to the
// instance's environment, in dir (empty: the instance's working folder).
// Each line the program writes to standard error goes to log.
func Command(argv []string, env []string, dir string, log *slog.Logger) Starter {
	return func(context.Context) (*Child, error) {
		if len(argv) == 0 || argv[0] == "" {
			return nil, fmt.Errorf("no program to run: exec needs a program, exec(\"./fn\")")
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = dir
		cmd.Stderr = LineLog(log)
		cmd.WaitDelay = 2 * time.Second // a grandchild holding stderr cannot stall Wait
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("%w: check the path in exec(...) and that the file is executable", err)
		}
		log.Info("function started", "command", argv, "pid", cmd.Process.Pid)
		return &Child{Stdin: stdin, Stdout: stdout, Kill: func() { cmd.Process.Kill() }, Wait: cmd.Wait}, nil
	}
}

// maxLine caps one logged line of standard error.
const maxLine = 4096

// LineLog returns a writer that logs each line written to it, as the
// standard error of a function.
func LineLog(log *slog.Logger) io.Writer { return &lineLog{log: log} }

// lineLog writes each line it is given to the log.
type lineLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	line []byte
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.line = append(l.line, p[:min(len(p), maxLine-len(l.line))]...)
			break
		}
		l.line = append(l.line, p[:min(i, maxLine-len(l.line))]...)
		l.log.Info(string(l.line), "stream", "stderr")
		l.line, p = l.line[:0], p[i+1:]
	}
	return n, nil
}
