package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// System names used in results and reports.
const (
	SysUnderstudy = "understudy"
	// SysUnderstudyAlt is a second Understudy cluster, with the other
	// --log-store (Results.Stores says which store each ran).
	SysUnderstudyAlt = "understudy-alt"
	SysRedisAOF      = "redis-aof"      // appendonly yes, appendfsync always
	SysRedisMem      = "redis-mem"      // no persistence: the ceiling
	SysEtcd          = "etcd"           // three nodes
	SysSentinel      = "redis-sentinel" // primary, two replicas, three Sentinels
)

// Workload names.
const (
	WlSet     = "set"      // SET, 100-byte values
	WlGet     = "get"      // GET (linearizable on Understudy and etcd)
	WlPipeSet = "pipe-set" // SET, 16 per round trip
	WlSet1K   = "set-1k"   // SET, 1 KiB values
	WlSet16K  = "set-16k"  // SET, 16 KiB values
	WlMixed   = "mixed"    // 80% GET, 20% SET, 100-byte values
	// WlEvalSha is EVALSHA of a small write script (GET the old value, SET
	// the new one, return the old length), 100-byte values; RESP systems
	// only (etcd has no scripts).
	WlEvalSha = "evalsha"
)

// Ms is a duration in milliseconds, as a float in JSON.
type Ms float64

// ToMs converts a duration.
func ToMs(d time.Duration) Ms { return Ms(float64(d) / float64(time.Millisecond)) }

// Throughput is one (system, workload) run.
type Throughput struct {
	System    string  `json:"system"`
	Workload  string  `json:"workload"`
	Clients   int     `json:"clients"`
	Pipeline  int     `json:"pipeline"`
	ValueSize int     `json:"value_size"`
	Seconds   float64 `json:"seconds"`
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// Latency of one round trip (a pipeline of Pipeline commands counts once).
	P50   Ms     `json:"p50_ms"`
	P99   Ms     `json:"p99_ms"`
	P999  Ms     `json:"p999_ms"`
	Max   Ms     `json:"max_ms"`
	Notes string `json:"notes,omitempty"`
	// ErrorSamples are distinct error texts seen, verbatim, with their counts.
	ErrorSamples []ErrorCount `json:"error_samples,omitempty"`
	// CPU is, per server process of the system, the CPU time (user and
	// system, from /proc/PID/stat) it used per operation counted, over the
	// measured window. Leader first.
	CPU []ProcCPU `json:"cpu,omitempty"`
}

// ProcCPU is one server process's CPU time per operation.
type ProcCPU struct {
	Name        string  `json:"name"`
	Role        string  `json:"role"` // leader, follower, member or single
	MicrosPerOp float64 `json:"micros_per_op"`
}

// CPUPerOp is the system's CPU time per operation, all its processes
// together (0 if not measured).
func (t Throughput) CPUPerOp() float64 {
	var s float64
	for _, c := range t.CPU {
		s += c.MicrosPerOp
	}
	return s
}

// ErrorCount is one distinct error text and how often it was seen.
type ErrorCount struct {
	Text  string `json:"text"`
	Count int64  `json:"count"`
}

// FailoverRound is one kill of the leader.
type FailoverRound struct {
	Killed string `json:"killed"`
	// Unavailable is the longest gap between consecutive acknowledgements
	// (across all clients) that ends after the kill: last ack before the kill
	// to first ack after it, robust to a reply already in flight.
	Unavailable Ms   `json:"unavailable_ms"`
	Recovered   bool `json:"recovered"`
	// Rejoin is restart of the killed node to it having caught up.
	Rejoin   Ms   `json:"rejoin_ms"`
	Rejoined bool `json:"rejoined"`
}

// Failover is the failover experiment on one system with one kind of client.
type Failover struct {
	System       string          `json:"system"`
	Client       string          `json:"client"`
	Writers      int             `json:"writers"`
	Rounds       []FailoverRound `json:"rounds"`
	Acked        int64           `json:"acked"`
	Lost         int64           `json:"lost"`
	Verified     bool            `json:"verified"`
	Errors       int64           `json:"errors"`
	ErrorSamples []ErrorCount    `json:"error_samples,omitempty"`
	Notes        string          `json:"notes,omitempty"`
}

// Unavailabilities returns the per-round unavailability of recovered rounds,
// and how many rounds did not recover (counted as worst).
func (f Failover) Unavailabilities() (ok []time.Duration, failed int) {
	for _, r := range f.Rounds {
		if r.Recovered {
			ok = append(ok, time.Duration(float64(r.Unavailable)*float64(time.Millisecond)))
		} else {
			failed++
		}
	}
	return ok, failed
}

// NodeMem is one process's memory before and after a load.
type NodeMem struct {
	Node       string `json:"node"`
	Role       string `json:"role"`
	RSSBefore  int64  `json:"rss_before"`
	RSSAfter   int64  `json:"rss_after"`
	AnonBefore int64  `json:"rss_anon_before"`
	AnonAfter  int64  `json:"rss_anon_after"`
	DiskBytes  int64  `json:"disk_bytes"`
}

// Scale is the bulk load of many keys into one system.
type Scale struct {
	System      string    `json:"system"`
	Keys        int       `json:"keys"`
	ValueSize   int       `json:"value_size"`
	LoadSeconds float64   `json:"load_seconds"`
	DBSize      int64     `json:"dbsize"`
	Nodes       []NodeMem `json:"nodes"`
	// CatchUp is, for Understudy, the time from restarting the follower that
	// was stopped during the load until its applied index equals the leader's.
	CatchUp  Ms     `json:"catch_up_ms,omitempty"`
	CaughtUp bool   `json:"caught_up,omitempty"`
	Notes    string `json:"notes,omitempty"`
}

// Primary is the node whose memory and disk count for the per-key figures:
// the leader (or the only node).
func (s Scale) Primary() (NodeMem, bool) {
	for _, n := range s.Nodes {
		if n.Role == "leader" || n.Role == "single" {
			return n, true
		}
	}
	return NodeMem{}, false
}

// RedisBench is one redis-benchmark run, parsed.
type RedisBench struct {
	Target   string           `json:"target"`
	Pipeline int              `json:"pipeline"`
	Lines    []RedisBenchLine `json:"lines"`
	Errors   []string         `json:"errors,omitempty"`
	Raw      string           `json:"raw,omitempty"`
}

// RedisBenchLine is one test's summary line.
type RedisBenchLine struct {
	Test string  `json:"test"`
	RPS  float64 `json:"rps"`
	P50  Ms      `json:"p50_ms"`
}

// Results is everything one run of scripts/bench.sh measured.
type Results struct {
	Started    string       `json:"started"`
	Mode       string       `json:"mode"`
	Host       string       `json:"host"`
	Throughput []Throughput `json:"throughput"`
	Failover   []Failover   `json:"failover"`
	Scale      []Scale      `json:"scale"`
	RedisBench []RedisBench `json:"redis_benchmark"`
	// Curve is SET throughput at several client counts, per system.
	Curve []Throughput `json:"curve,omitempty"`
	// Stores is the --log-store each Understudy system ran with.
	Stores map[string]string `json:"stores,omitempty"`
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads path into v; a missing file leaves v unchanged and is not an error.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
