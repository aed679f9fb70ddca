package bitops_test

import (
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm/internal/bitops"
)

func args(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

// The examples of Redis's documentation for BITCOUNT, BITPOS and BITFIELD.
func TestDocumentedExamples(t *testing.T) {
	for _, c := range []struct {
		s, args string
		want    int64
	}{
		{"foobar", "", 26}, {"foobar", "0 0", 4}, {"foobar", "1 1", 6},
		{"foobar", "1 1 BYTE", 6}, {"foobar", "5 30 BIT", 17},
	} {
		if got, err := bitops.Count([]byte(c.s), args(c.args)); err != nil || got != c.want {
			t.Errorf("BITCOUNT %q %s = %d, %v; want %d", c.s, c.args, got, err, c.want)
		}
	}
	for _, c := range []struct {
		s    string
		bit  int
		args string
		want int64
	}{
		{"\xff\xf0\x00", 0, "", 12}, {"\x00\xff\xf0", 1, "0", 8}, {"\x00\xff\xf0", 1, "2", 16},
		{"\x00\xff\xf0", 1, "2 -1 BYTE", 16}, {"\x00\xff\xf0", 1, "7 15 BIT", 8},
		{"\x00\x00\x00", 1, "", -1}, {"\xff\xff\xff", 0, "", 24}, {"\xff\xff\xff", 0, "0 -1", -1},
	} {
		if got, err := bitops.Pos([]byte(c.s), c.bit, args(c.args)); err != nil || got != c.want {
			t.Errorf("BITPOS %q %d %s = %d, %v; want %d", c.s, c.bit, c.args, got, err, c.want)
		}
	}
	bf, err := bitops.ParseBitfield(args("INCRBY i5 100 1 GET u4 0"), false, bitops.DefaultMaxBulkLen)
	if err != nil {
		t.Fatal(err)
	}
	out, res, changed := bf.Exec(nil)
	if len(res) != 2 || res[0].Value != 1 || res[1].Value != 0 || !changed || len(out) != 14 {
		t.Errorf("BITFIELD INCRBY i5 100 1 GET u4 0 = %v, changed %v, %d bytes", res, changed, len(out))
	}
}

// A write never changes the caller's bytes beyond what it returns, and a
// read leaves its input alone.
func TestReadsDoNotWrite(t *testing.T) {
	s := []byte("abc")
	bf, err := bitops.ParseBitfield(args("GET u8 0 GET i64 #3"), true, bitops.DefaultMaxBulkLen)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, changed := bf.Exec(s); string(out) != "abc" || changed || string(s) != "abc" {
		t.Fatalf("a read-only BITFIELD wrote: %q %v", out, changed)
	}
	if _, err := bitops.ParseBitfield(args("GET u8 0 SET u8 0 1"), true, bitops.DefaultMaxBulkLen); err != bitops.ErrBitfieldRO {
		t.Fatalf("BITFIELD_RO with SET: %v", err)
	}
}

// The offset limit is proto-max-bulk-len, a parameter.
func TestOffsetLimit(t *testing.T) {
	if _, err := bitops.ParseOffset([]byte("8191"), 1024); err != nil {
		t.Fatalf("offset 8191 with a 1 KiB limit: %v", err)
	}
	if _, err := bitops.ParseOffset([]byte("8192"), 1024); err != bitops.ErrBitOffset {
		t.Fatalf("offset 8192 with a 1 KiB limit: %v", err)
	}
}

// FuzzBitfield checks that no argument list makes parsing or execution
// panic, and that execution writes only within the string it returns.
func FuzzBitfield(f *testing.F) {
	f.Add("SET i8 #3 -5 INCRBY u63 100 9223372036854775807 OVERFLOW SAT GET i64 7", []byte("abc"))
	f.Add("overflow fail incrby i64 0 -1 get u1 #9", []byte{})
	f.Fuzz(func(t *testing.T, cmd string, s []byte) {
		bf, err := bitops.ParseBitfield(args(cmd), false, 1<<12)
		if err != nil {
			return
		}
		out, res, _ := bf.Exec(append([]byte{}, s...))
		if len(res) != len(bf.Ops) || len(out) < len(s) {
			t.Fatalf("%d results for %d ops, %d bytes from %d", len(res), len(bf.Ops), len(out), len(s))
		}
	})
}
