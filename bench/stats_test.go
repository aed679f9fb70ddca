package bench

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestRatio_MissingSideIsNaN(t *testing.T) {
	cases := []struct {
		a, b float64
		want float64
	}{
		{10, 5, 2},
		{1, 4, 0.25},
		{0, 5, math.NaN()},
		{5, 0, math.NaN()},
		{-1, 5, math.NaN()},
		{math.NaN(), 5, math.NaN()},
		{math.Inf(1), 5, math.NaN()},
	}
	for _, c := range cases {
		got := Ratio(c.a, c.b)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != c.want) {
			t.Errorf("Ratio(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestMedianAndMax(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	if got := Median(ms(900, 100, 500)); got != 500*time.Millisecond {
		t.Errorf("odd median = %v", got)
	}
	if got := Median(ms(400, 100, 300, 200)); got != 250*time.Millisecond {
		t.Errorf("even median = %v", got)
	}
	if Median(nil) != 0 || MaxDuration(nil) != 0 {
		t.Errorf("empty median/max not zero")
	}
	if got := MaxDuration(ms(3, 9, 1)); got != 9*time.Millisecond {
		t.Errorf("max = %v", got)
	}
	in := ms(3, 1, 2)
	Median(in)
	if in[0] != 3*time.Millisecond {
		t.Errorf("Median reordered its input")
	}
}

func TestUnavailability_LastAckBeforeToFirstAfter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = t0.Add(time.Duration(m) * time.Millisecond)
		}
		return out
	}
	kill := t0.Add(1000 * time.Millisecond)
	end := t0.Add(10 * time.Second)

	// Plain: acks every 10ms until 995, kill at 1000, resume at 1700.
	gap, ok := Unavailability(at(980, 990, 995, 1700, 1710, 1720), kill, end)
	if !ok || gap != 705*time.Millisecond {
		t.Errorf("plain: %v %v, want 705ms", gap, ok)
	}
	// A straggler reply at 1001 must not hide the outage.
	gap, ok = Unavailability(at(1720, 990, 995, 1001, 1700, 1710), kill, end)
	if !ok || gap != 699*time.Millisecond {
		t.Errorf("straggler: %v %v, want 699ms", gap, ok)
	}
	// Nothing after the kill: not recovered.
	if _, ok := Unavailability(at(990, 995), kill, end); ok {
		t.Errorf("no ack after kill reported as recovered")
	}
	// Acks after end are ignored.
	if _, ok := Unavailability(at(990, 11000), kill, end); ok {
		t.Errorf("ack after end counted")
	}
	// No ack before the kill: measured from the kill.
	gap, ok = Unavailability(at(1300, 1310), kill, end)
	if !ok || gap != 300*time.Millisecond {
		t.Errorf("no ack before: %v %v, want 300ms", gap, ok)
	}
}

func TestErrorLog_CountsAndCapsDistinctTexts(t *testing.T) {
	var l ErrorLog
	for i := 0; i < 3; i++ {
		l.Add(errors.New("TRYAGAIN no leader"))
	}
	l.Add(nil)
	for i := 0; i < 20; i++ {
		l.Add(fmt.Errorf("dial tcp 127.0.0.1:%d: connect: connection refused", 1000+i))
	}
	if l.Total() != 23 {
		t.Fatalf("total = %d, want 23", l.Total())
	}
	s := l.Samples()
	if len(s) != maxDistinctErrors+1 {
		t.Fatalf("%d distinct texts, want %d", len(s), maxDistinctErrors+1)
	}
	if s[0].Text != "TRYAGAIN no leader" || s[0].Count != 3 {
		t.Fatalf("first sample = %+v", s[0])
	}
	if last := s[len(s)-1]; last.Text != "(other errors)" || last.Count != 13 {
		t.Fatalf("overflow sample = %+v", last)
	}
}

func TestParseRedisBenchmark(t *testing.T) {
	out := "SET: rps=51234.0 (overall: 49876.5) avg_msec=0.950 (overall: 0.970)\r" +
		"SET: 49751.24 requests per second, p50=0.903 msec                   \n" +
		"GET: rps=0.0 (overall: nan) avg_msec=nan (overall: nan)\r" +
		"Error from server: ERR unknown command 'FOO'\n" +
		"Error from server: ERR unknown command 'FOO'\n" +
		"GET: 61349.69 requests per second, p50=0.407 msec\n\n"
	lines, errs := ParseRedisBenchmark(out)
	if len(lines) != 2 {
		t.Fatalf("lines = %+v", lines)
	}
	if lines[0].Test != "SET" || lines[0].RPS != 49751.24 || lines[0].P50 != 0.903 {
		t.Errorf("SET line = %+v", lines[0])
	}
	if lines[1].Test != "GET" || lines[1].RPS != 61349.69 {
		t.Errorf("GET line = %+v", lines[1])
	}
	if len(errs) != 1 || errs[0] != "Error from server: ERR unknown command 'FOO'" {
		t.Errorf("errs = %q", errs)
	}
	// Redis 6 style without p50.
	lines, _ = ParseRedisBenchmark("PING_INLINE: 1000.00 requests per second\n")
	if len(lines) != 1 || lines[0].Test != "PING_INLINE" || lines[0].P50 != 0 {
		t.Errorf("old style = %+v", lines)
	}
}
