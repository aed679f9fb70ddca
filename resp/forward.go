package resp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Forwarding and redirection live here and only here. A follower serves no
// data unless the connection said READONLY (readonly.go): it relays the
// command to the leader over a pooled connection and the reply back, or
// answers MOVED. A forwarded command is sent once and
// never retried: if the leader connection breaks before the reply arrives, a
// write's outcome is unknown and the client is told so.

var (
	errUpstreamLost = errors.New("leader connection lost")
	errUpstreamDial = errors.New("dial leader")
)

// relayCommand marks a connection as a follower's relay, so the receiving
// node never forwards it again (no loops between two nodes that disagree
// about who leads).
const relayCommand = "understudy.forwarded"

// cmdRelay is the relay handshake: with a proof of the cluster's relay
// secret (fsm/relay.go) the connection is a follower's relay from now on (not
// a client for maxclients, never idle: limits.go). Without a valid proof it
// is the unknown command it is to any client, or, past maxclients, Redis's
// maxclients error and the end of the connection. The bare handshake of
// builds before the secret is accepted only while such a build may still be
// a member: below cluster level 2.
func cmdRelay(c *conn, argv [][]byte) fsm.Value {
	n := c.srv.node
	ok := false
	switch len(argv) {
	case 1:
		ok = n.FSM().Level() < fsm.Level2 && !n.KnowsRelaySecret()
	case 2:
		ok = n.CheckRelayProof(argv[1])
	}
	if !ok {
		if c.lim.probation {
			c.srv.lim.rejectedConns.Add(1)
			c.closeAfterReply = true
			return fsm.Err(replyMaxClients)
		}
		return fsm.ErrUnknownCommand(argv)
	}
	c.markForwarded()
	return fsm.OK
}

// routeToLeader builds the reply slot for a data command on a follower.
func (s *Server) routeToLeader(c *conn, argv [][]byte, write bool) *slot {
	return s.route(c, argv, write, 0)
}

// routeToLeaderBlocking is routeToLeader for a write the leader may hold for
// up to block before answering.
func (s *Server) routeToLeaderBlocking(c *conn, argv [][]byte, block time.Duration) *slot {
	return s.route(c, argv, true, block)
}

func (s *Server) route(c *conn, argv [][]byte, write bool, block time.Duration) *slot {
	if c.forwarded.Load() {
		return &slot{val: fsm.Err(replyNotLeader)}
	}
	if c.led {
		// Leadership has just moved away from this client's node, which is
		// about to tell it so (CloseClients). Forwarding would run this
		// command after earlier ones of its pipeline that were refused
		// with TRYAGAIN, and a client retrying those would reorder its
		// writes: refuse it as well.
		return &slot{val: s.farewell()}
	}
	li, ok := s.node.Leader()
	if !ok || li.ClientAddr == "" {
		s.stats.rejected.Add(1)
		return &slot{val: fsm.Err(replyNoLeader)}
	}
	if s.cfg.FollowerMode == FollowerRedirect {
		s.stats.redirected.Add(1)
		return &slot{val: fsm.Err("MOVED 0 " + li.ClientAddr)}
	}
	// Release a stale leader connection before ordering the new request:
	// releasing waits for this connection's last forwarded request, which
	// must not be the new one (it would wait for itself).
	// A connection from an older term may lead to a process that has since
	// restarted: a write sent into it would come back "unknown" for nothing.
	// A client that authenticated as someone else (or switched protocol)
	// gets a leader connection of that identity, except inside a forwarded
	// transaction, whose state lives on the connection it started on.
	// The leader is dialled at its peer address, which may differ from the
	// one MOVED and the discovery commands hand to clients.
	cred := c.auth.session().cred
	if c.up != nil && (c.up.addr != li.PeerClientAddr || c.up.broken() || c.up.term != s.node.Term() ||
		((c.up.cred.key != cred.key || c.up.proto != int(c.proto.Load()) || c.up.db != c.db) && !c.fwdTx)) {
		lost := c.upTx
		c.releaseUpstream()
		if lost {
			// The WATCHes or the transaction went with it (the leader
			// discards them when the connection closes): EXEC must fail,
			// and inside MULTI nothing may run on another connection.
			c.txLost = true
			if c.fwdTx {
				sl := &slot{val: fsm.Err(replyTxLost)}
				c.order(classLocal, sl)
				return sl
			}
		}
	}
	sl := &slot{write: write, done: make(chan struct{}), block: block}
	c.order(classForward, sl)
	if c.up == nil {
		up, err := s.pool.get(li.PeerClientAddr, int(c.proto.Load()), c.db, cred)
		if err != nil {
			if raw, ok := refusedReply(err); ok {
				sl.raw = raw // the leader's own NOAUTH or WRONGPASS
			} else {
				sl.err = err
			}
			close(sl.done)
			return sl
		}
		c.up = up
	}
	s.stats.forwarded.Add(1)
	c.up.send(argv, sl)
	return sl
}

