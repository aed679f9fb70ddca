package resp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/understudy/understudy/fsm"
)

func cmdPing(c *conn, argv [][]byte) fsm.Value {
	if c.inSubscribeMode() {
		return pingInSubscribe(argv)
	}
	switch len(argv) {
	case 1:
		return fsm.Pong
	case 2:
		return fsm.Bulk(argv[1])
	}
	return fsm.ErrArity("ping")
}

// cmdSelect is SELECT: the connection's database, one of those the cluster
// has (fsm.FSM.Databases: just 0 until every member runs a build with
// databases). Inside MULTI it changes the database of the commands queued
// after it, and the connection's only if EXEC runs them (tx.go).
func cmdSelect(c *conn, argv [][]byte) fsm.Value {
	n, err := strconv.ParseInt(string(argv[1]), 10, 32)
	if err != nil {
		return fsm.Err("ERR value is not an integer or out of range")
	}
	if n < 0 || n >= int64(c.srv.node.FSM().Databases()) {
		return fsm.Err("ERR DB index is out of range")
	}
	if c.tx.active {
		c.tx.db = int(n)
	} else {
		c.setDB(int(n))
	}
	return fsm.OK
}

// setDB moves the connection to database n.
func (c *conn) setDB(n int) {
	c.db = n
	c.dbNum.Store(int32(n))
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
	if v, ok := c.helloAuth(argv[0], auth, user, pass); !ok {
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
