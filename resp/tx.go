package resp

import (
	"strconv"

	"github.com/understudy/understudy/cmdtab"
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
	// db is the database queued commands run in: the connection's at
	// MULTI, then as queued SELECTs leave it. It becomes the connection's
	// only if EXEC runs the transaction, as in Redis.
	db int
}

func (t *txState) reset() { *t = txState{} }

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
			t.db = c.db
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
			// Queued, as in Redis; at EXEC it runs after the watched keys
			// were checked, so it changes nothing: its reply is OK.
			v := fsm.OK
			t.items = append(t.items, txItem{local: &v})
			c.push(&slot{val: fsm.Queued})
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
		case c.txLost:
			// WATCHes taken through a relay before this node led (forward.go).
			t.reset()
			c.txLost = false
			c.push(&slot{val: fsm.Err("EXECABORT Transaction discarded because of: " + replyTxLost)})
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
	s.fut = c.srv.node.ReadDB(c.db, argv)
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
		c.tx.watches = fsm.AppendWatch(c.tx.watches, c.db, k, ver, at)
	}
	c.push(&slot{val: fsm.OK})
}

type txError string

func (e txError) Error() string { return string(e) }

const errMalformedVersions = txError("internal error: bad WATCH versions reply")

// queue adds a command to the open transaction. Unknown commands and wrong
// argument counts were refused before (dispatch), poisoning the transaction
// as in Redis; what is left is checked as Redis checks it at queue time.
func (c *conn) queue(cmd *command, spec *cmdtab.Spec, argv [][]byte) {
	t := &c.tx
	if spec.Has(cmdtab.NoMulti) { // SAVE
		t.dirty = true
		c.push(&slot{val: fsm.Err("ERR Command not allowed inside a transaction")})
		return
	}
	switch cmd.route {
	case routeBlocking:
		// Inside a transaction a blocking pop does not block: it is its
		// non-blocking form, as in Redis.
		attempt, keys, _, errv := blockingPlan(cmd, argv)
		if errv.Kind == fsm.KindError {
			// Redis queues it and answers the error inside EXEC's reply.
			t.items = append(t.items, txItem{local: &errv})
			c.push(&slot{val: fsm.Queued})
			return
		}
		argv = attempt(keys)
	case routeLeader:
		t.items = append(t.items, txItem{local: &errMigrateInMulti})
		c.push(&slot{val: fsm.Queued})
		return
	case routeWait:
		v := fsm.Zero // no write of this transaction has happened yet
		t.items = append(t.items, txItem{local: &v})
		c.push(&slot{val: fsm.Queued})
		return
	case routeSubscribe:
		// Redis queues these and subscribes at EXEC; here the subscription
		// starts at once and its replies join EXEC's array.
		for _, v := range c.txSubscribeValues(cmd.Name, cloneArgs(argv)) {
			t.items = append(t.items, txItem{local: &v})
		}
		c.push(&slot{val: fsm.Queued})
		return
	case routeLocal:
		argv = cloneArgs(argv)
		v := cmd.local(c, argv)
		if c.closeAfterReply {
			c.closeAfterReply = false
			t.closeAfterExec = true
		}
		t.items = append(t.items, txItem{local: &v})
		c.push(&slot{val: fsm.Queued})
		return
	}
	data := cmd.dataFor(argv)
	if cmd.route == routeBlocking {
		data = fsm.Lookup(argv[0]) // the non-blocking form
	}
	if level := c.srv.node.FSM().Level(); data.Since() > level {
		t.dirty = true
		c.push(&slot{val: fsm.ErrLevel(data.Name, data.Since(), level)})
		return
	}
	if c.track.flags&trackOn != 0 {
		if data.IsWrite() {
			c.trackWrite(spec, argv)
		} else {
			c.trackRead(spec, argv)
		}
	}
	if c.srv.denyOOM(data) { // maxmemory, checked at queue time as Redis does (memory.go)
		t.dirty = true
		c.push(&slot{val: errOOM})
		return
	}
	if v, refused := c.srv.scriptOOM(data, argv, c.srv.scriptWrite(data, argv)); refused {
		t.dirty = true
		c.push(&slot{val: v})
		return
	}
	argv = c.scriptACL(data, argv)
	t.cmds = fsm.AppendCmd(t.cmds, fsm.Cmd{Op: fsm.OpClient, DB: t.db, Argv: argv})
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
	if t.db != c.db {
		// A queued SELECT: the connection moves to its database only if
		// the transaction ran, which the next command must not overtake.
		c.flushUpstream()
		<-s.fut.Done()
		if v, err := s.fut.Result(); err == nil && v.Kind == fsm.KindArray {
			c.setDB(t.db)
		}
	}
}
