package bench

import (
	"math"
	"strings"
	"testing"
)

func fixture() Results {
	return Results{
		Started: "2026-01-02T03:04:05Z",
		Mode:    "quick",
		Host:    "2 cores",
		Throughput: []Throughput{
			{System: SysUnderstudy, Workload: WlSet, Clients: 50, Pipeline: 1, ValueSize: 100, OpsPerSec: 6000, P50: 8, P99: 20, P999: 40,
				CPU: []ProcCPU{{Name: "us1", Role: "leader", MicrosPerOp: 50}, {Name: "us2", Role: "follower", MicrosPerOp: 25}, {Name: "us3", Role: "follower", MicrosPerOp: 25}}},
			{System: SysUnderstudyAlt, Workload: WlSet, Clients: 50, Pipeline: 1, ValueSize: 100, OpsPerSec: 4000, P50: 10, P99: 25, P999: 50},
			{System: SysRedisAOF, Workload: WlSet, Clients: 50, Pipeline: 1, ValueSize: 100, OpsPerSec: 10000, P50: 4, P99: 9, P999: 12,
				CPU: []ProcCPU{{Name: "raof", Role: "single", MicrosPerOp: 20}}},
			{System: SysUnderstudy, Workload: WlGet, Clients: 50, Pipeline: 1, ValueSize: 100, OpsPerSec: 30000, P50: 1.5, P99: 3, P999: 5},
			{System: SysEtcd, Workload: WlGet, Clients: 50, Pipeline: 1, ValueSize: 100, OpsPerSec: 20000, P50: 2, P99: 4, P999: 8,
				Errors: 2, ErrorSamples: []ErrorCount{{Text: "context deadline exceeded", Count: 2}}},
			{System: SysUnderstudy, Workload: WlPipeSet, Clients: 50, Pipeline: 16, ValueSize: 100, OpsPerSec: 24000},
			{System: SysUnderstudy, Workload: WlSet16K, Clients: 50, Pipeline: 1, ValueSize: 16384, OpsPerSec: 900},
		},
		Failover: []Failover{
			{System: SysUnderstudy, Client: "sentinel", Writers: 8, Acked: 5000, Lost: 0, Verified: true,
				Rounds: []FailoverRound{{Killed: "n1", Unavailable: 700, Recovered: true, Rejoined: true}, {Killed: "n2", Unavailable: 1500, Recovered: true, Rejoined: true}, {Killed: "n3", Unavailable: 800, Recovered: true, Rejoined: true}}},
			{System: SysUnderstudy, Client: "plain", Writers: 8, Acked: 5000, Lost: 1, Verified: true,
				Rounds: []FailoverRound{{Killed: "n1", Unavailable: 600, Recovered: true, Rejoined: true}}},
			{System: SysSentinel, Client: "sentinel", Writers: 8, Acked: 4000, Lost: 12, Verified: true,
				Rounds: []FailoverRound{{Killed: "r1", Unavailable: 3000, Recovered: true}, {Killed: "r2", Recovered: false}}},
		},
		Scale: []Scale{
			{System: SysUnderstudy, Keys: 1000, LoadSeconds: 2, CatchUp: 1500, CaughtUp: true, Nodes: []NodeMem{
				{Node: "n1", Role: "leader", RSSBefore: 1000, RSSAfter: 301000, AnonBefore: 500, AnonAfter: 250500, DiskBytes: 500000},
				{Node: "n2", Role: "follower", RSSBefore: 1000, RSSAfter: 9001000}}},
			{System: SysRedisAOF, Keys: 1000, LoadSeconds: 1, Nodes: []NodeMem{{Node: "r", Role: "single", RSSBefore: 1000, RSSAfter: 201000, AnonBefore: 1000, AnonAfter: 201000, DiskBytes: 100000}}},
		},
		Curve: []Throughput{
			{System: SysRedisAOF, Workload: WlSet, Clients: 1, OpsPerSec: 2000, P50: 0.5},
			{System: SysUnderstudy, Workload: WlSet, Clients: 1, OpsPerSec: 500, P50: 2, CPU: []ProcCPU{{MicrosPerOp: 300}}},
			{System: SysUnderstudy, Workload: WlSet, Clients: 50, OpsPerSec: 6000, P50: 8},
			{System: SysRedisAOF, Workload: WlSet, Clients: 50, OpsPerSec: 10000, P50: 4},
		},
		Stores: map[string]string{SysUnderstudy: "wal", SysUnderstudyAlt: "bolt"},
		RedisBench: []RedisBench{
			{Target: SysRedisAOF, Pipeline: 1, Lines: []RedisBenchLine{{Test: "SET", RPS: 10000, P50: 4}, {Test: "GET", RPS: 40000, P50: 1}},
				Errors: []string{"Error from server: ERR nope"}},
			{Target: SysUnderstudy, Pipeline: 1, Lines: []RedisBenchLine{{Test: "SET", RPS: 5000, P50: 9}, {Test: "GET", RPS: 20000, P50: 2}}},
		},
	}
}

