package amd64

import "github.com/waggle-ebpf/waggle/isa"

// acquireRelease compiles a load-acquire (BPF_LOAD_ACQ: dst = the size
// bytes at [src+off], zero-extended) or a store-release (BPF_STORE_REL:
// the low size bytes of src to [dst+off]). x86-64 is total store order:
// an aligned plain load already has acquire semantics and an aligned
// plain store release semantics, as in the kernel's JIT, so no fence or
// lock prefix is needed. The verifier has proved the access aligned.
func (c *compiler) acquireRelease(ins isa.Instruction, dst, src reg) error {
	size := ins.Size().Bytes()
	off := int32(ins.Offset)
	if int32(ins.Imm) == isa.AtomicLoadAcquire {
		c.load(size, dst, src, off)
		return nil
	}
	c.store(size, dst, off, src)
	return nil
}
