package kernel

import (
	"fmt"
	"strconv"
	"strings"
)

// TracepointFormat is a tracepoint's record layout, as the kernel's
// tracefs describes it in events/SYSTEM/EVENT/format.
type TracepointFormat struct {
	Name   string
	ID     uint32
	Fields []TracepointField // the common fields first, in the file's order
}

// TracepointField is one field of a tracepoint's record.
type TracepointField struct {
	Type   string // the C type, as written: "const char *", "unsigned long"
	Name   string // "filename", "args" (an array's name without its length)
	Offset int
	Size   int
	Signed bool
}

// Field returns the field called name.
func (f *TracepointFormat) Field(name string) (TracepointField, bool) {
	for _, fd := range f.Fields {
		if fd.Name == name {
			return fd, true
		}
	}
	return TracepointField{}, false
}

// maxTraceFieldEnd bounds a field's end: a tracepoint record is at most a
// perf sample (u16 size).
const maxTraceFieldEnd = 1 << 16

// ParseTracepointFormat reads a tracepoint's format file. An error names
// the line and what is wrong with it.
func ParseTracepointFormat(text string) (*TracepointFormat, error) {
	f := &TracepointFormat{}
	seenID := false
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		errf := func(format string, args ...any) error {
			return fmt.Errorf("tracepoint format, line %d (%q): %s", i+1, line, fmt.Sprintf(format, args...))
		}
		switch {
		case strings.HasPrefix(line, "name:"):
			f.Name = strings.TrimSpace(strings.TrimPrefix(line, "name:"))
		case strings.HasPrefix(line, "ID:"):
			id, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "ID:")), 10, 32)
			if err != nil {
				return nil, errf("the ID is not a number")
			}
			f.ID, seenID = uint32(id), true
		case strings.HasPrefix(line, "field:"):
			fd, err := parseTraceField(line)
			if err != "" {
				return nil, errf("%s", err)
			}
			if _, dup := f.Field(fd.Name); dup {
				return nil, errf("field %s appears twice", fd.Name)
			}
			f.Fields = append(f.Fields, fd)
		}
	}
	if f.Name == "" || !seenID {
		return nil, fmt.Errorf("tracepoint format: no name: and ID: lines")
	}
	if len(f.Fields) == 0 {
		return nil, fmt.Errorf("tracepoint format of %s: no fields", f.Name)
	}
	return f, nil
}

// parseTraceField reads "field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;".
func parseTraceField(line string) (TracepointField, string) {
	var fd TracepointField
	parts := strings.Split(line, ";")
	if len(parts) < 4 {
		return fd, "a field line has field:, offset:, size: and signed: parts"
	}
	decl := strings.TrimSpace(strings.TrimPrefix(parts[0], "field:"))
	sp := strings.LastIndexAny(decl, " *")
	if sp < 0 || sp == len(decl)-1 {
		return fd, "the field has no type and name"
	}
	fd.Type, fd.Name = strings.TrimSpace(decl[:sp+1]), decl[sp+1:]
	if j := strings.IndexByte(fd.Name, '['); j >= 0 {
		fd.Name = fd.Name[:j]
	}
	if fd.Name == "" || fd.Type == "" {
		return fd, "the field has no type and name"
	}
	nums := map[string]*int{"offset": &fd.Offset, "size": &fd.Size}
	signed := -1
	for _, p := range parts[1:] {
		key, val, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > maxTraceFieldEnd {
			return fd, fmt.Sprintf("%s %q is not a number from 0 to %d", key, val, maxTraceFieldEnd)
		}
		if key == "signed" {
			signed = n
		} else if ptr, ok := nums[key]; ok {
			*ptr = n
			delete(nums, key)
		}
	}
	if len(nums) > 0 || signed < 0 {
		return fd, "the field lacks its offset, size or signed"
	}
	if fd.Offset+fd.Size > maxTraceFieldEnd {
		return fd, fmt.Sprintf("the field ends at %d, past a record's %d bytes", fd.Offset+fd.Size, maxTraceFieldEnd)
	}
	fd.Signed = signed != 0
	return fd, ""
}
