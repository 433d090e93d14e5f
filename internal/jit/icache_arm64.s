#include "textflag.h"

// func flushCode(start, end uintptr)
//
//	dc cvau over the range (unless CTR_EL0.IDC says it is not needed)
//	dsb ish
//	ic ivau over the range (unless CTR_EL0.DIC says it is not needed)
//	dsb ish
//	isb
//
// CTR_EL0 gives the smallest data (bits 16-19) and instruction (bits
// 0-3) cache lines as log2 of their words.
TEXT ·flushCode(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	start+0(FP), R0
	MOVD	end+8(FP), R1
	MRS	CTR_EL0, R2
	MOVD	$4, R4
	TBNZ	$28, R2, dsync
	UBFX	$16, R2, $4, R3
	LSL	R3, R4, R3
	SUB	$1, R3, R6
	BIC	R6, R0, R7
dloop:
	DC	CVAU, R7
	ADD	R3, R7, R7
	CMP	R1, R7
	BLO	dloop
dsync:
	DSB	$11
	TBNZ	$29, R2, isync
	AND	$15, R2, R5
	LSL	R5, R4, R5
	SUB	$1, R5, R6
	BIC	R6, R0, R7
iloop:
	WORD	$0xd50b7527 // ic ivau, x7 (the assembler has no name for it)
	ADD	R5, R7, R7
	CMP	R1, R7
	BLO	iloop
	DSB	$11
isync:
	ISB	$15
	RET
