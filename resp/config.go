package resp

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/conftab"
	"github.com/understudy/understudy/fsm"
)

// CONFIG. Every parameter Redis 7.0.15 has is here (conftab: names,
// defaults, kinds, bounds, aliases, which are immutable). Those that change
// how data behaves are replicated (fsm/config.go): CONFIG SET of one goes
// through the log, from a follower by way of the leader. The others belong
// to the node that answers: a few act here at once (maxclients, timeout,
// slowlog-*, client-output-buffer-limit's pubsub class), the rest are
// accepted and shown but have no effect (persistence, replication, TLS
// and process settings that Raft, the flags or the Go runtime replace).

// nodeConf is the node-local parameters' values, by canonical name, as
// CONFIG GET shows them.
type nodeConf struct {
	mu   sync.Mutex
	vals map[string]string
}

// localEffect applies a node-local parameter's new value (already checked).
var localEffect = map[string]func(s *Server, v string){
	"maxclients":                func(s *Server, v string) { s.lim.maxClients.Store(conftab.Int(v)) },
	"timeout":                   func(s *Server, v string) { s.lim.idle.Store(int64(time.Duration(conftab.Int(v)) * time.Second)) },
	"latency-monitor-threshold": func(s *Server, v string) { s.latency.thresholdMs.Store(conftab.Int(v)) },
	"latency-tracking":          func(s *Server, v string) { s.latencyTracking.Store(v == "yes") },
	"slowlog-log-slower-than": func(s *Server, v string) {
		s.slowlog.set(conftab.Int(v), s.slowlog.maxLen.Load())
	},
	"slowlog-max-len": func(s *Server, v string) {
		st := s.slowlog.slowerThan.Load()
		us := st / int64(time.Microsecond)
		if st < 0 {
			us = -1
		}
		s.slowlog.set(us, conftab.Int(v))
	},
	"client-output-buffer-limit": func(s *Server, v string) {
		f := strings.Fields(v)
		for i := 0; i+3 < len(f); i += 4 {
			if f[i] == "pubsub" {
				hard, _ := strconv.ParseInt(f[i+1], 10, 64)
				soft, _ := strconv.ParseInt(f[i+2], 10, 64)
				secs, _ := strconv.ParseInt(f[i+3], 10, 64)
				s.lim.pubsub.Store(&OutputLimit{Hard: hard, Soft: soft, SoftFor: time.Duration(secs) * time.Second})
			}
		}
	},
}

// initConfig fills the node-local values: Redis's defaults, then what this
// node really runs with (flags and UNDERSTUDY_* variables).
func (s *Server) initConfig() {
	nc := &s.conf
	nc.vals = map[string]string{}
	for _, p := range conftab.All() {
		if !p.IsAlias() && !fsm.IsReplicatedConfig(p.Name) {
			v, _ := p.Parse(p.Default)
			nc.vals[p.Name] = v
		}
	}
	host, port := splitHostPort(s.ln.Addr().String())
	dir, _ := os.Getwd()
	pubsub := s.lim.pubsub.Load()
	for k, v := range map[string]string{
		"port":                       strconv.Itoa(port),
		"bind":                       host,
		"dir":                        dir,
		"databases":                  strconv.Itoa(fsm.MaxDatabases),
		"maxclients":                 strconv.FormatInt(s.lim.maxClients.Load(), 10),
		"timeout":                    strconv.FormatInt(s.lim.idle.Load()/int64(time.Second), 10),
		"slowlog-log-slower-than":    strconv.FormatInt(s.cfg.SlowlogLogSlowerThan, 10),
		"slowlog-max-len":            strconv.Itoa(s.cfg.SlowlogMaxLen),
		"client-output-buffer-limit": fmt.Sprintf("normal 0 0 0 slave 268435456 67108864 60 pubsub %d %d %d", pubsub.Hard, pubsub.Soft, int64(pubsub.SoftFor/time.Second)),
		// Every write is on a majority's disk before it is acknowledged.
		"appendonly":  "yes",
		"appendfsync": "always",
		"save":        "",
		// Clients find every node through CLUSTER and INFO's cluster section.
		"cluster-enabled": "yes",
	} {
		nc.vals[k] = v
	}
}

