package resp

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/node"
)

// class orders commands on one connection. Commands of one class pipeline
// freely; before a command of another class is started, the previous one must
// have completed, so that a read never overtakes an earlier write on the same
// connection (or the reverse) while they travel different paths.
type class uint8

const (
	classLocal class = iota
	classWrite
	classRead
	classForward
)

// slot is one reply owed to the client, in request order.
type slot struct {
	val   fsm.Value
	fut   *node.Future  // reply from the node
	done  chan struct{} // closed when a forwarded reply (raw or err) is in
	raw   []byte
	err   error
	write bool
	quit  bool // close the connection after this reply
	// post rewrites the node's reply before it is written (EXEC splices
	// node-local replies into the transaction's array).
	post func(fsm.Value) fsm.Value
	// block extends the wait for a forwarded reply (blocking commands).
	block   time.Duration
	cmdMeta // command stats and slow log (cmdstats.go)
}

func (s *slot) wait() {
	switch {
	case s.fut != nil:
		<-s.fut.Done()
	case s.done != nil:
		<-s.done
	}
}

type conn struct {
	srv   *Server
	nc    net.Conn
	id    int64
	rd    *Reader
	wr    *Writer
	slots chan *slot
	proto atomic.Int32
	name  atomic.Pointer[string]

	// forwarded marks a connection from a follower relaying its clients: it is
	// never forwarded again (no loops) and not closed on leadership changes.
	forwarded atomic.Bool
	// auth is who the client is (auth.go).
	auth authState

	last      *slot
	lastClass class
	up        *upstream // the leader connection this client's forwards use
	tx        txState
	// fwdTx: this follower connection forwarded a MULTI; until EXEC or
	// DISCARD everything goes to the leader, where it is queued.
	fwdTx bool
	// pushes queues out-of-band pub/sub messages for the writer, which
	// pushReady wakes. A queue rather than a buffered channel: a channel
	// deep enough for a busy subscriber would cost every connection its
	// full size up front.
	pushMu    sync.Mutex
	pushes    []fsm.Value
	pushReady chan struct{}
	subs      subState
	// lastWrite is this connection's latest write (WAIT asks about it).
	lastWrite *slot
	// closeAfterReply: a node-local command (CLIENT KILL of itself) asked
	// for the connection to end once its reply is written.
	closeAfterReply bool
	// leaving, once set, ends the connection: the reader stops, and the
	// writer sends what is owed, then this error (Server.CloseClients).
	leaving atomic.Pointer[fsm.Value]

	created    time.Time
	lastActive atomic.Int64 // Unix ns
	lastCmd    atomic.Pointer[string]
	lib        atomic.Pointer[[2]string] // CLIENT SETINFO lib-name, lib-ver
	// readonly (READONLY, as in Redis Cluster) lets a follower serve reads
	// from its own, possibly stale, state.
	readonly atomic.Bool
	// Mirrors of reader-owned state for CLIENT LIST on other goroutines.
	nSub, nPSub, nMulti atomic.Int32
	blocked             atomic.Bool // in a blocking command (blocking.go)
	cur                 curCmd      // the command being dispatched (cmdstats.go)

	// lim is this connection's part of the client limits (limits.go).
	lim connLimits
}

// mirror publishes the reader-owned state CLIENT LIST shows.
func (c *conn) mirror() {
	c.nSub.Store(int32(len(c.subs.channels)))
	c.nPSub.Store(int32(len(c.subs.patterns)))
	m := int32(-1)
	if c.tx.active {
		m = int32(len(c.tx.items))
	}
	c.nMulti.Store(m)
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:       s,
		nc:        nc,
		id:        s.nextID.Add(1),
		slots:     make(chan *slot, s.cfg.MaxPipeline),
		pushReady: make(chan struct{}, 1),
		created:   time.Now(),
	}
	c.lastActive.Store(c.created.UnixNano())
	c.rd = NewReader(c.input(), s.cfg.Limits) // input, output: idle and write timeouts (limits.go)
	c.wr = NewWriter(c.output())
	c.proto.Store(2)
	c.auth.set(s.cfg.Users.anon)
	return c
}

