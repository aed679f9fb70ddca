package geo

import "math"

// Redis computes distances with glibc's sin, cos and asin, which round
// correctly in all but vanishingly rare cases, while Go's math package is
// off by one unit in the last place for a good share of arguments (a third
// for asin). GEOSEARCHSTORE's STOREDIST stores the distance at full
// precision, so these functions compute in double-double arithmetic (about
// 106 bits) and round once. They use math.FMA, which is exact everywhere, and
// no expression Go may fuse, so every platform gets the same bits.

// dd is an unevaluated sum hi + lo with |lo| <= ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func fastTwoSum(a, b float64) dd { // |a| >= |b|
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func (x dd) add(y dd) dd {
	s := twoSum(x.hi, y.hi)
	t := twoSum(x.lo, y.lo)
	s = fastTwoSum(s.hi, s.lo+t.hi)
	return fastTwoSum(s.hi, s.lo+t.lo)
}

func (x dd) neg() dd { return dd{-x.hi, -x.lo} }

func (x dd) mul(y dd) dd {
	p := twoProd(x.hi, y.hi)
	cross := float64(x.hi*y.lo) + float64(x.lo*y.hi)
	return fastTwoSum(p.hi, p.lo+cross)
}

// divF divides by a small exact integer f.
func (x dd) divF(f float64) dd {
	q := x.hi / f
	r := x.add(twoProd(q, f).neg()) // exact remainder, to dd precision
	return fastTwoSum(q, r.hi/f)
}

// π/2 as three doubles, for argument reduction.
const (
	pio2a = 1.5707963267948966192313216916397514
	pio2b = 6.123233995736766035868820147291818e-17
	pio2c = -1.4973849048591698329435e-33
)

// reduce returns r and k with x = r + k·π/2, |r| <= π/4 (to dd precision),
// for |x| below 2^30; ok is false beyond.
func reduce(x dd) (r dd, k int, ok bool) {
	if !(math.Abs(x.hi) < 1<<30) {
		return dd{}, 0, false
	}
	kf := math.Round(x.hi / pio2a)
	r = x.add(twoProd(kf, pio2a).neg())
	r = r.add(twoProd(kf, pio2b).neg())
	r = r.add(dd{-float64(kf * pio2c), 0})
	return r, int(kf), true
}

// sinCosSmall is sin and cos of |r| <= π/4 by their Taylor series, every
// term in double-double: the slow, sure way.
func sinCosSmall(r dd) (s, c dd) {
	r2 := r.mul(r)
	// sin r = r(1 - r²/(2·3)(1 - r²/(4·5)(1 - ...))), innermost first.
	s, c = dd{1, 0}, dd{1, 0}
	for n := 29.0; n >= 3; n -= 2 {
		s = dd{1, 0}.add(r2.mul(s).divF(n * (n - 1)).neg())
	}
	for n := 28.0; n >= 2; n -= 2 {
		c = dd{1, 0}.add(r2.mul(c).divF(n * (n - 1)).neg())
	}
	return r.mul(s), c
}

// sinCosFast is sin and cos of |r| <= π/4 with the leading terms in
// double-double and the rest (below 4e-5 of the result) in double, with
// bounds on the absolute errors.
func sinCosFast(r dd) (s, c dd, errS, errC float64) {
	r2 := r.mul(r)
	x2 := r2.hi
	r3 := r2.mul(r)
	r5 := r3.mul(r2)
	// The tails r⁷(-1/7! + r²/9! - ... + r¹⁴/21!) and r⁸(1/8! - r²/10! + ... - r¹⁴/22!).
	ts := 1.9572941063391263e-20
	ts = -8.22063524662433e-18 + float64(x2*ts)
	ts = 2.8114572543455206e-15 + float64(x2*ts)
	ts = -7.647163731819816e-13 + float64(x2*ts)
	ts = 1.6059043836821613e-10 + float64(x2*ts)
	ts = -2.505210838544172e-08 + float64(x2*ts)
	ts = 2.7557319223985893e-06 + float64(x2*ts)
	ts = -0.0001984126984126984 + float64(x2*ts)
	ts = float64(ts * float64(r5.hi*x2))
	tc := -8.896791392450574e-22
	tc = 4.110317623312165e-19 + float64(x2*tc)
	tc = -1.5619206968586225e-16 + float64(x2*tc)
	tc = 4.779477332387385e-14 + float64(x2*tc)
	tc = -1.1470745597729725e-11 + float64(x2*tc)
	tc = 2.08767569878681e-09 + float64(x2*tc)
	tc = -2.755731922398589e-07 + float64(x2*tc)
	tc = 2.48015873015873e-05 + float64(x2*tc)
	tc = float64(tc * float64(x2*x2*x2*x2))
	s = r.add(r3.mul(dd{-0.16666666666666666, -9.25185853854297e-18})).
		add(r5.mul(dd{0.008333333333333333, 1.1564823173178714e-19})).add(dd{ts, 0})
	r4 := r2.mul(r2)
	r6 := r4.mul(r2)
	c = dd{1, 0}.add(dd{-0.5 * r2.hi, -0.5 * r2.lo}).
		add(r4.mul(dd{0.041666666666666664, 2.3129646346357427e-18})).
		add(r6.mul(dd{-0.001388888888888889, 5.300543954373577e-20})).add(dd{tc, 0})
	const rel = 0x1p-49 // the double tails' rounding, generously
	return s, c, float64(math.Abs(ts)*rel) + float64(math.Abs(r.hi)*0x1p-100), float64(math.Abs(tc)*rel) + 0x1p-100
}

