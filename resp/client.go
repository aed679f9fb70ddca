package resp

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/fsm"
)

// CLIENT, CONFIG GET and TIME: node-local introspection, as in Redis 7.

func (c *conn) infoLine() string {
	name := ""
	if p := c.name.Load(); p != nil {
		name = *p
	}
	cmd := "NULL"
	if p := c.lastCmd.Load(); p != nil {
		cmd = *p
	}
	sub, psub, multi := c.nSub.Load(), c.nPSub.Load(), c.nMulti.Load()
	flags := "N"
	switch {
	case c.blocked.Load():
		flags = "b"
	case multi >= 0:
		flags = "x"
	case sub+psub > 0:
		flags = "P"
	}
	now := time.Now()
	age := int64(now.Sub(c.created).Seconds())
	idle := int64(now.Sub(time.Unix(0, c.lastActive.Load())).Seconds())
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), name, age, idle, flags,
		sub, psub, multi, cmd, c.auth.userName(), c.proto.Load(), c.libName(), c.libVer())
}

func (c *conn) libName() string {
	if p := c.lib.Load(); p != nil {
		return p[0]
	}
	return ""
}

func (c *conn) libVer() string {
	if p := c.lib.Load(); p != nil {
		return p[1]
	}
	return ""
}

func (s *Server) snapshotConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func cmdClient(c *conn, argv [][]byte) fsm.Value {
	sub := strings.ToLower(string(argv[1]))
	switch {
	case sub == "setname" && len(argv) == 3:
		name := string(argv[2])
		if strings.ContainsAny(name, " \n") {
			return fsm.Err("ERR Client names cannot contain spaces, newlines or special characters.")
		}
		c.name.Store(&name)
		return fsm.OK
	case sub == "getname" && len(argv) == 2:
		if p := c.name.Load(); p != nil && *p != "" {
			return fsm.BulkString(*p)
		}
		return fsm.Null
	case sub == "id" && len(argv) == 2:
		return fsm.Int(c.id)
	case sub == "setinfo" && len(argv) == 4:
		lib := [2]string{c.libName(), c.libVer()}
		switch strings.ToLower(string(argv[2])) {
		case "lib-name":
			lib[0] = string(argv[3])
		case "lib-ver":
			lib[1] = string(argv[3])
		default:
			return fsm.Err("ERR Unrecognized option '" + string(argv[2]) + "'")
		}
		c.lib.Store(&lib)
		return fsm.OK
	case sub == "info" && len(argv) == 2:
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(c.infoLine() + "\n")}
	case sub == "list":
		return clientList(c, argv[2:])
	case sub == "kill" && len(argv) >= 3:
		return clientKill(c, argv[2:])
	case sub == "no-evict" || sub == "no-touch":
		return fsm.OK
	case sub == "help" && len(argv) == 2:
		return clientHelp()
	}
	switch sub {
	case "setname", "getname", "id", "setinfo", "info", "kill", "help":
		return fsm.ErrArity("client|" + sub)
	}
	return fsm.Err("ERR unknown subcommand '" + oneLine(string(argv[1])) + "'. Try CLIENT HELP.")
}

// Client types, as CLIENT LIST TYPE and CLIENT KILL TYPE name them. There
// are no Redis replicas or masters here (Raft replaces replication): every
// client is normal, or pubsub while it has subscriptions.
const (
	typeNormal  = "normal"
	typePubSub  = "pubsub"
	typeReplica = "replica"
	typeMaster  = "master"
)

func (c *conn) clientType() string {
	if c.nSub.Load()+c.nPSub.Load() > 0 {
		return typePubSub
	}
	return typeNormal
}

// parseClientType reads a client type name as Redis does (slave is replica).
func parseClientType(b []byte) (string, fsm.Value) {
	switch strings.ToLower(string(b)) {
	case "normal":
		return typeNormal, fsm.Value{}
	case "pubsub":
		return typePubSub, fsm.Value{}
	case "replica", "slave":
		return typeReplica, fsm.Value{}
	case "master":
		return typeMaster, fsm.Value{}
	}
	return "", fsm.Err("ERR Unknown client type '" + oneLine(string(b)) + "'")
}

// clientList answers CLIENT LIST [TYPE type] | [ID id [id ...]].
func clientList(c *conn, args [][]byte) fsm.Value {
	var typ string
	var ids []int64
	switch {
	case len(args) == 0:
	case len(args) == 2 && strings.EqualFold(string(args[0]), "type"):
		var errv fsm.Value
		if typ, errv = parseClientType(args[1]); errv.IsError() {
			return errv
		}
	case len(args) >= 2 && strings.EqualFold(string(args[0]), "id"):
		for _, a := range args[1:] {
			id, err := strconv.ParseInt(string(a), 10, 64)
			if err != nil {
				return fsm.Err("ERR Invalid client ID")
			}
			ids = append(ids, id)
		}
	default:
		return fsm.Err("ERR syntax error")
	}
	var sb strings.Builder
	for _, o := range c.srv.snapshotConns() {
		if (typ != "" && o.clientType() != typ) || (ids != nil && !slices.Contains(ids, o.id)) {
			continue
		}
		sb.WriteString(o.infoLine())
		sb.WriteByte('\n')
	}
	return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(sb.String())}
}

