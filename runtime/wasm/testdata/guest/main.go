// A WebAssembly function for the tests: the payload picks what it does,
// including what a malicious or broken module would try.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/meshc/meshc/runtime/external/child"
)

var (
	hoard [][]byte
	calls int
)

func main() {
	if err := child.Run(handle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func handle(m *child.Message, r *child.Result) error {
	p := string(m.Payload)
	calls++
	switch {
	case p == "loop":
		for {
		}
	case strings.HasPrefix(p, "read:"):
		b, err := os.ReadFile(strings.TrimPrefix(p, "read:"))
		if err != nil {
			return err
		}
		r.Emit(b)
	case strings.HasPrefix(p, "list:"):
		entries, err := os.ReadDir(strings.TrimPrefix(p, "list:"))
		if err != nil {
			return err
		}
		r.Emit([]byte(fmt.Sprint(len(entries))))
	case strings.HasPrefix(p, "write:"):
		if err := os.WriteFile(strings.TrimPrefix(p, "write:"), []byte("pwned"), 0o644); err != nil {
			return err
		}
		r.Emit([]byte("written"))
	case p == "hoard":
		// Takes memory until there is none: the module instance dies.
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case p == "env":
		r.Emit([]byte(os.Getenv("MESHC_FUNCTION_NAME") + " " + os.Getenv("MESHC_FUNCTION_CONFIG") + " " + os.Getenv("HOME")))
	case p == "log":
		fmt.Fprintln(os.Stderr, "a line from the module")
	case strings.HasPrefix(p, "state:"):
		key := strings.TrimPrefix(p, "state:")
		v, _, err := r.GetState(key)
		if err != nil {
			return err
		}
		n, err := r.GetCounter(key)
		if err != nil {
			return err
		}
		r.Emit(fmt.Appendf(nil, "%s %d", v, n))
	case p == "calls":
		r.Emit([]byte(fmt.Sprint(calls)))
	case p == "count":
		r.IncrCounter("seen", 1)
		r.Emit(m.Payload)
	default:
		r.Emit(bytes.ToUpper(m.Payload))
	}
	return nil
}