// roundOnce returns v rounded to a double when the error bound e cannot move
// the exact value across a rounding boundary.
func roundOnce(v dd, e float64) (float64, bool) {
	half := math.Abs(v.hi-math.Nextafter(v.hi, 0)) / 2 // the smaller half-ulp
	if math.Abs(v.lo)+e < half {
		return v.hi, true
	}
	return 0, false
}

// sinCos is sin and cos of x in double-double; exact says whether to use the
// slow series, else the errors of the fast one come back too.
func sinCos(x dd, exact bool) (s, c dd, errS, errC float64, ok bool) {
	r, k, ok := reduce(x)
	if !ok {
		return dd{}, dd{}, 0, 0, false
	}
	if exact {
		s, c = sinCosSmall(r)
	} else {
		s, c, errS, errC = sinCosFast(r)
	}
	switch k & 3 {
	case 1:
		s, c, errS, errC = c, s.neg(), errC, errS
	case 2:
		s, c = s.neg(), c.neg()
	case 3:
		s, c, errS, errC = c.neg(), s, errC, errS
	}
	return s, c, errS, errC, true
}

// libmSin is sin(x) rounded to nearest, as glibc's sin (nearly always).
func libmSin(x float64) float64 {
	if x == 0 {
		return x
	}
	s, _, e, _, ok := sinCos(dd{x, 0}, false)
	if !ok {
		return math.Sin(x) // huge, Inf or NaN
	}
	if v, ok := roundOnce(s, e); ok {
		return v
	}
	s, _, _, _, _ = sinCos(dd{x, 0}, true)
	return s.hi + s.lo
}

// libmCos is cos(x) rounded to nearest, as glibc's cos (nearly always).
func libmCos(x float64) float64 {
	_, c, _, e, ok := sinCos(dd{x, 0}, false)
	if !ok {
		return math.Cos(x)
	}
	if v, ok := roundOnce(c, e); ok {
		return v
	}
	_, c, _, _, _ = sinCos(dd{x, 0}, true)
	return c.hi + c.lo
}

// libmAsin is asin(x) rounded to nearest, as glibc's asin (nearly always):
// one Newton step from math.Asin's answer in double-double, y + (x-sin y)/cos y,
// rounded when its error bound allows; otherwise the double whose rounding
// interval holds the true value, found by comparing x with sin (increasing
// on [-π/2, π/2]) at the intervals' ends.
func libmAsin(x float64) float64 {
	if math.Abs(x) > 1 {
		// glibc computes 0/0, whose result on x86-64 is the default NaN,
		// sign bit set: Redis prints it as "-nan".
		return math.Float64frombits(0xfff8000000000000)
	}
	y := math.Asin(x)
	if math.IsNaN(y) || x == 0 || math.Abs(x) == 1 {
		return y
	}
	if math.Abs(x) < 0.99 {
		s, c, es, _, _ := sinCos(dd{y, 0}, false)
		d := dd{x, 0}.add(s.neg())
		delta := d.hi / c.hi
		// The Newton step's error is delta²·tan(y)/2; |tan y| < 7.1 here.
		e := float64(math.Abs(delta)*0x1p-50) + float64(delta*delta*4) + float64((es+math.Abs(d.lo))/c.hi) + float64(math.Abs(y)*0x1p-100)
		if v, ok := roundOnce(twoSum(y, delta), e); ok {
			return v
		}
	}
	// above reports whether the true asin(x) lies above the midpoint between
	// y and its neighbour in direction dir (+1 or -1).
	above := func(y, dir float64) bool {
		n := math.Nextafter(y, dir*math.Inf(1))
		m := twoSum(y, (n-y)/2) // the midpoint, exactly
		if math.Abs(m.hi) >= pio2a {
			return dir < 0 // beyond ±π/2: the true value is inside
		}
		s, _, e, _, _ := sinCos(m, false)
		d := dd{x, 0}.add(s.neg())
		if math.Abs(d.hi) <= e {
			s, _, _, _, _ = sinCos(m, true)
			d = dd{x, 0}.add(s.neg())
		}
		return d.hi > 0 || (d.hi == 0 && d.lo > 0)
	}
	for range 4 {
		switch {
		case above(y, 1):
			y = math.Nextafter(y, math.Inf(1))
		case !above(y, -1):
			y = math.Nextafter(y, math.Inf(-1))
		default:
			return y
		}
	}
	return y
}
