package verifier

// statePool keeps the states and frames of paths that ended, for the
// clones of later branches and checkpoints: a verification makes a clone
// at every branch and every checkpoint, and reusing the memory of the
// states no longer needed spares most of the allocation (and garbage
// collection) that copying them costs.
//
// Only states that nothing refers to may be put back: the current state
// of a path that ended (pruned, or at its exit) and a branch's copy that
// turned out impossible. Checkpoints never are (paths, explored lists and
// precision marks refer to them), nor pending branches.
type statePool struct {
	states []*state
	frames []*frame
}

// frame returns a frame to fill; its stack may have capacity.
func (p *statePool) frame() *frame {
	if n := len(p.frames); n > 0 {
		f := p.frames[n-1]
		p.frames = p.frames[:n-1]
		return f
	}
	return &frame{}
}

// newFrame returns an empty frame.
func (p *statePool) newFrame() *frame {
	f := p.frame()
	*f = frame{stack: f.stack[:0]}
	return f
}

// newSerial returns the serial of a new frame (frame.serial).
func (v *verifier) newSerial() uint32 {
	v.frameSerial++
	return v.frameSerial
}

// putFrame takes back a frame nothing refers to any more.
func (p *statePool) putFrame(f *frame) {
	p.frames = append(p.frames, f)
}

// cloneFrame copies f into a frame of the pool.
func (p *statePool) cloneFrame(f *frame) *frame {
	c := p.frame()
	stack := c.stack[:0]
	*c = *f
	c.stack = append(stack, f.stack...)
	return c
}

// clone copies s (its frames, references, lock, path, parent and history)
// into memory of the pool.
func (p *statePool) clone(s *state) *state {
	var c *state
	if n := len(p.states); n > 0 {
		c = p.states[n-1]
		p.states = p.states[:n-1]
	} else {
		c = &state{}
	}
	frames, refs, hist := c.frames[:0], c.refs[:0], c.hist[:0]
	*c = state{
		lock:    s.lock,
		path:    s.path,
		parent:  s.parent,
		first:   s.first,
		cbDepth: s.cbDepth,

		mayGotoDepth: s.mayGotoDepth,
	}
	for _, f := range s.frames {
		frames = append(frames, p.cloneFrame(f))
	}
	c.frames = frames
	if len(s.refs) > 0 {
		c.refs = append(refs, s.refs...)
	} else if cap(refs) > 0 {
		c.refs = refs
	}
	if len(s.hist) > 0 || cap(hist) > 0 {
		c.hist = append(hist, s.hist...)
	}
	return c
}

// put takes back a state nothing refers to any more, with its frames.
func (p *statePool) put(s *state) {
	if s == nil {
		return
	}
	for i, f := range s.frames {
		p.frames = append(p.frames, f)
		s.frames[i] = nil
	}
	s.frames = s.frames[:0]
	s.path, s.parent, s.loops = nil, nil, nil
	p.states = append(p.states, s)
}
