package symtab

import (
	"fmt"
	"os"
)

// ReadMaps reads the mappings of process pid from /proc/PID/maps.
func ReadMaps(pid int) ([]Mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("mappings of process %d: %w", pid, err)
	}
	defer f.Close()
	ms, err := ParseMaps(f)
	if err != nil {
		return nil, fmt.Errorf("/proc/%d/%w", pid, err)
	}
	return ms, nil
}
