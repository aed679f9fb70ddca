package fsm

import (
	"encoding/binary"
	"hash/crc64"
	"strconv"

	"github.com/understudy/understudy/fsm/rdb"
)

// FUNCTION DUMP's payload, as Redis 7.0 writes it: for each library the
// RDB opcode FUNCTION2 (245) and its code as an RDB string, then the RDB
// version (10, two bytes little-endian) and the CRC64 (Jones) of everything
// before it (eight bytes little-endian). The code is written as Redis's
// rdbSaveRawString writes it (LZF-compressed when that saves at least four
// bytes), so the payload is byte-identical to redis-server's.

const (
	rdbOpcodeFunction2 = 245
	funcDumpRDBVersion = 10
)

var funcDumpCRC = crc64.MakeTable(0x95ac9329ac4bc9b5) // Redis's crc64.c, reflected

func funcDumpChecksum(p []byte) uint64 { return ^crc64.Update(^uint64(0), funcDumpCRC, p) }

// cmdFunctionDump is FUNCTION DUMP: the libraries sorted by name.
func cmdFunctionDump(c *ctx, _ [][]byte) Value {
	var out []byte
	for _, lib := range c.f.scr.funcs.Libraries() {
		out = append(out, rdbOpcodeFunction2)
		out = rdb.AppendString(out, string(lib.Code))
	}
	out = binary.LittleEndian.AppendUint16(out, funcDumpRDBVersion)
	out = binary.LittleEndian.AppendUint64(out, funcDumpChecksum(out))
	return Bulk(out)
}

// decodeFunctionDump checks a payload's version and checksum and returns
// the libraries' code; false for anything malformed.
func decodeFunctionDump(p []byte) ([][]byte, bool) {
	if len(p) < 10 {
		return nil, false
	}
	body, footer := p[:len(p)-10], p[len(p)-10:]
	if binary.LittleEndian.Uint16(footer) > funcDumpRDBVersion ||
		binary.LittleEndian.Uint64(footer[2:]) != funcDumpChecksum(p[:len(p)-8]) {
		return nil, false
	}
	var codes [][]byte
	for len(body) > 0 {
		if body[0] != rdbOpcodeFunction2 {
			return nil, false
		}
		s, rest, ok := readRDBString(body[1:])
		if !ok {
			return nil, false
		}
		codes = append(codes, s)
		body = rest
	}
	return codes, true
}

// readRDBLen is rdbLoadLen; enc reports a special encoding (the low bits).
func readRDBLen(p []byte) (n uint64, enc bool, rest []byte, ok bool) {
	if len(p) == 0 {
		return 0, false, nil, false
	}
	switch p[0] >> 6 {
	case 0:
		return uint64(p[0] & 0x3f), false, p[1:], true
	case 1:
		if len(p) < 2 {
			return 0, false, nil, false
		}
		return uint64(p[0]&0x3f)<<8 | uint64(p[1]), false, p[2:], true
	case 3:
		return uint64(p[0] & 0x3f), true, p[1:], true
	}
	switch {
	case p[0] == 0x80 && len(p) >= 5:
		return uint64(binary.BigEndian.Uint32(p[1:])), false, p[5:], true
	case p[0] == 0x81 && len(p) >= 9:
		return binary.BigEndian.Uint64(p[1:]), false, p[9:], true
	}
	return 0, false, nil, false
}

// readRDBString is rdbGenericLoadStringObject: plain, integer-encoded or
// LZF-compressed.
func readRDBString(p []byte) (s, rest []byte, ok bool) {
	n, enc, p, ok := readRDBLen(p)
	if !ok {
		return nil, nil, false
	}
	if !enc {
		if uint64(len(p)) < n {
			return nil, nil, false
		}
		return p[:n], p[n:], true
	}
	switch n {
	case 0, 1, 2: // int8, int16, int32, little-endian
		size := 1 << n
		if len(p) < size {
			return nil, nil, false
		}
		var v int64
		switch size {
		case 1:
			v = int64(int8(p[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		default:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		}
		return []byte(strconv.FormatInt(v, 10)), p[size:], true
	case 3:
		clen, e1, p, ok1 := readRDBLen(p)
		ulen, e2, p, ok2 := readRDBLen(p)
		if !ok1 || !ok2 || e1 || e2 || uint64(len(p)) < clen || ulen > 512<<20 {
			return nil, nil, false
		}
		out := make([]byte, ulen)
		if lzfExpand(p[:clen], out) != int(ulen) {
			return nil, nil, false
		}
		return out, p[clen:], true
	}
	return nil, nil, false
}

// lzfExpand is liblzf's decompressor: literal runs (control < 32) and back
// references; it returns the bytes written, 0 on malformed input.
func lzfExpand(in, out []byte) int {
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 {
			ctrl++
			if op+ctrl > len(out) || ip+ctrl > len(in) {
				return 0
			}
			op += copy(out[op:], in[ip:ip+ctrl])
			ip += ctrl
			continue
		}
		length := ctrl >> 5
		if length == 7 {
			if ip >= len(in) {
				return 0
			}
			length += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return 0
		}
		ref := op - (ctrl&0x1f)<<8 - 1 - int(in[ip])
		ip++
		if op+length+2 > len(out) || ref < 0 {
			return 0
		}
		for range length + 2 { // may overlap: byte by byte
			out[op] = out[ref]
			op++
			ref++
		}
	}
	return op
}