func (c *conn) flushUpstream() {
	if c.up != nil {
		c.up.flush()
	}
}

// releaseUpstream hands the leader connection back to the pool once every
// reply it owes this client has arrived; one that may hold the client's
// WATCHes or transaction is closed instead, so that no other client
// inherits them.
func (c *conn) releaseUpstream() {
	if c.up == nil {
		return
	}
	c.up.flush()
	if c.last != nil && c.lastClass == classForward {
		c.last.wait()
	}
	if c.upTx {
		c.up.close()
	} else {
		c.srv.pool.put(c.up)
	}
	c.up, c.upTx = nil, false
}

// replyTxLost answers what a follower cannot forward because the leader
// connection that held the client's transaction or WATCHes was given up:
// nothing of the transaction ran (the leader discarded it with the
// connection), so retrying the whole transaction is safe.
const replyTxLost = "TRYAGAIN the transaction's connection to the leader was lost; retry the transaction"

// txAborted answers, without forwarding them, the commands of a
// transaction whose WATCHes or MULTI were lost with a leader connection
// (txLost): inside MULTI every command fails, EXEC aborts and DISCARD ends
// it, and the leader connection that may hold what was queued since is
// closed. Outside MULTI everything is forwarded as usual (the next EXEC
// then fails). It reports whether it answered.
func (c *conn) txAborted(cmd *command) bool {
	if !c.txLost || !c.fwdTx {
		return false
	}
	v := fsm.Err(replyTxLost)
	switch {
	case cmd != nil && cmd.rejectAborts: // EXEC
		v = fsm.Err("EXECABORT Transaction discarded because of: " + replyTxLost)
	case cmd != nil && cmd.endsTx: // DISCARD
		v = fsm.OK
	default: // queued in the lost transaction: it would not run
		c.push(&slot{val: v})
		return true
	}
	c.dropUpstream()
	c.fwdTx, c.txDB, c.txLost = false, -1, false
	s := &slot{val: v}
	c.order(classLocal, s)
	c.push(s)
	return true
}

// upstream is one connection to the leader's client port.
type upstream struct {
	addr    string
	proto   int
	db      int        // the database the leader runs this connection's commands in
	cred    credential // the client identity it authenticated as (no password kept)
	term    uint64
	nc      net.Conn
	timeout time.Duration

	mu      sync.Mutex
	w       *bufio.Writer
	pending []*slot // sent, reply not yet read, in order
	err     error   // set once the connection broke
	wake    chan struct{}
	closed  bool
}

func (u *upstream) broken() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err != nil
}

// send writes the command (buffered) and queues sl for the reply.
func (u *upstream) send(argv [][]byte, sl *slot) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		sl.err = u.err
		close(sl.done)
		return
	}
	u.pending = append(u.pending, sl)
	if _, err := u.w.Write(AppendCommand(nil, argv)); err != nil {
		u.failLocked(fmt.Errorf("%w: write: %v", errUpstreamLost, err))
		return
	}
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

