// Command shoprt is the instance binary of the shop examples: the runtime's
// built-ins plus the shop's own Go functions. Meshes that use go("NAME")
// run with meshc run --runtime-binary PATH-TO-shoprt.
package main

import (
	"github.com/meshc/meshc/examples/shop"
	"github.com/meshc/meshc/runtime"
)

func main() {
	runtime.Main(shop.Register(runtime.Builtins()))
}
