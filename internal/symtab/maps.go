package symtab

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mapping is one line of /proc/PID/maps: the addresses [Start, End) map
// the file Path from file offset Offset with permissions Perms ("r-xp");
// Dev and Inode name the file ("fd:01", its inode number). Path is
// "[heap]", "[vdso]" and the like for the kernel's mappings, "" for
// anonymous memory.
type Mapping struct {
	Start, End, Offset uint64
	Perms              string
	Path               string
	Dev                string
	Inode              uint64
}

// ParseMaps reads the lines of a /proc/PID/maps file. A line that is not
// of its format is an error naming the line and what is wrong with it.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		m, err := parseMapsLine(text)
		if err != nil {
			return nil, fmt.Errorf("maps line %d %q: %w", line, text, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("maps: %w", err)
	}
	return out, nil
}

// parseMapsLine parses "start-end perms offset dev inode [path]".
func parseMapsLine(s string) (Mapping, error) {
	fields := strings.Fields(s)
	if len(fields) < 5 {
		return Mapping{}, fmt.Errorf("want at least 5 fields (range, perms, offset, device, inode), have %d", len(fields))
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return Mapping{}, fmt.Errorf("address range %q is not START-END", fields[0])
	}
	start, err := strconv.ParseUint(lo, 16, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("start address %q: not hexadecimal", lo)
	}
	end, err := strconv.ParseUint(hi, 16, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("end address %q: not hexadecimal", hi)
	}
	if end < start {
		return Mapping{}, fmt.Errorf("end address %#x before start %#x: the range ends before it starts", end, start)
	}
	if len(fields[1]) != 4 {
		return Mapping{}, fmt.Errorf("permissions %q: want 4 characters (r-xp)", fields[1])
	}
	off, err := strconv.ParseUint(fields[2], 16, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("offset %q: not hexadecimal", fields[2])
	}
	inode, err := strconv.ParseUint(fields[4], 10, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("inode %q: not a decimal number", fields[4])
	}
	m := Mapping{Start: start, End: end, Offset: off, Perms: fields[1], Dev: fields[3], Inode: inode}
	if len(fields) > 5 {
		// The path is the rest of the line after the inode: it may hold
		// spaces.
		rest := s
		for range 5 {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[strings.IndexAny(rest, " \t"):]
		}
		m.Path = strings.TrimRight(strings.TrimLeft(rest, " \t"), " ")
	}
	return m, nil
}