func (u *upstream) flush() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil && u.w.Buffered() > 0 {
		if err := u.w.Flush(); err != nil {
			u.failLocked(fmt.Errorf("%w: write: %v", errUpstreamLost, err))
		}
	}
}

// failLocked marks the connection broken and fails every pending request:
// none is resent.
func (u *upstream) failLocked(err error) {
	if u.err == nil {
		u.err = err
		u.nc.Close()
	}
	for _, sl := range u.pending {
		sl.err = u.err
		close(sl.done)
	}
	u.pending = nil
}

// readLoop reads replies in order and hands each to the oldest pending slot.
func (u *upstream) readLoop(rd *Reader) {
	for {
		u.mu.Lock()
		for len(u.pending) == 0 && u.err == nil && !u.closed {
			u.mu.Unlock()
			<-u.wake
			u.mu.Lock()
		}
		if u.err != nil || u.closed {
			u.mu.Unlock()
			return
		}
		wait := u.timeout + u.pending[0].block
		u.mu.Unlock()
		_ = u.nc.SetReadDeadline(time.Now().Add(wait))
		raw, err := rd.ReadReply()
		u.mu.Lock()
		if err != nil {
			u.failLocked(fmt.Errorf("%w: %v", errUpstreamLost, err))
			u.mu.Unlock()
			return
		}
		if u.err != nil || len(u.pending) == 0 {
			u.mu.Unlock() // a failed send already answered every pending request
			return
		}
		sl := u.pending[0]
		u.pending = u.pending[1:]
		u.mu.Unlock()
		sl.raw = raw
		close(sl.done)
	}
}

func (u *upstream) close() {
	u.mu.Lock()
	u.closed = true
	if u.err == nil {
		u.err = errUpstreamLost
		u.nc.Close()
	}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// upstreamPool keeps idle leader connections for reuse. Connections made in
// an older term are dropped rather than reused: the node behind them may have
// restarted, and a write sent into a dead connection would come back with an
// unknown outcome for no reason.
type upstreamPool struct {
	srv    *Server
	mu     sync.Mutex
	idle   map[string][]*upstream
	active map[*upstream]struct{} // every open leader connection, idle or in use
}

const maxIdlePerLeader = 64

func newUpstreamPool(s *Server) *upstreamPool {
	return &upstreamPool{srv: s, idle: map[string][]*upstream{}, active: map[*upstream]struct{}{}}
}

func poolKey(addr string, proto, db int, credKey string) string {
	return fmt.Sprintf("%s/%d/%d/%s", addr, proto, db, credKey)
}

func (p *upstreamPool) get(addr string, proto, db int, cred credential) (*upstream, error) {
	term := p.srv.node.Term()
	key := poolKey(addr, proto, db, cred.key)
	p.mu.Lock()
	for len(p.idle[key]) > 0 {
		list := p.idle[key]
		u := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		if u.term == term && !u.broken() {
			p.mu.Unlock()
			return u, nil
		}
		u.close()
	}
	p.mu.Unlock()
	return p.dial(addr, proto, db, term, cred)
}

// dial opens a relay connection: it authenticates as the client (so the
// leader checks the client's password against its own users, and the
// relay can do no more than the client could), then marks itself
// forwarded, and selects the client's database. A relay connection never
// changes identity afterwards; its database changes only inside a forwarded
// transaction (route).
func (p *upstreamPool) dial(addr string, proto, db int, term uint64, cred credential) (*upstream, error) {
	bare := p.srv.node.RelayProof() == ""
	u, err := p.dialOnce(addr, proto, db, term, cred)
	if err != nil && bare && errors.Is(err, errRelayRefused) {
		// The leader has moved to level 2 (and its relay secret) before this
		// node applied that entry: wait for it, briefly, and prove membership.
		deadline := time.Now().Add(2 * time.Second)
		for !p.srv.node.KnowsRelaySecret() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling an applied index: no event to wait on
		}
		if p.srv.node.KnowsRelaySecret() {
			return p.dialOnce(addr, proto, db, term, cred)
		}
	}
	return u, err
}

