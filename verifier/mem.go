package verifier

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

// access is what a memory access does.
type access struct {
	write  bool
	atomic bool
	signx  bool // sign-extending load
	// value is the register a store writes (nil for immediates, in
	// imm), or for helpers nil with a size only.
	value *reg
	imm   int64
	// valueReg is the number of the stored register, for messages.
	valueReg int
}

func (v *verifier) checkLoad(ins isa.Instruction) *vErr {
	p, err := v.readReg(ins.Src)
	if err != nil {
		return err
	}
	size := ins.Size().Bytes()
	val, err := v.memAccess(int(ins.Src), *p, int(ins.Offset), size, access{signx: ins.Mode() == isa.ModeMEMSX})
	if err != nil {
		return err
	}
	if err := v.savePtrType(int(ins.Src), p); err != nil {
		return err
	}
	val.origin = int32(v.insn)
	v.setReg(ins.Dst, val)
	return nil
}

func (v *verifier) checkStore(ins isa.Instruction) *vErr {
	p, err := v.readReg(ins.Dst)
	if err != nil {
		return err
	}
	a := access{write: true, valueReg: -1}
	if ins.Class() == isa.ClassSTX {
		val, err := v.readReg(ins.Src)
		if err != nil {
			return err
		}
		c := *val
		a.value = &c
		a.valueReg = int(ins.Src)
	} else {
		a.imm = int64(ins.Imm32())
	}
	if _, err = v.memAccess(int(ins.Dst), *p, int(ins.Offset), ins.Size().Bytes(), a); err != nil {
		return err
	}
	return v.savePtrType(int(ins.Dst), p)
}

func (v *verifier) checkAtomic(ins isa.Instruction) *vErr {
	p, err := v.readReg(ins.Dst)
	if err != nil {
		return err
	}
	src, err := v.readReg(ins.Src)
	if err != nil {
		return err
	}
	imm := int32(ins.Imm)
	if imm == isa.AtomicCmpXchg {
		r0, err := v.readReg(isa.R0)
		if err != nil {
			return err
		}
		if v.strict && r0.isPtr() {
			return v.errf(0, "R0 leaks addr into mem", "unprivileged programs may not compare a pointer with memory")
		}
	}
	if v.strict && src.isPtr() {
		return v.errf(int(ins.Src), fmt.Sprintf("R%d leaks addr into mem", ins.Src), "unprivileged programs may not store a pointer with an atomic operation")
	}
	switch p.typ {
	case regCtx, regPacket, regPacketMeta, regPacketEnd, regSock:
		return v.errf(int(ins.Dst), fmt.Sprintf("BPF_ATOMIC stores into R%d %s is not allowed", ins.Dst, v.kernelType(p)),
			"atomic operations on %s are not allowed", v.typeWords(p))
	}
	size := ins.Size().Bytes()
	ptr := *p
	if err := v.checkAtomicAlignment(int(ins.Dst), &ptr, int(ins.Offset), size); err != nil {
		return err
	}
	if _, err := v.memAccess(int(ins.Dst), ptr, int(ins.Offset), size, access{atomic: true}); err != nil {
		return err
	}
	c := *src
	if _, err := v.memAccess(int(ins.Dst), ptr, int(ins.Offset), size, access{write: true, atomic: true, value: &c, valueReg: int(ins.Src)}); err != nil {
		return err
	}
	if err := v.savePtrType(int(ins.Dst), &ptr); err != nil {
		return err
	}
	if imm&isa.AtomicFetch != 0 {
		out := unknownReg(v.insn)
		if size == 4 {
			out.s = out.s.trunc(4)
		}
		if imm == isa.AtomicCmpXchg {
			v.setReg(isa.R0, out)
		} else {
			v.setReg(ins.Src, out)
		}
	}
	return nil
}

// checkAtomicAlignment checks that an atomic access of size bytes at ptr +
// off is aligned to its size, as the kernel's strict alignment check (the
// stack's alignment is checked by every stack access).
func (v *verifier) checkAtomicAlignment(regno int, ptr *reg, off, size int) *vErr {
	if t := ptr.s.t.add(tnumConst(uint64(int64(ptr.off) + int64(off)))); t.isAligned(uint64(size)) || ptr.typ == regStack {
		return nil
	}
	desc := ""
	switch ptr.typ {
	case regMapValue:
		desc = "value "
	case regMapKey:
		desc = "map key "
	}
	return v.errf(regno, fmt.Sprintf("misaligned %saccess off %s+%d+%d size %d", desc, kernelTnum(ptr.s.t), ptr.off, off, size),
		"the atomic operation of %d bytes at offset %d is not aligned to its size", size, int64(ptr.off)+int64(off))
}