// understudyParams are Understudy's own settings, shown by CONFIG GET and
// fixed at start-up.
func (s *Server) understudyParams() map[string]string {
	n := s.node.Config()
	return map[string]string{
		"understudy-follower-mode":        string(s.cfg.FollowerMode),
		"understudy-heartbeat-timeout":    n.HeartbeatTimeout.String(),
		"understudy-election-timeout":     n.ElectionTimeout.String(),
		"understudy-leader-lease-timeout": n.LeaderLeaseTimeout.String(),
		"understudy-snapshot-threshold":   strconv.FormatUint(n.SnapshotThreshold, 10),
		"understudy-trailing-logs":        strconv.FormatUint(n.TrailingLogs, 10),
		"understudy-sentinel-name":        s.cfg.SentinelName,
	}
}

// configValue is a parameter's value (p canonical) as CONFIG GET shows it.
func (s *Server) configValue(p *conftab.Param) string {
	switch {
	case p.Name == "databases":
		return strconv.Itoa(s.node.FSM().Databases())
	case p.Name == "maxmemory":
		return strconv.FormatInt(s.maxMemory(), 10)
	case fsm.IsReplicatedConfig(p.Name):
		v, _ := s.node.FSM().ConfigGet(p.Name)
		return v
	}
	s.conf.mu.Lock()
	defer s.conf.mu.Unlock()
	return s.conf.vals[p.Name]
}

var configHelp = []string{
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Rewrite the configuration file.",
	"HELP",
	"    Prints this help.",
}

