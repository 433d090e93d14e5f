// Package helper defines how Go code implements eBPF helper functions for
// waggle programs: a helper is a Func registered under the kernel's helper
// ID, and sees its arguments and the program's memory through a Call.
//
// A program calls a helper with `call ID`; r1 to r5 are its arguments and its
// result goes to r0. A helper must never trust a pointer argument: it reads
// and writes program memory only through the Call, which checks every access
// against the memory the program may touch.
package helper

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unsafe"

	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Func implements a helper. It returns the value for r0, or an error that
// ends the run (wrapped with the helper's name and the calling instruction).
type Func func(c *Call) (uint64, error)

// Helper is a helper function with its ID, name and prototype.
type Helper struct {
	ID   int32  // the ID programs call it by: the kernel's ID for kernel helpers
	Name string // for messages: the kernel's name, such as bpf_map_lookup_elem
	Func Func
	// Proto is what the verifier checks calls against, as for the
	// kernel's helpers. A helper of your own without one (Args nil) is
	// verified conservatively: see Proto.
	Proto Proto
}

// ErrExitProgram, returned by a helper, ends the program at once and
// successfully, with the helper's result as the program's return value.
var ErrExitProgram = errors.New("helper ended the program")

// TailCall, returned by a helper as its error, asks the engine to replace
// the running program by Target (an engine's program) with r1 unchanged, as
// bpf_tail_call does. An engine that cannot run Target, or that has reached
// MaxTailCalls in this run, continues after the call with r0 = 0 instead.
type TailCall struct {
	Target any
}

func (t *TailCall) Error() string { return "tail call" }

// MaxTailCalls is how many tail calls one run may chain, as in the kernel.
const MaxTailCalls = 33

// Engine is what a Call needs from the engine running the program.
type Engine interface {
	// CallFunction runs the program's function at fn (a function pointer
	// that the program loaded) with r1 to r5 = args in a new frame, and
	// returns its r0: callbacks of bpf_loop and for_each_map_elem.
	CallFunction(fn uint64, args [5]uint64) (uint64, error)
}

// Call is what a helper sees of the run that called it. It is valid only
// during the helper's call.
type Call struct {
	// Args are r1 to r5 at the call.
	Args [5]uint64
	// Context is the run's context.
	Context context.Context
	// CPU is the run's CPU slot: per-CPU maps use this slot's values.
	CPU int
	// State is the per-run state of the program's kind (for waggle's
	// kernel helpers, the packet and context of the run), or nil.
	State any

	mem    *memory.Memory
	stack  memory.Region // the calling frames' stack, tried before mem
	engine Engine
}

// NewCall prepares a Call over the memory of a run. Engines use it; a helper
// receives its Call ready.
func NewCall(ctx context.Context, mem *memory.Memory, engine Engine) Call {
	return Call{Context: ctx, mem: mem, engine: engine}
}

// SetStack tells the Call which stack frames the program may access
// besides its memory. Engines call it before each helper call.
func (c *Call) SetStack(r memory.Region) { c.stack = r }

// slice returns the n bytes at addr, looking at the stack first.
func (c *Call) slice(addr, n uint64, acc memory.Access) ([]byte, error) {
	if n != 0 {
		if p := c.stack.Pointer(addr, n); p != nil {
			return unsafe.Slice((*byte)(p), n), nil
		}
	}
	b, err := c.mem.Slice(addr, n, acc)
	if err != nil {
		if _, ok := err.(*memory.Fault); ok && c.stack.Size > 0 {
			// Explain with the stack among the regions.
			all := memory.Memory{Regions: append([]memory.Region{c.stack}, c.mem.Regions...)}
			return nil, all.Explain(addr, n, acc)
		}
	}
	return b, err
}

// CallFunction runs a function of the calling program (a callback) and
// returns its r0.
func (c *Call) CallFunction(fn uint64, args ...uint64) (uint64, error) {
	if c.engine == nil {
		return 0, errors.New("this engine cannot call back into the program")
	}
	var a [5]uint64
	if len(args) > len(a) {
		return 0, fmt.Errorf("a callback takes at most 5 arguments, not %d", len(args))
	}
	copy(a[:], args)
	return c.engine.CallFunction(fn, a)
}

