//go:build !linux

package symtab

import (
	"errors"
	"fmt"
)

// ReadMaps reads the mappings of process pid from /proc/PID/maps, which
// only Linux has: elsewhere it fails with an error wrapping
// errors.ErrUnsupported.
func ReadMaps(pid int) ([]Mapping, error) {
	return nil, fmt.Errorf("mappings of process %d: /proc/PID/maps needs Linux: %w", pid, errors.ErrUnsupported)
}
