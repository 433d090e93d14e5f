package kernel

import (
	"os"
	"path/filepath"
	"strings"
)

// executableName is the process's executable's name without its
// directory or a .exe suffix: comm where no /proc/self/comm tells it.
func executableName() string {
	name := filepath.Base(os.Args[0])
	if exe, err := os.Executable(); err == nil {
		name = filepath.Base(exe)
	}
	return strings.TrimSuffix(name, ".exe")
}