// errRelayRefused: the leader did not accept the relay handshake.
var errRelayRefused = errors.New("relay handshake refused")

func (p *upstreamPool) dialOnce(addr string, proto, db int, term uint64, cred credential) (*upstream, error) {
	nc, err := p.srv.dialLeader(addr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", errUpstreamDial, addr, err)
	}
	rd := NewReader(nc, Limits{})
	var req []byte
	if cred.user != "" {
		req = AppendCommand(req, [][]byte{[]byte("AUTH"), []byte(cred.user), []byte(cred.pass)})
	}
	hs := [][]byte{[]byte(relayCommand)}
	if proof := p.srv.node.RelayProof(); proof != "" {
		hs = append(hs, []byte(proof))
	}
	req = AppendCommand(req, hs)
	if proto == 3 {
		req = AppendCommand(req, [][]byte{[]byte("HELLO"), []byte("3")})
	}
	if db != 0 {
		req = AppendCommand(req, [][]byte{[]byte("SELECT"), []byte(strconv.Itoa(db))})
	}
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Write(req); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w %s: %v", errUpstreamDial, addr, err)
	}
	for i := range boolInt(cred.user != "") + 1 + boolInt(proto == 3) + boolInt(db != 0) {
		raw, err := rd.ReadReply()
		if err == nil && authRefusal(raw) {
			nc.Close()
			return nil, &leaderRefusedError{addr: addr, reply: raw}
		}
		if err == nil && i == boolInt(cred.user != "") && len(raw) > 0 && raw[0] == '-' {
			nc.Close()
			return nil, fmt.Errorf("%w %s: %w: %q", errUpstreamDial, addr, errRelayRefused, raw)
		}
		if err != nil || (len(raw) > 0 && raw[0] == '-') {
			nc.Close()
			return nil, fmt.Errorf("%w %s: handshake: %v %q", errUpstreamDial, addr, err, raw)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	u := &upstream{
		addr: addr, proto: proto, db: db, term: term, nc: nc, cred: credential{user: cred.user, key: cred.key},
		timeout: p.srv.cfg.ForwardTimeout,
		w:       bufio.NewWriterSize(nc, 16<<10),
		wake:    make(chan struct{}, 1),
	}
	p.mu.Lock()
	p.active[u] = struct{}{}
	p.mu.Unlock()
	go func() {
		u.readLoop(rd)
		p.mu.Lock()
		delete(p.active, u)
		p.mu.Unlock()
	}()
	return u, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (p *upstreamPool) put(u *upstream) {
	if u.broken() {
		u.close()
		return
	}
	key := poolKey(u.addr, u.proto, u.db, u.cred.key)
	p.mu.Lock()
	if len(p.idle[key]) >= maxIdlePerLeader {
		p.mu.Unlock()
		u.close()
		return
	}
	p.idle[key] = append(p.idle[key], u)
	p.mu.Unlock()
}

// abandon closes every connection to a node other than the leader at addr:
// requests waiting on a deposed or dead leader are answered at once (UNCERTAIN
// for writes, TRYAGAIN for reads) instead of after ForwardTimeout.
func (p *upstreamPool) abandon(addr string) {
	p.mu.Lock()
	var stale []*upstream
	for u := range p.active {
		if u.addr != addr {
			stale = append(stale, u)
		}
	}
	p.mu.Unlock()
	for _, u := range stale {
		u.mu.Lock()
		u.failLocked(fmt.Errorf("%w: leadership moved to %s", errUpstreamLost, addr))
		u.mu.Unlock()
		u.close()
	}
}

func (p *upstreamPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, list := range p.idle {
		for _, u := range list {
			u.close()
		}
		delete(p.idle, k)
	}
}
