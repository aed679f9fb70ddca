package fsm

import "github.com/understudy/understudy/fsm/internal/geo"

// GEOSEARCH, GEOSEARCHSTORE, GEORADIUS and GEORADIUSBYMEMBER (and their _RO
// forms) are one command in Redis 7.0 (georadiusGeneric), whose order of
// checks decides which error a client sees; this file follows it step by
// step. Package geo finds and orders the points.

// geoFlags says which form of the command runs.
type geoFlags int

const (
	geoCoords      geoFlags = 1 << iota // GEORADIUS key lon lat radius unit
	geoMember                           // GEORADIUSBYMEMBER key member radius unit
	geoNoStore                          // the _RO forms: no STORE, no STOREDIST
	geoSearch                           // GEOSEARCH key FROM... BY...
	geoSearchStore                      // GEOSEARCHSTORE dest key FROM... BY...
)

const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

func cmdGeoRadius(c *ctx, argv [][]byte) Value   { return geoGeneric(c, argv, 1, geoCoords) }
func cmdGeoRadiusRO(c *ctx, argv [][]byte) Value { return geoGeneric(c, argv, 1, geoCoords|geoNoStore) }
func cmdGeoRadiusByMember(c *ctx, argv [][]byte) Value {
	return geoGeneric(c, argv, 1, geoMember)
}
func cmdGeoRadiusByMemberRO(c *ctx, argv [][]byte) Value {
	return geoGeneric(c, argv, 1, geoMember|geoNoStore)
}
func cmdGeoSearch(c *ctx, argv [][]byte) Value { return geoGeneric(c, argv, 1, geoSearch) }
func cmdGeoSearchStore(c *ctx, argv [][]byte) Value {
	return geoGeneric(c, argv, 2, geoSearch|geoSearchStore)
}

// geoQuery is a parsed search.
type geoQuery struct {
	shape                         geo.Shape
	store                         []byte // destination key, nil without STORE
	storeDist                     bool
	withDist, withHash, withCoord bool
	fromMember, fromLoc           bool
	byRadius, byBox, any          bool
	sort                          int
	count                         int64 // 0: no limit
}

var errMemberDecode = errReply(geo.ErrMemberDecode)

// memberCenter sets the shape's centre to member's position.
func (q *geoQuery) memberCenter(z *zsetObj, member []byte) Value {
	score, ok := z.score(string(member))
	if !ok {
		return errMemberDecode
	}
	q.shape.Lon, q.shape.Lat = geo.Decode(score)
	return Value{}
}

// radius is extractDistanceOrReply: radius, then unit.
func (q *geoQuery) radius(args [][]byte) Value {
	r, ok := parseScore(args[0])
	if !ok {
		return errReply(geo.ErrNeedRadius)
	}
	if r < 0 {
		return errReply(geo.ErrRadiusNeg)
	}
	unit, err := geo.ParseUnit(args[1])
	if err != nil {
		return errReply(err)
	}
	q.shape.Radius, q.shape.Unit, q.shape.ByBox = r, unit, false
	return Value{}
}

// box is extractBoxOrReply: width, height, then unit.
func (q *geoQuery) box(args [][]byte) Value {
	w, ok := parseScore(args[0])
	if !ok {
		return errReply(geo.ErrNeedWidth)
	}
	h, ok := parseScore(args[1])
	if !ok {
		return errReply(geo.ErrNeedHeight)
	}
	if h < 0 || w < 0 {
		return errReply(geo.ErrBoxNeg)
	}
	unit, err := geo.ParseUnit(args[2])
	if err != nil {
		return errReply(err)
	}
	q.shape.Width, q.shape.Height, q.shape.Unit, q.shape.ByBox = w, h, unit, true
	return Value{}
}

// geoGeneric is georadiusGeneric; src is the source key's position.
func geoGeneric(c *ctx, argv [][]byte, src int, flags geoFlags) Value {
	_, z, exists, errv := c.getZset(argv[src])
	if errv.IsError() {
		return errv
	}
	var q geoQuery
	var base int
	switch {
	case flags&geoCoords != 0:
		base = 6
		lon, lat, errv := parseLonLat(argv[2], argv[3])
		if errv.IsError() {
			return errv
		}
		q.shape.Lon, q.shape.Lat = lon, lat
		if errv := q.radius(argv[4:6]); errv.IsError() {
			return errv
		}
	case flags&geoMember != 0:
		// A missing key is not an error yet: the options decide the reply.
		base = 5
		if exists {
			if errv := q.memberCenter(z, argv[2]); errv.IsError() {
				return errv
			}
			if errv := q.radius(argv[3:5]); errv.IsError() {
				return errv
			}
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base, q.store = 3, argv[1]
		}
	}
	if errv := q.parseOptions(argv, base, flags, z, exists); errv.IsError() {
		return errv
	}
	if errv := q.check(argv, flags); errv.IsError() {
		return errv
	}
	if !exists {
		if q.store != nil {
			c.delStored(q.store)
			return Zero
		}
		return Array([]Value{})
	}
	if q.count != 0 && q.sort == geoSortNone && !q.any {
		q.sort = geoSortAsc // the nearest COUNT, unless ANY
	}
	limit := 0
	if q.any {
		limit = int(q.count)
	}
	points := geo.Search(&q.shape, limit, zsetScan(z))
	n := len(points)
	if q.count != 0 && int64(n) > q.count {
		n = int(q.count)
	}
	if q.sort != geoSortNone {
		geo.Sort(points, q.sort == geoSortDesc, n)
	}
	points = points[:n]
	if q.store != nil {
		return q.storeResult(c, points, flags)
	}
	return q.reply(points)
}

