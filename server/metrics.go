package server

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/understudy/understudy/resp"
)

// Prometheus metrics, served at /metrics on --metrics-addr. Each Server has
// its own registry (no global default registry), so several servers in one
// process (the tests) never mix their numbers. State that already exists
// (Raft indexes, the key count, the RESP counters) is read when Prometheus
// scrapes, by a Collector; only what must be caught as it happens is
// recorded on the hot path: the apply latency and batch size (histograms,
// fed by node.Observer), snapshot timings, and leader changes (a Raft
// observer). README.md ("Metrics") lists every name.

// metrics implements node.Observer and holds the registry.
type metrics struct {
	reg *prometheus.Registry

	applyLatency  prometheus.Histogram
	applyBatch    prometheus.Histogram
	snapDuration  prometheus.Histogram
	snapSize      prometheus.Gauge
	snapFailures  prometheus.Counter
	restores      prometheus.Counter
	leaderChanges atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{
		reg: prometheus.NewRegistry(),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "understudy_apply_duration_seconds",
			Help:    "Time from proposing a log entry (a batch of writes) to its being committed and applied on this leader.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		applyBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "understudy_apply_batch_commands",
			Help:    "Client commands carried by one log entry proposed by this leader.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 .. 16384
		}),
		snapDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "understudy_snapshot_duration_seconds",
			Help:    "Time to write one snapshot of the state machine to disk.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		snapSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "understudy_snapshot_size_bytes",
			Help: "Size of the last snapshot this node wrote.",
		}),
		snapFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "understudy_snapshot_failures_total",
			Help: "Snapshots this node failed to write.",
		}),
		restores: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "understudy_snapshot_restores_total",
			Help: "Times the state was replaced from a snapshot (installed from the leader, or restored).",
		}),
	}
}

// ObserveApply implements node.Observer.
func (m *metrics) ObserveApply(cmds int, d time.Duration) {
	m.applyLatency.Observe(d.Seconds())
	m.applyBatch.Observe(float64(cmds))
}

// ObserveSnapshot implements node.Observer.
func (m *metrics) ObserveSnapshot(size int64, d time.Duration, err error) {
	if err != nil {
		m.snapFailures.Inc()
		return
	}
	m.snapDuration.Observe(d.Seconds())
	m.snapSize.Set(float64(size))
}

// ObserveRestore implements node.Observer.
func (m *metrics) ObserveRestore(_ time.Duration, err error) {
	if err == nil {
		m.restores.Inc()
	}
}

