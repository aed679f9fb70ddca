package resp

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
)

// A client connection: its state, and its read loop, which hands each
// command to dispatch (conn_dispatch.go) while a second goroutine writes
// the replies in order (conn_reply.go).

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
	// led: this node has served the client as leader (reader goroutine
	// only). Once leadership moves, such a client is told to leave
	// (CloseClients); until then its commands are refused, not forwarded.
	led bool
	// auth is who the client is (auth.go).
	auth authState

	// track is this connection's client-side caching mode (tracking.go).
	track trackState
	// CLIENT REPLY: replyOff silences every reply; skipNext the next
	// command's, skipThis the current one's. Reader goroutine only.
	replyOff, skipNext, skipThis bool
	// unblock ends a blocking command early (CLIENT UNBLOCK): true for an
	// error, false for a timeout.
	unblock chan bool
	// db is the database this connection's commands run in (SELECT);
	// reader goroutine only, mirrored in dbNum for CLIENT LIST.
	db    int
	dbNum atomic.Int32

	last      *slot
	lastClass class
	up        *upstream // the leader connection this client's forwards use
	tx        txState
	// fwdTx: this follower connection forwarded a MULTI; until EXEC or
	// DISCARD everything goes to the leader, where it is queued. txDB is
	// the database a SELECT queued there moves to (-1: none).
	fwdTx bool
	txDB  int
	// upTx: the leader connection (up) may hold this client's WATCHes or
	// transaction, so it is closed, never pooled for another client;
	// txLost: a leader connection that held them was given up (the leader
	// changed, or it broke), so the transaction must fail at EXEC rather
	// than run without them (forward.go).
	upTx, txLost bool
	// monitoring: MONITOR was sent; the connection gets every command (monitor.go).
	monitoring bool
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
	// ownWrite is the relay's answer to UNDERSTUDY.LASTINDEX after this
	// READONLY connection's last forwarded write (readonly.go).
	ownWrite *slot
	// readonly (READONLY, as in Redis Cluster) lets a follower serve reads
	// from its own, possibly stale, state.
	readonly atomic.Bool
	// Mirrors of reader-owned state for CLIENT LIST on other goroutines.
	nSub, nPSub, nSSub, nMulti atomic.Int32
	blocked                    atomic.Bool // in a blocking command (blocking.go)
	cur                        curCmd      // the command being dispatched (cmdstats.go)

	// lim is this connection's part of the client limits (limits.go).
	lim connLimits
}

// mirror publishes the reader-owned state CLIENT LIST shows.
func (c *conn) mirror() {
	c.nSub.Store(int32(len(c.subs.channels)))
	c.nPSub.Store(int32(len(c.subs.patterns)))
	c.nSSub.Store(int32(len(c.subs.shards)))
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
		unblock:   make(chan bool, 1),
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
		if c.monitoring {
			c.srv.monitors.remove(c)
		}
		c.unsubscribeAll()
		close(c.slots)
		<-writerDone
		c.releaseUpstream()
		if c.leaving.Load() != nil {
			lingerClose(c.nc, time.Second)
			return
		}
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
