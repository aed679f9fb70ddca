package geo

import "slices"

// Sort orders points by distance, nearest first or (desc) farthest first,
// as GEOSEARCH's ASC and DESC do; count is the number of results that will
// be returned (0 for all). When they are all returned Redis sorts with
// glibc's qsort, a stable merge sort; when only the first count are, with its
// own partial quicksort (pqsort.c), whose order among equal distances this
// reproduces, so ties come out as Redis returns them.
func Sort(points []Point, desc bool, count int) {
	cmp := func(a, b *Point) int {
		c := -1
		switch {
		case a.Dist > b.Dist:
			c = 1
		case a.Dist == b.Dist:
			c = 0
		}
		if desc {
			return -c
		}
		return c
	}
	if count == 0 || count >= len(points) {
		slices.SortStableFunc(points, func(a, b Point) int { return cmp(&a, &b) })
		return
	}
	pqsort(points, 0, len(points), cmp, 0, count-1)
}

// pqsort is Redis's pqsort (NetBSD's qsort, Bentley and McIlroy's
// "Engineering a Sort Function", restricted to the partitions that overlap
// the places [lrange, rrange]) over points[lo:lo+n], by indexes. Redis's
// version has no switch to insertion sort after a pass without swaps.
func pqsort(a []Point, lo, n int, cmp func(a, b *Point) int, lrange, rrange int) {
	c := func(i, j int) int { return cmp(&a[i], &a[j]) }
	swap := func(i, j int) { a[i], a[j] = a[j], a[i] }
	vecswap := func(i, j, n int) {
		for k := range n {
			swap(i+k, j+k)
		}
	}
	med3 := func(x, y, z int) int {
		if c(x, y) < 0 {
			if c(y, z) < 0 {
				return y
			}
			if c(x, z) < 0 {
				return z
			}
			return x
		}
		if c(y, z) > 0 {
			return y
		}
		if c(x, z) < 0 {
			return x
		}
		return z
	}
	insertion := func(lo, n int) {
		for pm := lo + 1; pm < lo+n; pm++ {
			for pl := pm; pl > lo && c(pl-1, pl) > 0; pl-- {
				swap(pl, pl-1)
			}
		}
	}
	// outside reports whether [lo, lo+n) holds none of the places wanted.
	outside := func(lo, n int) bool {
		return (lrange < lo && rrange < lo) || (lrange >= lo+n && rrange >= lo+n)
	}
	for {
		if n < 7 {
			insertion(lo, n)
			return
		}
		pm := lo + n/2
		if n > 7 {
			pl, pn := lo, lo+n-1
			if n > 40 {
				d := n / 8
				pl = med3(pl, pl+d, pl+2*d)
				pm = med3(pm-d, pm, pm+d)
				pn = med3(pn-2*d, pn-d, pn)
			}
			pm = med3(pl, pm, pn)
		}
		swap(lo, pm)
		pa, pb := lo+1, lo+1
		pc, pd := lo+n-1, lo+n-1
		for {
			for pb <= pc {
				r := c(pb, lo)
				if r > 0 {
					break
				}
				if r == 0 {
					swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := c(pc, lo)
				if r < 0 {
					break
				}
				if r == 0 {
					swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			swap(pb, pc)
			pb++
			pc--
		}
		pn := lo + n
		r := min(pa-lo, pb-pa)
		vecswap(lo, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		vecswap(pb, pn-r, r)
		if r = pb - pa; r > 1 && !outside(lo, r) {
			pqsort(a, lo, r, cmp, lrange, rrange)
		}
		r = pd - pc
		if r <= 1 {
			return
		}
		lo, n = pn-r, r
		if outside(lo, n) {
			return
		}
	}
}
