package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// Limits of the kernel's bpf_bprintf_prepare.
const (
	maxTracePrintkArgs = 3   // MAX_TRACE_PRINTK_VARARGS
	maxSnprintfArgs    = 12  // MAX_BPRINTF_VARARGS
	maxBprintfBuf      = 512 // MAX_BPRINTF_BUF: trace_printk's line, and a %s string
	maxFormatLen       = 1 << 16
)

func isPrint(b byte) bool { return b >= 0x20 && b < 0x7f }
func isSpace(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }
func isPunct(b byte) bool { return isPrint(b) && !isSpace(b) && !isAlnum(b) }
func isAlnum(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// bprintf formats with the kernel's restricted printf (bpf_bprintf_prepare
// and bstr_printf): %d %i %u %x %X with the l and ll modifiers, %c, %s,
// %p (and %pK %px %ps %pS %pB as hexadecimal, %pks %pus as strings,
// %pi4 %pI4 %pi6 %pI6 as IP addresses), %%, the flags 0 + - and space and
// a width. It returns false for a format the kernel refuses (-EINVAL).
func bprintf(c *helper.Call, format []byte, args []uint64) (string, bool) {
	var out strings.Builder
	spec := 0
	at := func(i int) byte {
		if i < len(format) {
			return format[i]
		}
		return 0
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if (!isPrint(ch) && !isSpace(ch)) || ch >= 0x80 {
			return "", false
		}
		if ch != '%' {
			out.WriteByte(ch)
			continue
		}
		if at(i+1) == '%' {
			out.WriteByte('%')
			i++
			continue
		}
		if spec >= len(args) {
			return "", false
		}
		arg := args[spec]
		spec++
		i++
		var flags []byte
		for at(i) == '0' || at(i) == '+' || at(i) == '-' || at(i) == ' ' {
			flags = append(flags, at(i))
			i++
		}
		width := ""
		if at(i) >= '1' && at(i) <= '9' {
			start := i
			for at(i) >= '0' && at(i) <= '9' {
				i++
			}
			width = string(format[start:i])
		}
		// textFlags are the flags that apply to strings and characters.
		textFlags := bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(flags, []byte("0"), nil), []byte("+"), nil), []byte(" "), nil)
		pad := func(s string) string { return fmt.Sprintf("%"+string(textFlags)+width+"s", s) }
		switch at(i) {
		case 'p':
			next := at(i + 1)
			switch {
			case (next == 'k' || next == 'u') && at(i+2) == 's':
				i += 2
				out.WriteString(pad(readStr(c, arg)))
			case next == 'i' || next == 'I':
				if at(i+2) != '4' && at(i+2) != '6' {
					return "", false
				}
				s, ok := formatIP(c, arg, next == 'I', at(i+2) == '4')
				if !ok {
					return "", false
				}
				i += 2
				out.WriteString(pad(s))
			case next == 's' || next == 'S' || next == 'B':
				i++
				out.WriteString(pad("0x" + strconv.FormatUint(arg, 16)))
			case next == 'K' || next == 'x':
				i++
				out.WriteString(pad(fmt.Sprintf("%016x", arg)))
			case next == 0 || isSpace(next) || isPunct(next):
				out.WriteString(pad(fmt.Sprintf("%016x", arg)))
			default:
				return "", false
			}
			continue
		case 's':
			out.WriteString(pad(readStr(c, arg)))
			continue
		case 'c':
			out.WriteString(pad(string([]byte{byte(arg)})))
			continue
		}
		long := 0
		for long < 2 && at(i) == 'l' {
			long++
			i++
		}
		verb := at(i)
		switch verb {
		case 'd', 'i':
			f := "%" + string(flags) + width + "d"
			if long == 0 {
				out.WriteString(fmt.Sprintf(f, int32(arg)))
			} else {
				out.WriteString(fmt.Sprintf(f, int64(arg)))
			}
		case 'u', 'x', 'X':
			// The sign flags do not apply to unsigned conversions.
			uf := bytes.ReplaceAll(bytes.ReplaceAll(flags, []byte("+"), nil), []byte(" "), nil)
			v := "d"
			if verb != 'u' {
				v = string(verb)
			}
			f := "%" + string(uf) + width + v
			if long == 0 {
				out.WriteString(fmt.Sprintf(f, uint32(arg)))
			} else {
				out.WriteString(fmt.Sprintf(f, arg))
			}
		default:
			return "", false
		}
	}
	return out.String(), true
}

