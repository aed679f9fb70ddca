package geo

// hashBits is a geohash of step bits per coordinate (GeoHashBits). The zero
// value (GZERO) marks a neighbour excluded from a search.
type hashBits struct {
	bits uint64
	step uint
}

func (h hashBits) isZero() bool { return h.bits == 0 && h.step == 0 }

// coordRange is the longitude and latitude ranges a hash divides.
type coordRange struct{ lonMin, lonMax, latMin, latMax float64 }

// wgs84 is the range Redis's scores divide (geohashGetCoordRange).
func wgs84() coordRange { return coordRange{LonMin, LonMax, LatMin, LatMax} }

// area is a hash's cell (GeoHashArea).
type area struct{ lonMin, lonMax, latMin, latMax float64 }

// encode is geohashEncode: false outside the WGS84 limits or the range.
func encode(r coordRange, lon, lat float64, step uint) (hashBits, bool) {
	if lon > 180 || lon < -180 || lat > LatMax || lat < LatMin ||
		lat < r.latMin || lat > r.latMax || lon < r.lonMin || lon > r.lonMax {
		return hashBits{}, false
	}
	latOff := (lat - r.latMin) / (r.latMax - r.latMin)
	lonOff := (lon - r.lonMin) / (r.lonMax - r.lonMin)
	latOff *= float64(uint64(1) << step)
	lonOff *= float64(uint64(1) << step)
	return hashBits{bits: interleave64(uint32(latOff), uint32(lonOff)), step: step}, true
}

// decode is geohashDecode: the cell of a hash. The arithmetic is uint32 like
// Redis's, so garbage bits above the hash wrap the same way.
func decode(r coordRange, h hashBits) area {
	sep := deinterleave64(h.bits)
	latScale := r.latMax - r.latMin
	lonScale := r.lonMax - r.lonMin
	ilat, ilon := uint32(sep), uint32(sep>>32)
	div := float64(uint64(1) << h.step)
	return area{
		latMin: r.latMin + float64(float64(ilat)/div*latScale),
		latMax: r.latMin + float64(float64(ilat+1)/div*latScale),
		lonMin: r.lonMin + float64(float64(ilon)/div*lonScale),
		lonMax: r.lonMin + float64(float64(ilon+1)/div*lonScale),
	}
}

// interleave64 puts x's bits in the even positions and y's in the odd ones.
func interleave64(xlo, ylo uint32) uint64 {
	spread := func(v uint64) uint64 {
		v = (v | v<<16) & 0x0000FFFF0000FFFF
		v = (v | v<<8) & 0x00FF00FF00FF00FF
		v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
		v = (v | v<<2) & 0x3333333333333333
		return (v | v<<1) & 0x5555555555555555
	}
	return spread(uint64(xlo)) | spread(uint64(ylo))<<1
}

// deinterleave64 returns the even bits in the low half, the odd in the high.
func deinterleave64(v uint64) uint64 {
	squash := func(x uint64) uint64 {
		x &= 0x5555555555555555
		x = (x | x>>1) & 0x3333333333333333
		x = (x | x>>2) & 0x0F0F0F0F0F0F0F0F
		x = (x | x>>4) & 0x00FF00FF00FF00FF
		x = (x | x>>8) & 0x0000FFFF0000FFFF
		return (x | x>>16) & 0x00000000FFFFFFFF
	}
	return squash(v) | squash(v>>1)<<32
}

// move is geohash_move_x (lon, the odd bits) or geohash_move_y (lat, the
// even bits) by d cells, wrapping around at the edges.
func (h hashBits) move(lon bool, d int) hashBits {
	if d == 0 {
		return h
	}
	const odd, even = 0xaaaaaaaaaaaaaaaa, 0x5555555555555555
	x, y := h.bits&odd, h.bits&even
	mine, other, zzSrc := y, x, uint64(odd)
	if lon {
		mine, other, zzSrc = x, y, even
	}
	zz := zzSrc >> (64 - h.step*2)
	if d > 0 {
		mine += zz + 1
	} else {
		mine = (mine | zz) - (zz + 1)
	}
	mine &= (^zzSrc) >> (64 - h.step*2)
	h.bits = mine | other
	return h
}

// neighbours are a hash's eight neighbours in Redis's order: north, south,
// east, west, north-east, north-west, south-east, south-west.
func (h hashBits) neighbours() [8]hashBits {
	return [8]hashBits{
		h.move(false, 1), h.move(false, -1), h.move(true, 1), h.move(true, -1),
		h.move(true, 1).move(false, 1), h.move(true, -1).move(false, 1),
		h.move(true, 1).move(false, -1), h.move(true, -1).move(false, -1),
	}
}
