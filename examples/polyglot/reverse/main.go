// Command reverse is a function for WebAssembly: it reverses the order of
// the words of each message. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -o reverse.wasm ./reverse
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/meshc/meshc/runtime/external/child"
)

func main() {
	if err := child.Run(reverse); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func reverse(m *child.Message, r *child.Result) error {
	words := strings.Fields(string(m.Payload))
	slices.Reverse(words)
	r.Emit([]byte(strings.Join(words, " ")))
	return nil
}
