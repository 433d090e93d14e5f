package maps

import (
	"encoding/binary"

	"github.com/cilium/ebpf"
)

// devMap is a devmap (keys are indexes below max_entries) or a devmap_hash
// (any 4-byte key): interfaces that bpf_redirect_map sends packets to.
// Values are the interface index, optionally followed by a program fd
// (struct bpf_devmap_val): 4 or 8 bytes. waggle has no devices, so the
// values only tell bpf_redirect_map whether a slot is set.
type devMap struct {
	*hashTab
	indexed bool // devmap: the key is an index below max_entries
}

func newDevMap(s *Spec) (Map, error) {
	if s.KeySize != 4 {
		return nil, specErr(s, "key_size is %d, device map keys are 4 bytes", s.KeySize)
	}
	if s.ValueSize != 4 && s.ValueSize != 8 {
		return nil, specErr(s, "value_size is %d, device map values are 4 or 8 bytes", s.ValueSize)
	}
	if err := checkFlags(s, FlagNUMANode|FlagRdOnly|FlagWrOnly); err != nil {
		return nil, err
	}
	if s.Type == ebpf.DevMapHash && s.MaxEntries > 1<<31 {
		return nil, specErr(s, "max_entries %d is more than a devmap_hash may have (%d)", s.MaxEntries, 1<<31)
	}
	h, err := allocHash(s, false)
	if err != nil {
		return nil, err
	}
	d := &devMap{hashTab: h, indexed: s.Type == ebpf.DevMap}
	h.init(s, d)
	return d, nil
}

// inRange reports whether a devmap key is an index the map has.
func (d *devMap) inRange(key []byte) bool {
	return !d.indexed || binary.NativeEndian.Uint32(key) < d.spec.MaxEntries
}

// Update sets a slot, refusing indexes past max_entries with E2BIG.
func (d *devMap) Update(key, value []byte, flags uint64, cpu int) error {
	if !d.inRange(key) {
		return ErrFull
	}
	return d.hashTab.Update(key, value, flags, cpu)
}

// UpdateUser sets a slot from Go.
func (d *devMap) UpdateUser(key, value []byte, flags uint64) error {
	if !d.inRange(key) {
		return ErrFull
	}
	return d.hashTab.UpdateUser(key, value, flags)
}
