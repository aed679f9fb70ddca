package resp

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// infoSection is one section of INFO, in Redis 7.0's order.
type infoSection struct {
	name string
	fn   func(s *Server, sb *strings.Builder)
	// all: only in "all" and "everything" (and by name), not the default set.
	all bool
}

var infoSections = []infoSection{
	{name: "Server", fn: (*Server).infoServer},
	{name: "Clients", fn: (*Server).infoClients},
	{name: "Memory", fn: (*Server).infoMemory},
	{name: "Persistence", fn: (*Server).infoPersistence},
	{name: "Stats", fn: (*Server).infoStats},
	{name: "Replication", fn: (*Server).infoReplication},
	{name: "CPU", fn: (*Server).infoCPU},
	{name: "Modules", fn: func(*Server, *strings.Builder) {}},
	{name: "Commandstats", fn: (*Server).infoCommandstats, all: true},
	{name: "Errorstats", fn: (*Server).infoErrorstats},
	{name: "Latencystats", fn: (*Server).infoLatencystats, all: true},
	{name: "Cluster", fn: func(_ *Server, sb *strings.Builder) { kv(sb, "cluster_enabled", 1) }},
	{name: "Keyspace", fn: (*Server).infoKeyspace},
}

// cmdInfo renders INFO [section ...] as Redis 7.0 does: "# Section" headers
// and key:value lines separated by CRLF, sections apart by a blank line;
// no argument or "default" is the default set, "all" and "everything"
// every section, otherwise the sections named (case-insensitively).
func cmdInfo(c *conn, argv [][]byte) fsm.Value {
	want := map[string]bool{}
	for _, a := range argv[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := want["all"] || want["everything"]
	def := len(want) == 0 || want["default"]
	var sb strings.Builder
	for _, sec := range infoSections {
		if !all && !want[strings.ToLower(sec.name)] && (!def || sec.all) {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString("\r\n")
		}
		sb.WriteString("# " + sec.name + "\r\n")
		sec.fn(c.srv, &sb)
	}
	return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(sb.String())}
}

func kv(sb *strings.Builder, k string, v any) {
	fmt.Fprintf(sb, "%s:%v\r\n", k, v)
}

func (s *Server) infoServer(sb *strings.Builder) {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	up := time.Since(s.start)
	exe, _ := os.Executable()
	kv(sb, "redis_version", redisVersion)
	kv(sb, "redis_git_sha1", "00000000")
	kv(sb, "redis_git_dirty", 0)
	kv(sb, "redis_build_id", "0")
	kv(sb, "redis_mode", "standalone")
	kv(sb, "os", runtime.GOOS+" "+runtime.GOARCH)
	kv(sb, "arch_bits", strconv.IntSize)
	kv(sb, "monotonic_clock", "POSIX clock_gettime")
	kv(sb, "multiplexing_api", "epoll")
	kv(sb, "atomicvar_api", "c11-builtin")
	kv(sb, "gcc_version", "0.0.0")
	kv(sb, "process_id", os.Getpid())
	kv(sb, "process_supervised", "no")
	kv(sb, "run_id", s.node.ID())
	kv(sb, "tcp_port", port)
	kv(sb, "server_time_usec", time.Now().UnixMicro())
	kv(sb, "uptime_in_seconds", int64(up.Seconds()))
	kv(sb, "uptime_in_days", int64(up.Hours()/24))
	kv(sb, "hz", 10)
	kv(sb, "configured_hz", 10)
	kv(sb, "lru_clock", time.Now().Unix()&(1<<24-1))
	kv(sb, "executable", exe)
	kv(sb, "config_file", "")
	kv(sb, "io_threads_active", 0)
	kv(sb, "understudy_version", s.cfg.Version)
	kv(sb, "go_version", runtime.Version())
}

func (s *Server) infoClients(sb *strings.Builder) {
	kv(sb, "connected_clients", s.numConns())
	kv(sb, "cluster_connections", 0)
	kv(sb, "maxclients", s.lim.maxClients.Load())
	kv(sb, "client_recent_max_input_buffer", 0)
	kv(sb, "client_recent_max_output_buffer", 0)
	kv(sb, "blocked_clients", s.blockers.count())
	kv(sb, "tracking_clients", 0)
	kv(sb, "clients_in_timeout_table", 0)
}

