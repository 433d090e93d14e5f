//go:build linux

#include "textflag.h"

// func enter(code uintptr, ctx *abi.Context)
//
// enter saves Go's stack pointer, frame pointer, g (R28) and link register
// into ctx.GoRegs, switches to the compiled code's own stack
// (ctx.NativeSP) and branches to code with R27 = ctx. Compiled code
// returns to enter's caller by restoring them and executing RET (see
// package arm64). It leaves R28 as it is throughout: without cgo, Go's
// signal handler takes g from it. R18, the platform register, is never
// touched.
TEXT ·enter(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	code+0(FP), R9
	MOVD	ctx+8(FP), R27
	MOVD	RSP, R10
	MOVD	R10, 0(R27)
	MOVD	R29, 8(R27)
	MOVD	g, 16(R27)
	MOVD	R30, 24(R27)
	MOVD	32(R27), R10
	MOVD	R10, RSP
	JMP	(R9)
