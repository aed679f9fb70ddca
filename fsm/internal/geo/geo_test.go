package geo_test

import (
	"iter"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/understudy/understudy/fsm/internal/geo"
)

// The examples of Redis's GEOADD, GEODIST, GEOHASH, GEOPOS and GEOSEARCH
// documentation.
func TestDocumentedExamples(t *testing.T) {
	palermo, _ := geo.Score(13.361389, 38.115556)
	catania, _ := geo.Score(15.087269, 37.502669)
	if palermo != 3479099956230698 || catania != 3479447370796909 {
		t.Fatalf("scores %v %v", palermo, catania)
	}
	lon, lat := geo.Decode(palermo)
	if geo.FormatCoord(lon) != "13.36138933897018433" || geo.FormatCoord(lat) != "38.11555639549629859" {
		t.Fatalf("GEOPOS Palermo = %s %s", geo.FormatCoord(lon), geo.FormatCoord(lat))
	}
	if geo.Hash(palermo) != "sqc8b49rny0" || geo.Hash(catania) != "sqdtr74hyu0" {
		t.Fatalf("GEOHASH = %s %s", geo.Hash(palermo), geo.Hash(catania))
	}
	clon, clat := geo.Decode(catania)
	d := geo.Distance(lon, lat, clon, clat)
	for unit, want := range map[string]string{"m": "166274.1516", "km": "166.2742", "mi": "103.3182"} {
		u, err := geo.ParseUnit([]byte(unit))
		if err != nil || geo.FormatDistance(d/u) != want {
			t.Errorf("GEODIST in %s = %s (%v), want %s", unit, geo.FormatDistance(d/u), err, want)
		}
	}
	z := newZset()
	z.add("Palermo", palermo)
	z.add("Catania", catania)
	got, _ := query{lon: 15, lat: 37, radius: 200, unit: "km", asc: true, withDist: true}.run(z)
	if want := `[["Catania" "56.4413"] ["Palermo" "190.4424"]]`; got != want {
		t.Fatalf("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST = %s, want %s", got, want)
	}
	if _, err := geo.Score(181, 91); err == nil || err.Error() != "ERR invalid longitude,latitude pair 181.000000,91.000000" {
		t.Fatalf("GEOADD 181 91: %v", err)
	}
}

// bigSinCos is sin(x) and cos(x) to about 300 bits, by their Taylor series
// after subtracting the nearest multiple of π/2 (x is small in the test).
func bigSinCos(bx *big.Float) (sin, cos *big.Float) {
	const prec = 300
	pi, _ := new(big.Float).SetPrec(prec).SetString("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651")
	halfPi := new(big.Float).SetPrec(prec).Quo(pi, big.NewFloat(2))
	k, _ := new(big.Float).Quo(bx, halfPi).Float64()
	kr := math.Round(k)
	r := new(big.Float).SetPrec(prec).Sub(bx, new(big.Float).SetPrec(prec).Mul(halfPi, big.NewFloat(kr)))
	s, c := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec)
	r2 := new(big.Float).SetPrec(prec).Mul(r, r)
	term := new(big.Float).SetPrec(prec).Set(r)
	for n := 1; n < 80; n += 2 {
		s.Add(s, term)
		term.Mul(term, r2)
		term.Quo(term, big.NewFloat(float64(-(n+1)*(n+2))))
	}
	term.SetFloat64(1)
	for n := 0; n < 80; n += 2 {
		c.Add(c, term)
		term.Mul(term, r2)
		term.Quo(term, big.NewFloat(float64(-(n+1)*(n+2))))
	}
	switch int(kr) & 3 {
	case 1:
		return c, s.Neg(s)
	case 2:
		return s.Neg(s), c.Neg(c)
	case 3:
		return c.Neg(c), s
	}
	return s, c
}

func bigF(x float64) *big.Float { return new(big.Float).SetPrec(300).SetFloat64(x) }

// The package's sin, cos and asin are correctly rounded: checked against
// 300-bit references on random arguments.
func TestCorrectRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 1000 {
		x := (rng.Float64()*2 - 1) * []float64{0.01, 1, 4, 3000}[rng.IntN(4)]
		s, c := bigSinCos(bigF(x))
		if want, _ := s.Float64(); geo.LibmSin(x) != want {
			t.Fatalf("sin(%v) = %v, want %v", x, geo.LibmSin(x), want)
		}
		if want, _ := c.Float64(); geo.LibmCos(x) != want {
			t.Fatalf("cos(%v) = %v, want %v", x, geo.LibmCos(x), want)
		}
		// asin: the answer y is the double whose rounding interval holds
		// the true value: sin(y-ulp/2) < a < sin(y+ulp/2).
		a := rng.Float64()*2 - 1
		y := geo.LibmAsin(a)
		lo := bigF(y)
		lo.Sub(lo, bigF((y-math.Nextafter(y, math.Inf(-1)))/2))
		hi := bigF(y)
		hi.Add(hi, bigF((math.Nextafter(y, math.Inf(1))-y)/2))
		sLo, _ := bigSinCos(lo)
		sHi, _ := bigSinCos(hi)
		if sLo.Cmp(bigF(a)) > 0 || sHi.Cmp(bigF(a)) < 0 {
			t.Fatalf("asin(%v) = %v is not correctly rounded", a, y)
		}
	}
}

// M_PI/180.0 in C rounds π to a double first, then divides.
func TestDegreeConstant(t *testing.T) {
	pi, deg := math.Pi, 180.0
	if geo.DR != pi/deg {
		t.Fatalf("dR = %v, C computes %v", geo.DR, pi/deg)
	}
}

// FuzzShape: no shape, however absurd, makes Search panic or loop forever,
// and every point it keeps is reported inside by Match.
func FuzzShape(f *testing.F) {
	f.Add(13.36, 38.11, false, 200.0, 0.0, 0.0, 1000.0, 3479099956230698.0)
	f.Add(180.0, -85.05, true, 0.0, 5e6, 1e-3, 1.0, 0.0)
	f.Fuzz(func(t *testing.T, lon, lat float64, box bool, radius, w, h, unit, score float64) {
		sh := geo.Shape{Lon: lon, Lat: lat, ByBox: box, Radius: radius, Width: w, Height: h, Unit: unit}
		scan := func(r geo.Range) iter.Seq2[string, float64] {
			return func(yield func(string, float64) bool) {
				if score >= r.Min && score < r.Max {
					yield("m", score)
				}
			}
		}
		for _, p := range geo.Search(&sh, 0, scan) {
			if _, ok := sh.Match(p.Score); !ok {
				t.Fatalf("Search kept %v, which Match rejects", p)
			}
		}
		if h := geo.Hash(score); len(h) != 11 {
			t.Fatalf("GEOHASH %q", h)
		}
	})
}