// infoPersistence: every write is in the Raft log on a majority's disks
// before it is acknowledged (aof_enabled:1, fsync always); snapshots are
// Raft's. The RDB fields describe them.
func (s *Server) infoPersistence(sb *strings.Builder) {
	st := s.node.RaftStats()
	snap, _ := strconv.ParseUint(st["last_snapshot_index"], 10, 64)
	applied := s.node.FSM().AppliedIndex()
	last, saves, failed := s.lastSave()
	s.saver.mu.Lock()
	running := s.saver.running
	s.saver.mu.Unlock()
	status := "ok"
	if failed {
		status = "err"
	}
	for _, f := range []struct {
		k string
		v any
	}{
		{"loading", 0}, {"async_loading", 0}, {"current_cow_peak", 0}, {"current_cow_size", 0},
		{"current_cow_size_age", 0}, {"current_fork_perc", "0.00"}, {"current_save_keys_processed", 0},
		{"current_save_keys_total", 0}, {"rdb_changes_since_last_save", applied - min(snap, applied)},
		{"rdb_bgsave_in_progress", boolInt(running)}, {"rdb_last_save_time", last}, {"rdb_last_bgsave_status", status},
		{"rdb_last_bgsave_time_sec", -1}, {"rdb_current_bgsave_time_sec", -1}, {"rdb_saves", saves},
		{"rdb_last_cow_size", 0}, {"rdb_last_load_keys_expired", 0}, {"rdb_last_load_keys_loaded", 0},
		{"aof_enabled", 1}, {"aof_rewrite_in_progress", 0}, {"aof_rewrite_scheduled", 0},
		{"aof_last_rewrite_time_sec", -1}, {"aof_current_rewrite_time_sec", -1}, {"aof_last_bgrewrite_status", "ok"},
		{"aof_rewrites", 0}, {"aof_rewrites_consecutive_failures", 0}, {"aof_last_write_status", "ok"},
		{"aof_last_cow_size", 0}, {"module_fork_in_progress", 0}, {"module_fork_last_cow_size", 0},
	} {
		kv(sb, f.k, f.v)
	}
}

func (s *Server) infoStats(sb *strings.Builder) {
	st := &s.stats
	zero := func(keys ...string) {
		for _, k := range keys {
			kv(sb, k, 0)
		}
	}
	kv(sb, "total_connections_received", st.connsTotal.Load())
	kv(sb, "total_commands_processed", st.commands.Load())
	zero("instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes", "total_net_repl_input_bytes",
		"total_net_repl_output_bytes")
	for _, k := range []string{"instantaneous_input_kbps", "instantaneous_output_kbps", "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps"} {
		kv(sb, k, "0.00")
	}
	kv(sb, "rejected_connections", s.lim.rejectedConns.Load())
	zero("sync_full", "sync_partial_ok", "sync_partial_err")
	kv(sb, "expired_keys", s.node.FSM().ExpiredCount()-s.expiredBase.Load())
	kv(sb, "expired_stale_perc", "0.00")
	zero("expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds")
	kv(sb, "evicted_keys", s.node.FSM().EvictedKeys()-s.evictedBase.Load())
	zero("evicted_clients", "total_eviction_exceeded_time", "current_eviction_exceeded_time", "keyspace_hits", "keyspace_misses")
	kv(sb, "pubsub_channels", s.hub.numChannels())
	kv(sb, "pubsub_patterns", s.hub.numPat())
	kv(sb, "pubsubshard_channels", s.hub.numShardChannels())
	zero("latest_fork_usec", "total_forks", "migrate_cached_sockets", "slave_expires_tracked_keys",
		"active_defrag_hits", "active_defrag_misses", "active_defrag_key_hits", "active_defrag_key_misses",
		"total_active_defrag_time", "current_active_defrag_time", "tracking_total_keys", "tracking_total_items",
		"tracking_total_prefixes", "unexpected_error_replies")
	kv(sb, "total_error_replies", s.cmdstats.errAll.Load())
	zero("dump_payload_sanitizations")
	kv(sb, "total_reads_processed", st.readsServed.Load())
	kv(sb, "total_writes_processed", st.writesServed.Load())
	zero("io_threaded_reads_processed", "io_threaded_writes_processed", "reply_buffer_shrinks", "reply_buffer_expands")
	// Understudy's own.
	kv(sb, "client_output_buffer_limit_disconnections", s.lim.outputDisconnects.Load())
	kv(sb, "forwarded_commands", st.forwarded.Load())
	kv(sb, "redirected_commands", st.redirected.Load())
	kv(sb, "rejected_commands", st.rejected.Load())
	kv(sb, "uncertain_replies", st.uncertain.Load())
	kv(sb, "total_error_replies_protocol", st.protoErrors.Load())
}

func splitHostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

