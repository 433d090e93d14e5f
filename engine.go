package waggle

import "fmt"

// Engine selects what runs a program's instructions.
type Engine uint8

// Engines.
const (
	// EngineAuto compiles verified programs to machine code where waggle
	// has a compiler for the machine (Linux on amd64 or arm64) and the system lets it map
	// code executable, and interprets them otherwise and when
	// verification is skipped.
	EngineAuto Engine = iota
	// EngineInterpreter interprets the program, checking every memory
	// access at run time.
	EngineInterpreter
	// EngineJIT compiles the program to machine code: a verified program
	// runs unchecked, as in the kernel; one loaded with SkipVerification
	// runs as checked code (every memory access checked, instructions
	// counted against the budget).
	EngineJIT
)

func (e Engine) String() string {
	switch e {
	case EngineAuto:
		return "auto"
	case EngineInterpreter:
		return "interpreter"
	case EngineJIT:
		return "jit"
	}
	return fmt.Sprintf("Engine(%d)", uint8(e))
}