// serve reads requests until the client leaves or breaks the protocol. A
// second goroutine writes replies in order as they complete.
func (c *conn) serve() {
	writerDone := make(chan struct{})
	go c.writeLoop(writerDone)
	defer func() {
		c.unsubscribeAll()
		close(c.slots)
		<-writerDone
		c.releaseUpstream()
		c.nc.Close()
	}()
	for {
		if c.rd.Buffered() == 0 {
			// Nothing more pipelined: push forwarded requests out now.
			c.flushUpstream()
		}
		argv, err := c.rd.ReadCommand()
		if bye := c.leaving.Load(); bye != nil {
			// Whatever was read is not executed: the farewell, a
			// TRYAGAIN, is its reply.
			c.push(&slot{val: *bye})
			return
		}
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				c.srv.stats.protoErrors.Add(1)
				c.srv.log.Debug("protocol error", "client", c.nc.RemoteAddr().String(), "err", err)
				c.push(&slot{val: fsm.Err("ERR " + pe.Error()), quit: true})
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.log.Debug("client read", "client", c.nc.RemoteAddr().String(), "err", err)
			}
			return
		}
		if c.lim.probation && !c.onProbation(argv) { // accepted past maxclients (limits.go)
			return
		}
		c.srv.stats.commands.Add(1)
		quit := c.dispatch(argv)
		c.mirror()
		if quit {
			return
		}
	}
}

func (c *conn) push(s *slot) {
	c.stamp(s)
	c.lim.owed.Add(1)
	c.slots <- s
}

// order waits, when the class changes, for the previous command to finish.
func (c *conn) order(cl class, s *slot) {
	if c.last != nil && c.lastClass != cl && cl != classLocal && c.lastClass != classLocal {
		c.flushUpstream()
		c.last.wait()
	}
	if cl != classLocal {
		c.last, c.lastClass = s, cl
	}
}

func (c *conn) writeLoop(done chan<- struct{}) {
	defer close(done)
	broken := false
	for {
		var s *slot
		select {
		case <-c.pushReady:
			c.pushMu.Lock()
			q := c.pushes
			c.pushes = nil
			c.pushMu.Unlock()
			var err error
			for _, v := range q {
				if !broken && err == nil {
					c.wr.SetProto(int(c.proto.Load()))
					err = c.wr.WriteValue(v)
				}
				c.pushWritten(v)
			}
			if !broken && err == nil && len(c.slots) == 0 {
				err = c.wr.Flush()
			}
			if !broken && err != nil {
				broken = true
				c.nc.Close()
			}
			continue
		case sl, ok := <-c.slots:
			if !ok {
				if !broken {
					_ = c.wr.Flush()
				}
				return
			}
			s = sl
		}
		if broken {
			continue
		}
		s.wait()
		c.wr.SetProto(int(c.proto.Load()))
		var err error
		var out fsm.Value // what was written, for the stats (raw: relayed as is)
		var raw []byte
		switch {
		case s.fut != nil:
			v, ferr := s.fut.Result()
			if ferr != nil {
				v = c.srv.errorReply(ferr, s.write)
			} else if s.post != nil {
				v = s.post(v)
			}
			out = v
			err = c.wr.WriteValue(v)
		case s.done != nil:
			switch {
			case s.err != nil:
				out = c.srv.errorReply(s.err, s.write)
				err = c.wr.WriteValue(out)
			case s.post != nil && len(s.raw) > 0 && s.raw[0] != '-':
				out = s.post(fsm.Value{})
				err = c.wr.WriteValue(out)
			default:
				raw = s.raw
				err = c.wr.WriteRaw(s.raw)
			}
		default:
			out = s.val
			err = c.wr.WriteValue(s.val)
		}
		c.finish(s, out, raw)
		if err == nil && (len(c.slots) == 0 || s.quit) {
			err = c.wr.Flush()
		}
		if err != nil || s.quit {
			broken = true
			// Unblock the reader: it may be waiting to push more slots.
			c.nc.Close()
		}
		c.lim.owed.Add(-1)
	}
}

