// Command pause is the pod sandbox ("pause") image of the e2e node: no
// registry is reachable, so the test builds it. It blocks until told to
// stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