func targetByPrefix(t *testing.T, ts []Target, prefix string) Target {
	t.Helper()
	for _, x := range ts {
		if strings.HasPrefix(x.Name, prefix) {
			return x
		}
	}
	t.Fatalf("no target %q in %+v", prefix, ts)
	return Target{}
}

func TestTargets_EvaluatesEachGoal(t *testing.T) {
	ts := Targets(fixture())
	cases := []struct {
		prefix string
		pass   bool
		in     string
	}{
		{"durable SET", true, "0.60x"},
		{"linearizable GET", false, "1.50x"},
		{"pipelined SET", true, "4.00x"},
		{"failover median < 1.0 s with zero lost writes (sentinel)", true, "median 0.80 s, worst 1.50 s, 0 lost of 5000 acked"},
		{"failover median < 1.0 s with zero lost writes (plain)", false, "1 lost"},
		{"memory per key", true, "1.25x (250 vs 200 bytes/key anonymous, leader; RSS incl. mapped raft.db 300 vs 200, 1.50x)"},
	}
	for _, c := range cases {
		got := targetByPrefix(t, ts, c.prefix)
		if got.Pass != c.pass || !strings.Contains(got.Measured, c.in) {
			t.Errorf("%s: pass=%v measured=%q, want pass=%v containing %q", c.prefix, got.Pass, got.Measured, c.pass, c.in)
		}
	}
}

func TestTargets_MissingMeasurementFails(t *testing.T) {
	ts := Targets(Results{})
	if len(ts) != 5 {
		t.Fatalf("%d targets, want 5", len(ts))
	}
	for _, x := range ts {
		if x.Pass || x.Status() != "FAIL" {
			t.Errorf("%s passed with nothing measured", x.Name)
		}
	}
	if !strings.Contains(ts[0].Measured, "n/a") {
		t.Errorf("missing ratio shown as %q", ts[0].Measured)
	}
}

func TestTargets_UnrecoveredRoundFails(t *testing.T) {
	r := Results{Failover: []Failover{{System: SysUnderstudy, Client: "sentinel", Verified: true,
		Rounds: []FailoverRound{{Unavailable: 100, Recovered: true}, {Recovered: false}, {Unavailable: 200, Recovered: true}}}}}
	got := targetByPrefix(t, Targets(r), "failover")
	if got.Pass || !strings.Contains(got.Measured, "1 of 3 rounds did not recover") {
		t.Fatalf("got %+v", got)
	}
}

