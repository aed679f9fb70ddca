package hll_test

import (
	"strconv"
	"testing"

	"github.com/understudy/understudy/fsm/internal/hll"
)

// BenchmarkAdd is PFADD of one new element to a sparse value (about 1000
// elements in) and to a dense one, side by side.
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		var s []byte
		for i := range n {
			s, _, _ = hll.Add(s, elems("x"+strconv.Itoa(i)), hll.DefaultSparseMaxBytes)
		}
		name := "sparse"
		if len(s) == 12304 {
			name = "dense"
		}
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				v := append([]byte{}, s...)
				_, _, _ = hll.Add(v, elems("y"+strconv.Itoa(i)), hll.DefaultSparseMaxBytes)
				i++
			}
		})
	}
}

// BenchmarkCount is PFCOUNT of a dense value with a stale cached count.
func BenchmarkCount(b *testing.B) {
	var s []byte
	for i := range 20000 {
		s, _, _ = hll.Add(s, elems("x"+strconv.Itoa(i)), hll.DefaultSparseMaxBytes)
	}
	for b.Loop() {
		_, _, _ = hll.Count(s)
	}
}
