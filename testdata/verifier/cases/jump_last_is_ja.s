# name: jump_last_is_ja
# category: jump
# type: xdp
# description: the last instruction is a backward jump to an exit
# verdict: accept
        mov %r0, 0
        ja last
done:
        exit
last:
        ja done
