package geo_test

import (
	"math"
	"testing"

	"github.com/understudy/understudy/fsm/internal/geo"
)

var sink float64

// BenchmarkTrig sets the correctly rounded sin, cos and asin side by side
// with Go's math package, which they replace to agree with glibc.
func BenchmarkTrig(b *testing.B) {
	for _, c := range []struct {
		name string
		f    func(float64) float64
	}{
		{"sin/math", math.Sin}, {"sin/libm", geo.LibmSin},
		{"cos/math", math.Cos}, {"cos/libm", geo.LibmCos},
		{"asin/math", math.Asin}, {"asin/libm", geo.LibmAsin},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := 0.1
			for b.Loop() {
				sink += c.f(x)
				x += 1e-7
			}
		})
	}
}

// BenchmarkDistance is one haversine distance, as GEOSEARCH computes per
// candidate member.
func BenchmarkDistance(b *testing.B) {
	lat := 38.1
	for b.Loop() {
		sink += geo.Distance(13.36, lat, 15.08, 37.5)
		lat += 1e-9
	}
}
