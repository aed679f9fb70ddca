package bitops

// Op is a BITOP operation.
type Op int

// The operations of Redis 7.0 (DIFF, DIFF1, ANDOR and ONE came in 8.2).
const (
	And Op = iota
	Or
	Xor
	Not
)

// ParseOp parses BITOP's operation name; nsrc is the number of source keys.
// Both checks come before Redis looks any key up: an unknown name is a
// syntax error, NOT with other than one source ErrBitopNot.
func ParseOp(name []byte, nsrc int) (Op, error) {
	var op Op
	switch {
	case cstrEqualFold(name, "and"):
		op = And
	case cstrEqualFold(name, "or"):
		op = Or
	case cstrEqualFold(name, "xor"):
		op = Xor
	case cstrEqualFold(name, "not"):
		op = Not
	default:
		return 0, ErrSyntax
	}
	if op == Not && nsrc != 1 {
		return 0, ErrBitopNot
	}
	return op, nil
}

// Apply computes the operation over the source strings (nil or empty for a
// missing key; the caller has checked that every existing one is a string,
// in order, answering WRONGTYPE at the first that is not). A shorter string
// counts as padded with zero bytes. The result is as long as the longest
// source, which is BITOP's reply; when it is empty Redis deletes the
// destination instead of storing it.
func (op Op) Apply(srcs [][]byte) []byte {
	n := 0
	for _, s := range srcs {
		n = max(n, len(s))
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, srcs[0])
	if op == Not {
		for j := range out {
			out[j] = ^out[j]
		}
		return out
	}
	for _, s := range srcs[1:] {
		switch op {
		case And:
			for j := range s {
				out[j] &= s[j]
			}
			clear(out[len(s):]) // anded with the zero padding
		case Or:
			for j := range s {
				out[j] |= s[j]
			}
		case Xor:
			for j := range s {
				out[j] ^= s[j]
			}
		}
	}
	return out
}
