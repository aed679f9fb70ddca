package bench

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogram_BucketsCoverEveryValueOnce(t *testing.T) {
	prevHi := int64(-1)
	for i := 0; i < histBuckets; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		prevHi = hi
		if hi < 0 || i == histBuckets-1 {
			break
		}
	}
}

func TestHistogram_EmptyIsZero(t *testing.T) {
	var h Histogram
	if h.Percentile(0.5) != 0 || h.Count() != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatalf("empty histogram reports non-zero values")
	}
}

func TestHistogram_SingleSampleIsExact(t *testing.T) {
	var h Histogram
	h.Record(1234567 * time.Nanosecond)
	for _, q := range []float64{0.001, 0.5, 0.99, 0.999, 1} {
		if got := h.Percentile(q); got != 1234567 {
			t.Fatalf("p%v = %v, want 1.234567ms", q, got)
		}
	}
}

func TestHistogram_SmallValuesAreExact(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	if got := h.Percentile(0.5); got != 50 {
		t.Fatalf("p50 = %d, want 50", got)
	}
	if got := h.Percentile(0.99); got != 99 {
		t.Fatalf("p99 = %d, want 99", got)
	}
}

// Percentiles of random samples agree with the exact nearest-rank
// percentile of the sorted samples within the bucket precision.
func TestHistogram_PercentilesWithinPrecision(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	var h Histogram
	samples := make([]int64, 200000)
	for i := range samples {
		// log-normal-ish: from 10µs to 1s
		v := int64(10e3 * (1 + r.ExpFloat64()*r.ExpFloat64()*50))
		samples[i] = v
		h.Record(time.Duration(v))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		rank := int(q*float64(len(samples))+0.999999) - 1
		want := float64(samples[rank])
		got := float64(h.Percentile(q))
		if d := (got - want) / want; d > 1.0/64 || d < -1.0/64 {
			t.Errorf("p%v = %v, exact %v (off by %.2f%%)", q*100, got, want, d*100)
		}
	}
	if h.Max() != time.Duration(samples[len(samples)-1]) || h.Min() != time.Duration(samples[0]) {
		t.Errorf("min/max not exact")
	}
}

func TestHistogram_MergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() || m.Mean() != all.Mean() {
		t.Fatalf("merged summary differs: %d %v %v vs %d %v %v", m.Count(), m.Min(), m.Max(), all.Count(), all.Min(), all.Max())
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if m.Percentile(q) != all.Percentile(q) {
			t.Fatalf("p%v differs after merge", q)
		}
	}
	if p := all.Percentile(0.5); p < 495*time.Microsecond || p > 505*time.Microsecond {
		t.Fatalf("p50 of 1..1000µs = %v", p)
	}
}
