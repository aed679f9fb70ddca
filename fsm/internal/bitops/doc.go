// Package bitops mirrors Redis 7.0.15's bitops.c: SETBIT, GETBIT, BITCOUNT,
// BITPOS, BITOP and BITFIELD / BITFIELD_RO over a string's bytes, with
// Redis's argument parsing, growth rules, overflow arithmetic and error texts.
//
// Bit 0 is the most significant bit of the first byte, as in Redis. Functions
// that write take the string like append does: they may change s in place
// and return it grown, so pass a slice the caller owns (a fresh copy of an
// immutable value). Functions that only read never change their input.
//
// The order of checks matters for which error a client sees, and the
// functions are split where Redis looks the key up in between: each
// function's comment says what Redis checks before it (the caller's lookup,
// WRONGTYPE for a value that is not a string) and after it.
package bitops

// Error is an error reply, its text exactly as Redis 7.0 sends it after
// the '-'.
type Error string

func (e Error) Error() string { return string(e) }

// The error replies of the bit commands.
const (
	ErrBitOffset    Error = "ERR bit offset is not an integer or out of range"
	ErrBitValue     Error = "ERR bit is not an integer or out of range"
	ErrNotInteger   Error = "ERR value is not an integer or out of range"
	ErrSyntax       Error = "ERR syntax error"
	ErrBitposBit    Error = "ERR The bit argument must be 1 or 0."
	ErrBitopNot     Error = "ERR BITOP NOT must be called with a single source key."
	ErrBitfieldType Error = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	ErrOverflowType Error = "ERR Invalid OVERFLOW type specified"
	ErrBitfieldRO   Error = "ERR BITFIELD_RO only supports the GET subcommand"
)

// DefaultMaxBulkLen is proto-max-bulk-len's default (512 MB): a bit offset
// whose byte is at or beyond it is refused.
const DefaultMaxBulkLen = 512 << 20

// parseLL parses an integer argument as Redis's string2ll does: optional
// '-', no '+', no spaces, no leading zeros, fewer than 21 bytes, within int64.
func parseLL(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) >= 21 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true // -(1<<63) wraps to itself, as in C
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// cstrEqualFold is strcasecmp(arg, s) == 0: Redis compares arguments as C
// strings, so the comparison stops at the first NUL byte.
func cstrEqualFold(arg []byte, s string) bool {
	for i, c := range arg {
		if c == 0 {
			arg = arg[:i]
			break
		}
	}
	if len(arg) != len(s) {
		return false
	}
	for i, c := range arg {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