// Read returns the n bytes at addr in program memory, for reading. It fails,
// naming the address, if they are not all inside memory the program may
// read.
func (c *Call) Read(addr, n uint64) ([]byte, error) {
	return c.slice(addr, n, memory.Read)
}

// Write returns the n bytes at addr in program memory, for writing. It fails
// if they are not all inside memory the program may write.
func (c *Call) Write(addr, n uint64) ([]byte, error) {
	return c.slice(addr, n, memory.Write)
}

// ReadString returns the NUL-terminated string at addr, reading at most max
// bytes; without a NUL in them it returns the max bytes.
func (c *Call) ReadString(addr, max uint64) (string, error) {
	var b strings.Builder
	for i := uint64(0); i < max; i++ {
		p, err := c.slice(addr+i, 1, memory.Read)
		if err != nil {
			return "", err
		}
		if p[0] == 0 {
			break
		}
		b.WriteByte(p[0])
	}
	return b.String(), nil
}

// Table is a set of helpers by ID. The zero value is empty and ready to use.
// A Table is not safe for concurrent modification; programs copy what they
// need when they are loaded.
type Table struct {
	byID map[int32]Helper
}

// NewTable returns a table holding the given helpers.
func NewTable(helpers ...Helper) (*Table, error) {
	t := &Table{}
	for _, h := range helpers {
		if err := t.Register(h); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Register adds a helper, replacing any helper with the same ID. The ID must
// be positive and Func set; an empty Name is filled in from the kernel's name
// for the ID.
func (t *Table) Register(h Helper) error {
	if h.ID <= 0 {
		return fmt.Errorf("register helper %q: ID %d must be positive", h.Name, h.ID)
	}
	if h.Func == nil {
		return fmt.Errorf("register helper %d (%s): Func is nil", h.ID, Name(h.ID))
	}
	if h.Name == "" {
		h.Name = Name(h.ID)
	}
	if t.byID == nil {
		t.byID = make(map[int32]Helper)
	}
	t.byID[h.ID] = h
	return nil
}

// Lookup returns the helper with the ID.
func (t *Table) Lookup(id int32) (Helper, bool) {
	if t == nil {
		return Helper{}, false
	}
	h, ok := t.byID[id]
	return h, ok
}

// All returns the table's helpers, sorted by ID.
func (t *Table) All() []Helper {
	if t == nil {
		return nil
	}
	all := make([]Helper, 0, len(t.byID))
	for _, h := range t.byID {
		all = append(all, h)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// Clone returns a copy of the table.
func (t *Table) Clone() *Table {
	c := &Table{byID: make(map[int32]Helper)}
	if t != nil {
		for id, h := range t.byID {
			c.byID[id] = h
		}
	}
	return c
}

// Name returns the kernel's name for a helper ID, such as
// "bpf_map_lookup_elem", or "helper#ID" for an ID the kernel does not have.
func Name(id int32) string {
	if id <= 0 {
		return fmt.Sprintf("helper#%d", id)
	}
	s := asm.BuiltinFunc(id).String()
	if !strings.HasPrefix(s, "Fn") {
		return fmt.Sprintf("helper#%d", id)
	}
	return "bpf_" + snakeCase(strings.TrimPrefix(s, "Fn"))
}

// snakeCase turns cilium/ebpf's CamelCase helper names into the kernel's
// snake_case: MapLookupElem → map_lookup_elem, GetSmpProcessorId →
// get_smp_processor_id, KtimeGetNs → ktime_get_ns, ProbeReadStr →
// probe_read_str.
func snakeCase(s string) string {
	var b strings.Builder
	runes := []rune(s)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]))
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			prevUpper := i > 0 && unicode.IsUpper(runes[i-1])
			if i > 0 && (prevLower || (prevUpper && nextLower)) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
