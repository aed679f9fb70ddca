package hll_test

import (
	"strconv"
	"testing"

	"github.com/understudy/understudy/fsm/internal/hll"
)

func elems(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// The example of Redis's PFADD documentation, and the bytes Redis gives an
// HLL created empty.
func TestDocumentedExample(t *testing.T) {
	s, changed, err := hll.Add(nil, nil, hll.DefaultSparseMaxBytes)
	if err != nil || !changed || string(s) != "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff" {
		t.Fatalf("PFADD k on a missing key: %q %v %v", s, changed, err)
	}
	s, changed, err = hll.Add(s, elems("a", "b", "c", "d", "e", "f", "g"), hll.DefaultSparseMaxBytes)
	if err != nil || !changed {
		t.Fatalf("PFADD a..g: %v %v", changed, err)
	}
	n, updated, err := hll.Count(s)
	if err != nil || n != 7 || updated == nil {
		t.Fatalf("PFCOUNT = %d, %v (cache written %v); want 7", n, err, updated != nil)
	}
	if n2, again, err := hll.Count(updated); err != nil || n2 != 7 || again != nil {
		t.Fatalf("PFCOUNT from the cache = %d, %v, rewritten %v", n2, err, again != nil)
	}
	if _, changed, _ := hll.Add(updated, elems("a"), hll.DefaultSparseMaxBytes); changed {
		t.Fatal("PFADD of an element already counted reported a change")
	}
}

// Count and Union read their inputs without writing them.
func TestReadsDoNotWrite(t *testing.T) {
	s, _, _ := hll.Add(nil, elems("x", "y"), hll.DefaultSparseMaxBytes)
	before := string(s)
	if _, updated, _ := hll.Count(s); updated == nil || string(s) != before {
		t.Fatal("Count changed its input or returned no cache update for a stale count")
	}
	var u hll.Union
	if err := u.Merge(s); err != nil || string(s) != before || u.Count() != 2 {
		t.Fatalf("Union: %v, count %d", err, u.Count())
	}
}

// Growing one value element by element, the count stays within a few
// standard errors (0.81%) of the truth, through the promotion to dense.
func TestAccuracy(t *testing.T) {
	var s []byte
	for i := 1; i <= 20000; i++ {
		s, _, _ = hll.Add(s, elems("el:"+strconv.Itoa(i)), hll.DefaultSparseMaxBytes)
		if i%1000 == 0 {
			n, _, err := hll.Count(s)
			if err != nil || float64(n) < float64(i)*0.96 || float64(n) > float64(i)*1.04 {
				t.Fatalf("after %d elements the count is %d (%v)", i, n, err)
			}
		}
	}
	if len(s) != 12304 {
		t.Fatalf("20000 elements left a %d-byte value, not dense", len(s))
	}
}

// FuzzValue feeds arbitrary values to every entry point: none panics, and a
// value Add accepts comes back valid.
func FuzzValue(f *testing.F) {
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"), "a")
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f"), "b")
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x3f\x7f\xbe\x83"), "c")
	f.Fuzz(func(t *testing.T, v []byte, e string) {
		_, _, _ = hll.Count(v)
		var u hll.Union
		if u.Merge(v) == nil {
			_ = u.Count()
			if _, err := u.Store(append([]byte{}, v...), 40); err != nil {
				return
			}
		}
		out, _, err := hll.Add(append([]byte{}, v...), elems(e, e+"1"), 40)
		if err == nil && hll.Check(out) != nil {
			t.Fatalf("Add returned an invalid value %q", out)
		}
	})
}
