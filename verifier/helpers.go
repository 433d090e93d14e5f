package verifier

import (
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// proto is the verifier's view of a helper: its prototype (the kernel's
// helpers' from their one definition in internal/kernel, or the one a
// helper of your own declares) and the shape of its callback, which the
// kernel, too, knows by helper (its set_*_callback_state).
type proto struct {
	name string
	helper.Proto
	callback int
}

// Callback shapes.
const (
	cbNone = iota
	cbLoop
	cbForEach
)

const (
	fnLoop           = int32(asm.FnLoop)
	fnForEachMapElem = int32(asm.FnForEachMapElem)
	fnTailCall       = int32(asm.FnTailCall)
	fnSpinLock       = int32(asm.FnSpinLock)
	fnSpinUnlock     = int32(asm.FnSpinUnlock)
	fnRingbufReserve = int32(asm.FnRingbufReserve)
	fnRingbufSubmit  = int32(asm.FnRingbufSubmit)
	fnRingbufDiscard = int32(asm.FnRingbufDiscard)
	fnGetCurrentComm = int32(asm.FnGetCurrentComm)
	fnSnprintf       = int32(asm.FnSnprintf)
	fnStrncmp        = int32(asm.FnStrncmp)
	fnGetSmpID       = int32(asm.FnGetSmpProcessorId)
	fnCopyFromUser   = int32(asm.FnCopyFromUser)
)

// callbackOf is the shape of the callback helper id calls.
func callbackOf(id int32) int {
	switch id {
	case fnLoop:
		return cbLoop
	case fnForEachMapElem:
		return cbForEach
	}
	return cbNone
}

// protoFor returns the prototype of helper id: one of the program's own
// helpers that declares one, else a kernel helper's (also for a helper of
// your own that replaces a kernel helper without declaring a prototype),
// else the unknown prototype of a helper of your own; nil if there is no
// such helper.
func (v *verifier) protoFor(id int32) *proto {
	h, own := v.p.Helpers[id]
	if own && h.Proto.Args != nil {
		p := &proto{name: ownName(id, h), Proto: h.Proto}
		if p.Ret == 0 {
			p.Ret = helper.RetInteger
		}
		return p
	}
	if p, ok := kernel.HelperProto(id); ok {
		return &proto{name: helper.Name(id), Proto: p, callback: callbackOf(id)}
	}
	if own {
		return &proto{name: ownName(id, h), Proto: helper.Proto{Ret: helper.RetInteger}}
	}
	return nil
}

// ownName names a helper of the user's for messages.
func ownName(id int32, h helper.Helper) string {
	if h.Name == "" {
		return "helper " + itoa(int(id))
	}
	return h.Name
}
