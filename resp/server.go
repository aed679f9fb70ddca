// Package resp serves the Redis protocol: it parses requests, answers
// node-local commands itself, sends data commands to the node (the leader) or
// forwards/redirects them to the leader (a follower), and writes replies in
// request order.
package resp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/tlsconf"
)

// FollowerMode says what a follower does with a data command.
type FollowerMode string

const (
	// FollowerForward relays the command to the leader and the reply back.
	FollowerForward FollowerMode = "forward"
	// FollowerRedirect answers -MOVED 0 <leader-client-addr>.
	FollowerRedirect FollowerMode = "redirect"
)

// Config configures the RESP server.
type Config struct {
	Addr string // listen address
	// OnShutdown stops the node gracefully when a client sends SHUTDOWN
	// (called once, on a goroutine of its own); nil refuses SHUTDOWN.
	OnShutdown   func()
	FollowerMode FollowerMode
	Limits       Limits
	// ForwardTimeout bounds the wait for the leader's reply to a forwarded command.
	ForwardTimeout time.Duration
	// MaxPipeline bounds replies queued on one connection before the server
	// stops reading more of its requests (back-pressure on pipelining).
	MaxPipeline int
	Version     string
	// SentinelName is the master name the Sentinel commands answer for.
	SentinelName string
	// Users are the accounts clients authenticate as (nil: only the
	// default user, without a password).
	Users *Users
	// SlowlogLogSlowerThan (µs) and SlowlogMaxLen are Redis's
	// slowlog-log-slower-than (negative: off, 0: every command) and
	// slowlog-max-len (slowlog.go).
	SlowlogLogSlowerThan int64
	SlowlogMaxLen        int
	// TLS, if set, serves clients over TLS only (TLS.Server), and a follower
	// forwards to the leader's client port with TLS.Client.
	TLS    *tlsconf.Pair
	Logger *slog.Logger

	// Clients bounds client connections, idle time, output and memory (limits.go).
	Clients ClientLimits

	// Peers, if set, is what this node knows of the other members' health
	// and progress (ROLE, INFO replication, SENTINEL, CLUSTER, WAIT; replicas.go).
	Peers Peers

	// Listener, if set, is the bound client listener, so its real address
	// can be given to the node before the server is built; otherwise
	// NewServer listens on Addr.
	Listener net.Listener
}

// Server is the client-facing RESP listener of one node.
type Server struct {
	cfg   Config
	node  Node
	log   *slog.Logger
	ln    net.Listener
	pool  *upstreamPool
	start time.Time

	mu       sync.Mutex
	conns    map[*conn]struct{}
	closed   bool
	draining bool // Drain has begun: accept no more clients
	wg       sync.WaitGroup

	hub             *hub
	blockers        *blockers
	tracking        *tracker     // client-side caching (tracking.go)
	scripts         scriptRuns   // scripts running on this node (scripts.go)
	applied         appliedWatch // the index this node has applied (readonly.go)
	pause           pauser       // CLIENT PAUSE (client_pause.go)
	nextID          atomic.Int64
	stats           stats
	cmdstats        *cmdStats
	slowlog         *slowlog
	shutdown        chan struct{}
	shutOnce        sync.Once      // closes shutdown (Drain or Close)
	lim             limiter        // client limits (limits.go)
	saver           saver          // SAVE, BGSAVE, LASTSAVE (persist.go)
	latency         latencyMonitor // LATENCY (latency.go)
	monitors        monitors       // MONITOR connections (monitor.go)
	acllog          aclLog         // ACL LOG (acllog.go)
	latencyTracking atomic.Bool    // latency-tracking: per-command histograms (cmdstats.go)
	// shutdownAsked: a client's SHUTDOWN called Config.OnShutdown (shutdown.go).
	shutdownAsked sync.Once
	conf          nodeConf // node-local CONFIG values (config.go)
	// evictedBase is evicted_keys at the last CONFIG RESETSTAT.
	evictedBase atomic.Int64
	expiredBase atomic.Int64
}

type stats struct {
	connsTotal   atomic.Int64
	commands     atomic.Int64
	forwarded    atomic.Int64
	redirected   atomic.Int64
	rejected     atomic.Int64
	protoErrors  atomic.Int64
	uncertain    atomic.Int64
	readsServed  atomic.Int64
	writesServed atomic.Int64
}

// NewServer builds the client server of node n, listening on cfg.Listener
// or cfg.Addr. Serve must be called to accept clients.
func NewServer(cfg Config, n Node) (*Server, error) {
	if n == nil {
		return nil, errors.New("resp: no node")
	}
	if cfg.FollowerMode == "" {
		cfg.FollowerMode = FollowerForward
	}
	if cfg.FollowerMode != FollowerForward && cfg.FollowerMode != FollowerRedirect {
		return nil, fmt.Errorf("follower mode %q: want forward or redirect", cfg.FollowerMode)
	}
	if cfg.ForwardTimeout == 0 {
		cfg.ForwardTimeout = 10 * time.Second
	}
	if cfg.MaxPipeline == 0 {
		cfg.MaxPipeline = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SentinelName == "" {
		cfg.SentinelName = "understudy"
	}
	if cfg.Peers == nil {
		cfg.Peers = noPeers{}
	}
	if cfg.Users == nil {
		cfg.Users = defaultUsers()
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen client %s: %w", cfg.Addr, err)
		}
	}
	if cfg.TLS != nil {
		// Handshakes run in each connection's goroutine, and closing a
		// connection never waits on a client that has stopped reading.
		ln = tlsconf.NewListener(ln, cfg.TLS.Server)
	}
	s := &Server{
		cfg:      cfg,
		node:     n,
		log:      cfg.Logger.With("component", "resp"),
		ln:       ln,
		start:    time.Now(),
		conns:    map[*conn]struct{}{},
		shutdown: make(chan struct{}),
		hub:      newHub(),
		blockers: newBlockers(),
		cmdstats: newCmdStats(),
		slowlog:  newSlowlog(cfg.SlowlogLogSlowerThan, cfg.SlowlogMaxLen),
	}
	s.pool = newUpstreamPool(s)
	s.tracking = newTracker(s)
	s.startLimits()
	s.latencyTracking.Store(true) // Redis's default
	s.initConfig()
	s.attach(n)
	return s, nil
}

