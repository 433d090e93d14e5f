package verifier

// Stack liveness, the kernel's method (REG_LIVE_READ and REG_LIVE_WRITTEN
// of stack slots): a read of a stack slot marks it read in the
// checkpoints of the path back to the last one after which the path wrote
// the whole slot. When a checkpoint's paths are all explored, the slots it
// has no read mark for are dead there: no path from it reads their value,
// so states that differ only in them are equivalent. A path pruned against
// a checkpoint reads what the checkpoint's paths read, and its own
// checkpoints get the marks (propagateLiveness).

// markStackRead records that the current path reads slot spi of frame fi
// (an index into the state's frames).
func (v *verifier) markStackRead(fi, spi int) {
	st := v.cur
	if spi < 0 || spi >= 64 || fi < 0 || fi >= len(st.frames) {
		return
	}
	bit := uint64(1) << spi
	serial := st.frames[fi].serial
	for {
		if st.frames[fi].written&bit != 0 {
			return
		}
		p := st.parent
		if p == nil || fi >= len(p.frames) || p.frames[fi].serial != serial {
			return
		}
		pf := p.frames[fi]
		if pf.read&bit != 0 {
			// Marked before, with the checkpoints above it.
			return
		}
		pf.read |= bit
		st = p
	}
}

// markStackReadRange marks the slots covering bytes [lo, hi) below the
// frame pointer of frame fi read.
func (v *verifier) markStackReadRange(fi int, lo, hi int64) {
	if lo >= hi {
		return
	}
	first, _ := slotOf(int(hi - 1))
	last, _ := slotOf(int(lo))
	for spi := first; spi <= last; spi++ {
		v.markStackRead(fi, spi)
	}
}

// markStackWritten records that the current path wrote slot spi of frame
// fr whole.
func markStackWritten(fr *frame, spi int) {
	if spi >= 0 && spi < 64 {
		fr.written |= 1 << spi
	}
}

// frameIndex is the index of fr in the current state's frames.
func (v *verifier) frameIndex(fr *frame) int {
	for i, f := range v.cur.frames {
		if f == fr {
			return i
		}
	}
	return -1
}

// propagateLiveness gives the current path, pruned against old, the read
// marks of old: its future is old's, which read them.
func (v *verifier) propagateLiveness(old *state) {
	for fi, f := range old.frames {
		for m := f.read; m != 0; m &= m - 1 {
			spi := 0
			for b := m; b&1 == 0; b >>= 1 {
				spi++
			}
			v.markStackRead(fi, spi)
		}
	}
}
