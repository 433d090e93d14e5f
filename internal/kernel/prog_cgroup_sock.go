package kernel

import "github.com/cilium/ebpf"

// cgroupSockType: cgroup_sock programs, run when a cgroup's socket is
// created or released (which may set its bound_dev_if, mark and
// priority) or after it is bound (post_bind4/6, which read its source
// address and port), with struct bpf_sock as sock_filter_is_valid_access
// allows it for the attach type. They return 0 (refuse) or 1 (allow).
var cgroupSockType = ProgramType{
	Name:     "cgroup_sock",
	Types:    []ebpf.ProgramType{ebpf.CGroupSock},
	Sections: []string{"cgroup/sock_create", "cgroup/sock_release", "cgroup/post_bind4", "cgroup/post_bind6", "cgroup/sock"},
	Context:  cgroupSockContext("sock_create"),
	CTypes:   []string{"bpf_sock"},
	Attach: []Attach{
		{Type: ebpf.AttachCGroupInetSockCreate, Name: "sock_create", Sections: []string{"cgroup/sock_create", "cgroup/sock"}, Context: cgroupSockContext("sock_create")},
		{Type: ebpf.AttachCgroupInetSockRelease, Name: "sock_release", Sections: []string{"cgroup/sock_release"}, Context: cgroupSockContext("sock_release")},
		{Type: ebpf.AttachCGroupInet4PostBind, Name: "post_bind4", Sections: []string{"cgroup/post_bind4"}, Context: cgroupSockContext("post_bind4")},
		{Type: ebpf.AttachCGroupInet6PostBind, Name: "post_bind6", Sections: []string{"cgroup/post_bind6"}, Context: cgroupSockContext("post_bind6")},
	},
	ZeroAttach: ebpf.AttachCGroupInetSockCreate,
	Return:     &Range{0, 1},
	helpers:    tCgSock,
	context:    sockKind{name: "cgroup_sock", size: bpfSockSize},
}

// cgroupSockContext is struct bpf_sock for cgroup_sock programs of an
// attach type.
func cgroupSockContext(attach string) CtxDesc {
	return CtxDesc{Name: "struct bpf_sock", Size: bpfSockSize, Fields: sockFields(&attach, false)}
}
