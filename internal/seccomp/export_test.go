package seccomp

// CacheFollows is cacheFollows, for the tests of lowered policies.
func (f Filter) CacheFollows(nr uint32) bool { return f.cacheFollows(nr) }

// ConstAction is constAction, for the tests of lowered policies.
func (f Filter) ConstAction(nr uint32) (uint32, bool) { return f.constAction(nr) }