// readStr reads the string of a %s: at most maxBprintfBuf-1 bytes; an
// address the program may not read gives an empty string, as in the kernel.
func readStr(c *helper.Call, addr uint64) string {
	var b []byte
	for i := uint64(0); i < maxBprintfBuf-1; i++ {
		p, err := c.Read(addr+i, 1)
		if err != nil {
			return ""
		}
		if p[0] == 0 {
			break
		}
		b = append(b, p[0])
	}
	return string(b)
}

// formatIP formats the IPv4 or IPv6 address at addr as %pI4 (1.2.3.4),
// %pi4 (001.002.003.004), %pI6 (0001:0002:...) or %pi6 (hex digits only).
func formatIP(c *helper.Call, addr uint64, upper, v4 bool) (string, bool) {
	n := uint64(16)
	if v4 {
		n = 4
	}
	b, err := c.Read(addr, n)
	if err != nil {
		return "", false
	}
	var s strings.Builder
	if v4 {
		for i, x := range b {
			if i > 0 {
				s.WriteByte('.')
			}
			if upper {
				fmt.Fprintf(&s, "%d", x)
			} else {
				fmt.Fprintf(&s, "%03d", x)
			}
		}
		return s.String(), true
	}
	for i := 0; i < 16; i += 2 {
		if i > 0 && upper {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02x%02x", b[i], b[i+1])
	}
	return s.String(), true
}

// traceMu serialises the lines of bpf_trace_printk.
var traceMu sync.Mutex

// tracePrintk is bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): formats
// the line (at most 3 conversions), writes it to Options.Trace and returns
// its length (of at most 511 bytes written), or -EINVAL for a bad format.
func tracePrintk(c *helper.Call) (uint64, error) {
	size := uint64(uint32(c.Args[1]))
	f, err := c.Read(c.Args[0], size)
	if err != nil {
		return 0, err
	}
	end := bytes.IndexByte(f, 0)
	if end < 0 {
		return neg(errno.EINVAL), nil
	}
	s, ok := bprintf(c, f[:end], c.Args[2:5])
	if !ok {
		return neg(errno.EINVAL), nil
	}
	n := len(s)
	if len(s) > maxBprintfBuf-1 {
		s = s[:maxBprintfBuf-1]
	}
	if r, _ := c.State.(*Run); r != nil && r.opts.Trace != nil {
		line := s
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		traceMu.Lock()
		_, werr := r.opts.Trace.Write([]byte(line))
		traceMu.Unlock()
		if werr != nil {
			return 0, fmt.Errorf("trace output: %w", werr)
		}
	}
	return uint64(n), nil
}

// snprintf is bpf_snprintf(str, str_size, fmt, data, data_len): formats
// into str (cut to str_size-1 bytes and a NUL) with the u64 arguments at
// data, and returns the length of the whole result with its NUL; -EINVAL
// for a bad format or data_len.
func snprintf(c *helper.Call) (uint64, error) {
	strSize := uint64(uint32(c.Args[1]))
	dataLen := uint64(uint32(c.Args[4]))
	if dataLen%8 != 0 || dataLen > 8*maxSnprintfArgs || (dataLen != 0 && c.Args[3] == 0) {
		return neg(errno.EINVAL), nil
	}
	var f []byte
	for i := uint64(0); ; i++ {
		if i >= maxFormatLen {
			return 0, fmt.Errorf("bpf_snprintf: the format at %#x has no NUL in %d bytes", c.Args[2], maxFormatLen)
		}
		b, err := c.Read(c.Args[2]+i, 1)
		if err != nil {
			return 0, err
		}
		if b[0] == 0 {
			break
		}
		f = append(f, b[0])
	}
	raw, err := c.Read(c.Args[3], dataLen)
	if err != nil {
		return 0, err
	}
	args := make([]uint64, dataLen/8)
	for i := range args {
		args[i] = binary.NativeEndian.Uint64(raw[8*i:])
	}
	s, ok := bprintf(c, f, args)
	if !ok {
		return neg(errno.EINVAL), nil
	}
	if strSize > 0 {
		dst, err := c.Write(c.Args[0], strSize)
		if err != nil {
			return 0, err
		}
		k := copy(dst[:strSize-1], s)
		dst[k] = 0
	}
	return uint64(len(s)) + 1, nil
}