// attach registers the server's hooks on the node's state machine and
// starts what follows the node (leader changes, the memory gauge).
func (s *Server) attach(n Node) {
	n.FSM().SetApplyHook(func(index uint64, keys []fsm.DBKey) {
		s.blockers.wake(index, keys)
		s.tracking.invalidate(keys)
		s.applied.advance(index)
	})
	n.FSM().SetPublishHook(s.hub.deliver)
	n.FSM().SetScriptHooks(fsm.ScriptHooks{Log: s.cfg.Logger, Start: s.scripts.started})
	go s.watchLeader()
	s.wg.Add(1)
	go s.runMemGauge() // maxmemory reads the node's state (memory.go)
}

// connsByID is every open connection by client id.
func (s *Server) connsByID() map[int64]*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[int64]*conn, len(s.conns))
	for c := range s.conns {
		m[c.id] = c
	}
	return m
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts clients until Close.
func (s *Server) Serve() error {
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.shutdown:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay) // accept back-off, as net/http does
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		delay = 0
		c := newConn(s, nc)
		if !s.admit(c) { // maxclients (limits.go)
			continue
		}
		s.mu.Lock()
		if s.closed || s.draining {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.stats.connsTotal.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
			s.tracking.forget(c)
			s.releaseConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every client connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.shutOnce.Do(func() { close(s.shutdown) })
	var err error
	if !s.draining { // Drain closed the listener already
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.scripts.killAll() // a read-only script would hold its connection open
	s.wg.Wait()
	s.pool.closeAll()
	return err
}

// replyDraining is what each client of a node that is shutting down reads
// last, after the replies it was owed.
const replyDraining = "TRYAGAIN server shutting down; this connection is closed, reconnect"

// Drain is the first step of a graceful stop. It stops accepting clients and
// makes every connection, followers' relays included, stop reading requests,
// write the replies it owes (writes already proposed finish and are
// answered), then a TRYAGAIN saying the server is shutting down, and close.
// Blocked commands and WAIT answer at once. It returns when every connection
// has closed, or with an error when ctx ends first; Close then closes the
// rest.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		return nil
	}
	s.draining = true
	s.shutOnce.Do(func() { close(s.shutdown) })
	err := s.ln.Close()
	bye := fsm.Err(replyDraining)
	for c := range s.conns {
		c.leave(bye)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("close client listener", "err", err)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n := s.numConns()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain clients: %d connections still open: %w", n, ctx.Err())
		case <-tick.C:
		}
	}
}

// leaveGrace bounds how long a connection told to leave may take to write
// the replies it owes and its farewell before it is closed under them (a
// command the old leader proposed answers once Raft settles it; under load
// that took over 5 s, and cutting it cost the client its farewell). A
// command read in the moment between losing leadership and being told to
// leave is refused, not forwarded (route). Only a connection truly stuck
// waits this long.
const leaveGrace = 15 * time.Second

// CloseClients closes every client connection when leadership moves, so
// clients reconnect and find the new leader at once, as a demoted Redis
// master's clients do. Each connection first stops reading, writes the
// replies it owes, then a TRYAGAIN naming the move (see farewell), then
// closes: subscribers and idle clients are told why, and a client reads
// the error as the reply to a command it sent that was not executed.
// Followers' relay connections stay: they answer TRYAGAIN from now on, which
// the follower relays as the definite failure it is, and the follower moves
// to the new leader by itself.
func (s *Server) CloseClients() int {
	bye := s.farewell()
	s.mu.Lock()
	var leaving []*conn
	for c := range s.conns {
		if !c.forwarded.Load() {
			c.leave(bye)
			leaving = append(leaving, c)
		}
	}
	s.mu.Unlock()
	if len(leaving) > 0 {
		time.AfterFunc(leaveGrace, func() {
			for _, c := range leaving {
				c.nc.Close() // still there: a reply or the client is stuck
			}
		})
	}
	return len(leaving)
}

// farewell is the error a client gets when leadership moves away from the
// node it is connected to.
func (s *Server) farewell() fsm.Value {
	if li, ok := s.node.Leader(); ok && !li.Self && li.ClientAddr != "" {
		return fsm.Err("TRYAGAIN leadership moved to " + li.ClientAddr + "; this connection is closed, reconnect")
	}
	return fsm.Err("TRYAGAIN leadership moved; this connection is closed, reconnect")
}

// leave makes c stop reading, write what it owes and farewell, and close
// (serve does it; the read deadline wakes a reader waiting for input).
func (c *conn) leave(farewell fsm.Value) {
	c.leaving.Store(&farewell)
	_ = c.nc.SetReadDeadline(time.Now())
}

// lingerClose closes a connection told to leave without losing its
// farewell: a client still pipelining has requests in flight, and closing a
// socket with unread input sends a reset, on which the client's kernel may
// drop the replies it has not read yet (the farewell among them). So the
// write side is shut first (the client reads every reply, then EOF) and the
// input is discarded until the client closes too, or for at most d.
func lingerClose(nc net.Conn, d time.Duration) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = nc.SetReadDeadline(time.Now().Add(d))
		_, _ = io.Copy(io.Discard, nc)
	}
	nc.Close()
}

func (s *Server) numConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
