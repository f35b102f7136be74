//go:build !unix

package podshell

import (
	"errors"
	"io/fs"
	"os"
)

// canExec says whether exec can replace the process here: it cannot, so
// the interpreter runs the command as a child and exits with its status.
const canExec = false

func execve(string, []string, []string) error { return errors.ErrUnsupported }

func dup2(*os.File, int) error { return errors.ErrUnsupported }

func umask() uint32 { return 0 }

func inodeOf(fs.FileInfo) (inode, bool) { return inode{}, false }
