// Package bench holds the pure parts of the benchmark harness: a latency
// histogram, the result records the load generator writes, ratios and the
// markdown report with the lead's targets. The network drivers live in
// bench/driver and the command in bench/cmd/loadgen; scripts/bench.sh runs it.
package bench

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets: exact below 128 ns, then
// 64 buckets per power of two, so a percentile is within 1/64 (1.6%) of the
// true sample. It is not safe for concurrent use: give each worker its own and
// Merge them.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    int64
	min    int64
	max    int64
}

const (
	histSubBits = 6 // 64 sub-buckets per power of two
	histSub     = 1 << histSubBits
	histLinear  = 2 * histSub                           // values below this are exact
	histBuckets = histLinear + (62-histSubBits)*histSub // up to 2^63-1
)

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v < histLinear {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (histSubBits + 1)
	return histLinear + (shift-1)*histSub + int(uint64(v)>>shift) - histSub
}

// bucketRange is the inclusive range of values that fall into bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < histLinear {
		return int64(i), int64(i)
	}
	j := i - histLinear
	shift := j/histSub + 1
	m := int64(j%histSub + histSub)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds every sample of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest sample (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the average sample (exact).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.n))
}

// Percentile returns the q-quantile (0 < q <= 1, e.g. 0.99) by the nearest-rank
// method: the smallest sample with at least q*n samples at or below it,
// reported as the middle of its bucket and clamped to [Min, Max]. Zero for an
// empty histogram.
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++ // ceil
	}
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			if v < h.min {
				v = h.min
			}
			if v > h.max {
				v = h.max
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
