package helper

import (
	"strings"

	"github.com/cilium/ebpf"
)

// ArgKind is what a helper's argument must be, as the kernel's
// bpf_arg_type: the verifier checks every call against its helper's
// prototype.
type ArgKind uint8

// RetKind is what a helper returns, as the kernel's bpf_return_type.
type RetKind uint8

// Argument kinds of helpers, as the kernel's bpf_arg_type.
const (
	// ArgAnything is any initialised value.
	ArgAnything ArgKind = iota + 1
	// ArgMap is a map (lddw of a map): CONST_PTR_TO_MAP.
	ArgMap
	// ArgMapKey points to the map's key_size bytes, initialised.
	ArgMapKey
	// ArgMapValue points to the map's value_size bytes, initialised.
	ArgMapValue
	// ArgUninitMapValue points to value_size bytes the helper writes.
	ArgUninitMapValue
	// ArgMem points to memory the helper reads, of the size in the next
	// argument (ArgSize or ArgSizeOrZero).
	ArgMem
	// ArgMemOrNull is ArgMem or NULL.
	ArgMemOrNull
	// ArgUninitMem points to memory the helper writes, of the size in
	// the next argument; it need not be initialised.
	ArgUninitMem
	// ArgWritableMemOrNull points to initialised memory the helper may
	// write, or is NULL.
	ArgWritableMemOrNull
	// ArgSize is the size of the previous argument's memory: a bounded
	// number above 0.
	ArgSize
	// ArgSizeOrZero is ArgSize that may be 0.
	ArgSizeOrZero
	// ArgAllocSize is a constant size of memory the helper returns.
	ArgAllocSize
	// ArgCtx is the program's context, unmodified.
	ArgCtx
	// ArgStackOrNull points to the stack, or is NULL (a callback's
	// context).
	ArgStackOrNull
	// ArgFunc is a function of the program (lddw of a function).
	ArgFunc
	// ArgConstString points to a NUL-terminated string in a read-only
	// map value.
	ArgConstString
	// ArgSpinLock points to the struct bpf_spin_lock of a map value.
	ArgSpinLock
	// ArgRingbufRecord is a ring buffer record to release.
	ArgRingbufRecord
	// ArgSock is a socket pointer tested against NULL (the kernel's
	// ARG_PTR_TO_BTF_ID_SOCK_COMMON).
	ArgSock
	// ArgSockRelease is a socket that a lookup acquired, to release
	// (ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE).
	ArgSockRelease
	// ArgCtxOrNull is the program's context, unmodified, or NULL
	// (ARG_PTR_TO_CTX_OR_NULL).
	ArgCtxOrNull
)

// Result kinds of helpers.
const (
	// RetInteger is a number.
	RetInteger RetKind = iota + 1
	// RetVoid is nothing: r0 may not be read.
	RetVoid
	// RetMapValueOrNull points to a value of the map argument, or is NULL.
	RetMapValueOrNull
	// RetRingbufRecordOrNull is a ring buffer record of the size argument
	// (an acquired reference), or NULL.
	RetRingbufRecordOrNull
	// RetSockOrNull is a full socket (struct bpf_sock, an acquired
	// reference), or NULL: RET_PTR_TO_SOCKET_OR_NULL.
	RetSockOrNull
	// RetSockCommonOrNull is a socket of which only the common fields
	// may be read (an acquired reference), or NULL:
	// RET_PTR_TO_SOCK_COMMON_OR_NULL.
	RetSockCommonOrNull
)

// Proto is a helper's prototype, as the kernel's struct bpf_func_proto:
// what the verifier checks a call against and what it knows of the result.
type Proto struct {
	// Args are the kinds of r1, r2, ... (at most five). Nil means the
	// prototype is unknown: the verifier then only requires r1–r5 to be
	// initialised, and assumes the helper may write any stack memory a
	// pointer argument reaches.
	Args []ArgKind
	// Ret is the kind of r0 after the call; 0 means RetInteger.
	Ret RetKind
	// ChangesPacket is set for helpers that may move the packet: every
	// packet pointer is invalid after the call.
	ChangesPacket bool
	// MapTypes are the map types the map argument may have; nil accepts
	// the map types the kernel's general rules allow.
	MapTypes []ebpf.MapType
	// MightSleep is set for helpers that only sleepable programs may call.
	MightSleep bool
}

// argWords name the argument kinds in signatures.
var argWords = map[ArgKind]string{
	ArgAnything: "u64", ArgMap: "map", ArgMapKey: "key", ArgMapValue: "value",
	ArgUninitMapValue: "value out", ArgMem: "mem", ArgMemOrNull: "mem or NULL",
	ArgUninitMem: "mem out", ArgWritableMemOrNull: "mem in/out or NULL", ArgSize: "size",
	ArgSizeOrZero: "size or 0", ArgAllocSize: "const size", ArgCtx: "ctx",
	ArgStackOrNull: "stack or NULL", ArgFunc: "callback", ArgConstString: "const string",
	ArgSpinLock: "spin lock", ArgRingbufRecord: "ringbuf record",
	ArgSock: "socket", ArgSockRelease: "socket to release", ArgCtxOrNull: "ctx or NULL",
}

// retWords name the result kinds in signatures.
var retWords = map[RetKind]string{
	RetInteger: "u64", RetVoid: "void", RetMapValueOrNull: "value or NULL",
	RetRingbufRecordOrNull: "ringbuf record or NULL",
	RetSockOrNull:          "socket or NULL", RetSockCommonOrNull: "sock_common or NULL",
}

// Signature writes the prototype as a C-like declaration for messages:
// "my_sum(mem, size) u64". An unknown prototype is "name(...)".
func (p Proto) Signature(name string) string {
	if p.Args == nil {
		return name + "(...)"
	}
	args := make([]string, len(p.Args))
	for i, a := range p.Args {
		args[i] = argWords[a]
	}
	ret := retWords[p.Ret]
	if p.Ret == 0 {
		ret = retWords[RetInteger]
	}
	return name + "(" + strings.Join(args, ", ") + ") " + ret
}
