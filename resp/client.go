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
	sub, psub, ssub, multi := c.nSub.Load(), c.nPSub.Load(), c.nSSub.Load(), c.nMulti.Load()
	var flags []byte
	switch {
	case c.blocked.Load():
		flags = append(flags, 'b')
	case multi >= 0:
		flags = append(flags, 'x')
	case sub+psub+ssub > 0:
		flags = append(flags, 'P')
	}
	c.srv.tracking.mu.Lock()
	tf, redir := c.track.flags, int64(-1)
	if tf&trackOn != 0 {
		redir = c.track.redirect
	}
	c.srv.tracking.mu.Unlock()
	if tf&trackOn != 0 {
		flags = append(flags, 't')
	}
	if tf&trackBrokenRedir != 0 {
		flags = append(flags, 'R')
	}
	if tf&trackBcast != 0 {
		flags = append(flags, 'B')
	}
	if len(flags) == 0 {
		flags = append(flags, 'N')
	}
	now := time.Now()
	age := int64(now.Sub(c.created).Seconds())
	idle := int64(now.Sub(time.Unix(0, c.lastActive.Load())).Seconds())
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=%s redir=%d resp=%d",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), name, age, idle, flags, c.dbNum.Load(),
		sub, psub, ssub, multi, cmd, c.auth.userName(), redir, c.proto.Load())
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

// cmdClient serves CLIENT's subcommands; the table (cmdtab) has already
// refused unknown subcommands and wrong argument counts, as Redis does.
func cmdClient(c *conn, argv [][]byte) fsm.Value {
	switch strings.ToLower(string(argv[1])) {
	case "setname":
		name := string(argv[2])
		if strings.ContainsAny(name, " \n") {
			return fsm.Err("ERR Client names cannot contain spaces, newlines or special characters.")
		}
		c.name.Store(&name)
		return fsm.OK
	case "getname":
		if p := c.name.Load(); p != nil && *p != "" {
			return fsm.BulkString(*p)
		}
		return fsm.Null
	case "id":
		return fsm.Int(c.id)
	case "info":
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(c.infoLine() + "\n")}
	case "list":
		return clientList(c, argv[2:])
	case "kill":
		return clientKill(c, argv[2:])
	case "no-evict":
		return onOff(argv[2], func(bool) {}) // clients are never evicted here
	case "tracking":
		return clientTracking(c, argv)
	case "caching":
		return clientCaching(c, argv)
	case "getredir":
		if c.track.flags&trackOn != 0 {
			return fsm.Int(c.track.redirect)
		}
		return fsm.Int(-1)
	case "trackinginfo":
		return clientTrackingInfo(c)
	case "reply":
		return clientReply(c, argv[2])
	case "pause":
		return clientPause(c, argv)
	case "unpause":
		c.srv.pause.unpause()
		return fsm.OK
	case "unblock":
		return clientUnblock(c, argv)
	}
	return clientHelp()
}

// onOff parses ON|OFF as Redis's CLIENT subcommands do.
func onOff(arg []byte, set func(bool)) fsm.Value {
	switch strings.ToLower(string(arg)) {
	case "on":
		set(true)
	case "off":
		set(false)
	default:
		return fsm.Err("ERR syntax error")
	}
	return fsm.OK
}

// clientReply is CLIENT REPLY ON|OFF|SKIP. OFF and SKIP get no reply
// themselves, as in Redis.
func clientReply(c *conn, arg []byte) fsm.Value {
	switch strings.ToLower(string(arg)) {
	case "on":
		c.replyOff, c.skipNext, c.skipThis = false, false, false
	case "off":
		c.replyOff = true
	case "skip":
		if !c.replyOff {
			c.skipNext, c.skipThis = true, true
		}
	default:
		return fsm.Err("ERR syntax error")
	}
	return fsm.OK
}

// clientPause is CLIENT PAUSE timeout [WRITE|ALL].
func clientPause(c *conn, argv [][]byte) fsm.Value {
	ms, err := strconv.ParseInt(string(argv[2]), 10, 64)
	if err != nil || ms < 0 {
		return fsm.Err("ERR timeout is not an integer or out of range")
	}
	all := true
	if len(argv) == 4 {
		switch strings.ToLower(string(argv[3])) {
		case "write":
			all = false
		case "all":
		default:
			return fsm.Err("ERR CLIENT PAUSE mode must be WRITE or ALL")
		}
	} else if len(argv) > 4 {
		return fsm.Err("ERR syntax error")
	}
	c.srv.pause.set(time.Duration(ms)*time.Millisecond, all)
	return fsm.OK
}

// clientUnblock is CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client of this node
// blocked in BLPOP and friends returns at once, as if it timed out, or with
// Redis's UNBLOCKED error. (A follower's client blocks on the leader,
// through its relay: unblock it on the follower it is connected to.)
func clientUnblock(c *conn, argv [][]byte) fsm.Value {
	id, err := strconv.ParseInt(string(argv[2]), 10, 64)
	if err != nil {
		return fsm.Err("ERR value is not an integer or out of range")
	}
	withErr := false
	if len(argv) == 4 {
		switch strings.ToLower(string(argv[3])) {
		case "timeout":
		case "error":
			withErr = true
		default:
			return fsm.Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
		}
	} else if len(argv) > 4 {
		return fsm.Err("ERR syntax error")
	}
	o := c.srv.connsByID()[id]
	if o == nil || !o.blocked.Load() {
		return fsm.Zero
	}
	select {
	case o.unblock <- withErr:
		return fsm.One
	default:
		return fsm.Zero
	}
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
	if c.subscribed() {
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

// clientHelp is Redis 7.0.15's CLIENT HELP.
func clientHelp() fsm.Value {
	return fsm.SimpleLines([]string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CACHING (YES|NO)",
		"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR",
		"    Return the client ID we are redirecting to when tracking is enabled.",
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
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"UNPAUSE",
		"    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Control server assisted client side caching.",
		"TRACKINGINFO",
		"    Report tracking status for the current connection.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.",
		"HELP",
		"    Prints this help.",
	})
}

func cmdTime(*conn, [][]byte) fsm.Value {
	now := time.Now()
	return fsm.Array([]fsm.Value{
		fsm.BulkString(strconv.FormatInt(now.Unix(), 10)),
		fsm.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10)),
	})
}
