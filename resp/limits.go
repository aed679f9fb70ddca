package resp

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Client limits, beyond the request limits the Reader enforces (Limits):
// how many clients may connect (maxclients), how long one may sit idle
// (timeout), how much a client that does not read may hold back (output
// limits, output.go) and the memory ceiling above which writes that may grow
// memory are refused (maxmemory, memory.go).

// ClientLimits bounds what clients may cost a node. Zero values mean no
// limit, except MaxClients (0 takes Redis's default, 10000).
type ClientLimits struct {
	// MaxClients bounds client connections, as Redis's maxclients. Relay
	// connections from followers do not count (see admit).
	MaxClients int
	// IdleTimeout closes a client idle this long (Redis's timeout). Clients
	// with subscriptions, blocked clients, clients owed a reply and relay
	// connections are never idle.
	IdleTimeout time.Duration
	// WriteTimeout disconnects a client that accepts no reply data for this
	// long: it stopped reading while a reply or messages wait for it.
	WriteTimeout time.Duration
	// PubSub is the output buffer limit of subscribers (Redis's
	// client-output-buffer-limit pubsub class).
	PubSub OutputLimit
	// MaxMemory is the heap size above which commands that may grow memory
	// answer -OOM (Redis's maxmemory with the noeviction policy).
	MaxMemory int64
}

const (
	defaultMaxClients = 10000
	// maxProbation bounds connections accepted past maxclients while they
	// may still identify as a follower's relay (admit).
	maxProbation = 128
	// probationTime is how long such a connection has to identify itself.
	probationTime   = 2 * time.Second
	replyMaxClients = "ERR max number of clients reached"
)

// limiter is the server-wide state of the client limits.
type limiter struct {
	clients           atomic.Int64 // admitted client connections, relays excluded
	probation         atomic.Int64 // connections on probation (admit)
	rejectedConns     atomic.Int64
	outputDisconnects atomic.Int64
	mem               memGauge
	// The limits CONFIG SET changes at run time (config.go): maxclients,
	// timeout (ns) and the pubsub output buffer limit.
	maxClients atomic.Int64
	idle       atomic.Int64
	pubsub     atomic.Pointer[OutputLimit]
}

// admission says what a connection counts against.
type admission uint8

const (
	admitNone      admission = iota // a relay, or already released
	admitClient                     // one of the MaxClients
	admitProbation                  // past the limit, may still prove to be a relay
)

// connLimits is one connection's part of the limits. admitted and
// probation belong to the connection's reader goroutine.
type connLimits struct {
	admitted  admission
	probation bool
	// reading is set while the reader waits for the client, since readSince.
	reading   atomic.Bool
	readSince atomic.Int64 // Unix ns
	// owed counts replies queued but not yet written.
	owed atomic.Int64
	// pushBytes is what the pub/sub messages waiting for the writer hold;
	// overSoft is when it last rose above the soft limit (Unix ns, 0: not).
	pushBytes atomic.Int64
	overSoft  atomic.Int64
	// cut is set once the connection is closed for a limit (logged once).
	cut atomic.Bool
}

// startLimits fills in defaults and starts the idle sweeper and the memory
// gauge when they are configured.
func (s *Server) startLimits() {
	cl := &s.cfg.Clients
	if cl.MaxClients <= 0 {
		cl.MaxClients = defaultMaxClients
	}
	s.lim.maxClients.Store(int64(cl.MaxClients))
	s.lim.idle.Store(int64(cl.IdleTimeout))
	ps := cl.PubSub
	s.lim.pubsub.Store(&ps)
	s.wg.Add(1)
	go s.runIdleSweeper()
}

// admit decides whether a new connection may be served. Below maxclients it
// counts as a client. Past it, Redis answers every new connection with an
// error; here a follower's relay must still get through (its clients were
// admitted by the follower's own maxclients), and it can only say so with its
// first command. So up to maxProbation such connections are accepted on
// probation: they have probationTime to send UNDERSTUDY.FORWARDED (HELLO and
// AUTH may come first); any other command is answered with the maxclients
// error and the connection is closed. Beyond that the error is sent at once.
func (s *Server) admit(c *conn) bool {
	if s.lim.clients.Load() < s.lim.maxClients.Load() {
		s.lim.clients.Add(1)
		c.lim.admitted = admitClient
		return true
	}
	if s.lim.probation.Add(1) <= maxProbation {
		c.lim.admitted = admitProbation
		c.lim.probation = true
		_ = c.nc.SetReadDeadline(time.Now().Add(probationTime))
		return true
	}
	s.lim.probation.Add(-1)
	s.lim.rejectedConns.Add(1)
	// Not on the accept loop: over TLS the write first runs the handshake.
	go func() {
		_ = c.nc.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.nc.Write([]byte("-" + replyMaxClients + "\r\n"))
		c.nc.Close()
	}()
	return false
}

// releaseConn returns a closed connection's place.
func (s *Server) releaseConn(c *conn) {
	switch c.lim.admitted {
	case admitClient:
		s.lim.clients.Add(-1)
	case admitProbation:
		s.lim.probation.Add(-1)
	}
	c.lim.admitted = admitNone
}