// register fills the registry once s is assembled and starts counting
// leader changes.
func (m *metrics) register(s *Server) {
	m.reg.MustRegister(
		m.applyLatency, m.applyBatch, m.snapDuration, m.snapSize, m.snapFailures, m.restores,
		&stateCollector{s: s, m: m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	go m.watchLeader(s)
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// watchLeader counts leader changes this node sees (a new leader, or the
// same one re-elected), through a non-blocking Raft observer.
func (m *metrics) watchLeader(s *Server) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r := s.Node.Raft()
	r.RegisterObserver(obs)
	defer r.DeregisterObserver(obs)
	if _, id := r.LeaderWithID(); id != "" {
		m.leaderChanges.Add(1) // elected before the observer was in place
	}
	for {
		select {
		case <-s.stop:
			return
		case o := <-ch:
			lo := o.Data.(raft.LeaderObservation)
			// Raft reports "no leader" in between: count arrivals only. A
			// re-elected leader comes back after a "no leader".
			if lo.LeaderID != "" {
				m.leaderChanges.Add(1)
			}
		}
	}
}

// stateCollector reads the node's and the RESP server's state at scrape
// time.
type stateCollector struct {
	s *Server
	m *metrics
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descRole         = desc("understudy_raft_role", "1 for this node's current Raft role (leader, follower, candidate, shutdown), 0 for the others.", "role")
	descTerm         = desc("understudy_raft_term", "Current Raft term.")
	descCommit       = desc("understudy_raft_commit_index", "Highest log index known to be committed.")
	descApplied      = desc("understudy_raft_applied_index", "Highest log index applied to the state machine.")
	descLastLog      = desc("understudy_raft_last_log_index", "Last index in this node's log.")
	descHasLeader    = desc("understudy_raft_has_leader", "1 if this node knows a leader.")
	descReadReady    = desc("understudy_raft_read_ready", "1 if this node leads and may serve linearizable reads.")
	descLastContact  = desc("understudy_raft_last_contact_seconds", "Seconds since a follower last heard from the leader (0 on the leader).")
	descLeaderChange = desc("understudy_leader_changes_total", "Leader changes seen by this node (including the first leader it saw).")
	descSnapIndex    = desc("understudy_snapshot_last_index", "Log index of the newest snapshot on this node.")
	descLogBytes     = desc("understudy_log_store_bytes", "Size of raft.db (log and stable store) on disk.")
	descKeys         = desc("understudy_keys", "Keys in the keyspace.")
	descExpires      = desc("understudy_keys_with_expiry", "Keys with a time to live.")
	descClients      = desc("understudy_connected_clients", "Open client connections.")
	descConnsTotal   = desc("understudy_connections_total", "Client connections accepted.")
	descCommands     = desc("understudy_commands_total", "Commands received, by command.", "command")
	descCmdFailed    = desc("understudy_command_errors_total", "Commands answered with an error, by command.", "command")
	descCmdSeconds   = desc("understudy_command_duration_seconds_total", "Time from dispatch to reply, summed, by command (blocking commands excluded).", "command")
	descErrors       = desc("understudy_error_replies_total", "Error replies, by error code (ERR, WRONGTYPE, TRYAGAIN, UNCERTAIN, ...).", "error")
	descForwarded    = desc("understudy_forwarded_commands_total", "Commands this follower relayed to the leader.")
	descRedirected   = desc("understudy_redirected_commands_total", "Commands this follower answered with MOVED.")
	descRejected     = desc("understudy_rejected_commands_total", "Commands answered TRYAGAIN (not executed, safe to retry).")
	descUncertain    = desc("understudy_uncertain_replies_total", "Writes answered UNCERTAIN (proposed, outcome unknown).")
	descProtoErrors  = desc("understudy_protocol_errors_total", "Connections closed for a protocol error.")
	descSlowlog      = desc("understudy_slowlog_length", "Entries in the slow log.")
	descBuildInfo    = desc("understudy_build_info", "Always 1; the version is a label.", "version")
)

var raftRoles = []raft.RaftState{raft.Leader, raft.Follower, raft.Candidate, raft.Shutdown}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRole, descTerm, descCommit, descApplied, descLastLog, descHasLeader,
		descReadReady, descLastContact, descLeaderChange, descSnapIndex, descLogBytes, descKeys, descExpires,
		descClients, descConnsTotal, descCommands, descCmdFailed, descCmdSeconds, descErrors, descForwarded,
		descRedirected, descRejected, descUncertain, descProtoErrors, descSlowlog, descBuildInfo} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	n := c.s.Node
	st := n.Status()
	for _, r := range raftRoles {
		gauge(descRole, b2f(st.State == r.String()), strings.ToLower(r.String()))
	}
	gauge(descTerm, float64(st.Term))
	gauge(descCommit, float64(st.CommitIndex))
	gauge(descApplied, float64(st.AppliedIndex))
	gauge(descLastLog, float64(st.LastIndex))
	gauge(descHasLeader, b2f(st.HasLeader))
	gauge(descReadReady, b2f(st.ReadReady))
	contact := 0.0
	if st.State != raft.Leader.String() && !st.LastContact.IsZero() {
		contact = time.Since(st.LastContact).Seconds()
	}
	gauge(descLastContact, contact)
	counter(descLeaderChange, float64(c.m.leaderChanges.Load()))
	gauge(descSnapIndex, float64(n.LastSnapshotIndex()))
	gauge(descLogBytes, float64(n.LogSize()))
	fs := n.FSM().Stats()
	gauge(descKeys, float64(fs.Keys))
	gauge(descExpires, float64(fs.Expires))

	rs := c.s.RESP.Stats()
	gauge(descClients, float64(rs.ConnectedClients))
	counter(descConnsTotal, float64(rs.ConnectionsTotal))
	c.s.RESP.CommandStats(func(cs resp.CommandStat) {
		counter(descCommands, float64(cs.Calls), cs.Name)
		counter(descCmdFailed, float64(cs.Failed), cs.Name)
		counter(descCmdSeconds, cs.Time.Seconds(), cs.Name)
	})
	c.s.RESP.ErrorStats(func(prefix string, count int64) {
		counter(descErrors, float64(count), prefix)
	})
	counter(descForwarded, float64(rs.Forwarded))
	counter(descRedirected, float64(rs.Redirected))
	counter(descRejected, float64(rs.Rejected))
	counter(descUncertain, float64(rs.Uncertain))
	counter(descProtoErrors, float64(rs.ProtocolErrors))
	gauge(descSlowlog, float64(rs.SlowlogLen))
	gauge(descBuildInfo, 1, BuildVersion())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
