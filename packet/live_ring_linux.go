package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Layout of TPACKET_V3's structures (linux/if_packet.h).
const (
	// struct tpacket_block_desc: version, offset_to_priv, then
	// struct tpacket_hdr_v1.
	liveBlkStatus      = 8  // block_status
	liveBlkNumPkts     = 12 // num_pkts
	liveBlkFirstPkt    = 16 // offset_to_first_pkt
	liveBlkHeaderBytes = 48 // the descriptor with tpacket_hdr_v1

	// struct tpacket3_hdr.
	livePktNextOffset = 0
	livePktSnaplen    = 12
	livePktLen        = 16
	livePktStatus     = 20
	livePktMac        = 24
	livePktVlanTCI    = 32
	livePktVlanTPID   = 36
	livePktHeaderSize = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

	// struct sockaddr_ll follows the header; sll_pkttype is byte 10.
	liveSllPkttype = livePktHeaderSize + 10
)

// liveHtons converts a 16-bit value to network byte order for socket calls.
func liveHtons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// liveRingConfig is the geometry of a receive ring.
type liveRingConfig struct {
	blockSize int           // bytes per block, a multiple of the page size
	blocks    int           // blocks in the ring
	timeout   time.Duration // how long the kernel fills a block before handing it over
}

// liveRing is one AF_PACKET socket with a TPACKET_V3 receive ring, bound to
// an interface.
type liveRing struct {
	fd        int
	mem       []byte
	blockSize int
	blocks    int
	cur       int // the next block to read
}

// liveOpenRX opens a packet socket on ifindex with a TPACKET_V3 ring, joins
// the fanout group (*group == 0: create one with a unique id and store
// it), and, with promisc, puts the interface in promiscuous mode for as
// long as the socket lives.
func liveOpenRX(ifindex int, cfg liveRingConfig, group *uint16, promisc bool) (_ *liveRing, err error) {
	// Protocol 0: the socket receives nothing until bind names the
	// interface, so no packet of another interface gets into the ring.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	r := &liveRing{fd: fd, blockSize: cfg.blockSize, blocks: cfg.blocks}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("PACKET_VERSION TPACKET_V3: %w", err)
	}
	const frameSize = 2048 // only sets frame_nr for TPACKET_V3: packets take what they need
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.blockSize),
		Block_nr:       uint32(cfg.blocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(cfg.blockSize / frameSize * cfg.blocks),
		Retire_blk_tov: uint32(max(cfg.timeout.Milliseconds(), 1)),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING (%d blocks of %d bytes): %w", cfg.blocks, cfg.blockSize, err)
	}
	r.mem, err = unix.Mmap(fd, 0, cfg.blockSize*cfg.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
	if err != nil {
		// MAP_LOCKED fails beyond RLIMIT_MEMLOCK; the ring works unlocked.
		r.mem, err = unix.Mmap(fd, 0, cfg.blockSize*cfg.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap the receive ring: %w", err)
		}
	}
	// Packets waggle sends must not come back to its own sockets.
	// PACKET_IGNORE_OUTGOING needs Linux 4.20; the reader also skips
	// PACKET_OUTGOING packets.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: liveHtons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return nil, fmt.Errorf("bind to interface %d: %w", ifindex, err)
	}
	if promisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	if err := r.joinFanout(group); err != nil {
		return nil, err
	}
	return r, nil
}

// joinFanout adds the socket to a PACKET_FANOUT_HASH group: packets of
// one flow go to one socket. The first socket of an interface creates the
// group with a unique id (PACKET_FANOUT_FLAG_UNIQUEID, Linux 4.12), or,
// on older kernels, with an id derived from the process id.
func (r *liveRing) joinFanout(group *uint16) error {
	if *group != 0 {
		if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(*group)|unix.PACKET_FANOUT_HASH<<16); err != nil {
			return fmt.Errorf("PACKET_FANOUT (join group %d): %w", *group, err)
		}
		return nil
	}
	err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_UNIQUEID)<<16)
	if err == nil {
		v, err := unix.GetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
		if err != nil {
			return fmt.Errorf("PACKET_FANOUT: read the group id: %w", err)
		}
		*group = uint16(v)
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("PACKET_FANOUT: %w", err)
	}
	for try := range 64 {
		id := uint16(os.Getpid()*97+try*7919+int(liveFanoutSeq.Add(1))) | 1
		if unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(id)|unix.PACKET_FANOUT_HASH<<16) == nil {
			*group = id
			return nil
		}
	}
	return fmt.Errorf("PACKET_FANOUT: no free group id: %w", err)
}

// liveFanoutSeq varies the group ids that one process derives.
var liveFanoutSeq atomic.Uint32

// ringStats returns and resets the kernel's counters of the socket:
// packets it received and packets it dropped because the ring was full.
func (r *liveRing) ringStats() (packets, drops uint64) {
	st, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0
	}
	return uint64(st.Packets), uint64(st.Drops)
}

func (r *liveRing) close() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		_ = unix.Close(r.fd)
		r.fd = -1
	}
}

// block returns the current block if the kernel has handed it to user
// space, else nil.
func (r *liveRing) block() []byte {
	b := r.mem[r.cur*r.blockSize : (r.cur+1)*r.blockSize]
	if atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[liveBlkStatus])))&unix.TP_STATUS_USER == 0 {
		return nil
	}
	return b
}

// release gives the current block back to the kernel and moves on.
func (r *liveRing) release(b []byte) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[liveBlkStatus])), unix.TP_STATUS_KERNEL)
	r.cur = (r.cur + 1) % r.blocks
}

// livePacket is a packet in a block.
type livePacket struct {
	data     []byte // the captured bytes, from the Ethernet header
	wireLen  int    // the packet's length on the wire
	status   uint32 // tp_status: TP_STATUS_CSUMNOTREADY, TP_STATUS_VLAN_VALID, ...
	vlanTCI  uint16
	vlanTPID uint16
	pkttype  uint8 // sll_pkttype: PACKET_HOST, PACKET_OUTGOING, ...
}

// liveForEachPacket calls fn for every packet of a block, checking that the
// kernel's offsets stay inside it.
func liveForEachPacket(b []byte, fn func(p *livePacket)) {
	n := binary.NativeEndian.Uint32(b[liveBlkNumPkts:])
	off := int(binary.NativeEndian.Uint32(b[liveBlkFirstPkt:]))
	var p livePacket
	for range n {
		if off < liveBlkHeaderBytes || off+liveSllPkttype >= len(b) {
			return
		}
		h := b[off:]
		snap := int(binary.NativeEndian.Uint32(h[livePktSnaplen:]))
		mac := int(binary.NativeEndian.Uint16(h[livePktMac:]))
		if mac+snap > len(h) {
			return
		}
		p = livePacket{
			data:     h[mac : mac+snap : mac+snap],
			wireLen:  int(binary.NativeEndian.Uint32(h[livePktLen:])),
			status:   binary.NativeEndian.Uint32(h[livePktStatus:]),
			vlanTCI:  uint16(binary.NativeEndian.Uint32(h[livePktVlanTCI:])),
			vlanTPID: binary.NativeEndian.Uint16(h[livePktVlanTPID:]),
			pkttype:  h[liveSllPkttype],
		}
		fn(&p)
		next := int(binary.NativeEndian.Uint32(h[livePktNextOffset:]))
		if next == 0 {
			return
		}
		off += next
	}
}

// liveOpenTX opens a packet socket that sends on ifindex and receives nothing.
func liveOpenTX(ifindex int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to interface %d: %w", ifindex, err)
	}
	return fd, nil
}
