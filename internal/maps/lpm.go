package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// lpmTrie is BPF_MAP_TYPE_LPM_TRIE: keys are a u32 prefix length in host
// byte order followed by data_size bytes of data in network byte order
// (most significant bit first). Lookups return the value of the longest
// stored prefix that matches the key's first prefixlen bits.
//
// The trie has the kernel's shape: a path-compressed binary trie whose
// nodes carry a prefix; a node's children continue with the next bit after
// its prefix; intermediate nodes (no value) exist only to split two
// subtrees and always have two children. Values live in max_entries
// preallocated slots of value memory.
//
// NextKey follows the kernel's postorder: more specific prefixes come before
// the prefixes that contain them, and a 0 bit before a 1 bit; a key that is
// not in the trie restarts at the first (leftmost) prefix.
//
// An RWMutex protects the trie: lookups share it, updates take it alone.
type lpmTrie struct {
	base
	dataSize  int
	maxPrefix uint32
	size      int // value size
	vals      values
	regions   []memory.Region

	mu       sync.RWMutex
	root     *lpmNode
	count    uint32
	free     []uint32
	nodeCost uint64 // what a node takes, charged to the budget while it lives
}

// lpmNode is a node of the trie.
type lpmNode struct {
	child     [2]*lpmNode
	prefixlen uint32
	slot      uint32 // value slot; unused by intermediate nodes
	im        bool   // intermediate: no value
	data      []byte
	// w is data's first 16 bytes as two big-endian words, zero-padded:
	// lookups in tries of at most 16 bytes of data (IPv4, IPv6) compare
	// words instead of bytes.
	w [2]uint64
}

// newLPMNode makes a node holding a copy of data.
func newLPMNode(prefixlen, slot uint32, im bool, data []byte) *lpmNode {
	return &lpmNode{prefixlen: prefixlen, slot: slot, im: im, data: bytes.Clone(data), w: lpmWords(data)}
}

// setData copies data into the node.
func (n *lpmNode) setData(data []byte) {
	copy(n.data, data)
	n.w = lpmWords(data)
}

