package fsm

// pqsort is Redis's pqsort.c (NetBSD's qsort, Bentley and McIlroy's
// "Engineering a Sort Function", recursing only into the partitions that
// overlap the range [lo, hi]), ported step by step: SORT ... BY ... LIMIT
// uses it, and the order it leaves elements that compare equal in is part
// of the reply (a full sort would keep them in input order).
func pqsort[T any](v []T, cmp func(a, b *T) int, lo, hi int) {
	q := pq[T]{v: v, cmp: cmp, lo: lo, hi: hi}
	q.sort(0, len(v))
}

type pq[T any] struct {
	v      []T
	cmp    func(a, b *T) int
	lo, hi int
}

func (q *pq[T]) c(i, j int) int { return q.cmp(&q.v[i], &q.v[j]) }

func (q *pq[T]) swap(i, j int) { q.v[i], q.v[j] = q.v[j], q.v[i] }

// vecswap swaps the n elements from i with the n from j.
func (q *pq[T]) vecswap(i, j, n int) {
	for k := 0; k < n; k++ {
		q.swap(i+k, j+k)
	}
}

func (q *pq[T]) med3(a, b, c int) int {
	if q.c(a, b) < 0 {
		if q.c(b, c) < 0 {
			return b
		}
		if q.c(a, c) < 0 {
			return c
		}
		return a
	}
	if q.c(b, c) > 0 {
		return b
	}
	if q.c(a, c) < 0 {
		return a
	}
	return c
}

func (q *pq[T]) insertion(a, n int) {
	for pm := a + 1; pm < a+n; pm++ {
		for pl := pm; pl > a && q.c(pl-1, pl) > 0; pl-- {
			q.swap(pl, pl-1)
		}
	}
}

// outside reports whether the n elements from a lie wholly before or after
// the range to sort.
func (q *pq[T]) outside(a, n int) bool {
	return (q.lo < a && q.hi < a) || (q.lo >= a+n && q.hi >= a+n)
}

// sort sorts the n elements from a (the C code's loop label is the for).
func (q *pq[T]) sort(a, n int) {
	for {
		if n < 7 {
			q.insertion(a, n)
			return
		}
		pm := a + n/2
		if n > 7 {
			pl, pn := a, a+n-1
			if n > 40 {
				d := n / 8
				pl = q.med3(pl, pl+d, pl+2*d)
				pm = q.med3(pm-d, pm, pm+d)
				pn = q.med3(pn-2*d, pn-d, pn)
			}
			pm = q.med3(pl, pm, pn)
		}
		q.swap(a, pm)
		pa, pb := a+1, a+1
		pc, pd := a+n-1, a+n-1
		swapped := false
		for {
			for pb <= pc {
				r := q.c(pb, a)
				if r > 0 {
					break
				}
				if r == 0 {
					swapped = true
					q.swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := q.c(pc, a)
				if r < 0 {
					break
				}
				if r == 0 {
					swapped = true
					q.swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			q.swap(pb, pc)
			swapped = true
			pb++
			pc--
		}
		if !swapped { // switch to insertion sort
			q.insertion(a, n)
			return
		}
		pn := a + n
		r := min(pa-a, pb-pa)
		q.vecswap(a, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		q.vecswap(pb, pn-r, r)
		if r = pb - pa; r > 1 && !q.outside(a, r) {
			q.sort(a, r)
		}
		if r = pd - pc; r > 1 {
			// Iterate rather than recurse.
			a, n = pn-r, r
			if !q.outside(a, n) {
				continue
			}
		}
		return
	}
}
