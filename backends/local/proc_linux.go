package local

import "syscall"

// procAttr puts an instance in its own process group, so that a Ctrl-C at
// the terminal reaches only the supervisor, which stops instances in order;
// and has the kernel stop the instance if the supervisor dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
