package geo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/fsm/internal/geo"
	"github.com/understudy/understudy/fsm/internal/redistest"
)

// render writes a reply (from go-redis or the model) as text to compare.
func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case int64:
		return ":" + strconv.FormatInt(v, 10)
	case string:
		return strconv.Quote(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("?%T", v)
}

func do(ctx context.Context, t *testing.T, rc *redis.Client, args ...string) string {
	t.Helper()
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	v, err := rc.Do(ctx, a...).Result()
	if errors.Is(err, redis.Nil) {
		return "nil"
	}
	if err != nil {
		return "-" + err.Error()
	}
	return render(v)
}

// coord draws a longitude or latitude: uniform, at or near the limits, or
// with few digits (which lands on cell boundaries more often).
func coord(r *rand.Rand, limit float64) float64 {
	switch r.IntN(8) {
	case 0:
		return []float64{limit, -limit, 0, math.Nextafter(limit, 0), -math.Nextafter(limit, 0), 1e-300}[r.IntN(6)]
	case 1:
		return math.Round((r.Float64()*2-1)*limit*100) / 100
	}
	return (r.Float64()*2 - 1) * limit
}

// TestEncodeAgainstRedis compares GEOADD's scores, GEOPOS's and GEOHASH's
// answers and the out-of-range errors with Redis's, and GEOPOS and GEOHASH
// of scores GEOADD never makes (stored with ZADD).
func TestEncodeAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 5))
	for i := range 3000 {
		lon, lat := coord(rng, 180), coord(rng, geo.LatMax)
		if i%10 == 0 {
			lon, lat = coord(rng, 200), coord(rng, 90)
		}
		m := "m" + strconv.Itoa(i)
		want := do(ctx, t, rc, "geoadd", "g", ftoa(lon), ftoa(lat), m)
		score, err := geo.Score(lon, lat)
		if err != nil {
			if want != "-"+err.Error() {
				t.Fatalf("GEOADD %v %v: redis %s, model %v", lon, lat, want, err)
			}
			continue
		}
		if want != ":1" {
			t.Fatalf("GEOADD %v %v: redis %s, model score %v", lon, lat, want, score)
		}
		checkMember(ctx, t, rc, "g", m, score)
	}
	weird := []float64{0, 1, -1, -0.5, 1 << 52, 1<<52 - 1, 1 << 53, 1 << 63, 1 << 64, 1e30, -1e30,
		math.Inf(1), math.Inf(-1), 4503599627370495.5, -9.3e18}
	for range 200 {
		weird = append(weird, float64(rng.Uint64()>>rng.IntN(64)), rng.NormFloat64()*1e15)
	}
	for i, s := range weird {
		m := "w" + strconv.Itoa(i)
		if got := do(ctx, t, rc, "zadd", "z", strconv.FormatFloat(s, 'g', -1, 64), m); got != ":1" {
			t.Fatalf("ZADD %v: %s", s, got)
		}
		checkMember(ctx, t, rc, "z", m, s)
	}
}

func checkMember(ctx context.Context, t *testing.T, rc *redis.Client, key, m string, score float64) {
	t.Helper()
	zs, err := rc.ZScore(ctx, key, m).Result()
	if err != nil || zs != score {
		t.Fatalf("%s score: redis %v (%v), model %v", m, zs, err, score)
	}
	lon, lat := geo.Decode(score)
	if got, want := render([]any{[]any{geo.FormatCoord(lon), geo.FormatCoord(lat)}}), do(ctx, t, rc, "geopos", key, m); got != want {
		t.Fatalf("GEOPOS of score %v: redis %s, model %s", score, want, got)
	}
	if got, want := render([]any{geo.Hash(score)}), do(ctx, t, rc, "geohash", key, m); got != want {
		t.Fatalf("GEOHASH of score %v: redis %s, model %s", score, want, got)
	}
}

