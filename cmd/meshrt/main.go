// Command meshrt is the standard instance binary: it runs one instance of a
// function, source or sink with the built-in implementations.
package main

import "github.com/meshc/meshc/runtime"

func main() {
	runtime.Main(runtime.Builtins())
}