// dispatch routes one command; it reports whether the connection should end.
func (c *conn) dispatch(argv [][]byte) bool {
	n := c.srv.node
	name := lowerName(argv[0])
	c.beginCmd(name, argv)
	c.lastActive.Store(c.cur.start.UnixNano())
	c.lastCmd.Store(lastCmdName(name, argv))
	// One atomic load for an authenticated client with every permission.
	if (!c.auth.full.Load() || c.fwdTx || name == "reset") && c.authGate(name, argv) {
		return false
	}
	leads := n.IsLeader() || c.forwarded.Load()
	if isTxControl(name) {
		if leads {
			c.txControl(name, argv)
		} else {
			c.push(c.srv.routeToLeader(c, argv, true))
			switch name {
			case "multi":
				c.fwdTx = true
			case "exec", "discard":
				c.fwdTx = false
			}
		}
		return false
	}
	if c.fwdTx && name != "quit" && !leads {
		c.push(c.srv.routeToLeader(c, argv, true))
		return false
	}
	if c.tx.active && name != "quit" {
		c.queue(name, argv)
		return false
	}
	if c.inSubscribeMode() && !allowedInSubscribe(name) {
		c.push(&slot{val: fsm.Err("ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")})
		return false
	}
	switch name {
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe":
		c.subscribeCmd(name, argv)
		return false
	case "ping":
		if c.inSubscribeMode() {
			c.push(&slot{val: pingInSubscribe(cloneArgs(argv))})
			return false
		}
	case "blpop", "brpop", "blmove", "brpoplpush":
		if !leads {
			// The leader holds the reply back while the client is blocked:
			// the wait for it must allow for that.
			block := 24 * time.Hour
			if d, _, ok := parseTimeout(argv[len(argv)-1]); ok && d > 0 {
				block = d
			}
			c.push(c.srv.routeToLeaderBlocking(c, argv, block))
			return false
		}
		s := &slot{}
		c.order(classWrite, s)
		s.val = c.block(name, argv)
		c.push(s)
		return false
	case "pubsub":
		// Node-local, like Redis: this node's own subscribers (PUBLISH
		// reaches the subscribers of every node, each counted where it is).
		s := &slot{}
		c.order(classLocal, s)
		s.val = c.pubsubCmd(argv)
		c.push(s)
		return false
	case "wait":
		// A leader command that is not a log entry.
		if !leads {
			c.push(c.srv.routeToLeader(c, argv, false))
			return false
		}
		s := &slot{}
		c.order(classLocal, s)
		c.waitCmd(argv, s)
		c.push(s)
		return false
	}
	if lc := lookupLocal(name); lc != nil {
		// The reply may alias argv (ECHO), and the reader reuses argv's
		// memory before the writer sends the reply.
		argv = cloneArgs(argv)
		s := &slot{}
		if !checkArity(lc.arity, len(argv)) {
			s.val = fsm.ErrArity(lc.name)
		} else {
			s.val = lc.run(c, argv)
		}
		s.quit = lc.name == "quit" || c.closeAfterReply
		c.order(classLocal, s)
		c.push(s)
		return s.quit
	}
	cmd := fsm.Lookup(argv[0])
	if cmd == nil {
		c.push(&slot{val: fsm.ErrUnknownCommand(argv)})
		return false
	}
	if !cmd.CheckArity(len(argv)) {
		c.push(&slot{val: fsm.ErrArity(cmd.Name)})
		return false
	}
	if leads {
		if c.srv.denyOOM(cmd) { // maxmemory (memory.go)
			c.push(&slot{val: errOOM})
			return false
		}
		s := &slot{write: cmd.IsWrite()}
		if s.write {
			c.order(classWrite, s)
			s.fut = n.Write(argv)
			c.lastWrite = s
			if name == "publish" {
				// Like Redis, PUBLISH answers how many subscribers of this
				// node received it; every node delivers it on apply.
				ch := string(argv[1])
				s.post = func(fsm.Value) fsm.Value { return fsm.Int(c.srv.hub.receivers(ch)) }
			}
			c.srv.stats.writesServed.Add(1)
		} else {
			c.order(classRead, s)
			s.fut = n.Read(cloneArgs(argv))
			c.srv.stats.readsServed.Add(1)
		}
		c.push(s)
		return false
	}
	if c.readonly.Load() && !cmd.IsWrite() && !fsm.Internal(cmd.Name) {
		s := &slot{}
		c.order(classLocal, s)
		s.val = n.FSM().Read(time.Now().UnixMilli(), uint64(time.Now().UnixNano()), cloneArgs(argv))
		c.push(s)
		return false
	}
	sl := c.srv.routeToLeader(c, argv, cmd.IsWrite())
	if name == "publish" {
		ch := string(argv[1])
		sl.post = func(fsm.Value) fsm.Value { return fsm.Int(c.srv.hub.receivers(ch)) }
	}
	c.push(sl)
	return false
}

// lastCmdName is the command as CLIENT LIST's cmd= shows it: Redis 7 names
// a container command's subcommand too (client|info, config|get).
func lastCmdName(name string, argv [][]byte) *string {
	switch name {
	case "client", "config", "object", "pubsub", "command", "acl", "cluster", "slowlog":
		if len(argv) > 1 && len(argv[1]) <= 32 {
			full := name + "|" + lowerName(argv[1])
			return &full
		}
	}
	return &name
}

func checkArity(arity, argc int) bool {
	if arity >= 0 {
		return argc == arity
	}
	return argc >= -arity
}

// cloneArgs copies argv into one allocation: the reader reuses its buffers.
func cloneArgs(argv [][]byte) [][]byte {
	size := 0
	for _, a := range argv {
		size += len(a)
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, len(argv))
	for i, a := range argv {
		start := len(buf)
		buf = append(buf, a...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}