// TestDistanceAgainstRedis compares GEODIST in every unit, and distances
// at full precision through GEOSEARCHSTORE ... STOREDIST.
func TestDistanceAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 6))
	z := newZset()
	args := []string{"geoadd", "g"}
	for i := range 400 {
		lon, lat := coord(rng, 180), coord(rng, geo.LatMax)
		if i%4 == 0 { // neighbours: small distances
			lon, lat = 2.35+rng.Float64()*1e-3, 48.85+rng.Float64()*1e-3
		}
		s, _ := geo.Score(lon, lat)
		z.add("m"+strconv.Itoa(i), s)
		args = append(args, ftoa(lon), ftoa(lat), "m"+strconv.Itoa(i))
	}
	if got := do(ctx, t, rc, args...); got != ":400" {
		t.Fatalf("GEOADD: %s", got)
	}
	units := []string{"m", "km", "ft", "mi", "KM", "Mi", "yd", ""}
	for range 3000 {
		a, b := "m"+strconv.Itoa(rng.IntN(400)), "m"+strconv.Itoa(rng.IntN(400))
		unit := units[rng.IntN(len(units))]
		want := do(ctx, t, rc, "geodist", "g", a, b, unit)
		u, err := geo.ParseUnit([]byte(unit))
		got := "-" + geo.ErrUnit.Error()
		if err == nil {
			la, pa := geo.Decode(z.score[a])
			lb, pb := geo.Decode(z.score[b])
			got = render(geo.FormatDistance(geo.Distance(la, pa, lb, pb) / u))
		}
		if got != want {
			t.Fatalf("GEODIST %s %s %q: redis %s, model %s", a, b, unit, want, got)
		}
	}
	// Full precision: the distances of everything within 20000 km of a
	// member, stored by GEOSEARCHSTORE STOREDIST, in units too. glibc's sin,
	// cos and asin are not always correctly rounded (about 0.1% of
	// arguments), so a stored distance may differ in its last bits: allowed,
	// but not for more than 1% of them.
	total, offByOne := 0, 0
	for i := range 60 {
		q := query{fromMember: "m" + strconv.Itoa(rng.IntN(400)), radius: 20000, unit: "km", stor: true, storeDist: true}
		if i%3 == 0 {
			q.radius, q.unit = 2e7, "m"
		}
		want := do(ctx, t, rc, q.args("g")...)
		got, points := q.run(z)
		if got != want {
			t.Fatalf("%q: redis %s, model %s", q.args("g"), want, got)
		}
		stored, err := rc.ZRangeWithScores(ctx, "dst", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		dist := map[string]float64{}
		for _, p := range points {
			dist[p.Member] = p.Dist
		}
		for _, s := range stored {
			total++
			d, ok := dist[s.Member.(string)]
			// A last-bit difference in sin or cos grows through asin near
			// antipodes, where its slope is steep.
			if ok && d != s.Score && math.Abs(d-s.Score) <= math.Abs(d)*1e-13 {
				offByOne++
				continue
			}
			if !ok || d != s.Score {
				t.Fatalf("%q: %s at %v in redis, %v (%v) in the model", q.args("g"), s.Member, s.Score, d, ok)
			}
		}
	}
	t.Logf("%d of %d stored distances differ in the last bits", offByOne, total)
	if offByOne*100 > total {
		t.Fatalf("%d of %d stored distances differ in the last bits", offByOne, total)
	}
}

