package fsm

import (
	"math"
	"strconv"
)

// streamID is a stream entry ID, <ms>-<seq>, ordered as a 128-bit number.
type streamID struct{ ms, seq uint64 }

var (
	minStreamID = streamID{}
	maxStreamID = streamID{math.MaxUint64, math.MaxUint64}
)

func (a streamID) cmp(b streamID) int {
	switch {
	case a.ms > b.ms:
		return 1
	case a.ms < b.ms:
		return -1
	case a.seq > b.seq:
		return 1
	case a.seq < b.seq:
		return -1
	}
	return 0
}

func (a streamID) less(b streamID) bool { return a.cmp(b) < 0 }

func (a streamID) isZero() bool { return a.ms == 0 && a.seq == 0 }

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

func (a streamID) bulk() Value { return BulkString(a.String()) }

// incr is streamIncrID: the next ID, false past the last possible one.
func (a streamID) incr() (streamID, bool) {
	switch {
	case a.seq < math.MaxUint64:
		a.seq++
	case a.ms < math.MaxUint64:
		a.ms, a.seq = a.ms+1, 0
	default:
		return a, false
	}
	return a, true
}

// decr is streamDecrID: the previous ID, false before 0-0.
func (a streamID) decr() (streamID, bool) {
	switch {
	case a.seq > 0:
		a.seq--
	case a.ms > 0:
		a.ms, a.seq = a.ms-1, math.MaxUint64
	default:
		return a, false
	}
	return a, true
}

// key is the ID as Redis's radix tree key: 128 bits, big endian.
func (a streamID) key() [16]byte {
	var k [16]byte
	for i := range 8 {
		k[i] = byte(a.ms >> (56 - 8*i))
		k[8+i] = byte(a.seq >> (56 - 8*i))
	}
	return k
}

var errInvalidStreamID = Err("ERR Invalid stream ID specified as stream command argument")

// idArg says how parseStreamID reads an argument.
type idArg struct {
	missingSeq uint64 // the sequence of an ID given as just <ms>
	strict     bool   // "-" and "+" are invalid
	autoSeq    bool   // <ms>-* is accepted (XADD): seqGiven reports it
}

// parseStreamID is streamGenericParseIDOrReply.
func parseStreamID(arg []byte, o idArg) (id streamID, seqGiven, ok bool) {
	if len(arg) > 127 {
		return id, false, false
	}
	s := string(cString(arg)) // Redis parses a C string
	if o.strict && (s == "-" || s == "+") {
		return id, false, false
	}
	switch s {
	case "-":
		return minStreamID, true, true
	case "+":
		return maxStreamID, true, true
	}
	msPart, seqPart, dash := cutByte(s, '-')
	ms, ok := string2ull(msPart)
	if !ok {
		return id, false, false
	}
	seq := o.missingSeq
	seqGiven = true
	if dash {
		if o.autoSeq && seqPart == "*" {
			seq, seqGiven = 0, false
		} else if seq, ok = string2ull(seqPart); !ok {
			return id, false, false
		}
	}
	return streamID{ms, seq}, seqGiven, true
}

// parseIntervalID is streamParseIntervalIDOrReply: "(" makes the bound
// exclusive, and then "-" and "+" are invalid.
func parseIntervalID(arg []byte, missingSeq uint64) (id streamID, exclusive, ok bool) {
	if len(arg) > 1 && arg[0] == '(' {
		id, _, ok = parseStreamID(arg[1:], idArg{missingSeq: missingSeq, strict: true})
		return id, true, ok
	}
	id, _, ok = parseStreamID(arg, idArg{missingSeq: missingSeq})
	return id, false, ok
}

// parseRange parses an interval's two bounds as XRANGE and XPENDING do,
// turning exclusive bounds into inclusive ones.
func parseRange(startArg, endArg []byte) (start, end streamID, errv Value) {
	start, ex, ok := parseIntervalID(startArg, 0)
	if !ok {
		return start, end, errInvalidStreamID
	}
	if ex {
		if start, ok = start.incr(); !ok {
			return start, end, Err("ERR invalid start ID for the interval")
		}
	}
	end, ex, ok = parseIntervalID(endArg, math.MaxUint64)
	if !ok {
		return start, end, errInvalidStreamID
	}
	if ex {
		if end, ok = end.decr(); !ok {
			return start, end, Err("ERR invalid end ID for the interval")
		}
	}
	return start, end, Value{}
}

// string2ull is Redis's string2ull: a strict long long (not negative), or
// else whatever strtoull(s, &end, 10) reads when it consumes all of s
// (leading spaces, a sign, no overflow).
func string2ull(s string) (uint64, bool) {
	if v, ok := parseInt(b(s)); ok {
		return uint64(v), v >= 0
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(d))/10 {
			return 0, false // ERANGE
		}
		v = v*10 + uint64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}
