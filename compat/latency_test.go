package compat

// LATENCY with the monitor on, and LATENCY HISTOGRAM / INFO latencystats,
// against redis-server: the replies hold times and measurements, so the
// differential script cannot compare them; their shapes and texts are.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slowScript busies the server for some milliseconds (Lua on both; the
// threshold is 5 ms). redis-server's Lua runs it about a hundred times faster
// than gopher-lua under -race, so it gets ten times the loop: over 5 ms on
// an idle machine, yet well inside the client's read timeout here.
func slowScript(target string) string {
	n := 300000
	if target == "redis-server" {
		n = 3000000
	}
	return fmt.Sprintf("local i = 0 while i < %d do i = i + 1 end return 1", n)
}

func TestCompat_LatencyMonitor(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 60*time.Second)
	for name, addr := range map[string]string{"redis-server": redisAddr, "leader": l.ClientAddr(), "follower": cl.Followers(l)[0].ClientAddr()} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, addr, 2)
			if err := c.ConfigSet(ctx, "latency-monitor-threshold", "5").Err(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.ConfigSet(context.Background(), "latency-monitor-threshold", "0") })
			c.Do(ctx, "LATENCY", "RESET")
			if txt, err := c.Do(ctx, "LATENCY", "DOCTOR").Text(); err != nil || !strings.HasPrefix(txt, "Dave, no latency spike was observed") {
				t.Errorf("LATENCY DOCTOR before any spike: %q %v", txt, err)
			}
			if err := c.Eval(ctx, slowScript(name), nil).Err(); err != nil {
				t.Fatalf("EVAL: %v", err)
			}
			latest, err := c.Do(ctx, "LATENCY", "LATEST").Slice()
			if err != nil || len(latest) != 1 {
				t.Fatalf("LATENCY LATEST: %v %v", latest, err)
			}
			ev := latest[0].([]any)
			if len(ev) != 4 || ev[0] != "command" || ev[2].(int64) < 5 || ev[3].(int64) < ev[2].(int64) ||
				ev[1].(int64) < time.Now().Add(-time.Minute).Unix() {
				t.Errorf("LATENCY LATEST: %v", ev)
			}
			hist, err := c.Do(ctx, "LATENCY", "HISTORY", "command").Slice()
			if err != nil || len(hist) != 1 || len(hist[0].([]any)) != 2 {
				t.Errorf("LATENCY HISTORY command: %v %v", hist, err)
			}
			graph, err := c.Do(ctx, "LATENCY", "GRAPH", "command").Text()
			lines := strings.Split(graph, "\n")
			if err != nil || !strings.HasPrefix(graph, "command - high ") || len(lines) < 7 || lines[1] != strings.Repeat("-", 80) ||
				strings.TrimSpace(lines[5]) != "_" {
				t.Errorf("LATENCY GRAPH command: %q %v", graph, err)
			}
			doc, err := c.Do(ctx, "LATENCY", "DOCTOR").Text()
			if err != nil || !strings.Contains(doc, "1. command: 1 latency spikes") {
				t.Errorf("LATENCY DOCTOR: %q %v", doc, err)
			}
			if n, err := c.Do(ctx, "LATENCY", "RESET", "command", "nosuch").Int(); n != 1 || err != nil {
				t.Errorf("LATENCY RESET: %d %v", n, err)
			}
		})
	}
}

func TestCompat_LatencyHistogram(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 30*time.Second)
	for _, proto := range []int{2, 3} {
		for name, addr := range map[string]string{"redis-server": redisAddr, "leader": l.ClientAddr(), "follower": cl.Followers(l)[0].ClientAddr()} {
			c := newClient(t, addr, proto)
			if err := c.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				c.Set(ctx, "lat:k", "v", 0)
			}
			c.ConfigGet(ctx, "maxclients")
			v, err := c.Do(ctx, "LATENCY", "HISTOGRAM", "set", "config", "nosuch").Result()
			if err != nil {
				t.Fatalf("%s RESP%d: %v", name, proto, err)
			}
			// CONFIG's subcommands one by one: GET and RESETSTAT were called.
			m := asMap(t, v)
			if len(m) != 3 || m["set"] == nil || m["config|get"] == nil || m["config|resetstat"] == nil {
				t.Errorf("%s RESP%d: LATENCY HISTOGRAM set config: %v", name, proto, v)
				continue
			}
			set := asMap(t, m["set"])
			buckets := asMap(t, set["histogram_usec"])
			if set["calls"] != int64(3) || len(buckets) == 0 {
				t.Errorf("%s RESP%d: set: %v", name, proto, set)
			}
			var last int64
			for _, n := range buckets {
				last = max(last, n.(int64))
			}
			if last != 3 {
				t.Errorf("%s RESP%d: the cumulative counts of set end at %d, want 3: %v", name, proto, last, buckets)
			}
			info, err := c.Info(ctx, "latencystats").Result()
			if err != nil || !strings.Contains(info, "latency_percentiles_usec_set:p50=") || !strings.Contains(info, ",p99.9=") {
				t.Errorf("%s RESP%d: INFO latencystats: %q %v", name, proto, info, err)
			}
		}
	}
}

// asMap reads a map reply (RESP3) or a flat [k, v, ...] array (RESP2).
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, x := range m {
			out[redisString(k)] = x
		}
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[redisString(m[i])] = m[i+1]
		}
	default:
		t.Fatalf("not a map: %T %v", v, v)
	}
	return out
}

// redisString is a map key as go-redis gives it: a string, or a number for
// histogram_usec's bucket bounds.
func redisString(k any) string {
	if n, ok := k.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	s, _ := k.(string)
	return s
}