// checkAcquireRelease checks a load-acquire (a load from Src+Offset into
// Dst) or a store-release (a store of Src to Dst+Offset), as the kernel's
// check_atomic_load and check_atomic_store: a load or a store of 1, 2, 4
// or 8 bytes with the alignment of atomic operations, never through the
// context, the packet or a socket.
func (v *verifier) checkAcquireRelease(ins isa.Instruction) *vErr {
	load := int32(ins.Imm) == isa.AtomicLoadAcquire
	addr := ins.Dst
	if load {
		addr = ins.Src
	}
	p, err := v.readReg(addr)
	if err != nil {
		return err
	}
	if !load {
		if _, err := v.readReg(ins.Src); err != nil {
			return err
		}
	}
	switch p.typ {
	case regCtx, regPacket, regPacketMeta, regPacketEnd, regSock:
		verb, what := "stores into", "store-release"
		if load {
			verb, what = "loads from", "load-acquire"
		}
		return v.errf(int(addr), fmt.Sprintf("BPF_ATOMIC %s R%d %s is not allowed", verb, addr, v.kernelType(p)),
			"a %s cannot go through %s", what, v.typeWords(p))
	}
	if p.typ != regScalar && !p.maybeNull() {
		if err := v.checkAtomicAlignment(int(addr), p, int(ins.Offset), ins.Size().Bytes()); err != nil {
			return err
		}
	}
	if load {
		return v.checkLoad(ins)
	}
	return v.checkStore(ins)
}

// memAccess checks an access of size bytes at ptr + off and returns the
// value a load gives.
func (v *verifier) memAccess(regno int, ptr reg, off, size int, a access) (reg, *vErr) {
	if a.write && a.value != nil && v.strict && a.value.isPtr() && ptr.typ != regStack {
		return reg{}, v.errf(a.valueReg, fmt.Sprintf("R%d leaks addr into %s", a.valueReg, leakTarget(ptr.typ)),
			"unprivileged programs may not store a pointer (%s) into %s", v.typeWords(a.value), v.typeWords(&ptr))
	}
	if ptr.maybeNull() {
		return reg{}, v.errf(regno, fmt.Sprintf("R%d invalid mem access '%s'", regno, v.kernelType(&ptr)),
			"%s may be NULL here%s, and no test on this path checks it: compare it with 0 before using it", regName(isa.Register(regno)), v.originNote(&ptr))
	}
	var out reg
	var err *vErr
	switch ptr.typ {
	case regScalar:
		what := "a number"
		if ptr.isNull() {
			what = "the number 0 (NULL)"
		}
		return reg{}, v.errf(regno, fmt.Sprintf("R%d invalid mem access 'scalar'", regno),
			"%s holds %s, not a pointer: it cannot be used as an address", regName(isa.Register(regno)), what)
	case regCtx:
		out, err = v.ctxAccess(regno, &ptr, off, size, a)
	case regStack:
		out, err = v.stackAccess(regno, &ptr, off, size, a)
	case regMapValue:
		out, err = v.mapValueAccess(regno, &ptr, off, size, a)
	case regMapKey:
		if a.write {
			return reg{}, v.errf(regno, fmt.Sprintf("R%d cannot write into map_key", regno), "the key of a map element is read-only")
		}
		m := v.maps[ptr.aux]
		out, err = v.regionAccess(regno, &ptr, off, size, int64(m.KeySize), func() (string, string) {
			return "map key", fmt.Sprintf("invalid access to map key, key_size=%d off=%d size=%d", m.KeySize, int(ptr.off)+off, size)
		})
	case regPacket, regPacketMeta:
		out, err = v.packetAccess(regno, &ptr, off, size, a)
	case regSock:
		out, err = v.sockAccess(regno, &ptr, off, size, a)
	case regMem:
		if a.write && ptr.flags&flagRdonly != 0 {
			return reg{}, v.errf(regno, fmt.Sprintf("R%d cannot write into %s", regno, v.kernelType(&ptr)), "the memory is read-only")
		}
		out, err = v.regionAccess(regno, &ptr, off, size, int64(ptr.size), func() (string, string) {
			return "memory", fmt.Sprintf("invalid access to memory, mem_size=%d off=%d size=%d", ptr.size, int(ptr.off)+off, size)
		})
	default:
		return reg{}, v.errf(regno, fmt.Sprintf("R%d invalid mem access '%s'", regno, v.kernelType(&ptr)),
			"%s holds %s, which cannot be read or written through", regName(isa.Register(regno)), v.typeWords(&ptr))
	}
	if err != nil {
		return reg{}, err
	}
	if !a.write && out.typ == regScalar && size < 8 {
		if a.signx {
			out.s = out.s.sext(size)
		} else {
			out.s = out.s.trunc(size)
		}
	}
	return out, nil
}

func leakTarget(t regType) string {
	switch t {
	case regCtx:
		return "ctx"
	case regMapValue:
		return "map"
	case regPacket, regPacketMeta:
		return "packet"
	}
	return "mem"
}

