package resp

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// cmdInfo renders INFO [section ...] in Redis's format: "# Section" headers
// and key:value lines separated by CRLF.
func cmdInfo(c *conn, argv [][]byte) fsm.Value {
	want := map[string]bool{}
	for _, a := range argv[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var sb strings.Builder
	add := func(name string, fn func(*strings.Builder)) {
		if all || want[strings.ToLower(name)] {
			if sb.Len() > 0 {
				sb.WriteString("\r\n")
			}
			sb.WriteString("# " + name + "\r\n")
			fn(&sb)
		}
	}
	s := c.srv
	add("Server", s.infoServer)
	add("Clients", s.infoClients)
	add("Memory", s.infoMemory)
	add("Stats", s.infoStats)
	add("Replication", s.infoReplication)
	if want["all"] || want["everything"] || want["commandstats"] {
		add("Commandstats", s.infoCommandstats) // not in the default set, as in Redis
	}
	add("Errorstats", s.infoErrorstats)
	add("Keyspace", s.infoKeyspace)
	return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(sb.String())}
}

func kv(sb *strings.Builder, k string, v any) {
	fmt.Fprintf(sb, "%s:%v\r\n", k, v)
}

func (s *Server) infoServer(sb *strings.Builder) {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	up := time.Since(s.start)
	kv(sb, "redis_version", redisVersion)
	kv(sb, "understudy_version", s.cfg.Version)
	kv(sb, "redis_mode", "standalone")
	kv(sb, "os", runtime.GOOS+" "+runtime.GOARCH)
	kv(sb, "arch_bits", strconv.IntSize)
	kv(sb, "go_version", runtime.Version())
	kv(sb, "process_id", os.Getpid())
	kv(sb, "run_id", s.node.ID())
	kv(sb, "tcp_port", port)
	kv(sb, "uptime_in_seconds", int64(up.Seconds()))
	kv(sb, "uptime_in_days", int64(up.Hours()/24))
}

func (s *Server) infoClients(sb *strings.Builder) {
	kv(sb, "connected_clients", s.numConns())
	kv(sb, "blocked_clients", 0)
	kv(sb, "maxclients", s.cfg.Clients.MaxClients)
}

func (s *Server) infoStats(sb *strings.Builder) {
	st := &s.stats
	kv(sb, "total_connections_received", st.connsTotal.Load())
	kv(sb, "rejected_connections", s.lim.rejectedConns.Load())
	kv(sb, "client_output_buffer_limit_disconnections", s.lim.outputDisconnects.Load())
	kv(sb, "total_commands_processed", st.commands.Load())
	kv(sb, "total_writes_processed", st.writesServed.Load())
	kv(sb, "total_reads_processed", st.readsServed.Load())
	kv(sb, "forwarded_commands", st.forwarded.Load())
	kv(sb, "redirected_commands", st.redirected.Load())
	kv(sb, "rejected_commands", st.rejected.Load())
	kv(sb, "uncertain_replies", st.uncertain.Load())
	kv(sb, "total_error_replies_protocol", st.protoErrors.Load())
	kv(sb, "total_error_replies", s.cmdstats.errAll.Load())
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
		kv(sb, "master_repl_offset", st.AppliedIndex)
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
		kv(sb, "slave_repl_offset", st.AppliedIndex)
		kv(sb, "slave_read_only", 1)
		kv(sb, "connected_slaves", 0)
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
	fs := s.node.FSM().Stats()
	if fs.Keys > 0 {
		fmt.Fprintf(sb, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", fs.Keys, fs.Expires)
	}
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
