// The identity function as a WebAssembly module, for benchmarks.
package main

import (
	"fmt"
	"os"

	"github.com/meshc/meshc/runtime/external/child"
)

func main() {
	err := child.Run(func(m *child.Message, r *child.Result) error {
		r.Emit(m.Payload)
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
