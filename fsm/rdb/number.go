package rdb

import (
	"math"
	"strconv"
	"strings"
)

// parseStrictInt is Redis's string2ll (and listpack's lpStringToInt64): an
// int64 written exactly as Redis would print it: no sign but '-', no
// leading zeros, no spaces, "-0" not allowed.
func parseStrictInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := s[0] == '-'
	d := s
	if neg {
		d = s[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true // -(1<<63) wraps to itself: MinInt64
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// double2ll is Redis 7.0's double2ll: whether d is an integer that a long
// long holds exactly, within ±LLONG_MAX/2. -0 counts, as 0.
func double2ll(d float64) (int64, bool) {
	if d < -4611686018427387904.0 || d > 4611686018427387904.0 || d != d {
		return 0, false
	}
	ll := int64(d)
	return ll, float64(ll) == d
}

// d2string is Redis 7.0's d2string for a double that is not an integer
// double2ll accepts: "nan", "inf", "-inf", or printf's %.17g.
func d2string(d float64) string {
	switch {
	case math.IsNaN(d):
		return "nan"
	case math.IsInf(d, 1):
		return "inf"
	case math.IsInf(d, -1):
		return "-inf"
	case d == 0:
		if math.Signbit(d) {
			return "-0"
		}
		return "0"
	}
	return strconv.FormatFloat(d, 'g', 17, 64)
}

// strtod is C's strtod(s, &end) in the C locale: leading white space, a
// sign, then a decimal or hexadecimal number, "inf", "infinity" or
// "nan[(...)]", case-insensitive. It returns the value and how many bytes
// it read (0 if no number starts s, and then the value is 0). Like C it
// stops at a NUL byte, and overflows to ±Inf.
func strtod(s string) (float64, int) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(v float64) float64 {
		if neg {
			return -v
		}
		return v
	}
	rest := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return sign(math.Inf(1)), i + 8
	case strings.HasPrefix(rest, "inf"):
		return sign(math.Inf(1)), i + 3
	case strings.HasPrefix(rest, "nan"):
		n := i + 3
		if j := strings.IndexByte(rest[3:], ')'); len(rest) > 3 && rest[3] == '(' && j > 0 &&
			strings.IndexFunc(rest[4:3+j], func(r rune) bool { return !isAlnumUnderscore(r) }) < 0 {
			n += j + 1
		}
		return math.Float64frombits(0x7ff8000000000000), n
	case strings.HasPrefix(rest, "0x") && len(rest) > 2 && (isHexDigit(rest[2]) || rest[2] == '.' && len(rest) > 3 && isHexDigit(rest[3])):
		return strtodHex(s, start, i+2)
	}
	// Decimal: digits, optional fraction, optional exponent.
	j := i
	digits := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			j = k
		}
	}
	v, err := strconv.ParseFloat(s[start:j], 64)
	if err != nil && !isRangeErr(err) {
		return 0, 0
	}
	return v, j
}

// scanDouble is glibc's sscanf(s, "%lg"): strtod's number, except that
// having read "0x" or "infi" scanf is committed to a hexadecimal number or
// to "infinity", and fails if the rest does not follow.
func scanDouble(s string) (float64, bool) {
	v, n := strtod(s)
	if n == 0 {
		return 0, false
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	t := strings.ToLower(strings.TrimLeft(s, " \t\n\v\f\r"))
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	switch {
	case strings.HasPrefix(t, "0x"):
		if len(t) == 2 || !isHexDigit(t[2]) && t[2] != '.' {
			return 0, false
		}
	case strings.HasPrefix(t, "infi") && !strings.HasPrefix(t, "infinity"):
		return 0, false
	}
	return v, true
}

// strtodHex reads a hexadecimal float whose digits start at digits (after
// the sign and "0x" that start at start); Go's ParseFloat wants the 'p'
// exponent that C's makes optional.
func strtodHex(s string, start, digits int) (float64, int) {
	j := digits
	for j < len(s) && isHexDigit(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isHexDigit(s[j]) {
			j++
		}
	}
	mant := s[start:j]
	exp := "p0"
	if j < len(s) && (s[j] == 'p' || s[j] == 'P') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			exp = s[j:k]
			j = k
		}
	}
	v, err := strconv.ParseFloat(mant+exp, 64)
	if err != nil && !isRangeErr(err) {
		return 0, 0
	}
	return v, j
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlnumUnderscore(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}
