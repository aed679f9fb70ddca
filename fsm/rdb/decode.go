package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// RDB value types (rdb.h). Redis 7.0 reads 0-7 and 9-19.
const (
	typeString           = 0
	typeList             = 1
	typeSet              = 2
	typeZSet             = 3
	typeHash             = 4
	typeZSet2            = 5
	typeModule           = 6
	typeModule2          = 7
	typeHashZipmap       = 9
	typeListZiplist      = 10
	typeSetIntset        = 11
	typeZSetZiplist      = 12
	typeHashZiplist      = 13
	typeListQuicklist    = 14
	typeStreamListpacks  = 15
	typeHashListpack     = 16
	typeZSetListpack     = 17
	typeListQuicklist2   = 18
	typeStreamListpacks2 = 19
)

// Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2).
const (
	containerPlain  = 1
	containerPacked = 2
)

// Length and string encodings (rdb.h): the top two bits of the first byte.
const (
	len6Bit  = 0
	len14Bit = 1
	len32Bit = 0x80
	len64Bit = 0x81
	lenEnc   = 3
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// errShort is a read past the end of the payload.
var errShort = errors.New("unexpected end of payload")

// Decode reads a DUMP payload as RESTORE on Redis 7.0.15 does with
// sanitize-dump-payload yes: it checks the footer (ErrChecksum), then reads
// the value and checks its integrity (ErrBadFormat). The value's encoding is
// the one Redis would hold after loading it under lim. Like Redis it reads
// the value from the whole payload, footer included, and ignores what
// follows the value.
//
// Two deliberate differences from Redis 7.0.15: a sorted set whose listpack
// holds a NaN score is refused (Redis loads it into a set it cannot order),
// and so is a zipmap length written in 5 bytes that fits in one (Redis
// reads it two different ways).
func Decode(payload []byte, lim Limits) (Value, error) {
	if err := checkFooter(payload); err != nil {
		return nil, err
	}
	r := &reader{b: payload}
	t, err := r.byte()
	if err != nil {
		return nil, fmt.Errorf("type: %w", ErrBadFormat)
	}
	v, err := r.value(t, lim)
	if err != nil {
		if errors.Is(err, ErrBadFormat) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", err, ErrBadFormat)
	}
	return v, nil
}

// checkFooter is verifyDumpPayload: the 2-byte RDB version (little endian)
// must be at most Version and the 8-byte CRC64 must match what precedes it.
func checkFooter(p []byte) error {
	if len(p) < 10 {
		return fmt.Errorf("payload of %d bytes: %w", len(p), ErrChecksum)
	}
	footer := p[len(p)-10:]
	if ver := binary.LittleEndian.Uint16(footer); ver > Version {
		return fmt.Errorf("RDB version %d: %w", ver, ErrChecksum)
	}
	if crc := crc64Jones(p[:len(p)-8]); crc != binary.LittleEndian.Uint64(footer[2:]) {
		return fmt.Errorf("CRC64 mismatch: %w", ErrChecksum)
	}
	return nil
}

// value reads a value of RDB type t (rdbLoadObject).
func (r *reader) value(t byte, lim Limits) (Value, error) {
	switch t {
	case typeString:
		s, err := r.str()
		if err != nil {
			return nil, fmt.Errorf("string: %w", err)
		}
		return String(s), nil
	case typeList, typeListZiplist, typeListQuicklist, typeListQuicklist2:
		return r.list(t, lim)
	case typeSet, typeSetIntset:
		return r.set(t, lim)
	case typeZSet, typeZSet2, typeZSetZiplist, typeZSetListpack:
		return r.zset(t, lim)
	case typeHash, typeHashZipmap, typeHashZiplist, typeHashListpack:
		return r.hash(t, lim)
	case typeStreamListpacks, typeStreamListpacks2:
		return r.stream(t)
	case typeModule, typeModule2:
		return nil, fmt.Errorf("RDB type %d: %w", t, ErrUnsupported)
	}
	return nil, fmt.Errorf("unknown RDB type %d", t)
}

// reader reads an RDB body; every read checks what is left first, so a
// hostile length costs nothing before it is found short.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(r.left()) {
		return nil, errShort
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// length is rdbLoadLenByRef: a length, or with encoded set, a string
// encoding (INT8, INT16, INT32 or LZF) in n.
func (r *reader) length() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c>>6 == lenEnc:
		return uint64(c & 0x3F), true, nil
	case c>>6 == len6Bit:
		return uint64(c & 0x3F), false, nil
	case c>>6 == len14Bit:
		c2, err := r.byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(c&0x3F)<<8 | uint64(c2), false, nil
	case c == len32Bit:
		b, err := r.bytes(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case c == len64Bit:
		b, err := r.bytes(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, fmt.Errorf("unknown length encoding %#x", c)
}

// count is rdbLoadLen(rdb, NULL): a length, where an encoded one counts as
// its 6-bit value.
func (r *reader) count() (uint64, error) {
	n, _, err := r.length()
	return n, err
}

// str is rdbGenericLoadStringObject: a plain, integer or LZF string.
func (r *reader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

func (r *reader) strBytes() ([]byte, error) {
	n, encoded, err := r.length()
	if err != nil {
		return nil, err
	}
	if !encoded {
		return r.bytes(n)
	}
	switch n {
	case encInt8, encInt16, encInt32:
		b, err := r.bytes(1 << n)
		if err != nil {
			return nil, err
		}
		var v int64
		switch n {
		case encInt8:
			v = int64(int8(b[0]))
		case encInt16:
			v = int64(int16(binary.LittleEndian.Uint16(b)))
		default:
			v = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		return strconv.AppendInt(nil, v, 10), nil
	case encLZF:
		return r.lzfString()
	}
	return nil, fmt.Errorf("unknown string encoding %d", n)
}

// lzfString is rdbLoadLzfStringObject. As in Redis, a claimed length of 0
// gives the empty string whatever the compressed bytes are.
func (r *reader) lzfString() ([]byte, error) {
	clen, err := r.count()
	if err != nil {
		return nil, err
	}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	c, err := r.bytes(clen)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	if n > uint64(len(c))*lzfMaxRatio || n > math.MaxUint32 {
		return nil, fmt.Errorf("LZF string of %d bytes claims %d", len(c), n)
	}
	out := make([]byte, n)
	if got := lzfDecompress(c, out); uint64(got) != n {
		return nil, fmt.Errorf("invalid LZF string: %d of %d bytes", got, n)
	}
	return out, nil
}

// binaryDouble is rdbLoadBinaryDoubleValue: IEEE 754, little endian.
func (r *reader) binaryDouble() (float64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// stringDouble is rdbLoadDoubleValue (RDB_TYPE_ZSET): a length byte (253
// NaN, 254 +inf, 255 -inf) and that many bytes read with sscanf's %lg.
func (r *reader) stringDouble() (float64, error) {
	n, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 255:
		return math.Inf(-1), nil
	case 254:
		return math.Inf(1), nil
	case 253:
		return math.NaN(), nil
	}
	b, err := r.bytes(uint64(n))
	if err != nil {
		return 0, err
	}
	v, ok := scanDouble(string(b))
	if !ok {
		return 0, fmt.Errorf("score %q is not a number", b)
	}
	return v, nil
}
