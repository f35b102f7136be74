//go:build !linux

package worker

import "syscall"

// procAttr puts an instance in its own process group, so that a Ctrl-C at
// the broker's terminal reaches only the broker, which stops instances in
// order.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
