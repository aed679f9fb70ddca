// Package geo mirrors Redis 7.0.15's geo.c, geohash.c and geohash_helper.c:
// the 52-bit geohash a GEOADD stores as a sorted-set score, its decoding to
// the cell centre GEOPOS shows, the 11-character GEOHASH string, haversine
// distances on Redis's sphere, units, the boxes GEOSEARCH scans and its
// in-shape filter, the result order, and reply formatting.
//
// Sorted sets are the caller's: Search is given a function that scans a
// score range, so the package needs no keyspace.
//
// Floating point follows Redis's C operation by operation: products that Go
// could fuse into multiply-adds are rounded explicitly, and sin, cos and asin
// are computed to correct rounding (libm.go) as glibc's nearly always are,
// since a distance can be stored at full precision (STOREDIST).
package geo

import (
	"math"
	"strconv"
	"strings"
)

// Error is an error reply, its text exactly as Redis 7.0 sends it after
// the '-'.
type Error string

func (e Error) Error() string { return string(e) }

// Error replies of the geo commands. The argument ones are for the caller's
// parser of GEOSEARCH and friends, in the order Redis checks.
const (
	ErrUnit          Error = "ERR unsupported unit provided. please use M, KM, FT, MI"
	ErrNeedRadius    Error = "ERR need numeric radius"
	ErrRadiusNeg     Error = "ERR radius cannot be negative"
	ErrNeedWidth     Error = "ERR need numeric width"
	ErrNeedHeight    Error = "ERR need numeric height"
	ErrBoxNeg        Error = "ERR height or width cannot be negative"
	ErrCount         Error = "ERR COUNT must be > 0"
	ErrAnyNeedsCount Error = "ERR the ANY argument requires COUNT argument"
	ErrMemberDecode  Error = "ERR could not decode requested zset member"
)

// The coordinate limits (EPSG:900913) and Redis's earth radius in metres.
const (
	LonMin      = -180.0
	LonMax      = 180.0
	LatMin      = -85.05112878
	LatMax      = 85.05112878
	EarthRadius = 6372797.560856
	stepMax     = 26 // bits per coordinate
)

// CheckLonLat is GEOADD's and FROMLONLAT's range check, with Redis's
// "invalid longitude,latitude pair" error (coordinates printed with %f).
func CheckLonLat(lon, lat float64) error {
	if lon < LonMin || lon > LonMax || lat < LatMin || lat > LatMax {
		return Error("ERR invalid longitude,latitude pair " + cFixed(lon, 6) + "," + cFixed(lat, 6))
	}
	return nil
}

// Score is the sorted-set score GEOADD stores for a position: the 52-bit
// interleaved geohash, latitude bits in the even positions.
func Score(lon, lat float64) (float64, error) {
	if err := CheckLonLat(lon, lat); err != nil {
		return 0, err
	}
	h, _ := encode(wgs84(), lon, lat, stepMax)
	return float64(h.bits), nil
}

// Decode is the position GEOPOS shows for a score: the centre of the
// score's cell, clamped to the limits. Any score decodes, including ones a
// ZADD stored, with the score converted to an integer as C does on x86-64.
func Decode(score float64) (lon, lat float64) {
	a := decode(wgs84(), hashBits{bits: cUint64(score), step: stepMax})
	lon = min(max((a.lonMin+a.lonMax)/2, LonMin), LonMax)
	lat = min(max((a.latMin+a.latMax)/2, LatMin), LatMax)
	return lon, lat
}

// Hash is GEOHASH's 11-character string for a score: the decoded position
// encoded again over the standard ranges (latitude ±90), its 52 bits in
// base32, and a final '0'.
func Hash(score float64) string {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	lon, lat := Decode(score)
	h, _ := encode(coordRange{-180, 180, -90, 90}, lon, lat, stepMax)
	var b [11]byte
	for i := range 10 {
		b[i] = alphabet[h.bits>>(52-(i+1)*5)&0x1f]
	}
	b[10] = '0'
	return string(b[:])
}

// Distance is geohashGetDistance: the haversine distance in metres between
// two positions (longitude first). When the longitudes are practically
// equal (the sine of half their difference within 1e-15) Redis 7.0.15 takes
// the distance along the meridian instead.
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r, lon2r := degRad(lon1), degRad(lon2)
	v := libmSin((lon2r - lon1r) / 2)
	if math.Abs(v) <= 1e-15 {
		return latDistance(lat1, lat2)
	}
	lat1r, lat2r := degRad(lat1), degRad(lat2)
	u := libmSin((lat2r - lat1r) / 2)
	a := float64(u*u) + float64(float64(float64(libmCos(lat1r)*libmCos(lat2r))*v)*v)
	return 2.0 * EarthRadius * libmAsin(math.Sqrt(a))
}

// latDistance is geohashGetLatDistance: the distance along a meridian.
func latDistance(lat1, lat2 float64) float64 {
	return EarthRadius * math.Abs(degRad(lat2)-degRad(lat1))
}

// dR is M_PI/180.0 as C computes it (double π divided by 180, rounded).
const dR = float64(math.Pi) / 180

func degRad(ang float64) float64 { return ang * dR }
func radDeg(ang float64) float64 { return ang / dR }

// ParseUnit is extractUnitOrReply: metres per unit of m, km, ft or mi, in
// any case (compared as a C string, so up to a NUL byte).
func ParseUnit(arg []byte) (float64, error) {
	u := string(arg)
	if i := strings.IndexByte(u, 0); i >= 0 {
		u = u[:i]
	}
	switch strings.ToLower(u) {
	case "m":
		return 1, nil
	case "km":
		return 1000, nil
	case "ft":
		return 0.3048, nil
	case "mi":
		return 1609.34, nil
	}
	return 0, ErrUnit
}

// FormatDistance is addReplyDoubleDistance's text: four decimals (GEODIST,
// WITHDIST), sent as a bulk string in RESP2 and RESP3 alike.
func FormatDistance(d float64) string { return cFixed(d, 4) }

// FormatCoord is addReplyHumanLongDouble's text for a coordinate (GEOPOS,
// WITHCOORD): seventeen decimals without trailing zeros. Redis sends it as
// a bulk string in RESP2 and as a double in RESP3.
func FormatCoord(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return cFixed(v, 0)
	}
	s := strconv.FormatFloat(v, 'f', 17, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// cFixed is printf's %.Nf, including glibc's inf and nan.
func cFixed(v float64, prec int) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		if math.Signbit(v) {
			return "-nan"
		}
		return "nan"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// cUint64 is C's (uint64_t) conversion of a double as gcc compiles it for
// x86-64, out-of-range and negative values included (decodeGeohash applies
// it to any score).
func cUint64(d float64) uint64 {
	const two63 = 1 << 63
	cvt := func(d float64) uint64 { // cvttsd2si: 1<<63 when it does not fit
		if d >= -two63 && d < two63 {
			return uint64(int64(d))
		}
		return 1 << 63
	}
	if !(d >= two63) { // NaN takes this branch too (unordered compare)
		return cvt(d)
	}
	return cvt(d-two63) ^ 1<<63
}