// TestSearchAgainstRedis runs random GEOSEARCHes (around members and
// positions, circles and boxes from metres to the whole earth, near the
// antimeridian and the poles, every ordering, COUNT with and without ANY,
// every WITH option) over clustered members, some sharing a position so that
// distances tie, and compares the replies with Redis's, and what
// GEOSEARCHSTORE stores.
func TestSearchAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 7))
	z := newZset()
	var centres [][2]float64
	for range 8 {
		centres = append(centres, [2]float64{coord(rng, 180), coord(rng, 80)})
	}
	centres = append(centres, [2]float64{179.99, 10}, [2]float64{-179.99, -10}, [2]float64{0, 84.9}, [2]float64{10, -84.9})
	args := []string{"geoadd", "g"}
	n := 0
	add := func(lon, lat float64) {
		lon, lat = max(min(lon, 180), -180), max(min(lat, geo.LatMax), -geo.LatMax)
		s, err := geo.Score(lon, lat)
		if err != nil {
			t.Fatal(err)
		}
		m := "m" + strconv.Itoa(n)
		n++
		z.add(m, s)
		args = append(args, ftoa(lon), ftoa(lat), m)
	}
	for range 700 {
		c := centres[rng.IntN(len(centres))]
		spread := math.Pow(10, -4+rng.Float64()*5) // 1e-4 to 10 degrees
		add(c[0]+rng.NormFloat64()*spread, c[1]+rng.NormFloat64()*spread)
	}
	for range 60 { // shared positions
		lon, lat := geo.Decode(z.score["m"+strconv.Itoa(rng.IntN(700))])
		add(lon, lat)
	}
	if got := do(ctx, t, rc, args...); got != ":"+strconv.Itoa(n) {
		t.Fatalf("GEOADD: %s", got)
	}
	units := []string{"m", "km", "ft", "mi"}
	found, nonEmpty := 0, 0
	defer func() { t.Logf("%d queries found something, %d members in all", nonEmpty, found) }()
	for i := range 1500 {
		var q query
		if rng.IntN(2) == 0 {
			q.fromMember = "m" + strconv.Itoa(rng.IntN(n))
		} else {
			c := centres[rng.IntN(len(centres))]
			q.lon = max(min(c[0]+rng.NormFloat64(), 180), -180)
			q.lat = max(min(c[1]+rng.NormFloat64(), geo.LatMax), -geo.LatMax)
		}
		q.unit = units[rng.IntN(len(units))]
		size := func() float64 { return math.Round(math.Pow(10, rng.Float64()*8)) / 1000 } // 1 mm to 100000 km
		if q.byBox = rng.IntN(2) == 0; q.byBox {
			q.w, q.h = size(), size()
		} else {
			q.radius = size()
		}
		switch rng.IntN(3) {
		case 0:
			q.asc = true
		case 1:
			q.desc = true
		}
		if rng.IntN(2) == 0 {
			q.count = 1 + rng.IntN(40)
			q.any = rng.IntN(3) == 0
		}
		q.stor = rng.IntN(6) == 0
		if !q.stor {
			q.withDist, q.withCoord, q.withHash = rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0
		} else {
			q.storeDist = rng.IntN(2) == 0
		}
		want := do(ctx, t, rc, q.args("g")...)
		got, stored := q.run(z)
		if n := strings.Count(got, `"m`); n > 0 {
			nonEmpty++
			found += n
		}
		if got != want {
			t.Fatalf("query %d %q:\n  redis: %.2000s\n  model: %.2000s", i, q.args("g"), want, got)
		}
		if q.stor {
			checkStored(ctx, t, rc, q, stored)
		}
	}
}

func checkStored(ctx context.Context, t *testing.T, rc *redis.Client, q query, points []geo.Point) {
	t.Helper()
	got, err := rc.ZRangeWithScores(ctx, "dst", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, p := range points {
		want[p.Member] = p.Score
		if q.storeDist {
			want[p.Member] = p.Dist
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%q stored %d members in redis, %d in the model", q.args("g"), len(got), len(want))
	}
	for _, s := range got {
		w, ok := want[s.Member.(string)]
		if !ok || (w != s.Score && !(q.storeDist && math.Abs(w-s.Score) <= math.Abs(w)*1e-13)) {
			t.Fatalf("%q: %s stored with %v in redis, %v (%v) in the model", q.args("g"), s.Member, s.Score, w, ok)
		}
	}
}