func TestFormatters(t *testing.T) {
	if FormatRatio(math.NaN()) != "n/a" || FormatRatio(0.5) != "0.50x" || FormatRatio(123.4) != "123x" {
		t.Errorf("FormatRatio: %s %s %s", FormatRatio(math.NaN()), FormatRatio(0.5), FormatRatio(123.4))
	}
	for in, want := range map[float64]string{0: "-", 999: "999", 1000: "1,000", 1234567.8: "1,234,568", 12345: "12,345"} {
		if got := FormatOps(in); got != want {
			t.Errorf("FormatOps(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[Ms]string{0: "-", 0.4123: "0.412", 3.216: "3.22", 45.33: "45.3", 1234.5: "1234"} {
		if got := FormatMs(in); got != want {
			t.Errorf("FormatMs(%v) = %q, want %q", in, got, want)
		}
	}
	if formatSize(16384) != "16 KiB" || formatSize(100) != "100 B" {
		t.Errorf("formatSize")
	}
}

func TestMarkdown_TablesRatiosAndErrors(t *testing.T) {
	md := Markdown(fixture())
	for _, want := range []string{
		"# Understudy benchmark, 2026-01-02T03:04:05Z (quick mode)",
		"| durable SET throughput >= 0.5x Redis appendfsync always | 0.60x (6,000 vs 10,000 ops/s) | **PASS** |",
		"| linearizable GET >= 2x etcd | 1.50x (30,000 vs 20,000 ops/s) | **FAIL** |",
		"| set | Understudy (3 nodes, wal) | 50 | 1 | 100 B | 6,000 | 8.00 | 20.0 | 40.0 | 0 | 100 | - |",
		"| set | Understudy (3 nodes, bolt) | 50 | 1 | 100 B | 4,000 | 10.0 | 25.0 | 50.0 | 0 | - | 1.50x |",
		"| set | Redis AOF always | 50 | 1 | 100 B | 10,000 | 4.00 | 9.00 | 12.0 | 0 | 20 | 0.60x |",
		"| set-16k | Understudy (3 nodes, wal) | 50 | 1 | 16 KiB | 900 |",
		"| Understudy (3 nodes, wal) | us1 leader 50, us2 follower 25, us3 follower 25 | 100 | 5.00x |",
		"| Redis AOF always | raof single 20 | 20 | 1.00x |",
		"| clients | Understudy (3 nodes, wal) | Redis AOF always | Understudy (3 nodes, wal) / Redis AOF always |",
		"| 1 | 500, 2.00 ms, 300 | 2,000, 0.500 ms, - | 0.25x |",
		"| 50 | 6,000, 8.00 ms, - | 10,000, 4.00 ms, - | 0.60x |",
		"| Understudy (3 nodes, wal) | sentinel | 8 | 3 | 0.80 s | 1.50 s | 0.70, 1.50, 0.80 | 5000 | 0 | 0 |",
		"| Redis + 2 replicas + 3 Sentinels | sentinel | 8 | 2 | 3.00 s | 1 not recovered | 3.00 (killed node did not rejoin), no recovery (killed node did not rejoin) | 4000 | 12 | 0 |",
		"Understudy / Redis: load time 2.00x, memory per key 1.25x anonymous (RSS 1.50x), disk per key 5.00x.",
		"| follower catch-up |",
		"| Understudy (3 nodes, wal) | 1000 | 2.00 s | 500 | 300 | 250 | 500 | n1 leader:",
		"1.50 s |",
		"| Redis AOF always | 1 | 10,000 | 4.00 | 40,000 | 1.00 | 0.50x, 0.50x |",
		"- etcd / get: 2x `context deadline exceeded`",
		"- redis-benchmark redis-aof -P 1: `Error from server: ERR nope`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n--- report ---\n%s", want, md)
		}
	}
	// redis-benchmark rows: Understudy first whatever the input order.
	if i, j := strings.Index(md, "| Understudy (3 nodes, wal) | 1 | 5,000"), strings.Index(md, "| Redis AOF always | 1 | 10,000"); i < 0 || j < i {
		t.Errorf("redis-benchmark rows out of order")
	}
	// Workloads come in the fixed order: set before get before pipe-set.
	if i, j := strings.Index(md, "| set |"), strings.Index(md, "| get |"); i < 0 || j < i {
		t.Errorf("workloads out of order")
	}
}