// regionAccess checks an access to [0, size) of an object at a pointer
// with a variable offset, as the kernel's check_mem_region_access.
//
// desc gives the region's name in words and the kernel's message for an
// access outside it; it is called only for a rejection (formatting them
// for every access of every path costs more than the check).
func (v *verifier) regionAccess(regno int, p *reg, off, size int, objSize int64, desc func() (what, kmsg string)) (reg, *vErr) {
	fixed := int64(p.off) + int64(off)
	if p.s.smin < 0 && (p.s.smin == -1<<63 || fixed+p.s.smin != int64(int32(fixed+p.s.smin)) || p.s.smin+fixed < 0) {
		what, _ := desc()
		return reg{}, v.errf(regno, fmt.Sprintf("R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno),
			"the offset into the %s may be negative (as low as %d): check that the index is not negative, or use an unsigned type", what, p.s.smin+fixed)
	}
	lo := p.s.smin + fixed
	if lo < 0 || lo+int64(size) > objSize {
		what, kmsg := desc()
		return reg{}, v.errf(regno, kmsg+fmt.Sprintf("\nR%d min value is outside of the allowed memory range", regno),
			"the access of %d bytes at offset %d is outside the %d bytes of the %s%s", size, lo, objSize, what, v.varNote(p))
	}
	if p.s.umax >= maxVarOff {
		what, _ := desc()
		return reg{}, v.errf(regno, fmt.Sprintf("R%d unbounded memory access, make sure to bounds check any such access", regno),
			"the offset into the %s has no upper bound: check it against the size (if (i < N)) before the access", what)
	}
	hi := int64(p.s.umax) + fixed
	if hi < 0 || hi+int64(size) > objSize {
		what, kmsg := desc()
		return reg{}, v.errf(regno, kmsgAt(kmsg, hi)+fmt.Sprintf("\nR%d max value is outside of the allowed memory range", regno),
			"the access of %d bytes at offsets up to %d runs past the %d bytes of the %s%s", size, hi, objSize, what, v.varNote(p))
	}
	return unknownReg(v.insn), nil
}

// kmsgAt rewrites the offset of a kernel message "... off=N size=M".
func kmsgAt(kmsg string, off int64) string {
	i := strings.Index(kmsg, " off=")
	if i < 0 {
		return kmsg
	}
	j := strings.Index(kmsg[i+5:], " ")
	if j < 0 {
		return kmsg
	}
	return kmsg[:i+5] + strconv.FormatInt(off, 10) + kmsg[i+5+j:]
}

// varNote explains where a variable offset comes from.
func (v *verifier) varNote(p *reg) string {
	if !p.hasVarOff() {
		return ""
	}
	return fmt.Sprintf(" (the pointer's variable offset is %s)", v.valueWords(&reg{typ: regScalar, s: p.s}))
}

func (v *verifier) mapValueAccess(regno int, p *reg, off, size int, a access) (reg, *vErr) {
	m := v.maps[p.aux]
	fixed := int(p.off) + off
	if a.write && m.Flags&bpfFRdonlyProg != 0 {
		return reg{}, v.errf(regno, fmt.Sprintf("write into map forbidden, value_size=%d off=%d size=%d", m.ValueSize, fixed, size),
			"map %s is read-only for programs (BPF_F_RDONLY_PROG: .rodata and const globals)", m.Name)
	}
	if !a.write && !a.atomic && m.Flags&bpfFWronlyProg != 0 {
		return reg{}, v.errf(regno, fmt.Sprintf("read from map forbidden, value_size=%d off=%d size=%d", m.ValueSize, fixed, size),
			"map %s is write-only for programs (BPF_F_WRONLY_PROG)", m.Name)
	}
	out, err := v.regionAccess(regno, p, off, size, int64(m.ValueSize), func() (string, string) {
		return fmt.Sprintf("value of map %s", m.Name),
			fmt.Sprintf("invalid access to map value, value_size=%d off=%d size=%d", m.ValueSize, fixed, size)
	})
	if err != nil {
		return reg{}, err
	}
	if m.HasSpinLock {
		lo := int64(fixed) + p.s.smin
		hi := int64(fixed) + int64(p.s.umax) + int64(size)
		lock := int64(m.SpinLockOffset)
		if lo < lock+4 && hi > lock {
			return reg{}, v.errf(regno, "bpf_spin_lock cannot be accessed directly by load/store",
				"the access touches the struct bpf_spin_lock of map %s's value (bytes %d to %d): only bpf_spin_lock and bpf_spin_unlock may", m.Name, lock, lock+3)
		}
	}
	if !a.write && !a.atomic && a.value == nil && m.Value != nil && m.Flags&bpfFRdonlyProg != 0 && p.s.isConst() {
		at := int64(fixed) + int64(p.s.t.v)
		if at >= 0 && at+int64(size) <= int64(len(m.Value)) {
			var buf [8]byte
			copy(buf[:], m.Value[at:at+int64(size)])
			val := binary.LittleEndian.Uint64(buf[:])
			if a.signx {
				val = uint64(signExtend(val, uint(8*size)))
			}
			return constReg(val, v.insn), nil
		}
	}
	if a.write && a.value != nil && a.value.isPtr() {
		// Storing a pointer into a map value: allowed for root, the
		// value is a number for whoever reads it back.
		_ = out
	}
	return out, nil
}

func (v *verifier) packetAccess(regno int, p *reg, off, size int, a access) (reg, *vErr) {
	if a.write && !v.mayWritePacket() {
		return reg{}, v.errf(regno, "cannot write into packet", "%s programs may not write into the packet", progTypeName(v.p.Type))
	}
	if p.s.smin < 0 {
		return reg{}, v.errf(regno, fmt.Sprintf("R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno),
			"the offset added to the packet pointer may be negative (as low as %d)", p.s.smin)
	}
	fixed := int(p.off) + off
	if p.size < 0 || fixed < 0 || fixed+size > int(p.size) {
		return reg{}, v.errf(regno, fmt.Sprintf("invalid access to packet, off=%d size=%d, R%d(id=%d,off=%d,r=%d)", fixed, size, regno, p.id, p.off, max(p.size, 0)),
			"%s", v.packetReason(p, fixed, size))
	}
	return unknownReg(v.insn), nil
}

// packetReason explains a refused packet access.
func (v *verifier) packetReason(p *reg, fixed, size int) string {
	what := "packet"
	start := "data"
	if p.typ == regPacketMeta {
		what, start = "packet metadata", "data_meta"
	}
	if v.raw {
		what, start = "memory", "r1"
	}
	var b string
	if p.hasVarOff() {
		b = fmt.Sprintf("the pointer is %s plus a variable offset %s plus %d; ", start, v.valueWords(&reg{typ: regScalar, s: p.s}), p.off)
	}
	switch {
	case p.size == rangeBeyondEnd || p.size == rangeAtEnd:
		return b + fmt.Sprintf("the %s access of %d bytes at offset %d is at or past the end of the %s on this path", what, size, fixed, what)
	case p.size == 0:
		end := "data_end"
		if v.raw {
			end = "the length in r2"
		}
		return b + fmt.Sprintf("the access of %d bytes at offset %d reads the %s, and no comparison with %s on this path proves any of it is there: check it first (if (p + %d > data_end) return ...)",
			size, fixed, what, end, fixed+size)
	}
	return b + fmt.Sprintf("the access of %d bytes at offset %d reaches byte %d, but the comparisons on this path only prove that %d bytes are there", size, fixed, fixed+size-1, p.size)
}

// mayWritePacket reports whether the program type may write the packet.
func (v *verifier) mayWritePacket() bool { return v.pt.WritesPacket }

func (v *verifier) ctxAccess(regno int, p *reg, off, size int, a access) (reg, *vErr) {
	if p.off < 0 {
		return reg{}, v.errf(regno, fmt.Sprintf("negative offset ctx ptr R%d off=%d disallowed", regno, p.off), "the context pointer was moved before its start")
	}
	if p.off != 0 {
		return reg{}, v.errf(regno, fmt.Sprintf("dereference of modified ctx ptr R%d off=%d disallowed", regno, p.off),
			"the context may be accessed only through the unmodified context pointer, with the field's offset in the instruction (not by adding to the pointer)")
	}
	if p.hasVarOff() {
		return reg{}, v.errf(regno, fmt.Sprintf("variable ctx access var_off=%s disallowed", p.s.t),
			"the context may not be accessed at a variable offset")
	}
	d := v.ctx
	// The kernel's message, formatted only for a refusal: every load and
	// store of the context comes here.
	kmsg := func() string { return fmt.Sprintf("invalid bpf_context access off=%d size=%d", off, size) }
	bit := uint16(1) << size
	if d.Memory {
		if off < d.MinOff || off >= d.Size || off%size != 0 {
			return reg{}, v.errf(regno, kmsg(), "the access of %d bytes at offset %d of the context (%s) is %s", size, off, d.Name, ctxWhyOut(off, size, d))
		}
		if a.write && !d.Writable {
			return reg{}, v.errf(regno, kmsg(), "the context of %s programs (%s) is read-only", progTypeName(v.p.Type), d.Name)
		}
		if d.PerfSample && off < d.Size-16 && size != 8 {
			return reg{}, v.errf(regno, kmsg(), "the registers in struct bpf_perf_event_data are read 8 bytes at a time")
		}
		if a.signx && !v.ctxSignxOK() {
			return reg{}, v.errf(regno, kmsg(), "sign-extending loads from the context are not allowed")
		}
		return unknownReg(v.insn), nil
	}
	f, ok := d.Field(off)
	if !ok || off+size > f.Off+f.Size || off%size != 0 {
		return reg{}, v.errf(regno, kmsg(), "%s", v.ctxFieldWhy(off, size, a.write))
	}
	allowed := f.Read
	verb := "read"
	if a.write {
		allowed, verb = f.Write, "written"
	}
	if allowed&bit == 0 || !a.write && !f.NarrowOK(off, size) {
		if !a.write && allowed&bit != 0 {
			return reg{}, v.errf(regno, kmsg(), "%s.%s may be read %d bytes at a time only at %s", d.Name, f.Name, size, narrowWords(&f))
		}
		if allowed == 0 {
			return reg{}, v.errf(regno, kmsg(), "%s.%s may not be %s by %s%s", d.Name, f.Name, verb, v.progWords(), v.otherAttachWritable(off, a.write))
		}
		return reg{}, v.errf(regno, kmsg(), "%s.%s may not be %s %d bytes at a time (allowed: %s)", d.Name, f.Name, verb, size, sizesWords(allowed))
	}
	if a.signx {
		return reg{}, v.errf(regno, kmsg(), "sign-extending loads from %s are not allowed", d.Name)
	}
	if v.strict && (a.write && f.PrivWrite || !a.write && f.PrivRead) {
		return reg{}, v.errf(regno, kmsg(), "%s.%s may be %s only by privileged programs (the kernel's CAP_BPF or CAP_SYS_ADMIN), not under the rules for unprivileged ones", d.Name, f.Name, verb)
	}
	if a.write || a.atomic {
		return reg{}, nil
	}
	switch f.Kind {
	case kernel.CtxPacket:
		return ptrReg(regPacket, v.insn), nil
	case kernel.CtxPacketEnd:
		return ptrReg(regPacketEnd, v.insn), nil
	case kernel.CtxPacketMeta:
		return ptrReg(regPacketMeta, v.insn), nil
	case kernel.CtxSocketOrNull:
		r := ptrReg(regSock, v.insn)
		r.flags = flagMaybeNull
		r.id = v.newID()
		return r, nil
	case kernel.CtxSocket:
		r := ptrReg(regSock, v.insn)
		r.aux = sockFull
		return r, nil
	case kernel.CtxFullSocketOrNull:
		r := ptrReg(regSock, v.insn)
		r.aux = sockFull
		r.flags = flagMaybeNull
		r.id = v.newID()
		return r, nil
	}
	return unknownReg(v.insn), nil
}

func (v *verifier) ctxSignxOK() bool { return true }

// narrowWords says where a field's narrow reads may be.
func narrowWords(f *kernel.CtxField) string {
	if f.NarrowAtStart {
		return fmt.Sprintf("its first byte (offset %d)", f.Off)
	}
	return fmt.Sprintf("its first %d bytes", f.NarrowWithin)
}

// The aux of a regSock: what the pointer points to.
const (
	sockCommon = -1 // struct sock_common (PTR_TO_SOCK_COMMON, __sk_buff.sk)
	sockFull   = 1  // a full socket (PTR_TO_SOCKET: bpf_sock_addr.sk, bpf_sock_ops.sk)
)

// sockAccess checks a read of struct bpf_sock through a socket pointer,
// as the kernel's check_sock_access: bpf_sock_common_is_valid_access for
// __sk_buff.sk once tested against NULL (the test run's socket in skb
// runs), bpf_sock_is_valid_access for the full
// sockets of bpf_sock_addr.sk and bpf_sock_ops.sk.
func (v *verifier) sockAccess(regno int, p *reg, off, size int, a access) (reg, *vErr) {
	what, d := "sock_common", &kernel.SockCommonDesc
	if p.aux == sockFull || p.flags&flagFullSock != 0 {
		what, d = "sock", &kernel.SockDesc
	}
	kmsg := fmt.Sprintf("invalid %s access off=%d size=%d", what, int(p.off)+off, size)
	if a.write || a.atomic {
		return reg{}, v.errf(regno, fmt.Sprintf("R%d cannot write into %s", regno, what), "socket fields are read-only")
	}
	if p.off != 0 || p.hasVarOff() {
		return reg{}, v.errf(regno, fmt.Sprintf("R%d invalid %s access: off=%d", regno, what, p.off), "socket fields must be read at a constant offset from the socket pointer")
	}
	f, ok := d.Field(off)
	ok = ok && off%size == 0 && off+size <= f.Off+f.Size && f.Read&(1<<size) != 0 && f.NarrowOK(off, size)
	if !ok {
		return reg{}, v.errf(regno, "R"+itoa(regno)+" "+kmsg, "the read of %d bytes at offset %d of %s is not allowed", size, off, d.Name)
	}
	return unknownReg(v.insn), nil
}

func ctxWhyOut(off, size int, d *kernel.CtxDesc) string {
	switch {
	case off < d.MinOff:
		return fmt.Sprintf("before offset %d, where the accessible part starts", d.MinOff)
	case off >= d.Size:
		return fmt.Sprintf("past its %d bytes", d.Size)
	}
	return fmt.Sprintf("not aligned to %d bytes", size)
}

func (v *verifier) ctxFieldWhy(off, size int, write bool) string {
	d := v.ctx
	if off < 0 || off >= d.Size {
		return fmt.Sprintf("offset %d is outside %s (%d bytes)", off, d.Name, d.Size)
	}
	f, ok := d.Field(off)
	if !ok {
		return fmt.Sprintf("offset %d of %s is no field %s may access%s", off, d.Name, v.progWords(), v.otherAttachWords(off))
	}
	if off%size != 0 {
		return fmt.Sprintf("the access of %d bytes at offset %d of %s is not aligned to its size", size, off, d.Name)
	}
	return fmt.Sprintf("the access of %d bytes at offset %d runs past the field %s (bytes %d to %d of %s)", size, off, f.Name, f.Off, f.Off+f.Size-1, d.Name)
}

// progWords names the programs of the verified program's type, and its
// attach type where the context depends on it.
func (v *verifier) progWords() string {
	if len(v.pt.Attach) > 0 {
		return fmt.Sprintf("%s programs of attach type %s", v.pt.Name, attachWords(v.pt, v.p.AttachType))
	}
	return progTypeName(v.p.Type) + " programs"
}

// otherAttachWords names the field at off in the contexts of the type's
// other attach types, and those attach types, if there is one.
func (v *verifier) otherAttachWords(off int) string {
	var name string
	var names []string
	for _, at := range v.pt.Attach {
		if f, ok := at.Context.Field(off); ok {
			name = f.Name
			names = append(names, at.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s is for the attach types %s)", name, strings.Join(names, ", "))
}

// otherAttachWritable names the attach types of the type in which the
// field at off may be written (or read), if it depends on them.
func (v *verifier) otherAttachWritable(off int, write bool) string {
	var names []string
	for _, at := range v.pt.Attach {
		if f, ok := at.Context.Field(off); ok && (write && f.Write != 0 || !write && f.Read != 0) {
			names = append(names, at.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf(" (only by those of the attach types %s)", strings.Join(names, ", "))
}

func sizesWords(mask uint16) string {
	s := ""
	for _, n := range []int{1, 2, 4, 8} {
		if mask&(1<<n) != 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d", n)
		}
	}
	return s + " bytes"
}

// stackAccess checks an access to a stack frame and applies it.
func (v *verifier) stackAccess(regno int, p *reg, off, size int, a access) (reg, *vErr) {
	fr := v.cur.frames[p.frame]
	fixed := int64(p.off) + int64(off)
	// Stack accesses must be aligned to their size.
	if !p.s.t.add(tnumConst(uint64(fixed))).isAligned(uint64(size)) {
		return reg{}, v.errf(regno, fmt.Sprintf("misaligned stack access off %s+%d+%d size %d", kernelTnum(p.s.t), p.off, off, size),
			"the stack access of %d bytes at offset %d is not aligned to its size", size, fixed+int64(p.s.t.v))
	}
	var lo, hi int64
	if p.s.isConst() {
		lo = int64(p.s.t.v) + fixed
		hi = lo + int64(size)
	} else {
		if p.s.smax >= maxVarOff || p.s.smin <= -maxVarOff {
			return reg{}, v.errf(regno, fmt.Sprintf("invalid unbounded variable-offset%s stack R%d", rwWord(a.write), regno),
				"the stack pointer's variable offset is unbounded")
		}
		lo = p.s.smin + fixed
		hi = p.s.smax + fixed + int64(size)
	}
	if lo < -stackSize || hi > 0 {
		if p.s.isConst() {
			return reg{}, v.errf(regno, fmt.Sprintf("invalid%s stack R%d off=%d size=%d", rwWord(a.write), regno, fixed+int64(p.s.t.v), size),
				"the access of %d bytes at fp%+d is outside the stack frame, which spans fp-512 to fp-1", size, lo)
		}
		return reg{}, v.errf(regno, fmt.Sprintf("invalid variable-offset%s stack R%d var_off=%s off=%d size=%d", rwWord(a.write), regno, p.s.t, fixed, size),
			"the access of %d bytes at fp%+d to fp%+d (variable offset) leaves the stack frame, which spans fp-512 to fp-1", size, lo, hi-1)
	}
	sp := &v.prog.subprogs[fr.subprog]
	sp.stack = max(sp.stack, int(-lo))
	if p.s.isConst() {
		return v.stackFixed(regno, fr, int(lo), size, a, p)
	}
	return v.stackVar(regno, fr, int(lo), int(hi), size, a)
}

func rwWord(write bool) string {
	if write {
		return " write to"
	}
	return " read from"
}

// slotOf returns the slot index and the byte in it of fp+off.
func slotOf(off int) (spi, b int) {
	spi = (-off - 1) / regSize
	return spi, off + regSize*(spi+1)
}

func (v *verifier) stackFixed(regno int, fr *frame, off, size int, a access, p *reg) (reg, *vErr) {
	spi, b := slotOf(off)
	if a.write {
		if size != regSize && v.strict {
			// The check of a partial write depends on what the slot
			// holds (a spilled pointer may not be overwritten in part).
			v.markStackRead(int(p.frame), spi)
		}
		err := v.stackWriteFixed(regno, fr, spi, b, off, size, a, p)
		if err == nil && size == regSize {
			markStackWritten(fr, spi)
		}
		return reg{}, err
	}
	v.markStackRead(int(p.frame), spi)
	var slot stackSlot
	if spi < len(fr.stack) {
		slot = fr.stack[spi]
	}
	if n, ok := slot.spilled(); ok {
		if size != regSize || n != regSize {
			sp := slot.spill
			if sp.typ != regScalar {
				return reg{}, v.errf(regno, "invalid size of register fill",
					"the %d-byte load at fp%+d reads part of a spilled pointer (%s): pointers must be loaded whole, 8 bytes at fp%+d",
					size, off, v.typeWords(&sp), off-b)
			}
			if size <= n && b == 0 {
				v.recordStack(fr, spi)
				if size == 4 && n == 4 && scalarWidth(&sp) <= 32 {
					// A 4-byte fill of a 4-byte spill links the
					// register and the slot, as the kernel's fill.
					v.idBeforeCopy(&fr.stack[spi].spill)
					sp = fr.stack[spi].spill
				}
				out := sp
				if scalarWidth(&sp) > 8*size {
					out.id = 0
					out.off = 0
					out.flags &^= flagAddConst | flagAddConst32
				}
				return out, nil
			}
			spills, zeros := 0, 0
			for i := b; i < b+size; i++ {
				switch slot.kind[i] {
				case stSpill:
					spills++
				case stZero:
					zeros++
				case stMisc:
				case stInvalid:
					if v.strict {
						return reg{}, v.uninitStack(regno, off, i-b, size)
					}
				}
			}
			if spills == size && sp.s.isConst() && sp.s.t.v == 0 {
				v.recordStack(fr, spi)
				return constReg(0, v.insn), nil
			}
			if zeros == size {
				return constReg(0, v.insn), nil
			}
			return unknownReg(v.insn), nil
		}
		v.recordStack(fr, spi)
		return slot.spill, nil
	}
	zero := true
	for i := b; i < b+size; i++ {
		switch slot.kind[i] {
		case stZero:
		case stMisc:
			zero = false
		case stSpill:
			// Part of a register spilled at a lower address of the slot.
			sp := slot.spill
			if sp.typ != regScalar {
				return reg{}, v.errf(regno, "invalid size of register fill", "the load reads part of a spilled pointer (%s)", v.typeWords(&sp))
			}
			zero = false
		default:
			if v.strict {
				return reg{}, v.uninitStack(regno, off, i-b, size)
			}
			zero = false
		}
	}
	if zero {
		return constReg(0, v.insn), nil
	}
	return unknownReg(v.insn), nil
}

// scalarWidth is the number of bits a scalar needs.
func scalarWidth(r *reg) int {
	if r.s.umax <= 0xff {
		return 8
	}
	if r.s.umax <= 0xffff {
		return 16
	}
	if r.s.umax <= 0xffffffff {
		return 32
	}
	return 64
}

func (v *verifier) uninitStack(regno, off, i, size int) *vErr {
	return v.errf(regno, fmt.Sprintf("invalid read from stack off %d+%d size %d", off, i, size),
		"the load reads byte fp%+d of the stack, which nothing on this path wrote (unprivileged programs may not read uninitialised stack)", off+i)
}

func (v *verifier) stackWriteFixed(regno int, fr *frame, spi, b, off, size int, a access, p *reg) *vErr {
	slot := fr.slot(spi)
	val := a.value
	if v.strict {
		if n, ok := slot.spilled(); ok && slot.spill.typ != regScalar && size != regSize {
			_ = n
			return v.errf(regno, "attempt to corrupt spilled pointer on stack", "the store overwrites part of a spilled pointer")
		}
	}
	cur := v.cur.cur()
	switch {
	case a.atomic:
		// What an atomic operation leaves in memory is data the
		// verifier does not know, whatever its operand (the kernel
		// checks the write with no value register): every byte it
		// writes becomes data, as a store of an unknown scalar's bytes.
		if _, ok := slot.spilled(); ok || slot.hasSpillBytes() {
			slot.scrubAll()
		}
		for i := b; i < b+size; i++ {
			slot.kind[i] = stMisc
		}
	case val != nil && val.typ == regScalar && b == 0 && !v.strict:
		if a.valueReg >= 0 && scalarWidth(val) <= 8*size {
			// The spilled copy and the register share an id, as a
			// register move's copies (the kernel's
			// assign_scalar_id_before_mov on a spill): a later test of
			// either bounds both.
			r := &v.regs()[a.valueReg]
			v.idBeforeCopy(r)
			val.id, val.off, val.flags = r.id, r.off, r.flags
		}
		v.spill(slot, val, size)
		v.recordStack(fr, spi)
	case val == nil && b == 0 && !v.strict:
		c := constReg(uint64(a.imm), v.insn)
		v.spill(slot, &c, size)
		v.recordStack(fr, spi)
	case val != nil && val.isPtr():
		if size != regSize {
			return v.errf(a.valueReg, "invalid size of register spill",
				"a pointer (%s) must be stored whole, 8 bytes at a time, and this store writes %d", v.typeWords(val), size)
		}
		if fr != cur && val.typ == regStack {
			return v.errf(a.valueReg, "cannot spill pointers to stack into stack frame of the caller",
				"a pointer to the stack may not be stored into a caller's stack frame")
		}
		slot.spill = *val
		for i := range slot.kind {
			slot.kind[i] = stSpill
		}
		v.recordStack(fr, spi)
	default:
		if _, ok := slot.spilled(); ok || slot.hasSpillBytes() {
			// Data written into a slot that holds a spilled register
			// makes every written byte of the slot data, its zero bytes
			// too, as the kernel's scrub_spilled_slot: its checkpoints
			// then match paths whose slot is all data.
			slot.scrubAll()
		}
		kind := stMisc
		if val != nil && val.isNull() || val == nil && a.imm == 0 {
			kind = stZero
			if val != nil && a.valueReg >= 0 {
				v.markPrecise(a.valueReg)
			}
		}
		for i := b; i < b+size; i++ {
			slot.kind[i] = kind
		}
	}
	return nil
}

// idBeforeCopy gives scalar r an id before it is copied (a spill, a fill,
// a move), so that the copies are linked, as the kernel's
// assign_scalar_id_before_mov: a register linked to another by a constant
// offset (flagAddConst) leaves that link and starts its own, and a
// constant needs none.
func (v *verifier) idBeforeCopy(r *reg) {
	if r.typ != regScalar {
		return
	}
	if r.flags&(flagAddConst|flagAddConst32) != 0 {
		r.id, r.off = 0, 0
		r.flags &^= flagAddConst | flagAddConst32
	}
	if r.id == 0 && !r.s.isConst() {
		r.id = v.newID()
	}
}

// spill records a scalar stored at the start of a slot.
func (v *verifier) spill(slot *stackSlot, val *reg, size int) {
	if slot.hasSpillBytes() {
		slot.scrub()
	}
	sp := *val
	if size < regSize && scalarWidth(val) > 8*size {
		sp.id = 0
		sp.off = 0
		sp.flags &^= flagAddConst | flagAddConst32
	}
	slot.spill = sp
	for i := 0; i < regSize; i++ {
		switch {
		case i < size:
			slot.kind[i] = stSpill
		case slot.kind[i] == stZero || slot.kind[i] == stInvalid && !v.strict:
		default:
			slot.kind[i] = stMisc
		}
	}
}

func (s *stackSlot) hasSpillBytes() bool {
	for _, k := range s.kind {
		if k == stSpill {
			return true
		}
	}
	return false
}

// scrubAll turns a spilled register and every other written byte of its
// slot (zero bytes too) into plain data; bytes never written stay so.
func (s *stackSlot) scrubAll() {
	for i, k := range s.kind {
		if k != stInvalid {
			s.kind[i] = stMisc
		}
	}
	s.spill = reg{}
}

// scrub turns a spilled register into plain data.
func (s *stackSlot) scrub() {
	for i, k := range s.kind {
		if k == stSpill {
			s.kind[i] = stMisc
		}
	}
	s.spill = reg{}
}

// stackVar handles an access at a variable offset, covering [lo, hi).
func (v *verifier) stackVar(regno int, fr *frame, lo, hi, size int, a access) (reg, *vErr) {
	if v.strict {
		return reg{}, v.errf(regno, fmt.Sprintf("R%d variable offset stack access prohibited for !root", regno),
			"unprivileged programs may not access the stack at a variable offset")
	}
	if a.write {
		zero := a.value != nil && a.value.isNull() || a.value == nil && a.imm == 0 && !a.atomic
		for off := lo; off < hi; off++ {
			spi, b := slotOf(off)
			slot := fr.slot(spi)
			if slot.hasSpillBytes() {
				if zero && slot.spill.typ == regScalar && slot.spill.isNull() {
					continue
				}
				slot.scrub()
			}
			if zero && slot.kind[b] == stZero {
				continue
			}
			slot.kind[b] = stMisc
		}
		return reg{}, nil
	}
	v.markStackReadRange(v.frameIndex(fr), int64(lo), int64(hi))
	zero := true
	for off := lo; off < hi; off++ {
		spi, b := slotOf(off)
		var k uint8
		if spi < len(fr.stack) {
			k = fr.stack[spi].kind[b]
		}
		switch k {
		case stZero:
		case stMisc, stSpill:
			zero = false
		default:
			zero = false
		}
	}
	if zero {
		return constReg(0, v.insn), nil
	}
	return unknownReg(v.insn), nil
}

// recordStack notes a spill or fill of a stack slot in the history, for
// precision tracking.
func (v *verifier) recordStack(fr *frame, spi int) {
	fi := 0
	for i, f := range v.cur.frames {
		if f == fr {
			fi = i
		}
	}
	if spi >= 64 {
		return
	}
	h := v.histEntry()
	h.frame, h.spi = uint8(fi+1), uint8(spi)
}

// histEntry returns the history entry of the current instruction, adding
// it.
func (v *verifier) histEntry() *histEntry {
	if v.histCur < 0 || v.histCur >= len(v.cur.hist) || int(v.cur.hist[v.histCur].idx) != v.insn {
		v.cur.hist = append(v.cur.hist, histEntry{idx: int32(v.insn), prev: int32(v.prevInsn)})
		v.histCur = len(v.cur.hist) - 1
	}
	return &v.cur.hist[v.histCur]
}
