package resp

import (
	"strconv"

	"github.com/understudy/understudy/fsm"
)

// Transactions live on the connection that holds them: the leader's. On a
// follower, MULTI, WATCH and everything between them are forwarded like any
// data command, so the leader-side connection (a dedicated upstream) holds the
// transaction state.

type txItem struct {
	local *fsm.Value // a node-local command, answered at queue time
}

type txState struct {
	active  bool
	dirty   bool
	items   []txItem // in order; nil local = a data command, in cmds
	cmds    []byte   // AppendCmd records of the data commands
	watches []byte   // AppendWatch records
	// closeAfterExec: a queued CLIENT KILL killed this connection, which
	// ends once EXEC's reply is written.
	closeAfterExec bool
}

func (t *txState) reset() { *t = txState{} }

// isTxControl reports whether name is one of the commands that manage a
// transaction rather than being queued by it.
func isTxControl(name string) bool {
	switch name {
	case "multi", "exec", "discard", "watch", "unwatch":
		return true
	}
	return false
}

func lowerName(b []byte) string {
	var buf [32]byte
	if len(b) > len(buf) {
		return ""
	}
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return string(buf[:len(b)])
}

// txControl runs MULTI, EXEC, DISCARD, WATCH or UNWATCH on the leader.
func (c *conn) txControl(name string, argv [][]byte) {
	t := &c.tx
	reply := func(v fsm.Value) {
		// Any error while a transaction is open poisons it, as in Redis.
		if t.active && v.Kind == fsm.KindError {
			t.dirty = true
		}
		c.push(&slot{val: v})
	}
	switch name {
	case "multi":
		switch {
		case len(argv) != 1:
			reply(fsm.ErrArity("multi"))
		case t.active:
			c.push(&slot{val: fsm.Err("ERR MULTI calls can not be nested")})
		default:
			t.active = true
			reply(fsm.OK)
		}
	case "discard":
		switch {
		case len(argv) != 1:
			reply(fsm.ErrArity("discard"))
		case !t.active:
			reply(fsm.Err("ERR DISCARD without MULTI"))
		default:
			t.reset()
			reply(fsm.OK)
		}
	case "unwatch":
		if len(argv) != 1 {
			reply(fsm.ErrArity("unwatch"))
			return
		}
		if t.active {
			c.queue(name, argv)
			return
		}
		t.watches = nil
		reply(fsm.OK)
	case "watch":
		switch {
		case len(argv) < 2:
			reply(fsm.ErrArity("watch"))
		case t.active:
			// An error, but one that leaves the transaction intact.
			c.push(&slot{val: fsm.Err("ERR WATCH inside MULTI is not allowed")})
		default:
			c.watch(argv[1:])
		}
	case "exec":
		switch {
		case len(argv) != 1:
			// Redis aborts (and answers EXECABORT) whether or not a
			// transaction is open.
			t.reset()
			c.push(&slot{val: fsm.Err("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")})
		case !t.active:
			reply(fsm.Err("ERR EXEC without MULTI"))
		case t.dirty:
			t.reset()
			reply(fsm.Err("EXECABORT Transaction discarded because of previous errors."))
		default:
			c.exec()
		}
	}
}

// watch records the current version of each key, read linearizably so that
// every write acknowledged before WATCH is accounted for.
func (c *conn) watch(keys [][]byte) {
	argv := make([][]byte, 0, len(keys)+1)
	argv = append(argv, []byte(fsm.VersionsCommand))
	argv = append(argv, keys...)
	argv = cloneArgs(argv)
	s := &slot{}
	c.order(classRead, s)
	s.fut = c.srv.node.Read(argv)
	c.flushUpstream()
	<-s.fut.Done()
	v, err := s.fut.Result()
	// One version per key, then the index they were read at.
	if err == nil && (v.Kind != fsm.KindArray || len(v.Arr) != len(keys)+1) {
		err = errMalformedVersions
	}
	if err != nil {
		c.push(&slot{val: c.srv.errorReply(err, false)})
		return
	}
	at, _ := strconv.ParseUint(string(v.Arr[len(keys)].Str), 10, 64)
	for i, k := range argv[1:] {
		ver, _ := strconv.ParseUint(string(v.Arr[i].Str), 10, 64)
		c.tx.watches = fsm.AppendWatch(c.tx.watches, k, ver, at)
	}
	c.push(&slot{val: fsm.OK})
}

