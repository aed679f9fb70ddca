package node

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gometrics "github.com/armon/go-metrics"
	hcmetrics "github.com/hashicorp/go-metrics"
)

// BenchmarkDurableWrite drives 50 concurrent writers at a three-node cluster
// over real TCP with real stores (fsync on), the shape of the durable SET
// benchmark, and prints where a commit spends its time from hashicorp/raft's
// own timers, and the CPU time the three nodes used per write (user+system
// of this process, which runs all three).
// Run: go test -run '^$' -bench DurableWrite -benchtime 60000x ./node
// (BENCH_STORE picks the log store, wal or bolt; BENCH_INFLIGHT and
// BENCH_GROUPWAIT_US override MaxInflight and GroupWait).
func BenchmarkDurableWrite(b *testing.B) {
	sink := gometrics.NewInmemSink(time.Hour, time.Hour)
	cfgm := gometrics.DefaultConfig("b")
	cfgm.EnableHostname, cfgm.EnableRuntimeMetrics, cfgm.EnableServiceLabel = false, false, false
	if _, err := gometrics.NewGlobal(cfgm, sink); err != nil {
		b.Fatal(err)
	}
	hsink := hcmetrics.NewInmemSink(time.Hour, time.Hour)
	hcfg := hcmetrics.DefaultConfig("h")
	hcfg.EnableHostname, hcfg.EnableRuntimeMetrics, hcfg.EnableServiceLabel = false, false, false
	if _, err := hcmetrics.NewGlobal(hcfg, hsink); err != nil {
		b.Fatal(err)
	}
	nodes := mustTCPCluster(b, 3)
	l := waitLeader(b, nodes)
	const clients = 50
	val := []byte(strings.Repeat("v", 100))
	var wg sync.WaitGroup
	per := b.N / clients
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				f := l.Write([][]byte{[]byte("SET"), fmt.Appendf(nil, "k%d-%d", c, i), val})
				<-f.Done()
				if _, err := f.Result(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(per*clients)/el.Seconds(), "writes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(per*clients), "cpu-µs/write")
	data := sink.Data()
	type agg struct {
		n        int
		sum, max float64
	}
	tot := map[string]*agg{}
	add := func(k string, n int, sum, mx float64) {
		a := tot[k]
		if a == nil {
			a = &agg{}
			tot[k] = a
		}
		a.n, a.sum, a.max = a.n+n, a.sum+sum, max(a.max, mx)
	}
	// Two sinks: raft reports through hashicorp/go-metrics, raft-boltdb
	// through its armon/go-metrics compatibility package.
	for _, iv := range hsink.Data() {
		for k, s := range iv.Samples {
			add(k, s.Count, s.Sum, s.Max)
		}
	}
	for _, iv := range data {
		for k, s := range iv.Samples {
			add(k, s.Count, s.Sum, s.Max)
		}
	}
	var lines []string
	for k, a := range tot {
		lines = append(lines, fmt.Sprintf("%-60s n=%-7d mean=%.3f max=%.3f", k, a.n, a.sum/float64(a.n), a.max))
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
}

func mustTCPCluster(b *testing.B, n int) []*Node {
	var lns []net.Listener
	var peers []Peer
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: ln.Addr().String()})
	}
	for _, ln := range lns {
		ln.Close()
	}
	dir := b.TempDir()
	nodes := make([]*Node, n)
	for i := range nodes {
		d := Defaults()
		nd, err := New(Config{
			ID: peers[i].ID, DataDir: fmt.Sprintf("%s/n%d", dir, i+1), RaftAddr: peers[i].Addr,
			ClientAddr: "c", Peers: peers,
			HeartbeatTimeout: d.HeartbeatTimeout, ElectionTimeout: d.ElectionTimeout,
			LeaderLeaseTimeout: d.LeaderLeaseTimeout, CommitTimeout: d.CommitTimeout,
			LogStore:    envStr("BENCH_STORE", LogStoreWAL),
			MaxInflight: envInt("BENCH_INFLIGHT", d.MaxInflight),
			GroupWait:   time.Duration(envInt("BENCH_GROUPWAIT_US", int(d.GroupWait/time.Microsecond))) * time.Microsecond,
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		nodes[i] = nd
		b.Cleanup(func() { _ = nd.Close() })
	}
	return nodes
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func waitLeader(b *testing.B, nodes []*Node) *Node {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.ReadReady() {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("no leader")
	return nil
}
