package fsm

import (
	"iter"
	"slices"
	"strconv"

	"github.com/understudy/understudy/fsm/internal/geo"
)

// Geo commands keep positions in sorted sets, scored by Redis's 52-bit
// geohash (package geo), so a geo key is an ordinary zset to every other
// command, as in Redis. GEOSEARCH and friends are in geosearch.go.

// bitsHLLGeoCommands are the bitmap, HyperLogLog and geo families.
func bitsHLLGeoCommands() []decl {
	return slices.Concat(bitmapCommands(), hllCommands(), geoCommands())
}

func geoCommands() []decl {
	return []decl{
		{name: "geoadd", run: cmdGeoAdd, since: Level2},
		{name: "geodist", run: cmdGeoDist, since: Level2},
		{name: "geohash", run: cmdGeoHash, since: Level2},
		{name: "geopos", run: cmdGeoPos, since: Level2},
		{name: "geosearch", run: cmdGeoSearch, since: Level2},
		{name: "geosearchstore", run: cmdGeoSearchStore, since: Level2},
		{name: "georadius", run: cmdGeoRadius, since: Level2},
		{name: "georadius_ro", run: cmdGeoRadiusRO, since: Level2},
		{name: "georadiusbymember", run: cmdGeoRadiusByMember, since: Level2},
		{name: "georadiusbymember_ro", run: cmdGeoRadiusByMemberRO, since: Level2},
	}
}

// parseLonLat is extractLongLatOrReply: two floats (getDoubleFromObject's
// rules, as a ZADD score) within the limits.
func parseLonLat(lonArg, latArg []byte) (lon, lat float64, errv Value) {
	var ok bool
	if lon, ok = parseScore(lonArg); !ok {
		return 0, 0, errNotFloat
	}
	if lat, ok = parseScore(latArg); !ok {
		return 0, 0, errNotFloat
	}
	if err := geo.CheckLonLat(lon, lat); err != nil {
		return 0, 0, errReply(err)
	}
	return lon, lat, Value{}
}

// coord is a coordinate as addReplyHumanLongDouble sends it: a bulk string
// to RESP2 clients, a double to RESP3 ones.
func coord(v float64) Value {
	return Value{Kind: KindDouble, Str: []byte(geo.FormatCoord(v))}
}

// cmdGeoAdd is GEOADD key [NX|XX] [CH] lon lat member ...: Redis turns it
// into ZADD with the geohash scores, so it replies, notifies ("zadd") and
// stamps exactly as ZADD does.
func cmdGeoAdd(c *ctx, argv [][]byte) Value {
	flags, nx, xx := 0, false, false
	i := 2
options:
	for ; i < len(argv); i++ {
		switch {
		case eqFold(argv[i], "nx"):
			nx, flags = true, flags|zNX
		case eqFold(argv[i], "xx"):
			xx, flags = true, flags|zXX
		case eqFold(argv[i], "ch"):
			flags |= zCH
		default:
			break options
		}
	}
	if (len(argv)-i)%3 != 0 || (nx && xx) {
		return errSyntax
	}
	pairs := make([][]byte, 0, (len(argv)-i)/3*2)
	for ; i < len(argv); i += 3 {
		lon, lat, errv := parseLonLat(argv[i], argv[i+1])
		if errv.IsError() {
			return errv
		}
		score, err := geo.Score(lon, lat)
		if err != nil {
			return errReply(err)
		}
		pairs = append(pairs, strconv.AppendInt(nil, int64(score), 10), argv[i+2])
	}
	return zaddGeneric(c, argv[1], pairs, flags)
}

// cmdGeoDist is GEODIST key member1 member2 [unit]; the unit is checked
// before the key is looked up.
func cmdGeoDist(c *ctx, argv [][]byte) Value {
	unit := 1.0
	if len(argv) == 5 {
		var err error
		if unit, err = geo.ParseUnit(argv[4]); err != nil {
			return errReply(err)
		}
	} else if len(argv) > 5 {
		return errSyntax
	}
	_, z, exists, errv := c.getZset(argv[1])
	if !exists {
		return nullOr(errv)
	}
	s1, ok1 := z.score(string(argv[2]))
	s2, ok2 := z.score(string(argv[3]))
	if !ok1 || !ok2 {
		return Null
	}
	lon1, lat1 := geo.Decode(s1)
	lon2, lat2 := geo.Decode(s2)
	return BulkString(geo.FormatDistance(geo.Distance(lon1, lat1, lon2, lat2) / unit))
}

// nullOr is errv if it is an error, else a null reply.
func nullOr(errv Value) Value {
	if errv.IsError() {
		return errv
	}
	return Null
}

// cmdGeoHash is GEOHASH key member ...: nil for a missing member (or key).
func cmdGeoHash(c *ctx, argv [][]byte) Value {
	_, z, exists, errv := c.getZset(argv[1])
	if errv.IsError() {
		return errv
	}
	out := make([]Value, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = Null
		if exists {
			if score, ok := z.score(string(m)); ok {
				out[i] = BulkString(geo.Hash(score))
			}
		}
	}
	return Array(out)
}

// cmdGeoPos is GEOPOS key member ...: a null array for a missing member.
func cmdGeoPos(c *ctx, argv [][]byte) Value {
	_, z, exists, errv := c.getZset(argv[1])
	if errv.IsError() {
		return errv
	}
	out := make([]Value, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = NullArray
		if exists {
			if score, ok := z.score(string(m)); ok {
				lon, lat := geo.Decode(score)
				out[i] = Array([]Value{coord(lon), coord(lat)})
			}
		}
	}
	return Array(out)
}

// zsetScan gives package geo the members of z whose score is in a range,
// in score order.
func zsetScan(z *zsetObj) func(geo.Range) iter.Seq2[string, float64] {
	return func(r geo.Range) iter.Seq2[string, float64] {
		return func(yield func(string, float64) bool) {
			z.byScore.Ascend(zent{score: r.Min}, func(e zent) bool {
				return e.score < r.Max && yield(e.m, e.score)
			})
		}
	}
}
