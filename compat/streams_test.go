package compat

import (
	"regexp"
	"strconv"
	"time"
)

// Normalisers for stream replies. An ID made by "*" carries the server's
// clock (Understudy's: the log entry's time), and idle and delivery times
// depend on when each server ran the step; the rest of the reply must be
// equal.

var streamIDRe = regexp.MustCompile(`^([0-9]+)-([0-9]+)$`)

// clockIDs replaces every stream ID whose time is within a day of now with
// <idN>, N counting distinct IDs in order of appearance, so equality and
// order within the reply still compare.
func clockIDs(v val) val {
	seen := map[string]string{}
	now := time.Now().UnixMilli()
	var walk func(v val) val
	walk = func(v val) val {
		if v.aggregate() {
			out := v
			out.elems = make([]val, len(v.elems))
			for i, e := range v.elems {
				out.elems[i] = walk(e)
			}
			return out
		}
		if v.k != kStr && v.k != kStatus {
			return v
		}
		m := streamIDRe.FindStringSubmatch(v.s)
		if m == nil {
			return v
		}
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || ms < now-86_400_000 || ms > now+86_400_000 {
			return v
		}
		name, ok := seen[v.s]
		if !ok {
			name = "<id" + strconv.Itoa(len(seen)+1) + ">"
			seen[v.s] = name
		}
		return val{k: v.k, s: name}
	}
	return walk(v)
}

// streamTimes masks the integers that are times: the value after "idle" or
// "seen-time" (XINFO CONSUMERS, XINFO STREAM FULL), the third element of a
// pending entry [id, consumer, time, deliveries] (XPENDING, XINFO STREAM
// FULL) and the second of a consumer's [id, time, deliveries].
func streamTimes(v val) val {
	if !v.aggregate() {
		return v
	}
	out := v
	out.elems = make([]val, len(v.elems))
	for i, e := range v.elems {
		out.elems[i] = streamTimes(e)
	}
	ms := val{k: kStatus, s: "<ms>"}
	for i := 0; i+1 < len(out.elems); i++ {
		if k := out.elems[i]; (k.k == kStr || k.k == kStatus) && (k.s == "idle" || k.s == "seen-time") && out.elems[i+1].k == kInt {
			out.elems[i+1] = ms
		}
	}
	if n := len(out.elems); v.k == kArr && (n == 3 || n == 4) && out.elems[0].k == kStr && streamIDRe.MatchString(out.elems[0].s) &&
		out.elems[n-1].k == kInt && out.elems[n-2].k == kInt {
		out.elems[n-2] = ms
	}
	return out
}
