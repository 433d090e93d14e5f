package abi

import "unsafe"

// Offsets of the fields of Context and Window, for the code the backends
// emit: OffX is the offset of field X (OffWindowX of Window's field X),
// WindowSize the size of a Window.
const (
	OffGoRegs           = int32(unsafe.Offsetof(Context{}.GoRegs))
	OffNativeSP         = int32(unsafe.Offsetof(Context{}.NativeSP))
	OffExitCode         = int32(unsafe.Offsetof(Context{}.ExitCode))
	OffExitArg          = int32(unsafe.Offsetof(Context{}.ExitArg))
	OffRet              = int32(unsafe.Offsetof(Context{}.Ret))
	OffRegs             = int32(unsafe.Offsetof(Context{}.Regs))
	OffTarget           = int32(unsafe.Offsetof(Context{}.Target))
	OffResume           = int32(unsafe.Offsetof(Context{}.Resume))
	OffCPU              = int32(unsafe.Offsetof(Context{}.CPU))
	OffCallArgs         = int32(unsafe.Offsetof(Context{}.CallArgs))
	OffBudget           = int32(unsafe.Offsetof(Context{}.Budget))
	OffBudgetAtEntry    = int32(unsafe.Offsetof(Context{}.BudgetAtEntry))
	OffWindows          = int32(unsafe.Offsetof(Context{}.Windows))
	OffFrameTop         = int32(unsafe.Offsetof(Context{}.FrameTop))
	OffArgs             = int32(unsafe.Offsetof(Context{}.Args))
	OffStackTop         = int32(unsafe.Offsetof(Context{}.StackTop))
	OffRepeat           = int32(unsafe.Offsetof(Context{}.Repeat))
	OffTailCalls        = int32(unsafe.Offsetof(Context{}.TailCalls))
	OffTailCallsAtEntry = int32(unsafe.Offsetof(Context{}.TailCallsAtEntry))
	OffMayGoto          = int32(unsafe.Offsetof(Context{}.MayGoto))
	OffMinCallR10       = int32(unsafe.Offsetof(Context{}.MinCallR10))
	OffWindowLo         = int32(unsafe.Offsetof(Window{}.Lo))
	OffWindowLoadLen    = int32(unsafe.Offsetof(Window{}.LoadLen))
	OffWindowStoreLen   = int32(unsafe.Offsetof(Window{}.StoreLen))
	WindowSize          = int32(unsafe.Sizeof(Window{}))
)
