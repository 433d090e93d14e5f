// Package packet runs XDP, tc and socket filter programs over packets in
// user space: one packet at a time with a Processor, or every packet of a
// pcap or pcapng capture with ProcessPcap, which writes the packets the
// program lets through to a new capture.
//
// Verdicts are read as the kernel reads each program type's return value
// (Verdict, Action): an enum xdp_action for XDP, a TC_ACT_* action for tc
// programs (in direct-action mode), and for socket filters the number of
// bytes to keep. The packets run with the semantics of the kernel's
// BPF_PROG_TEST_RUN, which waggle.Program.Run reproduces: XDP and tc
// programs see the frame from its Ethernet header, socket filters from its
// network header.
//
// Reader and Writer read pcap and pcapng and write pcap, in pure Go,
// without allocating per packet. Live runs the same programs on the
// packets of network interfaces, through AF_PACKET sockets: it is the
// machinery under the packet hook, link.AttachPacket, which attaches a
// program to interfaces until the link is closed.
package packet
