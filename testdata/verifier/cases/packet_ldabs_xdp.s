# name: packet_ldabs_xdp
# category: packet
# type: xdp
# description: uses a legacy packet load (LD_ABS) in XDP
# verdict: reject
# kernel-message: BPF_LD_[ABS|IND] instructions not allowed for this program type
        mov %r6, %r1
        ldabsb 12
        mov %r0, 2
        exit
