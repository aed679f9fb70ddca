package fsm

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPQSort: whatever the range asked for, pqsort leaves there what a full
// sort would (up to elements that compare equal), keeps every element, and
// sorts everything when the range is everything.
func TestPQSort(t *testing.T) {
	type el struct{ k, id int }
	byKey := func(a, b *el) int { return cmp.Compare(a.k, b.k) }
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := r.IntN(120)
		v := make([]el, n)
		for i := range v {
			v[i] = el{r.IntN(1 + r.IntN(40)), i} // many ties
		}
		want := slices.Clone(v)
		slices.SortStableFunc(want, func(a, b el) int { return byKey(&a, &b) })
		lo, hi := 0, n-1
		if n > 0 && round%4 != 0 {
			lo = r.IntN(n)
			hi = lo + r.IntN(n-lo)
		}
		got := slices.Clone(v)
		pqsort(got, byKey, lo, hi)
		for i := lo; i <= hi && i < n; i++ {
			if got[i].k != want[i].k {
				t.Fatalf("round %d: n=%d range [%d,%d]: position %d holds key %d, a full sort puts %d there", round, n, lo, hi, i, got[i].k, want[i].k)
			}
		}
		ids := make([]int, n)
		for i, e := range got {
			ids[i] = e.id
		}
		slices.Sort(ids)
		for i, id := range ids {
			if id != i {
				t.Fatalf("round %d: elements lost or repeated: %v", round, ids)
			}
		}
	}
}
