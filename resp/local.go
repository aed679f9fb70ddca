package resp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/understudy/understudy/fsm"
)

// Node-local commands are answered by the node that receives them, whatever
// its role, and never forwarded.
type localCmd struct {
	name  string
	arity int
	run   func(c *conn, argv [][]byte) fsm.Value
}

// lookupLocal finds a node-local command by its lower-case name (lowerName).
func lookupLocal(name string) *localCmd {
	switch name {
	case "ping":
		return &localPing
	case "echo":
		return &localEcho
	case "quit":
		return &localQuit
	case "select":
		return &localSelect
	case "hello":
		return &localHello
	case "command":
		return &localCommand
	case "info":
		return &localInfo
	case "role":
		return &localRole
	case "client":
		return &localClient
	case "sentinel":
		return &localSentinel
	case "config":
		return &localConfig
	case "cluster":
		return &localCluster
	case "readonly":
		return &localReadonly
	case "readwrite":
		return &localReadwrite
	case "time":
		return &localTime
	case "slowlog":
		return &localSlowlog
	case "understudy.forwarded":
		return &localForwarded
	case "auth":
		return &localAuth
	case "acl":
		return &localACL
	case "debug":
		return &localDebug
	}
	return nil
}

// The local table: immutable values, referenced by lookupLocal.
var (
	localPing      = localCmd{"ping", -1, cmdPing}
	localEcho      = localCmd{"echo", 2, func(_ *conn, argv [][]byte) fsm.Value { return fsm.Bulk(argv[1]) }}
	localQuit      = localCmd{"quit", -1, func(*conn, [][]byte) fsm.Value { return fsm.OK }}
	localSelect    = localCmd{"select", 2, cmdSelect}
	localHello     = localCmd{"hello", -1, cmdHello}
	localCommand   = localCmd{"command", -1, cmdCommand}
	localInfo      = localCmd{"info", -1, cmdInfo}
	localRole      = localCmd{"role", 1, cmdRole}
	localClient    = localCmd{"client", -2, cmdClient}
	localSentinel  = localCmd{"sentinel", -2, cmdSentinel}
	localConfig    = localCmd{"config", -2, cmdConfig}
	localCluster   = localCmd{"cluster", -2, cmdCluster}
	localReadonly  = localCmd{"readonly", 1, cmdReadonly}
	localReadwrite = localCmd{"readwrite", 1, cmdReadwrite}
	localTime      = localCmd{"time", 1, cmdTime}
	localSlowlog   = localCmd{"slowlog", -2, cmdSlowlog}
	localDebug     = localCmd{"debug", -2, cmdDebug}
	localForwarded = localCmd{"understudy.forwarded", 1, func(c *conn, _ [][]byte) fsm.Value {
		c.markForwarded() // not a client for maxclients (limits.go)
		return fsm.OK
	}}
)

func cmdPing(_ *conn, argv [][]byte) fsm.Value {
	switch len(argv) {
	case 1:
		return fsm.Pong
	case 2:
		return fsm.Bulk(argv[1])
	}
	return fsm.ErrArity("ping")
}

func cmdSelect(_ *conn, argv [][]byte) fsm.Value {
	n, err := strconv.ParseInt(string(argv[1]), 10, 64)
	if err != nil {
		return fsm.Err("ERR value is not an integer or out of range")
	}
	if n != 0 {
		return fsm.Err("ERR DB index is out of range")
	}
	return fsm.OK
}

