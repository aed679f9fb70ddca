package compat

// The only differences the differential suite accepts. Each entry names the
// commands it covers and accepts one precise difference; everything else is
// a mismatch. docs/compat.md lists the deviations for users.

import (
	"regexp"
	"strconv"
	"strings"
)

// luaSyntaxRe splits a script compile error into its location, message and
// token.
var luaSyntaxRe = regexp.MustCompile(`^(ERR Error compiling [^:]+: user_\w+:\d+): (.*)( near '.*')$`)

type allowance struct {
	id, why string
	// only70: a Redis 7.0 versus 7.2 difference, accepted only when the
	// scratch server predates 7.2 (Debian's is 7.0.15; Understudy follows 7.2).
	only70 bool
	accept func(args []string, p diffPath, redis, ours val) bool
}

var allowances = []allowance{
	// ---- Redis 7.0 versus 7.2 -------------------------------------------
	{
		id: "7.2-shortest-doubles", only70: true,
		why:    "Redis 7.2 replies with the shortest digits that round-trip; 7.0 printed doubles with %.17g (0.1 → 0.10000000000000001)",
		accept: func(_ []string, _ diffPath, r, o val) bool { return sameExceptDoubles(r, o) },
	},

	{
		id: "7.2-lolwut-version", only70: true,
		why: "LOLWUT prints the server's version: Understudy reports 7.2.0",
		accept: func(args []string, _ diffPath, r, o val) bool {
			return len(args) > 0 && strings.EqualFold(args[0], "LOLWUT") &&
				strings.ReplaceAll(r.String(), "7.0.15", "7.2.0") == o.String()
		},
	},

	// ---- Understudy's deliberate deviations -----------------------------
	{
		id:  "lua-syntax-messages",
		why: "gopher-lua's parser has one syntax error message (\"unexpected symbol\"); Lua 5.1 has several (\"'end' expected\", \"')' expected\"). The chunk, line and token are the same (docs/compat.md)",
		accept: func(_ []string, _ diffPath, r, o val) bool {
			mr, mo := luaSyntaxRe.FindStringSubmatch(r.s), luaSyntaxRe.FindStringSubmatch(o.s)
			return r.k == kErr && o.k == kErr && mr != nil && mo != nil && mr[1] == mo[1] && mr[3] == mo[3] &&
				mo[2] == "unexpected symbol"
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
