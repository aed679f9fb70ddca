package script

import (
	"encoding/binary"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The struct library: Roberto Ierusalimschy's struct.c as Redis 7.0 ships
// it (deps/lua/src/lua_struct.c), for x86-64 sizes (int 4, long 8).

const (
	structMaxIntSize = 32
	structMaxAlign   = 8 // PADDING of struct {char; double} on x86-64
)

type structHeader struct {
	little bool
	align  int
}

type structFmt struct {
	L     *lua.LState
	fname string
	s     string
	pos   int
}

func (f *structFmt) getnum(def int) int {
	if f.pos >= len(f.s) || !isDigit(f.s[f.pos]) {
		return def
	}
	a := 0
	for f.pos < len(f.s) && isDigit(f.s[f.pos]) {
		d := int(f.s[f.pos] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			f.L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		f.pos++
	}
	return a
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isp2(x int) bool { return x > 0 && x&(x-1) == 0 }

func (f *structFmt) optsize(opt byte) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l':
		return 8
	case 'T':
		return 8
	case 'f':
		return 4
	case 'd':
		return 8
	case 'x':
		return 1
	case 'c':
		return f.getnum(1)
	case 'i', 'I':
		sz := f.getnum(4)
		if sz > structMaxIntSize {
			f.L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	case 's', ' ', '<', '>', '!':
		return 0
	}
	argError(f.L, 1, f.fname, "invalid format option '"+string(opt)+"'")
	return 0
}

func gettoalign(n int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (n & (size - 1))) & (size - 1)
}

func (f *structFmt) common(opt byte, h *structHeader) {
	switch opt {
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := f.getnum(structMaxAlign)
		if !isp2(a) {
			f.L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	}
}

func (vm *VM) structFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{"pack": vm.structPack, "unpack": structUnpack, "size": structSize}
}

func (vm *VM) structPack(L *lua.LState) int {
	f := &structFmt{L: L, fname: "pack", s: checkString(L, 1, "pack")}
	h := structHeader{little: true, align: 1}
	arg := 2
	var b []byte
	for f.pos < len(f.s) {
		opt := f.s[f.pos]
		f.pos++
		size := f.optsize(opt)
		toalign := gettoalign(len(b), &h, opt, size)
		b = append(b, make([]byte, toalign)...)
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := checkNumber(L, arg, "pack")
			arg++
			var v uint64
			if n < math.MaxInt64 {
				v = uint64(toCInt(n))
			} else {
				v = uint64(n)
			}
			for i := 0; i < size; i++ {
				shift := uint(8 * i)
				if !h.little {
					shift = uint(8 * (size - 1 - i))
				}
				if shift >= 64 {
					b = append(b, 0)
				} else {
					b = append(b, byte(v>>shift))
				}
			}
		case 'x':
			b = append(b, 0)
		case 'f':
			bits := math.Float32bits(float32(checkNumber(L, arg, "pack")))
			arg++
			b = appendUint(b, uint64(bits), 4, h.little)
		case 'd':
			bits := math.Float64bits(checkNumber(L, arg, "pack"))
			arg++
			b = appendUint(b, bits, 8, h.little)
		case 'c', 's':
			s := checkString(L, arg, "pack")
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "pack", "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			f.common(opt, &h)
		}
		if vm.charge(L, int64(size+toalign)) != nil {
			return 0
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func appendUint(b []byte, v uint64, size int, little bool) []byte {
	var buf [8]byte
	if little {
		binary.LittleEndian.PutUint64(buf[:], v)
		return append(b, buf[:size]...)
	}
	binary.BigEndian.PutUint64(buf[:], v)
	return append(b, buf[8-size:]...)
}

func structUnpack(L *lua.LState) int {
	f := &structFmt{L: L, fname: "unpack", s: checkString(L, 1, "unpack")}
	data := checkString(L, 2, "unpack")
	pos := int(optInt(L, 3, "unpack", 1)) - 1
	if pos < 0 {
		pos = 0
	}
	h := structHeader{little: true, align: 1}
	L.SetTop(2)
	for f.pos < len(f.s) {
		opt := f.s[f.pos]
		f.pos++
		size := f.optsize(opt)
		pos += gettoalign(pos, &h, opt, size)
		if pos+size > len(data) || pos+size < pos {
			argError(L, 2, "unpack", "data string too short")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var l uint64
			for i := 0; i < size && i < 8; i++ {
				var c byte
				if h.little {
					c = data[pos+i]
				} else {
					c = data[pos+size-1-i]
				}
				l |= uint64(c) << (8 * i)
			}
			if opt >= 'a' && opt <= 'z' { // signed
				if size < 8 {
					if mask := ^uint64(0) << (size*8 - 1); l&mask != 0 {
						l |= mask
					}
				}
				L.Push(lua.LNumber(float64(int64(l))))
			} else {
				L.Push(lua.LNumber(float64(l)))
			}
		case 'x':
		case 'f':
			bits := readUint(data[pos:pos+4], h.little)
			L.Push(lua.LNumber(float64(math.Float32frombits(uint32(bits)))))
		case 'd':
			L.Push(lua.LNumber(math.Float64frombits(readUint(data[pos:pos+8], h.little))))
		case 'c':
			if size == 0 {
				n, ok := luaToNumber(L.Get(-1))
				if L.GetTop() <= 2 || !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(toCInt(n))
				L.Pop(1)
				if size < 0 || pos+size > len(data) {
					argError(L, 2, "unpack", "data string too short")
				}
			}
			L.Push(lua.LString(data[pos : pos+size]))
		case 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e + 1
			L.Push(lua.LString(data[pos : pos+e]))
		default:
			f.common(opt, &h)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos + 1))
	return L.GetTop() - 2
}

func readUint(b string, little bool) uint64 {
	var buf [8]byte
	if little {
		copy(buf[:], b)
		return binary.LittleEndian.Uint64(buf[:])
	}
	copy(buf[8-len(b):], b)
	return binary.BigEndian.Uint64(buf[:])
}

func structSize(L *lua.LState) int {
	f := &structFmt{L: L, fname: "size", s: checkString(L, 1, "size")}
	h := structHeader{little: true, align: 1}
	pos := 0
	for f.pos < len(f.s) {
		opt := f.s[f.pos]
		f.pos++
		size := f.optsize(opt)
		pos += gettoalign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !(isDigit(opt) || opt >= 'a' && opt <= 'z' || opt >= 'A' && opt <= 'Z') {
			f.common(opt, &h)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