// cmdHello switches protocol (2 or 3) and describes the server, as Redis 7.
func cmdHello(c *conn, argv [][]byte) fsm.Value {
	proto := int(c.proto.Load())
	i := 1
	if len(argv) > 1 {
		v, err := strconv.ParseInt(string(argv[1]), 10, 64)
		if err != nil {
			return fsm.Err("ERR Protocol version is not an integer or out of range")
		}
		if v < 2 || v > 3 {
			return fsm.Err("NOPROTO unsupported protocol version")
		}
		proto = int(v)
		i = 2
	}
	var auth bool
	var user, pass []byte
	var setName *string
	for ; i < len(argv); i++ {
		switch {
		case strings.EqualFold(string(argv[i]), "auth") && i+2 < len(argv):
			auth, user, pass = true, argv[i+1], argv[i+2]
			i += 2
		case strings.EqualFold(string(argv[i]), "setname") && i+1 < len(argv):
			name := string(argv[i+1])
			setName = &name
			i++
		default:
			return fsm.Err("ERR Syntax error in HELLO option '" + string(argv[i]) + "'")
		}
	}
	// As Redis: authenticate first, then the name, then the protocol.
	if v, ok := c.helloAuth(auth, user, pass); !ok {
		return v
	}
	if setName != nil {
		if strings.ContainsAny(*setName, " \n") {
			return fsm.Err("ERR Client names cannot contain spaces, newlines or special characters.")
		}
		c.name.Store(setName)
	}
	c.proto.Store(int32(proto))
	role := "replica"
	if c.srv.node.IsLeader() {
		role = "master"
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
		fsm.BulkString("server"), fsm.BulkString("redis"),
		fsm.BulkString("version"), fsm.BulkString(redisVersion),
		fsm.BulkString("proto"), fsm.Int(int64(proto)),
		fsm.BulkString("id"), fsm.Int(c.id),
		fsm.BulkString("mode"), fsm.BulkString("standalone"),
		fsm.BulkString("role"), fsm.BulkString(role),
		fsm.BulkString("modules"), fsm.Array([]fsm.Value{}),
	}}
}

// redisVersion is the Redis version whose behaviour we follow; clients use it
// to decide which commands they may send.
const redisVersion = "7.2.0"

func cmdCommand(_ *conn, argv [][]byte) fsm.Value {
	if len(argv) == 1 {
		cmds := fsm.Commands()
		out := make([]fsm.Value, 0, len(cmds))
		for _, cmd := range cmds {
			if !fsm.Internal(cmd.Name) {
				out = append(out, commandInfo(cmd))
			}
		}
		for _, nc := range nodeCommands {
			v, _ := nodeCommandInfo(nc.name)
			out = append(out, v)
		}
		return fsm.Array(out)
	}
	switch strings.ToLower(string(argv[1])) {
	case "count":
		n := len(nodeCommands)
		for _, cmd := range fsm.Commands() {
			if !fsm.Internal(cmd.Name) {
				n++
			}
		}
		return fsm.Int(int64(n))
	case "info":
		out := make([]fsm.Value, 0, len(argv)-2)
		for _, name := range argv[2:] {
			if cmd := fsm.Lookup(name); cmd != nil && !fsm.Internal(cmd.Name) {
				out = append(out, commandInfo(cmd))
			} else if v, ok := nodeCommandInfo(lowerName(name)); ok {
				out = append(out, v)
			} else {
				out = append(out, fsm.NullArray)
			}
		}
		return fsm.Array(out)
	case "docs":
		// redis-cli asks for docs to show hints; none is a valid answer.
		return fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{}}
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try COMMAND HELP.")
}

func commandInfo(cmd *fsm.Command) fsm.Value {
	flag := "readonly"
	switch {
	case cmd.Name == "publish":
		flag = "pubsub" // replicated through the log here, but not a write to Redis clients
	case cmd.IsWrite():
		flag = "write"
	}
	return describe(cmd.Name, cmd.Arity, flag, cmd.First, cmd.Last, cmd.Step)
}

