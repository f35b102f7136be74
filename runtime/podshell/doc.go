// Package podshell has one job: to be the small POSIX/bash shell, and the
// ls and chmod commands, that schedulers' pod command lines expect around
// the instance binary, so that an image holding only that binary needs no
// base image.
//
// The Function Mesh operator, for one, starts a Go function's pod with
//
//	bash -c "SHARD_ID=${POD_NAME##*-} && ... && ls -l BIN && chmod +x BIN && exec BIN -instance-conf ${goFunctionConfigs}"
//
// An image puts symbolic links named bash, sh, ls and chmod to the instance
// binary on PATH; the binary's main asks Tool whether it was started under
// one of those names and, if it was, hands over to Run:
//
//	if podshell.Tool(os.Args[0]) {
//		os.Exit(podshell.Run(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
//	}
//
// The shell is the interpreter of mvdan.cc/sh, with one change: its exec
// really replaces the process (execve), so that the instance, not a shell,
// is the container's main process and gets the kubelet's SIGTERM itself.
package podshell