type txError string

func (e txError) Error() string { return string(e) }

const errMalformedVersions = txError("internal error: bad WATCH versions reply")

// queue adds a command to the open transaction, checking it as Redis does at
// queue time: an unknown command or a wrong argument count poisons the
// transaction (EXEC then answers EXECABORT).
func (c *conn) queue(name string, argv [][]byte) {
	t := &c.tx
	switch name {
	case "blpop", "brpop", "blmove", "brpoplpush":
		// Inside a transaction a blocking pop does not block: it is its
		// non-blocking form, as in Redis.
		attempt, keys, _, _, errv := blockingPlan(name, argv)
		if errv.Kind == fsm.KindError {
			t.dirty = true
			c.push(&slot{val: errv})
			return
		}
		argv = attempt(keys)
	case "pubsub", "wait":
		argv = cloneArgs(argv)
		s := &slot{}
		if name == "pubsub" {
			s.val = c.pubsubCmd(argv)
		} else {
			s.val = fsm.Zero // no write of this transaction has happened yet
		}
		v := s.val
		t.items = append(t.items, txItem{local: &v})
		c.push(&slot{val: fsm.Queued})
		return
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe":
		// Redis queues these and subscribes at EXEC; here the subscription
		// starts at once and its replies join EXEC's array.
		for _, v := range c.subscribeValues(name, cloneArgs(argv)) {
			t.items = append(t.items, txItem{local: &v})
		}
		c.push(&slot{val: fsm.Queued})
		return
	}
	if lc := lookupLocal(name); lc != nil {
		argv = cloneArgs(argv)
		var v fsm.Value
		if !checkArity(lc.arity, len(argv)) {
			v = fsm.ErrArity(lc.name)
			t.dirty = true
			c.push(&slot{val: v})
			return
		}
		v = lc.run(c, argv)
		if c.closeAfterReply {
			c.closeAfterReply = false
			t.closeAfterExec = true
		}
		t.items = append(t.items, txItem{local: &v})
		c.push(&slot{val: fsm.Queued})
		return
	}
	cmd := fsm.Lookup(argv[0])
	switch {
	case cmd == nil:
		t.dirty = true
		c.push(&slot{val: fsm.ErrUnknownCommand(argv)})
		return
	case !cmd.CheckArity(len(argv)):
		t.dirty = true
		c.push(&slot{val: fsm.ErrArity(cmd.Name)})
		return
	case c.srv.denyOOM(cmd): // maxmemory, checked at queue time as Redis does (memory.go)
		t.dirty = true
		c.push(&slot{val: errOOM})
		return
	}
	t.cmds = fsm.AppendCmd(t.cmds, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
	t.items = append(t.items, txItem{})
	c.push(&slot{val: fsm.Queued})
}

// exec proposes the transaction as one log entry and splices the replies of
// node-local commands back in place.
func (c *conn) exec() {
	t := c.tx
	c.tx.reset()
	argv := [][]byte{[]byte(fsm.ExecCommand), t.watches, t.cmds}
	if t.watches == nil {
		argv[1] = []byte{}
	}
	if t.cmds == nil {
		argv[2] = []byte{}
	}
	items := t.items
	s := &slot{write: true, post: func(v fsm.Value) fsm.Value {
		if v.Kind != fsm.KindArray {
			return v // aborted by WATCH (null array) or an error
		}
		out := make([]fsm.Value, len(items))
		j := 0
		for i, it := range items {
			if it.local != nil {
				out[i] = *it.local
				continue
			}
			if j < len(v.Arr) {
				out[i] = v.Arr[j]
			}
			j++
		}
		return fsm.Array(out)
	}}
	s.quit = t.closeAfterExec
	c.order(classWrite, s)
	s.fut = c.srv.node.Write(argv)
	c.lastWrite = s
	c.push(s)
}