// nodeCommands describes the commands the RESP layer itself answers, so that
// COMMAND lists everything a client may send.
var nodeCommands = []struct {
	name              string
	arity             int
	flag              string
	first, last, step int
}{
	{"ping", -1, "fast", 0, 0, 0}, {"echo", 2, "fast", 0, 0, 0}, {"quit", -1, "fast", 0, 0, 0},
	{"select", 2, "fast", 0, 0, 0}, {"hello", -1, "fast", 0, 0, 0}, {"command", -1, "readonly", 0, 0, 0},
	// Container commands (CLIENT, CONFIG, ...) carry their flags on their
	// subcommands in Redis; "readonly" sums them up for routing clients.
	// SENTINEL is left out, as a Redis server leaves it out.
	{"info", -1, "loading", 0, 0, 0}, {"role", 1, "fast", 0, 0, 0}, {"client", -2, "readonly", 0, 0, 0},
	{"config", -2, "readonly", 0, 0, 0}, {"time", 1, "fast", 0, 0, 0}, {"slowlog", -2, "readonly", 0, 0, 0},
	{"debug", -2, "admin", 0, 0, 0},
	{"cluster", -2, "readonly", 0, 0, 0}, {"readonly", 1, "fast", 0, 0, 0}, {"readwrite", 1, "fast", 0, 0, 0},
	{"multi", 1, "fast", 0, 0, 0}, {"exec", 1, "loading", 0, 0, 0}, {"discard", 1, "fast", 0, 0, 0},
	{"watch", -2, "fast", 1, -1, 1}, {"unwatch", 1, "fast", 0, 0, 0},
	{"subscribe", -2, "pubsub", 0, 0, 0}, {"psubscribe", -2, "pubsub", 0, 0, 0},
	{"unsubscribe", -1, "pubsub", 0, 0, 0}, {"punsubscribe", -1, "pubsub", 0, 0, 0},
	{"pubsub", -2, "readonly", 0, 0, 0}, {"wait", 3, "noscript", 0, 0, 0},
	{"blpop", -3, "write", 1, -2, 1}, {"brpop", -3, "write", 1, -2, 1},
	{"blmove", 6, "write", 1, 2, 1}, {"brpoplpush", 4, "write", 1, 2, 1},
	{"auth", -2, "fast", 0, 0, 0}, {"acl", -2, "readonly", 0, 0, 0}, {"reset", 1, "fast", 0, 0, 0},
}

func nodeCommandInfo(name string) (fsm.Value, bool) {
	for _, c := range nodeCommands {
		if c.name == name {
			return describe(c.name, c.arity, c.flag, c.first, c.last, c.step), true
		}
	}
	return fsm.Value{}, false
}

func describe(name string, arity int, flag string, first, last, step int) fsm.Value {
	return fsm.Array([]fsm.Value{
		fsm.BulkString(name),
		fsm.Int(int64(arity)),
		{Kind: fsm.KindSet, Arr: []fsm.Value{fsm.Simple(flag)}},
		fsm.Int(int64(first)),
		fsm.Int(int64(last)),
		fsm.Int(int64(step)),
		{Kind: fsm.KindSet, Arr: []fsm.Value{}},
		{Kind: fsm.KindSet, Arr: []fsm.Value{}},
		fsm.Array([]fsm.Value{}),
		fsm.Array([]fsm.Value{}),
	})
}

// cmdDebug answers DEBUG DIGEST, the one DEBUG subcommand here: a digest of
// this node's whole state (keys, values, expiries, the replicated clock and
// metadata), which is equal on every replica at the same applied index, so
// operators and the chaos suite can check that the nodes converged. Like
// Redis's it is 40 hex digits; unlike Redis's it is answered from the node's
// local state, never forwarded. DEBUG DIGEST APPLIED also gives the applied
// index the digest reflects.
func cmdDebug(c *conn, argv [][]byte) fsm.Value {
	sub := strings.ToLower(string(argv[1]))
	if sub != "digest" || len(argv) > 3 || (len(argv) == 3 && !strings.EqualFold(string(argv[2]), "applied")) {
		if sub == "digest" {
			return fsm.Err("ERR syntax error")
		}
		return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Only DEBUG DIGEST is supported here.")
	}
	h, applied := c.srv.node.FSM().HashAt()
	digest := fmt.Sprintf("%040x", h)
	if len(argv) == 3 {
		return fsm.Array([]fsm.Value{fsm.BulkString(digest), fsm.Int(int64(applied))})
	}
	return fsm.BulkString(digest)
}
