package waggle

import (
	"debug/elf"
	"fmt"
	"io"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// Map memory. Every map charges what it allocates — its values (every CPU
// slot's, for per-CPU maps) and the bookkeeping of its type (keys, hash
// buckets and chains, free lists, trie nodes, ring buffer records waiting
// to be read, unread perf samples) — to a budget before it allocates it,
// and gives it back when it is freed. The budget for all the maps of the
// process has a limit (SetMapMemoryLimit); a collection and a map can have
// smaller ones of their own (CollectionOptions.MemoryLimit,
// MapOptions.MemoryLimit), which count against the process's too. A map
// that would go beyond any of them is refused with ENOMEM, before
// anything is allocated, by an error that names the map, the bytes it
// needs and the limit: where the kernel's allocation of a too large map
// fails with ENOMEM, a Go allocation that the system refuses ends the
// process ("fatal error: out of memory").

// SetMapMemoryLimit sets the most memory, in bytes, that all the maps of
// the process may hold together, and returns the previous limit. 0
// restores the default, DefaultMapMemoryLimit. Maps that hold more than a
// lowered limit keep their memory; new maps are refused until enough is
// given back.
func SetMapMemoryLimit(limit uint64) (previous uint64) {
	origin := "SetMapMemoryLimit"
	if limit == 0 {
		limit, origin = maps.DefaultLimit()
	}
	return maps.Process.SetLimit(limit, origin)
}

// MapMemory reports the bytes that the live maps of the process hold and
// the limit on them (SetMapMemoryLimit).
func MapMemory() (used, limit uint64) {
	return maps.Process.Used(), maps.Process.Limit()
}

// DefaultMapMemoryLimit is the default limit on the memory of all the maps
// of the process, and how it was chosen: half of the machine's memory
// (MemTotal), or half of the memory limit of the process's cgroup, or a
// quarter of its RLIMIT_AS or RLIMIT_DATA, whichever is least. Maps are
// not all a process needs: reading an object holds copies of its global
// data, programs run, and the garbage collector frees a closed map's
// memory only some time after it is closed; and the kernel itself never
// gives one map more memory than the machine has.
func DefaultMapMemoryLimit() (limit uint64, how string) {
	return maps.DefaultLimit()
}

// checkZeroSections refuses an object whose zero-initialised data sections
// (.bss: SHT_NOBITS, no bytes in the file) are larger than the maps of the
// process may be: cilium/ebpf's reader allocates their zeroes, and a copy
// of each variable, as soon as it reads the object, so a 4 KB file could
// otherwise ask for any amount of memory before NewCollection checks its
// maps. Files that are not ELF are left to the reader.
func checkZeroSections(r io.ReaderAt) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil
	}
	var limit, total uint64
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_NOBITS || sec.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		if limit == 0 {
			// Only now: the process's default limit is worked out when first
			// needed, and most objects have no such section.
			limit = maps.Process.Limit()
		}
		if sec.Size > limit || total+sec.Size > limit {
			return &maps.Error{Errno: errno.ENOMEM, Msg: fmt.Sprintf(
				"section %s: %d bytes of zero-initialised data (a global data map), more than the %d-byte (%s) memory limit of the maps of this process (%s)",
				sec.Name, sec.Size, limit, maps.FormatSize(limit), maps.Process.Origin())}
		}
		total += sec.Size
	}
	return nil
}