// clientKill supports the old form (CLIENT KILL addr) and the filters ID,
// TYPE, ADDR, LADDR, USER and SKIPME, as Redis 7 does. A client that kills
// itself (SKIPME no) gets the reply first, then its connection closes.
func clientKill(c *conn, args [][]byte) fsm.Value {
	if len(args) == 1 {
		for _, o := range c.srv.snapshotConns() {
			if o.nc.RemoteAddr().String() == string(args[0]) {
				c.kill(o)
				return fsm.OK
			}
		}
		return fsm.Err("ERR No such client")
	}
	if len(args)%2 != 0 {
		return fsm.Err("ERR syntax error")
	}
	var id int64 = -1
	var addr, laddr, user, typ string
	skipMe := true
	for i := 0; i < len(args); i += 2 {
		v := string(args[i+1])
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fsm.Err("ERR client-id should be greater than 0")
			}
			id = n
		case "type":
			var errv fsm.Value
			if typ, errv = parseClientType(args[i+1]); errv.IsError() {
				return errv
			}
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "user":
			if _, ok := c.srv.cfg.Users.byName[v]; !ok {
				return fsm.Err("ERR No such user '" + oneLine(v) + "'")
			}
			user = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				return fsm.Err("ERR syntax error")
			}
		default:
			return fsm.Err("ERR syntax error")
		}
	}
	var n int64
	for _, o := range c.srv.snapshotConns() {
		if (id >= 0 && o.id != id) || (addr != "" && o.nc.RemoteAddr().String() != addr) ||
			(laddr != "" && o.nc.LocalAddr().String() != laddr) || (user != "" && o.auth.userName() != user) ||
			(typ != "" && o.clientType() != typ) || (skipMe && o == c) {
			continue
		}
		c.kill(o)
		n++
	}
	return fsm.Int(n)
}

// kill closes o's connection; c itself is closed after this reply.
func (c *conn) kill(o *conn) {
	if o == c {
		c.closeAfterReply = true
		return
	}
	o.nc.Close()
}

// clientHelp is CLIENT HELP in Redis's layout, for the subcommands served.
func clientHelp() fsm.Value {
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"    * ID <client-id>",
		"      Kill connections by client id.",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"    * ID <client-id> [client-id ...]",
		"      Return clients of specified IDs only.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>",
		"    Set client meta attr. Options are:",
		"    * LIB-NAME: the client lib name.",
		"    * LIB-VER: the client lib version.",
		"NO-EVICT (ON|OFF)",
		"    Accepted and ignored: clients are never evicted.",
		"NO-TOUCH (ON|OFF)",
		"    Accepted and ignored.",
		"HELP",
		"    Print this help.",
	}
	return fsm.SimpleLines(lines)
}

// configValues is the read-only view CONFIG GET offers.
func (s *Server) configValues() map[string]string {
	nc := s.node.Config()
	return map[string]string{
		"maxclients":                      strconv.Itoa(s.cfg.Clients.MaxClients),
		"databases":                       "1",
		"proto-max-bulk-len":              strconv.FormatInt(s.cfg.Limits.MaxBulkLen, 10),
		"port":                            strconv.Itoa(func() int { _, p := splitHostPort(s.ln.Addr().String()); return p }()),
		"bind":                            func() string { h, _ := splitHostPort(s.ln.Addr().String()); return h }(),
		"appendonly":                      "yes",
		"appendfsync":                     "always",
		"save":                            "",
		"timeout":                         strconv.FormatInt(int64(s.cfg.Clients.IdleTimeout/time.Second), 10),
		"maxmemory":                       strconv.FormatInt(s.cfg.Clients.MaxMemory, 10),
		"client-output-buffer-limit":      "normal 0 0 0 replica 0 0 0 " + s.cfg.Clients.PubSub.String(),
		"maxmemory-policy":                "noeviction",
		"replica-read-only":               "yes",
		"slave-read-only":                 "yes",
		"cluster-enabled":                 "no",
		"notify-keyspace-events":          "",
		"understudy-follower-mode":        string(s.cfg.FollowerMode),
		"understudy-heartbeat-timeout":    nc.HeartbeatTimeout.String(),
		"understudy-election-timeout":     nc.ElectionTimeout.String(),
		"understudy-leader-lease-timeout": nc.LeaderLeaseTimeout.String(),
		"understudy-snapshot-threshold":   strconv.FormatUint(nc.SnapshotThreshold, 10),
		"understudy-trailing-logs":        strconv.FormatUint(nc.TrailingLogs, 10),
		"understudy-sentinel-name":        s.cfg.SentinelName,
		"slowlog-log-slower-than":         strconv.FormatInt(s.cfg.SlowlogLogSlowerThan, 10),
		"slowlog-max-len":                 strconv.Itoa(s.cfg.SlowlogMaxLen),
	}
}

func cmdConfig(c *conn, argv [][]byte) fsm.Value {
	switch strings.ToLower(string(argv[1])) {
	case "get":
		if len(argv) < 3 {
			return fsm.ErrArity("config|get")
		}
		vals := c.srv.configValues()
		keys := make([]string, 0, len(vals))
		for k := range vals {
			for _, p := range argv[2:] {
				if fsm.GlobMatch([]byte(strings.ToLower(string(p))), []byte(k)) {
					keys = append(keys, k)
					break
				}
			}
		}
		sort.Strings(keys)
		out := make([]fsm.Value, 0, 2*len(keys))
		for _, k := range keys {
			out = append(out, fsm.BulkString(k), fsm.BulkString(vals[k]))
		}
		return fsm.Value{Kind: fsm.KindMap, Arr: out}
	case "set", "rewrite", "resetstat":
		return fsm.Err("ERR CONFIG " + strings.ToUpper(string(argv[1])) + " is not supported: settings are fixed at start-up (flags and UNDERSTUDY_* variables)")
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try CONFIG HELP.")
}

func cmdTime(*conn, [][]byte) fsm.Value {
	now := time.Now()
	return fsm.Array([]fsm.Value{
		fsm.BulkString(strconv.FormatInt(now.Unix(), 10)),
		fsm.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10)),
	})
}