// lpmWords is the first 16 bytes of data as two big-endian words,
// zero-padded.
func lpmWords(data []byte) [2]uint64 {
	var b [16]byte
	copy(b[:], data)
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func newLPMTrie(s *Spec) (Map, error) {
	if err := checkFlags(s, lpmCreateFlags); err != nil {
		return nil, err
	}
	if s.Flags&FlagNoPrealloc == 0 {
		return nil, specErr(s, "flags: LPM tries need BPF_F_NO_PREALLOC")
	}
	if s.KeySize < 4+1 || s.KeySize > 4+256 {
		return nil, specErr(s, "key_size is %d, want a 4-byte prefix length and 1 to 256 bytes of data", s.KeySize)
	}
	if s.ValueSize == 0 {
		return nil, specErr(s, "value_size must not be 0")
	}
	if s.ValueSize > lpmValueSizeMax {
		return nil, specErr(s, "value_size %d is too large: an LPM trie's values have at most %d bytes (LPM_VAL_SIZE_MAX)", s.ValueSize, lpmValueSizeMax)
	}
	t := &lpmTrie{
		dataSize:  int(s.KeySize) - 4,
		maxPrefix: 8 * (s.KeySize - 4),
		size:      int(s.ValueSize),
	}
	// Nodes are allocated, and charged, as prefixes are inserted.
	t.nodeCost = heapBytes(uint64(unsafe.Sizeof(lpmNode{}))) + heapBytes(uint64(t.dataSize))
	n := uint64(s.MaxEntries)
	stride := uint64(ValueStride(s.ValueSize))
	need := satAdd(heapBytes(satMul(n, stride)), heapBytes(satMul(n, 4)))
	if err := t.reserve(s, need, fmt.Sprintf("%s of %d-byte values", plural(n, "entry", "entries"), stride)); err != nil {
		return nil, err
	}
	t.vals = newValues(n, stride)
	t.regions = t.vals.regions()
	t.free = make([]uint32, n)
	for i := range t.free {
		t.free[i] = uint32(n) - 1 - uint32(i)
	}
	t.init(s, t)
	return t, nil
}

// splitKey decodes a key.
func (t *lpmTrie) splitKey(key []byte) (uint32, []byte) {
	return binary.NativeEndian.Uint32(key), key[4:]
}

// bit returns bit i of data, most significant first.
func lpmBit(data []byte, i uint32) int {
	return int(data[i/8]>>(7-i%8)) & 1
}

// match is the number of leading bits that node and key data share, at
// most limit.
func lpmMatch(a, b []byte, limit uint32) uint32 {
	var n uint32
	for i := range a {
		if n >= limit {
			return limit
		}
		if x := a[i] ^ b[i]; x != 0 {
			n += uint32(bits.LeadingZeros8(x))
			return min(n, limit)
		}
		n += 8
	}
	return min(n, limit)
}

// Lookup returns the value of the longest matching prefix, or nil.
func (t *lpmTrie) Lookup(key []byte, cpu int) unsafe.Pointer {
	t.mu.RLock()
	n := t.lookup(key)
	t.mu.RUnlock()
	if n == nil {
		return nil
	}
	return t.vals.slot(n.slot)
}

// lookup is trie_lookup_elem, under the lock.
func (t *lpmTrie) lookup(key []byte) *lpmNode {
	plen, data := t.splitKey(key)
	if plen > t.maxPrefix {
		return nil
	}
	if t.dataSize <= 16 {
		return t.lookupWords(plen, lpmWords(data))
	}
	var found *lpmNode
	for n := t.root; n != nil; {
		m := lpmMatch(n.data, data, min(n.prefixlen, plen))
		if m == t.maxPrefix {
			return n
		}
		if m < n.prefixlen {
			break
		}
		if !n.im {
			found = n
		}
		n = n.child[lpmBit(data, n.prefixlen)]
	}
	return found
}

// lookupWords is lookup in a trie of at most 16 bytes of data, whose key
// data is k (lpmWords): the same walk, comparing the nodes' words.
func (t *lpmTrie) lookupWords(plen uint32, k [2]uint64) *lpmNode {
	var found *lpmNode
	for n := t.root; n != nil; {
		var m uint32
		if x := n.w[0] ^ k[0]; x != 0 {
			m = uint32(bits.LeadingZeros64(x))
		} else {
			m = 64 + uint32(bits.LeadingZeros64(n.w[1]^k[1]))
		}
		m = min(m, n.prefixlen, plen)
		if m == t.maxPrefix {
			return n
		}
		if m < n.prefixlen {
			break
		}
		if !n.im {
			found = n
		}
		// n.prefixlen < t.maxPrefix <= 128 here. A branch, not an
		// index: the processor predicts it (flows repeat their
		// addresses) and loads the child without waiting for the bit.
		b := n.prefixlen
		w := k[0]
		if b >= 64 {
			w = k[1]
		}
		if w&(1<<(63-b&63)) == 0 {
			n = n.child[0]
		} else {
			n = n.child[1]
		}
	}
	return found
}

// update is trie_update_elem; value is the value to copy into the slot.
func (t *lpmTrie) update(key, value []byte, flags uint64) error {
	if flags > UpdateExist {
		return Errorf(ErrInvalid, "update flags %#x: want BPF_ANY, BPF_NOEXIST or BPF_EXIST", flags)
	}
	plen, data := t.splitKey(key)
	if plen > t.maxPrefix {
		return Errorf(ErrInvalid, "prefix length %d is longer than the trie's %d bits", plen, t.maxPrefix)
	}
	t.mu.Lock()
	defer t.mu.Unlock()

	// Find where the key goes: walk while the node's prefix is a strict
	// prefix of the key.
	slot := &t.root
	var node *lpmNode
	var m uint32
	for node = *slot; node != nil; node = *slot {
		m = lpmMatch(node.data, data, min(node.prefixlen, plen))
		if node.prefixlen != m || node.prefixlen == plen || node.prefixlen == t.maxPrefix {
			break
		}
		slot = &node.child[lpmBit(data, node.prefixlen)]
	}
	if node != nil && node.prefixlen == m && node.prefixlen == plen {
		// The prefix has a node.
		if !node.im {
			if flags == UpdateNoExist {
				return ErrKeyExist
			}
			copyToValue(t.vals.slot(node.slot), value[:t.size])
			node.setData(data)
			return nil
		}
		if flags == UpdateExist {
			return ErrKeyNotExist
		}
		s, err := t.alloc(value)
		if err != nil {
			return err
		}
		node.im, node.slot = false, s
		node.setData(data)
		return nil
	}
	if flags == UpdateExist {
		return ErrKeyNotExist
	}
	// A new leaf, and an intermediate node if it splits a path.
	nodes := uint64(1)
	if node != nil && m != plen {
		nodes = 2
	}
	if !t.grow(nodes * t.nodeCost) {
		return Errorf(errNoMem, "LPM trie %q: no memory for a new node: the maps' memory limit is reached", t.spec.Name)
	}
	s, err := t.alloc(value)
	if err != nil {
		t.shrink(nodes * t.nodeCost)
		return err
	}
	nn := newLPMNode(plen, s, false, data)
	switch {
	case node == nil:
		*slot = nn
	case m == plen:
		// The new prefix contains node: insert it above.
		nn.child[lpmBit(node.data, m)] = node
		*slot = nn
	default:
		// Split with an intermediate node of the common prefix.
		im := newLPMNode(m, 0, true, node.data)
		if lpmBit(data, m) == 1 {
			im.child[0], im.child[1] = node, nn
		} else {
			im.child[0], im.child[1] = nn, node
		}
		*slot = im
	}
	return nil
}

// alloc takes a value slot for a new element and fills it.
func (t *lpmTrie) alloc(value []byte) (uint32, error) {
	n := len(t.free)
	if n == 0 {
		return 0, Errorf(ErrNoSpace, "LPM trie is full (%d entries)", t.spec.MaxEntries)
	}
	s := t.free[n-1]
	t.free = t.free[:n-1]
	t.count++
	p := t.vals.slot(s)
	zeroValue(p, t.vals.slotSize)
	copyToValue(p, value[:t.size])
	return s, nil
}

// Update inserts or replaces a prefix.
func (t *lpmTrie) Update(key, value []byte, flags uint64, cpu int) error {
	return t.update(key, value, flags)
}

// Delete is trie_delete_elem: it removes exactly the key's prefix.
func (t *lpmTrie) Delete(key []byte) error {
	plen, data := t.splitKey(key)
	if plen > t.maxPrefix {
		return Errorf(ErrInvalid, "prefix length %d is longer than the trie's %d bits", plen, t.maxPrefix)
	}
	t.mu.Lock()
	defer t.mu.Unlock()

	// trim is the slot that points at node, trim2 the one that points at
	// its parent.
	trim, trim2 := &t.root, &t.root
	var parent, node *lpmNode
	var m uint32
	for node = *trim; node != nil; node = *trim {
		m = lpmMatch(node.data, data, min(node.prefixlen, plen))
		if node.prefixlen != m || node.prefixlen == plen {
			break
		}
		parent, trim2 = node, trim
		trim = &node.child[lpmBit(data, node.prefixlen)]
	}
	if node == nil || node.prefixlen != plen || node.prefixlen != m || node.im {
		return ErrKeyNotExist
	}
	t.free = append(t.free, node.slot)
	t.count--
	dropped := uint64(1)
	switch {
	case node.child[0] != nil && node.child[1] != nil:
		node.im = true
		dropped = 0
	case parent != nil && parent.im && node.child[0] == nil && node.child[1] == nil:
		// Drop the intermediate parent too and promote the sibling.
		if parent.child[0] == node {
			*trim2 = parent.child[1]
		} else {
			*trim2 = parent.child[0]
		}
		dropped = 2
	case node.child[0] != nil:
		*trim = node.child[0]
	case node.child[1] != nil:
		*trim = node.child[1]
	default:
		*trim = nil
	}
	t.shrink(dropped * t.nodeCost)
	return nil
}

// LookupUser copies the value of the longest matching prefix.
func (t *lpmTrie) LookupUser(key, value []byte) error {
	if err := t.checkUser(key, value); err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.lookup(key)
	if n == nil {
		return ErrKeyNotExist
	}
	copyFromValue(value, t.vals.slot(n.slot))
	return nil
}

// UpdateUser inserts or replaces a prefix.
func (t *lpmTrie) UpdateUser(key, value []byte, flags uint64) error {
	if err := t.checkUser(key, value); err != nil {
		return err
	}
	return t.update(key, value, flags)
}

// NextKey is trie_get_next_key (postorder).
func (t *lpmTrie) NextKey(key, next []byte) error {
	if err := t.checkNext(key, next); err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.root == nil {
		return ErrKeyNotExist
	}
	var n *lpmNode
	if key != nil {
		plen, data := t.splitKey(key)
		if plen <= t.maxPrefix {
			n = t.successor(plen, data)
			if n == nil {
				return ErrKeyNotExist
			}
		}
	}
	if n == nil {
		n = leftmost(t.root)
	}
	binary.NativeEndian.PutUint32(next, n.prefixlen)
	copy(next[4:], n.data)
	// Bits past the prefix are as stored: the data the prefix was
	// inserted with, as the kernel returns it.
	return nil
}

// successor returns the node after key in postorder, or nil at the end. A
// key that is not in the trie gives its leftmost node.
func (t *lpmTrie) successor(plen uint32, data []byte) *lpmNode {
	var stack [8*256 + 1]*lpmNode
	path := stack[:0]
	var node *lpmNode
	for node = t.root; node != nil; {
		path = append(path, node)
		m := lpmMatch(node.data, data, min(node.prefixlen, plen))
		if node.prefixlen != m || node.prefixlen == plen {
			break
		}
		node = node.child[lpmBit(data, node.prefixlen)]
	}
	if node == nil || node.prefixlen != plen || node.im ||
		lpmMatch(node.data, data, plen) != plen {
		return leftmost(t.root)
	}
	for i := len(path) - 1; i > 0; i-- {
		parent := path[i-1]
		if parent.child[0] == path[i] && parent.child[1] != nil {
			return leftmost(parent.child[1])
		}
		if !parent.im {
			return parent
		}
	}
	return nil
}

// leftmost is the first node of the subtree at n in postorder.
func leftmost(n *lpmNode) *lpmNode {
	var last *lpmNode
	for n != nil {
		if n.im {
			n = n.child[0]
			continue
		}
		last = n
		if n.child[0] != nil {
			n = n.child[0]
		} else {
			n = n.child[1]
		}
	}
	return last
}

// Regions is the value memory.
func (t *lpmTrie) Regions() []memory.Region { return t.regions }