func cmdConfig(c *conn, argv [][]byte) fsm.Value {
	switch strings.ToLower(string(argv[1])) {
	case "get":
		return c.srv.configGet(argv[2:])
	case "set":
		return c.configSet(argv[2:])
	case "resetstat":
		c.srv.resetStats()
		return fsm.OK
	case "rewrite":
		return fsm.Err("ERR The server is running without a config file")
	case "help":
		return fsm.SimpleLines(configHelp)
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try CONFIG HELP.")
}

// configGet is Redis 7.0's: a pattern without glob characters names one
// parameter (answered under the name as given), any other matches every
// name, aliases included, case-insensitively; each parameter once.
func (s *Server) configGet(patterns [][]byte) fsm.Value {
	own := s.understudyParams()
	seen := map[string]bool{}
	var out []fsm.Value
	add := func(key, val string) {
		if seen[strings.ToLower(key)] {
			return
		}
		seen[strings.ToLower(key)] = true
		out = append(out, fsm.BulkString(key), fsm.BulkString(val))
	}
	for _, pat := range patterns {
		name := string(pat)
		if !strings.ContainsAny(name, "[*?") {
			if p := conftab.Lookup(name); p != nil {
				add(name, s.configValue(conftab.Lookup(p.Canonical)))
			} else if v, ok := own[strings.ToLower(name)]; ok {
				add(name, v)
			}
			continue
		}
		lp := []byte(strings.ToLower(name))
		for _, p := range slices.Concat(conftab.All(), conftab.Own()) {
			if fsm.GlobMatch(lp, []byte(p.Name)) {
				add(p.Name, s.configValue(conftab.Lookup(p.Canonical)))
			}
		}
		for k, v := range own {
			if fsm.GlobMatch(lp, []byte(k)) {
				add(k, v)
			}
		}
	}
	if out == nil {
		out = []fsm.Value{}
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: out}
}

// configSet is Redis 7.0's CONFIG SET: every name is checked first
// (unknown, immutable, given twice), then every value, and only if all
// pass is anything applied: the replicated ones through the log (from a
// follower, by the leader), then the node-local ones here.
func (c *conn) configSet(args [][]byte) fsm.Value {
	s := c.srv
	if len(args)%2 != 0 {
		return fsm.Err("ERR syntax error")
	}
	type pair struct {
		given string
		p     *conftab.Param
		v     string
	}
	pairs := make([]pair, 0, len(args)/2)
	errArg, errText := "", ""
	for i := 0; i < len(args); i += 2 {
		given := string(args[i])
		p := conftab.Lookup(given)
		if p == nil {
			if errText == "" {
				return fsm.Err("ERR Unknown option or number of arguments for CONFIG SET - '" + given + "'")
			}
			continue
		}
		if errText != "" {
			continue
		}
		switch {
		case p.Access == conftab.Immutable:
			errArg, errText = given, "can't set immutable config"
		case p.Access == conftab.Protected:
			errArg, errText = given, "can't set protected config"
		}
		for _, q := range pairs {
			if q.p == p {
				errArg, errText = given, "duplicate parameter"
			}
		}
		pairs = append(pairs, pair{given, p, string(args[i+1])})
	}
	if errText != "" {
		return configSetErr(errArg, errText)
	}
	var repl []string
	local := map[string]string{}
	for _, q := range pairs {
		if fsm.IsReplicatedConfig(q.p.Name) {
			if err := fsm.CheckConfig([]string{q.p.Name, q.v}); err != nil {
				return fsm.Err(err.Error())
			}
			repl = append(repl, q.p.Name, q.v)
			continue
		}
		v, reason := s.checkLocal(q.p, q.v)
		if reason != "" {
			return configSetErr(q.p.Name, reason)
		}
		local[q.p.Canonical] = v
	}
	if len(repl) > 0 {
		if v := c.proposeConfig(repl); v.Kind == fsm.KindError {
			return v
		}
	}
	s.conf.mu.Lock()
	for name, v := range local {
		s.conf.vals[name] = v
	}
	s.conf.mu.Unlock()
	for name, v := range local {
		if apply := localEffect[name]; apply != nil {
			apply(s, v)
		}
	}
	return fsm.OK
}

func configSetErr(arg, text string) fsm.Value {
	return fsm.Err("ERR CONFIG SET failed (possibly related to argument '" + arg + "') - " + text)
}

// proposeConfig sets replicated parameters through the log: as an internal
// entry on the leader, or by asking the leader to (a follower's CONFIG SET
// of only those parameters, over a relay connection).
func (c *conn) proposeConfig(pairs []string) fsm.Value {
	s := c.srv
	if lvl := s.node.FSM().Level(); lvl < fsm.Level2 {
		return fsm.Err(fmt.Sprintf("ERR CONFIG SET of a replicated parameter needs every member at cluster level %d (it is %d): upgrade every node first", fsm.Level2, lvl))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ForwardTimeout)
	defer cancel()
	argv := make([][]byte, 0, len(pairs)+1)
	argv = append(argv, []byte("config-set"))
	for _, p := range pairs {
		argv = append(argv, []byte(p))
	}
	if s.node.IsLeader() {
		v, err := s.node.WriteInternal(argv).Wait(ctx)
		if err != nil {
			return s.errorReply(err, true)
		}
		return v
	}
	if c.forwarded.Load() {
		return fsm.Err(replyNotLeader)
	}
	argv[0] = []byte("SET")
	v := c.relayToLeader(ctx, append([][]byte{[]byte("CONFIG")}, argv...))
	if v.Kind != fsm.KindError {
		// The leader answers once it applied the entry; this node may not
		// have yet: wait, so that CONFIG GET here reads the write.
		last := map[string]string{} // an alias and its parameter: the last wins
		for i := 0; i+1 < len(pairs); i += 2 {
			last[conftab.Lookup(pairs[i]).Canonical] = pairs[i+1]
		}
		for name, v := range last {
			want := fsm.ConfigShown(name, v)
			for ctx.Err() == nil {
				if got, _ := s.node.FSM().ConfigGet(name); got == want {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	return v
}

// relayToLeader sends one command to the leader over a pooled relay
// connection of the client's identity and waits for the reply, which it
// returns as a value (+OK or an error; a node-local command's own reply).
func (c *conn) relayToLeader(ctx context.Context, argv [][]byte) fsm.Value {
	s := c.srv
	li, ok := s.node.Leader()
	if !ok || li.ClientAddr == "" {
		s.stats.rejected.Add(1)
		return fsm.Err(replyNoLeader)
	}
	up, err := s.pool.get(li.PeerClientAddr, 2, 0, c.auth.session().cred)
	if err != nil {
		if raw, ok := refusedReply(err); ok {
			return rawError(raw)
		}
		return s.errorReply(err, true)
	}
	sl := &slot{write: true, done: make(chan struct{})}
	up.send(argv, sl)
	up.flush()
	select {
	case <-sl.done:
	case <-ctx.Done():
		up.close()
		return s.errorReply(fmt.Errorf("%w: %v", errUpstreamLost, ctx.Err()), true)
	}
	s.pool.put(up)
	s.stats.forwarded.Add(1)
	if sl.err != nil {
		return s.errorReply(sl.err, true)
	}
	if len(sl.raw) > 0 && sl.raw[0] == '-' {
		return rawError(sl.raw)
	}
	return fsm.OK
}

// rawError turns a RESP error line into an error value.
func rawError(raw []byte) fsm.Value {
	return fsm.Err(strings.TrimRight(strings.TrimPrefix(string(raw), "-"), "\r\n"))
}
