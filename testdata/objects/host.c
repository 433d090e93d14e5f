/* host: an ordinary C object for the host's machine (x86-64 with cc -c),
 * not eBPF: the loader must say the ELF is for the wrong machine. */
int host_answer(void) { return 42; }
