//go:build unix

package podshell

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// canExec says whether exec can replace the process here.
const canExec = true

func execve(path string, argv, env []string) error {
	return syscall.Exec(path, argv, env)
}

func dup2(f *os.File, fd int) error {
	return unix.Dup2(int(f.Fd()), fd)
}

// umask is the process's file mode creation mask. Reading it means setting
// it, so a tool reads it once, before it creates anything.
func umask() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}

func inodeOf(info fs.FileInfo) (inode, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return inode{}, false
	}
	rdev := uint64(st.Rdev)
	return inode{links: uint64(st.Nlink), uid: st.Uid, gid: st.Gid, blocks: int64(st.Blocks),
		major: unix.Major(rdev), minor: unix.Minor(rdev)}, true
}
