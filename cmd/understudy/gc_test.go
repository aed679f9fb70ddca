package main

import "testing"

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},                    // nothing measured yet: Go's default
		{16 << 20, 100},             // small heap: capped at the default
		{64 << 20, 100},             // headroom = 64 MiB = 100%
		{128 << 20, 50},             // 64 MiB is half the live heap
		{200 << 20, 35},             // 32% rounded up to a step of 5
		{256 << 20, 25},             // a quarter
		{4 << 30, 25},               // large heaps: never under a quarter
		{(64 << 20) * 100 / 62, 65}, // 62% rounds up to 65
	} {
		if got := gcPercent(tc.live); got != tc.want {
			t.Errorf("gcPercent(%d MiB) = %d, want %d", tc.live>>20, got, tc.want)
		}
	}
}