// markForwarded makes c a follower's relay: it no longer counts as a client
// and any probation ends.
func (c *conn) markForwarded() {
	c.forwarded.Store(true)
	if c.lim.probation {
		c.lim.probation = false
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.srv.releaseConn(c)
}

// onProbation vets a command of a connection accepted past maxclients; it
// reports whether to run it. Anything but the relay handshake gets the
// maxclients error, and the connection closes after it.
func (c *conn) onProbation(argv [][]byte) bool {
	if cmd := lookupCommand(argv[0]); cmd != nil && (cmd.Name == relayCommand || cmd.Has(cmdtab.NoAuth)) {
		return true // the handshake, and what a relay sends before it (AUTH, HELLO)
	}
	c.srv.lim.rejectedConns.Add(1)
	c.push(&slot{val: fsm.Err(replyMaxClients), quit: true})
	return false
}

// clientInput is the connection as the request reader sees it: it records
// when the reader started waiting, for the idle timeout (which CONFIG SET
// may switch on at any time).
type clientInput struct{ c *conn }

func (in clientInput) Read(p []byte) (int, error) {
	l := &in.c.lim
	l.readSince.Store(time.Now().UnixNano())
	l.reading.Store(true)
	n, err := in.c.nc.Read(p)
	l.reading.Store(false)
	return n, err
}

// input is what the connection's Reader reads from.
func (c *conn) input() interface{ Read([]byte) (int, error) } {
	return clientInput{c}
}

// idleFor reports how long c has waited for a command, or 0 if it is not
// idle: Redis's timeout exempts subscribers, blocked clients and replicas;
// here also clients still owed a reply (a forwarded BLPOP, a slow write).
func (c *conn) idleFor(now int64) time.Duration {
	l := &c.lim
	if !l.reading.Load() || l.owed.Load() > 0 || c.forwarded.Load() || c.subscribed() {
		return 0
	}
	return time.Duration(now - l.readSince.Load())
}

// runIdleSweeper closes idle clients, checking about four times per timeout
// (at least once a second), as Redis's clientsCron does.
func (s *Server) runIdleSweeper() {
	defer s.wg.Done()
	every := time.Second
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		timeout := time.Duration(s.lim.idle.Load())
		if d := min(max(timeout/4, 10*time.Millisecond), time.Second); d != every {
			every = d
			t.Reset(every)
		}
		if timeout <= 0 {
			continue
		}
		now := time.Now().UnixNano()
		var idle []*conn
		s.mu.Lock()
		for c := range s.conns {
			if c.idleFor(now) > timeout {
				idle = append(idle, c)
			}
		}
		s.mu.Unlock()
		for _, c := range idle {
			s.log.Debug("closing idle client", "client", remote(c.nc), "id", c.id, "timeout", timeout)
			c.nc.Close()
		}
	}
}

// OutputLimit is an output buffer limit in Redis's form: a client holding
// more than Hard bytes, or more than Soft bytes for SoftFor, is disconnected.
// Zero disables each part. As a flag it reads and prints Redis's syntax,
// "pubsub 32mb 8mb 60" (see Set).
type OutputLimit struct {
	Hard, Soft int64
	SoftFor    time.Duration
}

// Set parses Redis's client-output-buffer-limit value: groups of "class hard
// soft seconds". Only the pubsub class is enforced. "normal" must be
// "0 0 0", Redis's default, because a normal client is bounded by the write
// timeout instead; "replica" (or "slave") is accepted and ignored, since
// Raft replaces Redis replication.
func (o *OutputLimit) Set(v string) error {
	f := strings.Fields(v)
	if len(f) == 0 || len(f)%4 != 0 {
		return fmt.Errorf("want groups of <class> <hard> <soft> <seconds>, e.g. \"pubsub 32mb 8mb 60\"")
	}
	out := *o
	for i := 0; i < len(f); i += 4 {
		hard, err1 := ParseMemory(f[i+1])
		soft, err2 := ParseMemory(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 || secs > 1<<31 {
			return fmt.Errorf("%q: want <class> <hard> <soft> <seconds> with sizes such as 32mb and whole seconds", strings.Join(f[i:i+4], " "))
		}
		switch strings.ToLower(f[i]) {
		case "pubsub":
			out = OutputLimit{Hard: hard, Soft: soft, SoftFor: time.Duration(secs) * time.Second}
		case "normal":
			if hard != 0 || soft != 0 || secs != 0 {
				return fmt.Errorf("normal class: only \"normal 0 0 0\" is supported; normal clients that stop reading are cut by --client-write-timeout")
			}
		case "replica", "slave":
		default:
			return fmt.Errorf("class %q: want normal, replica or pubsub", f[i])
		}
	}
	*o = out
	return nil
}

// String prints the limit as Set reads it.
func (o *OutputLimit) String() string {
	return fmt.Sprintf("pubsub %d %d %d", o.Hard, o.Soft, int64(o.SoftFor/time.Second))
}

// Type names the flag's value in help output.
func (*OutputLimit) Type() string { return "limit" }

// ParseMemory reads a size in Redis's units: a plain number of bytes, or with
// k, m, g (powers of 1000) or kb, mb, gb (powers of 1024), in any case.
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("memory size %q: want a whole number of bytes, optionally with k, kb, m, mb, g or gb", s)
	}
	return n * mult, nil
}

// remote names the client in log lines.
func remote(nc net.Conn) string { return nc.RemoteAddr().String() }
