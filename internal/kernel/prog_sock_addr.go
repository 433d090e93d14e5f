package kernel

import "github.com/cilium/ebpf"

// sockAddrType: cgroup_sock_addr programs, run on the address of a
// cgroup's socket's bind, connect, sendmsg, recvmsg, getpeername and
// getsockname (IPv4, IPv6, Unix), with struct bpf_sock_addr as
// sock_addr_is_valid_access allows it for the attach type: the program
// may rewrite the address and port (connect4: user_ip4, user_port;
// sendmsg4 also msg_src_ip4). They return 1 (allow) or 0 (refuse, EPERM);
// recvmsg, getpeername and getsockname programs must return 1, bind
// programs may return 0 to 3 (bit 1: skip the port's capability check).
// A program must be loaded with its attach type.
var sockAddrType = ProgramType{
	Name:        "cgroup_sock_addr",
	Types:       []ebpf.ProgramType{ebpf.CGroupSockAddr},
	Sections:    sockAddrSections(),
	Context:     sockAddrContext("connect4"),
	CTypes:      []string{"bpf_sock_addr"},
	Attach:      sockAddrAttach(),
	NeedsAttach: true,
	Return:      &Range{0, 1},
	helpers:     tSockAddr,
	context:     sockKind{name: "cgroup_sock_addr", size: sockAddrSize},
}

// sockAddrAttaches are the attach types of cgroup_sock_addr programs, by
// libbpf's names (the section is "cgroup/" and the name).
var sockAddrAttaches = []struct {
	typ  ebpf.AttachType
	name string
}{
	{ebpf.AttachCGroupInet4Bind, "bind4"}, {ebpf.AttachCGroupInet6Bind, "bind6"},
	{ebpf.AttachCGroupInet4Connect, "connect4"}, {ebpf.AttachCGroupInet6Connect, "connect6"},
	{ebpf.AttachCgroupUnixConnect, "connect_unix"},
	{ebpf.AttachCGroupUDP4Sendmsg, "sendmsg4"}, {ebpf.AttachCGroupUDP6Sendmsg, "sendmsg6"},
	{ebpf.AttachCgroupUnixSendmsg, "sendmsg_unix"},
	{ebpf.AttachCGroupUDP4Recvmsg, "recvmsg4"}, {ebpf.AttachCGroupUDP6Recvmsg, "recvmsg6"},
	{ebpf.AttachCgroupUnixRecvmsg, "recvmsg_unix"},
	{ebpf.AttachCgroupInet4GetPeername, "getpeername4"}, {ebpf.AttachCgroupInet6GetPeername, "getpeername6"},
	{ebpf.AttachCgroupUnixGetpeername, "getpeername_unix"},
	{ebpf.AttachCgroupInet4GetSockname, "getsockname4"}, {ebpf.AttachCgroupInet6GetSockname, "getsockname6"},
	{ebpf.AttachCgroupUnixGetsockname, "getsockname_unix"},
}

func sockAddrSections() []string {
	var s []string
	for _, a := range sockAddrAttaches {
		s = append(s, "cgroup/"+a.name)
	}
	return s
}

// sockAddrAttach lists the attach types with their contexts and return
// ranges (check_return_code).
func sockAddrAttach() []Attach {
	var out []Attach
	for _, a := range sockAddrAttaches {
		at := Attach{Type: a.typ, Name: a.name, Sections: []string{"cgroup/" + a.name}, Context: sockAddrContext(a.name)}
		switch a.typ {
		case ebpf.AttachCGroupUDP4Recvmsg, ebpf.AttachCGroupUDP6Recvmsg, ebpf.AttachCgroupUnixRecvmsg,
			ebpf.AttachCgroupInet4GetPeername, ebpf.AttachCgroupInet6GetPeername, ebpf.AttachCgroupUnixGetpeername,
			ebpf.AttachCgroupInet4GetSockname, ebpf.AttachCgroupInet6GetSockname, ebpf.AttachCgroupUnixGetsockname:
			at.Return = &Range{1, 1}
		case ebpf.AttachCGroupInet4Bind, ebpf.AttachCGroupInet6Bind:
			at.Return = &Range{0, 3}
		}
		out = append(out, at)
	}
	return out
}

// sockAddrContext is struct bpf_sock_addr for an attach type.
func sockAddrContext(attach string) CtxDesc {
	return CtxDesc{Name: "struct bpf_sock_addr", Size: sockAddrSize, Fields: sockAddrFields(attach)}
}
