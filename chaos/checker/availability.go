package checker

import "sort"

// Gap is the longest stretch without a successful write in some window.
type Gap struct {
	Length int64 `json:"length_ns"`
	From   int64 `json:"from_ns"`
	To     int64 `json:"to_ns"`
}

// LongestGap is the longest interval of [from, to] containing no time of
// successes (which must be sorted). The window's ends count as edges.
func LongestGap(successes []int64, from, to int64) Gap {
	if to <= from {
		return Gap{From: from, To: from}
	}
	i := sort.Search(len(successes), func(i int) bool { return successes[i] >= from })
	best := Gap{}
	prev := from
	for ; i < len(successes) && successes[i] <= to; i++ {
		if g := successes[i] - prev; g > best.Length {
			best = Gap{Length: g, From: prev, To: successes[i]}
		}
		prev = successes[i]
	}
	if g := to - prev; g > best.Length {
		best = Gap{Length: g, From: prev, To: to}
	}
	return best
}

// FirstAfter is the first success at or after t, or Never.
func FirstAfter(successes []int64, t int64) int64 {
	i := sort.Search(len(successes), func(i int) bool { return successes[i] >= t })
	if i == len(successes) {
		return Never
	}
	return successes[i]
}
