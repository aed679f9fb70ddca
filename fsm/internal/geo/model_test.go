package geo_test

import (
	"cmp"
	"iter"
	"slices"
	"strconv"

	"github.com/understudy/understudy/fsm/internal/geo"
)

// zset is a sorted set as the tests need it: members in (score, member)
// order.
type zset struct {
	score map[string]float64
	order []string
}

func newZset() *zset { return &zset{score: map[string]float64{}} }

func (z *zset) add(member string, score float64) {
	if _, ok := z.score[member]; !ok {
		z.order = append(z.order, member)
	}
	z.score[member] = score
	slices.SortFunc(z.order, func(a, b string) int {
		if c := cmp.Compare(z.score[a], z.score[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}

// scan yields the members with r.Min <= score < r.Max in order.
func (z *zset) scan(r geo.Range) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		for _, m := range z.order {
			s := z.score[m]
			if s >= r.Min && s < r.Max && !yield(m, s) {
				return
			}
		}
	}
}

// query is one GEOSEARCH, held as values so it can be sent to Redis and
// run on the model alike.
type query struct {
	fromMember      string // FROMMEMBER, else FROMLONLAT lon lat
	lon, lat        float64
	byBox           bool
	radius, w, h    float64
	unit            string
	desc, asc       bool
	count           int
	any             bool
	withDist        bool
	withCoord       bool
	withHash        bool
	storeDist, stor bool // GEOSEARCHSTORE [STOREDIST]
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (q query) args(key string) []string {
	a := []string{"geosearch", key}
	if q.stor {
		a = []string{"geosearchstore", "dst", key}
	}
	if q.fromMember != "" {
		a = append(a, "frommember", q.fromMember)
	} else {
		a = append(a, "fromlonlat", ftoa(q.lon), ftoa(q.lat))
	}
	if q.byBox {
		a = append(a, "bybox", ftoa(q.w), ftoa(q.h), q.unit)
	} else {
		a = append(a, "byradius", ftoa(q.radius), q.unit)
	}
	if q.asc {
		a = append(a, "asc")
	}
	if q.desc {
		a = append(a, "desc")
	}
	if q.count > 0 {
		a = append(a, "count", strconv.Itoa(q.count))
		if q.any {
			a = append(a, "any")
		}
	}
	for _, w := range []struct {
		on   bool
		name string
	}{{q.withDist, "withdist"}, {q.withCoord, "withcoord"}, {q.withHash, "withhash"}, {q.storeDist, "storedist"}} {
		if w.on {
			a = append(a, w.name)
		}
	}
	return a
}

// run answers the query the way geo.c's georadiusGeneric does, in the
// test's rendering of a reply (see render).
func (q query) run(z *zset) (reply string, stored []geo.Point) {
	unit, err := geo.ParseUnit([]byte(q.unit))
	if err != nil {
		return "-" + err.Error(), nil
	}
	sh := geo.Shape{Lon: q.lon, Lat: q.lat, ByBox: q.byBox, Radius: q.radius, Width: q.w, Height: q.h, Unit: unit}
	if q.fromMember != "" {
		s, ok := z.score[q.fromMember]
		if !ok {
			return "-" + string(geo.ErrMemberDecode), nil
		}
		sh.Lon, sh.Lat = geo.Decode(s)
	}
	limit := 0
	if q.any {
		limit = q.count
	}
	points := geo.Search(&sh, limit, z.scan)
	sorted := q.asc || q.desc || (q.count > 0 && !q.any)
	if sorted {
		geo.Sort(points, q.desc, q.count)
	}
	if q.count > 0 && len(points) > q.count {
		points = points[:q.count]
	}
	for i := range points {
		points[i].Dist /= unit
	}
	if q.stor {
		return ":" + strconv.Itoa(len(points)), points
	}
	var items []any
	for _, p := range points {
		if !q.withDist && !q.withCoord && !q.withHash {
			items = append(items, p.Member)
			continue
		}
		it := []any{p.Member}
		if q.withDist {
			it = append(it, geo.FormatDistance(p.Dist))
		}
		if q.withHash {
			it = append(it, int64(p.Score))
		}
		if q.withCoord {
			it = append(it, []any{geo.FormatCoord(p.Lon), geo.FormatCoord(p.Lat)})
		}
		items = append(items, it)
	}
	return render(items), nil
}
