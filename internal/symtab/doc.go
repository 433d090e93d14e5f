// Package symtab turns the addresses of a process's user stacks into
// function names: symbolisation of C frames by the ELF symbol tables
// (.symtab, else .dynsym) of the executable and of the shared libraries
// that /proc/PID/maps shows mapped, and of Go frames by the Go line table
// (.gopclntab, through debug/gosym), which stripped Go binaries keep.
//
// A Symbolizer holds one process's mappings (ParseMaps; ReadMaps reads
// them from /proc on Linux) and symbolises an address to a Frame: the
// function, the module (the mapped file) and the offset. The symbols of a
// file are read once, when first needed, and shared by every Symbolizer of
// a Files cache, so that a profile of many processes of one program reads
// its executable once.
package symtab
