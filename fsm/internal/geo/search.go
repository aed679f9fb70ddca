package geo

import (
	"iter"
	"math"
)

// Shape is a GEOSEARCH area (GeoShape): a circle of Radius or a Width by
// Height box (BYBOX), in units of Unit metres (from ParseUnit), around a
// centre given by FROMLONLAT or decoded from FROMMEMBER's score.
type Shape struct {
	Lon, Lat      float64
	ByBox         bool
	Radius        float64
	Width, Height float64
	Unit          float64
}

// Range is a score range to scan in the sorted set: Min <= score < Max.
type Range struct{ Min, Max float64 }

// Point is a member found inside the shape. Dist is in metres: divide by
// Shape.Unit for WITHDIST and STOREDIST, after sorting, as Redis does.
type Point struct {
	Member   string
	Score    float64
	Lon, Lat float64
	Dist     float64
}

// Search is geohashCalculateAreasByShapeWGS84 and membersOfAllNeighbors: it
// scans the ranges covering the shape, in Redis's order, and keeps the
// members inside it, in scan order. scan must yield the members whose score
// is in the range in the sorted set's order (score, then member) and stop
// when yield returns false. With limit > 0 (COUNT n ANY) the scan stops as
// soon as limit members were kept.
func Search(sh *Shape, limit int, scan func(Range) iter.Seq2[string, float64]) []Point {
	var out []Point
	for _, r := range sh.Ranges() {
		if len(out) > 0 && limit > 0 && len(out) >= limit {
			break
		}
		for member, score := range scan(r) {
			if p, ok := sh.Match(score); ok {
				p.Member = member
				out = append(out, p)
			}
			if len(out) > 0 && limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out
}

// Ranges are the score ranges of the centre cell and its eight neighbours
// that may hold members inside the shape, in Redis's order (centre, north,
// south, east, west, north-east, north-west, south-east, south-west),
// without the neighbours Redis excludes and without a cell equal to the one
// scanned just before it (huge radii make neighbours coincide).
func (sh *Shape) Ranges() []Range {
	cells := sh.cells()
	var out []Range
	last := 0
	for i, c := range cells {
		if c.isZero() {
			continue
		}
		// As in Redis, the comparison is only made once a cell other than
		// the centre was scanned.
		if last != 0 && c == cells[last] {
			continue
		}
		min, next := c, c
		next.bits++
		out = append(out, Range{float64(align52(min)), float64(align52(next))})
		last = i
	}
	return out
}

func align52(h hashBits) uint64 { return h.bits << (52 - h.step*2) }

// cells is the centre cell and its neighbours, excluded ones zeroed.
func (sh *Shape) cells() [9]hashBits {
	minLon, minLat, maxLon, maxLat := sh.boundingBox()
	radius := sh.Radius
	if sh.ByBox {
		radius = math.Sqrt(float64((sh.Width/2)*(sh.Width/2)) + float64((sh.Height/2)*(sh.Height/2)))
	}
	radius *= sh.Unit
	steps := estimateSteps(radius, sh.Lat)
	r := wgs84()
	hash, _ := encode(r, sh.Lon, sh.Lat, steps)
	nb := hash.neighbours()
	// Decrease the step when a neighbour does not reach the bounding box.
	n, s, e, w := decode(r, nb[0]), decode(r, nb[1]), decode(r, nb[2]), decode(r, nb[3])
	if steps > 1 && (n.latMax < maxLat || s.latMin > minLat || e.lonMax < maxLon || w.lonMin > minLon) {
		steps--
		hash, _ = encode(r, sh.Lon, sh.Lat, steps)
		nb = hash.neighbours()
	}
	a := decode(r, hash)
	const north, south, east, west, ne, nw, se, sw = 0, 1, 2, 3, 4, 5, 6, 7
	if steps >= 2 {
		if a.latMin < minLat {
			nb[south], nb[sw], nb[se] = hashBits{}, hashBits{}, hashBits{}
		}
		if a.latMax > maxLat {
			nb[north], nb[ne], nb[nw] = hashBits{}, hashBits{}, hashBits{}
		}
		if a.lonMin < minLon {
			nb[west], nb[sw], nb[nw] = hashBits{}, hashBits{}, hashBits{}
		}
		if a.lonMax > maxLon {
			nb[east], nb[se], nb[ne] = hashBits{}, hashBits{}, hashBits{}
		}
	}
	return [9]hashBits{hash, nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7]}
}

// boundingBox is geohashBoundingBox: the longitudes are the widest ones,
// at the edge nearer the pole.
func (sh *Shape) boundingBox() (minLon, minLat, maxLon, maxLat float64) {
	height, width := sh.Unit*sh.Radius, sh.Unit*sh.Radius
	if sh.ByBox {
		height, width = sh.Unit*(sh.Height/2), sh.Unit*(sh.Width/2)
	}
	latDelta := radDeg(height / EarthRadius)
	top := radDeg(width / EarthRadius / libmCos(degRad(sh.Lat+latDelta)))
	bottom := radDeg(width / EarthRadius / libmCos(degRad(sh.Lat-latDelta)))
	lonDelta := top
	if sh.Lat < 0 {
		lonDelta = bottom
	}
	return sh.Lon - lonDelta, sh.Lat - latDelta, sh.Lon + lonDelta, sh.Lat + latDelta
}

// estimateSteps is geohashEstimateStepsByRadius: the bits per coordinate of
// cells about as large as the radius, fewer towards the poles.
func estimateSteps(rangeMeters, lat float64) uint {
	if rangeMeters == 0 {
		return 26
	}
	const mercatorMax = 20037726.37
	step := 1
	for rangeMeters > 0 && rangeMeters < mercatorMax { // > 0: never loops forever
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint(min(max(step, 1), 26))
}

// Match is geoAppendIfWithinShape: the member stored with score is inside
// the shape (as Redis judges it), at the returned decoded position and
// distance from the centre in metres.
func (sh *Shape) Match(score float64) (Point, bool) {
	lon, lat := Decode(score)
	p := Point{Score: score, Lon: lon, Lat: lat}
	if !sh.ByBox {
		p.Dist = Distance(sh.Lon, sh.Lat, lon, lat)
		return p, !(p.Dist > sh.Radius*sh.Unit) // a NaN distance is inside, as in C
	}
	width, height := sh.Width*sh.Unit, sh.Height*sh.Unit
	if latDistance(lat, sh.Lat) > height/2 || Distance(lon, lat, sh.Lon, lat) > width/2 {
		return p, false
	}
	p.Dist = Distance(sh.Lon, sh.Lat, lon, lat)
	return p, true
}