func (s *Server) infoReplication(sb *strings.Builder) {
	st := s.node.Status()
	if st.State == raft.Leader.String() {
		kv(sb, "role", "master")
		reps := s.connectedReplicas()
		kv(sb, "connected_slaves", len(reps))
		for i, r := range reps {
			lag := int64(0)
			if !r.lastOK.IsZero() {
				lag = int64(time.Since(r.lastOK).Seconds())
			}
			fmt.Fprintf(sb, "slave%d:ip=%s,port=%d,state=online,offset=%d,lag=%d\r\n", i, r.host, r.port, r.offset, lag)
		}
		kv(sb, "master_failover_state", "no-failover")
		kv(sb, "master_replid", replID(st.Leader.ID))
		kv(sb, "master_replid2", strings.Repeat("0", 40))
		kv(sb, "master_repl_offset", st.AppliedIndex)
		kv(sb, "second_repl_offset", -1)
		kv(sb, "repl_backlog_active", 1)
		kv(sb, "repl_backlog_size", 1048576)
		kv(sb, "repl_backlog_first_byte_offset", 1)
		kv(sb, "repl_backlog_histlen", st.AppliedIndex)
	} else {
		kv(sb, "role", "slave")
		h, p := splitHostPort(st.Leader.ClientAddr)
		kv(sb, "master_host", h)
		kv(sb, "master_port", p)
		up := s.linkUp()
		link := "down"
		if up {
			link = "up"
		}
		kv(sb, "master_link_status", link)
		ago := -1
		if !st.LastContact.IsZero() {
			ago = int(time.Since(st.LastContact).Seconds())
		}
		kv(sb, "master_last_io_seconds_ago", ago)
		kv(sb, "master_sync_in_progress", 0)
		if !up {
			kv(sb, "master_link_down_since_seconds", ago)
		}
		kv(sb, "slave_read_repl_offset", st.AppliedIndex)
		kv(sb, "slave_repl_offset", st.AppliedIndex)
		kv(sb, "slave_priority", 100)
		kv(sb, "slave_read_only", 1)
		kv(sb, "replica_announced", 1)
		kv(sb, "connected_slaves", 0)
		kv(sb, "master_failover_state", "no-failover")
		kv(sb, "master_replid", replID(st.Leader.ID))
		kv(sb, "master_replid2", strings.Repeat("0", 40))
		kv(sb, "master_repl_offset", st.AppliedIndex)
		kv(sb, "second_repl_offset", -1)
		kv(sb, "repl_backlog_active", 1)
		kv(sb, "repl_backlog_size", 1048576)
		kv(sb, "repl_backlog_first_byte_offset", 1)
		kv(sb, "repl_backlog_histlen", st.AppliedIndex)
	}
	kv(sb, "raft_node_id", st.ID)
	kv(sb, "raft_state", strings.ToLower(st.State))
	kv(sb, "raft_term", st.Term)
	kv(sb, "raft_leader_id", st.Leader.ID)
	kv(sb, "raft_leader_client_addr", st.Leader.ClientAddr)
	kv(sb, "raft_commit_index", st.CommitIndex)
	kv(sb, "raft_applied_index", st.AppliedIndex)
	kv(sb, "raft_last_index", st.LastIndex)
	kv(sb, "raft_read_ready", boolInt(st.ReadReady))
}

func (s *Server) infoKeyspace(sb *strings.Builder) {
	for _, d := range s.node.FSM().DBStats() {
		fmt.Fprintf(sb, "db%d:keys=%d,expires=%d,avg_ttl=%d\r\n", d.DB, d.Keys, d.Expires, d.AvgTTL)
	}
}

// replID is the replication id every node shows for the leader it follows:
// 40 hex digits derived from the leader's id.
func replID(leader string) string {
	h := sha1.Sum([]byte(leader))
	return hex.EncodeToString(h[:])
}

// infoCPU is the process's CPU time (getrusage), as Redis's used_cpu_*; Go
// has no main thread, so the _main_thread fields repeat the process's.
func (s *Server) infoCPU(sb *strings.Builder) {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	secs := func(tv syscall.Timeval) string {
		return fmt.Sprintf("%d.%06d", tv.Sec, tv.Usec)
	}
	kv(sb, "used_cpu_sys", secs(self.Stime))
	kv(sb, "used_cpu_user", secs(self.Utime))
	kv(sb, "used_cpu_sys_children", secs(children.Stime))
	kv(sb, "used_cpu_user_children", secs(children.Utime))
	kv(sb, "used_cpu_sys_main_thread", secs(self.Stime))
	kv(sb, "used_cpu_user_main_thread", secs(self.Utime))
}

// cmdRole answers as Redis does: the leader is the master with its
// connected replicas (each with its applied index as the offset), a follower
// is a slave of the leader's client address, "connected" while it hears
// from the leader.
func cmdRole(c *conn, _ [][]byte) fsm.Value {
	s := c.srv
	st := s.node.Status()
	if st.State == raft.Leader.String() {
		reps := []fsm.Value{}
		for _, r := range s.connectedReplicas() {
			reps = append(reps, fsm.Array([]fsm.Value{
				fsm.BulkString(r.host), fsm.BulkString(strconv.Itoa(r.port)),
				fsm.BulkString(strconv.FormatUint(r.offset, 10)),
			}))
		}
		return fsm.Array([]fsm.Value{fsm.BulkString("master"), fsm.Int(int64(st.AppliedIndex)), fsm.Array(reps)})
	}
	h, p := splitHostPort(st.Leader.ClientAddr)
	state := "connected"
	if !s.linkUp() {
		state = "connect"
	}
	return fsm.Array([]fsm.Value{
		fsm.BulkString("slave"), fsm.BulkString(h), fsm.Int(int64(p)),
		fsm.BulkString(state), fsm.Int(int64(st.AppliedIndex)),
	})
}
