package fsm_test

import (
	"testing"

	"github.com/understudy/understudy/fsm"
)

// TestPairsReplies: the WITHSCORES/WITHVALUES replies are KindPairs (flat
// in RESP2, [member, score] arrays in RESP3, as Redis 7 sends them), and
// the replies Redis keeps flat in RESP3 too are plain arrays.
func TestPairsReplies(t *testing.T) {
	setup := lines("ZADD z 1 a 2 b 3 c", "HSET h f1 v1 f2 v2")
	cases := []struct {
		cmd  string
		want fsm.Kind
	}{
		{"ZRANGE z 0 -1 WITHSCORES", fsm.KindPairs},
		{"ZRANGE z 0 -1 REV WITHSCORES", fsm.KindPairs},
		{"ZRANGE z -inf +inf BYSCORE WITHSCORES", fsm.KindPairs},
		{"ZRANGE z 0 -1", fsm.KindArray},
		{"ZRANGEBYSCORE z -inf +inf WITHSCORES", fsm.KindPairs},
		{"ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 1", fsm.KindPairs},
		{"ZREVRANGE z 0 -1 WITHSCORES", fsm.KindPairs},
		{"ZREVRANGE z 0 -1", fsm.KindArray},
		{"ZRANGE z 5 9 WITHSCORES", fsm.KindPairs}, // empty: *0 either way
		{"ZRANDMEMBER z 2 WITHSCORES", fsm.KindPairs},
		{"ZRANDMEMBER z -5 WITHSCORES", fsm.KindPairs},
		{"ZRANDMEMBER z 2", fsm.KindArray},
		{"HRANDFIELD h 2 WITHVALUES", fsm.KindPairs},
		{"HRANDFIELD h -3 WITHVALUES", fsm.KindPairs},
		{"HRANDFIELD h 2", fsm.KindArray},
		{"ZSCAN z 0", fsm.KindArray}, // cursor and a flat list, in RESP3 too
		{"ZPOPMIN z 1", fsm.KindPairs},
		{"ZPOPMAX z 2", fsm.KindPairs},
		{"ZPOPMIN z", fsm.KindArray}, // without a count: [member, score] flat in RESP3 too
		{"ZPOPMAX z", fsm.KindArray},
		{"ZPOPMIN missing 2", fsm.KindArray}, // empty
	}
	for _, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			h := newHarness()
			for _, s := range setup {
				h.run(t, s)
			}
			v := h.doArgv(t, bargs(splitArgs(t, c.cmd)))
			if v.Kind != c.want {
				t.Fatalf("%s: kind %d (%s), want %d", c.cmd, v.Kind, fmtValue(v), c.want)
			}
			if v.Kind == fsm.KindPairs && len(v.Arr)%2 != 0 {
				t.Fatalf("%s: odd pairs reply %s", c.cmd, fmtValue(v))
			}
		})
	}
}
