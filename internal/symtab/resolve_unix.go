//go:build unix

package symtab

import (
	"os"
	"syscall"
)

// inodeOf is the inode number of the file at path, or 0.
func inodeOf(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino)
	}
	return 0
}
