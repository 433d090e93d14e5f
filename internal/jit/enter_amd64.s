//go:build linux

#include "textflag.h"

// func enter(code uintptr, ctx *amd64.Context)
//
// enter saves Go's stack pointer and the registers compiled code uses
// that Go needs back into ctx, switches to the compiled code's own stack
// (ctx.NativeSP) and jumps to code with r12 = ctx. Compiled code returns to
// enter's caller by restoring them and executing RET (see amd64.Context).
TEXT ·enter(SB), NOSPLIT, $0-16
	MOVQ code+0(FP), AX
	MOVQ ctx+8(FP), R12
	MOVQ SP, 0(R12)
	MOVQ BP, 8(R12)
	MOVQ R14, 16(R12)
	MOVQ R15, 24(R12)
	MOVQ 32(R12), SP
	JMP  AX
