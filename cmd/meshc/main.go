// Command meshc compiles .mesh files into checked graphs, instance plans and
// deployments, and runs them on one machine with an embedded broker.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