// parseOptions reads the options after the fixed arguments, in Redis's
// order of checks.
func (q *geoQuery) parseOptions(argv [][]byte, base int, flags geoFlags, z *zsetObj, exists bool) Value {
	search := flags&geoSearch != 0
	canStore := flags&(geoNoStore|geoSearch) == 0
	for i := base; i < len(argv); i++ {
		a := argv[i]
		switch {
		case eqFold(a, "withdist"):
			q.withDist = true
		case eqFold(a, "withhash"):
			q.withHash = true
		case eqFold(a, "withcoord"):
			q.withCoord = true
		case eqFold(a, "any"):
			q.any = true
		case eqFold(a, "asc"):
			q.sort = geoSortAsc
		case eqFold(a, "desc"):
			q.sort = geoSortDesc
		case eqFold(a, "count") && i+1 < len(argv):
			n, ok := parseInt(argv[i+1])
			if !ok {
				return errNotInt
			}
			if n <= 0 {
				return errReply(geo.ErrCount)
			}
			q.count = n
			i++
		case (eqFold(a, "store") || eqFold(a, "storedist")) && i+1 < len(argv) && canStore:
			q.store, q.storeDist = argv[i+1], eqFold(a, "storedist")
			i++
		case eqFold(a, "storedist") && flags&geoSearchStore != 0:
			q.storeDist = true
		case eqFold(a, "frommember") && i+1 < len(argv) && search && !q.fromLoc:
			// Without the key the member cannot be looked up; parsing
			// goes on for the reply the options call for.
			if exists {
				if errv := q.memberCenter(z, argv[i+1]); errv.IsError() {
					return errv
				}
			}
			q.fromMember = true
			i++
		case eqFold(a, "fromlonlat") && i+2 < len(argv) && search && !q.fromMember:
			lon, lat, errv := parseLonLat(argv[i+1], argv[i+2])
			if errv.IsError() {
				return errv
			}
			q.shape.Lon, q.shape.Lat = lon, lat
			q.fromLoc = true
			i += 2
		case eqFold(a, "byradius") && i+2 < len(argv) && search && !q.byBox:
			if errv := q.radius(argv[i+1 : i+3]); errv.IsError() {
				return errv
			}
			q.byRadius = true
			i += 2
		case eqFold(a, "bybox") && i+3 < len(argv) && search && !q.byRadius:
			if errv := q.box(argv[i+1 : i+4]); errv.IsError() {
				return errv
			}
			q.byBox = true
			i += 3
		default:
			return errSyntax
		}
	}
	return Value{}
}

// check is what Redis verifies once every option is read.
func (q *geoQuery) check(argv [][]byte, flags geoFlags) Value {
	if q.store != nil && (q.withDist || q.withHash || q.withCoord) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		return Err("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
	}
	if flags&geoSearch != 0 && !q.fromMember && !q.fromLoc {
		return Err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + errText(argv[0]))
	}
	if flags&geoSearch != 0 && !q.byRadius && !q.byBox {
		return Err("ERR exactly one of BYRADIUS and BYBOX can be specified for " + errText(argv[0]))
	}
	if q.any && q.count == 0 {
		return errReply(geo.ErrAnyNeedsCount)
	}
	return Value{}
}

// reply is the search's answer: members, or arrays of a member and what
// WITHDIST, WITHHASH and WITHCOORD ask for, in that order.
func (q *geoQuery) reply(points []geo.Point) Value {
	out := make([]Value, len(points))
	extra := 0
	for _, w := range []bool{q.withDist, q.withHash, q.withCoord} {
		if w {
			extra++
		}
	}
	for i, p := range points {
		m := BulkString(p.Member)
		if extra == 0 {
			out[i] = m
			continue
		}
		e := make([]Value, 1, extra+1)
		e[0] = m
		if q.withDist {
			e = append(e, BulkString(geo.FormatDistance(p.Dist/q.shape.Unit)))
		}
		if q.withHash {
			e = append(e, Int(int64(p.Score)))
		}
		if q.withCoord {
			e = append(e, Array([]Value{coord(p.Lon), coord(p.Lat)}))
		}
		out[i] = Array(e)
	}
	return Array(out)
}

// storeResult is STORE, STOREDIST and GEOSEARCHSTORE: a new sorted set of
// the points (scored by geohash or by distance in the unit) replaces the
// destination, or an empty result deletes it.
func (q *geoQuery) storeResult(c *ctx, points []geo.Point, flags geoFlags) Value {
	if len(points) == 0 {
		c.delStored(q.store)
		return Zero
	}
	z := newZset(c.enc(), c.ks.gen, 0, 0) // a listpack until a member or the count needs a skiplist
	for _, p := range points {
		score := p.Score
		if q.storeDist {
			score = p.Dist / q.shape.Unit
		}
		z.set(p.Member, score)
	}
	event := "georadiusstore"
	if flags&geoSearch != 0 {
		event = "geosearchstore"
	}
	c.store(q.store, z, NotifyZset, event)
	return Int(int64(len(points)))
}

// delStored deletes a destination for an empty result (dbDelete, without
// a lookup first), with the "del" event if a key was there.
func (c *ctx) delStored(key []byte) {
	if _, existed := c.ks.del(string(key)); existed {
		c.notify(NotifyGeneric, "del", string(key))
	}
}
