package compat

// The only differences the differential suite accepts. Each entry names the
// commands it covers and accepts one precise difference; everything else is
// a mismatch. docs/compat.md lists the deviations for users.

import (
	"slices"
	"strconv"
	"strings"
)

type allowance struct {
	id, why string
	// only70: a Redis 7.0 versus 7.2 difference, accepted only when the
	// scratch server predates 7.2 (Debian's is 7.0.15; Understudy follows 7.2).
	only70 bool
	accept func(args []string, p diffPath, redis, ours val) bool
}

func cmdIs(args []string, names ...string) bool {
	return len(args) > 0 && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(args[0], n) })
}

var allowances = []allowance{
	// ---- Redis 7.0 versus 7.2 -------------------------------------------
	{
		id: "7.2-list-listpack", only70: true,
		why: "Redis 7.2 encodes small lists as listpack; 7.0 always reports quicklist",
		accept: func(args []string, _ diffPath, r, o val) bool {
			return cmdIs(args, "object") && r.s == "quicklist" && o.s == "listpack"
		},
	},
	{
		id: "7.2-set-listpack", only70: true,
		why: "Redis 7.2 encodes small non-integer sets as listpack; 7.0 uses hashtable",
		accept: func(args []string, _ diffPath, r, o val) bool {
			return cmdIs(args, "object") && r.s == "hashtable" && o.s == "listpack"
		},
	},
	{
		id: "7.2-shortest-doubles", only70: true,
		why:    "Redis 7.2 replies with the shortest digits that round-trip; 7.0 printed doubles with %.17g (0.1 → 0.10000000000000001)",
		accept: func(_ []string, _ diffPath, r, o val) bool { return sameExceptDoubles(r, o) },
	},
	{
		id: "7.2-zrank-withscore", only70: true,
		why: "ZRANK/ZREVRANK take an optional WITHSCORE since Redis 7.2; 7.0 answers any fourth argument with an arity error",
		accept: func(args []string, _ diffPath, r, _ val) bool {
			return cmdIs(args, "zrank", "zrevrank") && len(args) == 4 && r.k == kErr &&
				strings.HasPrefix(r.s, "ERR wrong number of arguments")
		},
	},

	// ---- Understudy's deliberate deviations -----------------------------
	{
		id:  "one-database",
		why: "Understudy has one database: SELECT of any other index is refused (as in Redis Cluster)",
		accept: func(args []string, _ diffPath, r, o val) bool {
			return cmdIs(args, "select") && (r.String() == "+OK" || r.String() == `"OK"`) &&
				o.k == kErr && o.s == "ERR DB index is out of range"
		},
	},
}

func allowanceWhy(id string) string {
	for _, a := range allowances {
		if a.id == id {
			return a.why
		}
	}
	return ""
}

// allowed returns the id of the allowance that accepts every differing reply
// of a step, or "".
func (d *diffRun) allowed(args []string, p diffPath, redis, ours []val) string {
	if len(redis) != len(ours) {
		return ""
	}
	id := ""
	for i := range redis {
		if redis[i].String() == ours[i].String() {
			continue
		}
		found := ""
		for _, a := range allowances {
			if a.only70 && !redisOlderThan72() {
				continue
			}
			if a.accept(args, p, redis[i], ours[i]) {
				found = a.id
				break
			}
		}
		if found == "" {
			return ""
		}
		id = found
	}
	return id
}

// sameExceptDoubles reports whether r and o differ only in numbers that
// parse to the same float64 (bulk strings in RESP2, doubles in RESP3).
func sameExceptDoubles(r, o val) bool {
	if r.k != o.k || len(r.elems) != len(o.elems) {
		return false
	}
	if r.aggregate() {
		for i := range r.elems {
			if !sameExceptDoubles(r.elems[i], o.elems[i]) {
				return false
			}
		}
		return true
	}
	if r.s == o.s && r.i == o.i {
		return true
	}
	if r.k != kStr && r.k != kDouble {
		return false
	}
	a, err1 := strconv.ParseFloat(r.s, 64)
	b, err2 := strconv.ParseFloat(o.s, 64)
	return err1 == nil && err2 == nil && a == b
}
