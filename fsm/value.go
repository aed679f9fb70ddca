package fsm

import (
	"math"
	"strconv"
)

// Kind says how a Value is encoded on the wire. The FSM produces Values; the
// RESP layer encodes them for the client's protocol version (RESP2 or RESP3).
type Kind uint8

// The reply kinds. RESP2 has no Map, Set, Double, Bool or Null: the writer
// flattens Map/Set to arrays, writes Double as a bulk string and Null as the
// RESP2 null bulk string (or null array for NullArray).
const (
	KindSimple    Kind = iota // +OK
	KindError                 // -ERR ...  (Str holds the whole text, code included)
	KindInt                   // :1
	KindBulk                  // $3\r\nfoo
	KindNull                  // $-1 (RESP2) / _ (RESP3)
	KindNullArray             // *-1 (RESP2) / _ (RESP3)
	KindArray                 // *N
	KindMap                   // %N (RESP3); *2N in RESP2. Arr holds key, value, key, value...
	KindSet                   // ~N (RESP3); *N in RESP2
	KindDouble                // ,1.5 (RESP3); bulk string in RESP2. Str holds the formatted number.
	KindVerbatim              // =N txt:... (RESP3); bulk string in RESP2
	KindPush                  // >N (RESP3 out-of-band pub/sub); *N in RESP2
	// KindPairs is a WITHSCORES/WITHVALUES reply: Arr holds member, score,
	// member, score... and goes flat (*2N) to RESP2 clients; RESP3 clients
	// get *N arrays of two, as Redis 7 sends them.
	KindPairs
	// KindBool is RESP3's boolean (#t / #f), Int 1 or 0; RESP2 clients get
	// :1 / :0 (only script replies have it).
	KindBool
	// KindBigNumber is RESP3's big number, Str its digits; a bulk string in
	// RESP2 (only script replies have it).
	KindBigNumber
	// KindArrayMap is XREAD's and XREADGROUP's reply: Arr holds key, value,
	// key, value...; RESP3 clients get a map, RESP2 clients an array of
	// [key, value] arrays, as Redis 7 sends them.
	KindArrayMap
)

// Value is one reply. Only the fields its Kind names are meaningful.
type Value struct {
	Kind Kind
	Int  int64
	Str  []byte
	Arr  []Value
}

// Common replies, shared because they are immutable.
var (
	OK        = Value{Kind: KindSimple, Str: []byte("OK")}
	Queued    = Value{Kind: KindSimple, Str: []byte("QUEUED")}
	Pong      = Value{Kind: KindSimple, Str: []byte("PONG")}
	Null      = Value{Kind: KindNull}
	NullArray = Value{Kind: KindNullArray}
	Zero      = Value{Kind: KindInt, Int: 0}
	One       = Value{Kind: KindInt, Int: 1}
)

// Simple returns a simple-string reply.
func Simple(s string) Value { return Value{Kind: KindSimple, Str: []byte(s)} }

// SimpleLines returns an array of simple strings, one per line: the shape of
// Redis's HELP replies.
func SimpleLines(lines []string) Value {
	out := make([]Value, len(lines))
	for i, l := range lines {
		out[i] = Simple(l)
	}
	return Array(out)
}

// Err returns an error reply; s is the whole text, e.g. "ERR syntax error".
func Err(s string) Value { return Value{Kind: KindError, Str: []byte(s)} }

// Int returns an integer reply.
func Int(n int64) Value { return Value{Kind: KindInt, Int: n} }

// Bulk returns a bulk-string reply holding b (not copied).
func Bulk(b []byte) Value { return Value{Kind: KindBulk, Str: b} }

// BulkString returns a bulk-string reply holding s.
func BulkString(s string) Value { return Value{Kind: KindBulk, Str: []byte(s)} }

// Array returns an array reply.
func Array(vs []Value) Value { return Value{Kind: KindArray, Arr: vs} }

// Pairs returns a WITHSCORES/WITHVALUES reply from flat member, score...
// elements (see KindPairs).
func Pairs(flat []Value) Value { return Value{Kind: KindPairs, Arr: flat} }

// IsError reports whether v is an error reply.
func (v Value) IsError() bool { return v.Kind == KindError }

// Double returns a double reply formatted as Redis 7.2 formats doubles.
func Double(f float64) Value {
	return Value{Kind: KindDouble, Str: []byte(FormatFloat(f))}
}

// FormatFloat formats f as Redis 7.2 replies with a double (d2string):
// "inf"/"-inf", "-0", an integer when f is one within ±LLONG_MAX/2, else the
// shortest digits that round-trip laid out as fpconv_dtoa does ("1.5",
// "0.001", "1e-7", "1.5e+20").
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	case f >= -float64(math.MaxInt64/2) && f <= float64(math.MaxInt64/2) && f == math.Trunc(f):
		return strconv.FormatInt(int64(f), 10)
	}
	neg := f < 0
	e := strconv.FormatFloat(math.Abs(f), 'e', -1, 64) // d.ddde±x
	mant, exp10, _ := cutByte(e, 'e')
	digits := mant[:1]
	if len(mant) > 2 {
		digits += mant[2:]
	}
	x, _ := strconv.Atoi(exp10)
	nd := len(digits)
	k := x - (nd - 1) // f = digits × 10^k
	out := ""
	if neg {
		out = "-"
	}
	ex := k + nd - 1
	if ex < 0 {
		ex = -ex
	}
	switch {
	case k >= 0 && ex < nd+7:
		return out + digits + zeros(k)
	case k < 0 && (k > -7 || ex < 4):
		if off := nd + k; off <= 0 {
			return out + "0." + zeros(-off) + digits
		} else {
			return out + digits[:off] + "." + digits[off:]
		}
	}
	out += digits[:1]
	if nd > 1 {
		out += "." + digits[1:]
	}
	sign := "+"
	if k+nd-1 < 0 {
		sign = "-"
	}
	return out + "e" + sign + strconv.Itoa(ex)
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func cutByte(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
