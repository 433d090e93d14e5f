# name: atomic_invalid_op
# category: atomic
# type: xdp
# description: an atomic instruction with the undefined operation 0x10 (sub)
# verdict: reject
# kernel-message: BPF_ATOMIC uses invalid atomic opcode 10
        stdw [%r10-8], 0
        mov %r1, 1
        .raw 0x00000010fff81adb     # atomic op 0x10 on [r10-8] with r1
        mov %r0, 0
        exit
