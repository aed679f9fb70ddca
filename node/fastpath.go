package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// The fast path carries AppendEntries (replication and heartbeats, nearly
// every RPC a cluster sends) over connections of its own, with the codec of
// fastcodec.go; votes, snapshots and the rest stay on hashicorp/raft's
// NetworkTransport. Both share the Raft port: a connection that opens with
// fastMagic is the fast path's, anything else (NetworkTransport opens with
// an RPC type, 0-4) is handed to NetworkTransport unchanged. A peer that
// does not answer the fast path's hello (an older build) is sent
// AppendEntries over NetworkTransport instead.

const (
	fastMagic   byte = 0xA7
	fastVersion byte = 1
	fastAck     byte = 0x5A
	// fastPool is how many idle connections are kept per peer (the
	// leader's replication and heartbeat goroutines each hold one).
	fastPool = 3
	// firstByteWait bounds how long an accepted connection may stay silent
	// before saying which transport it is for.
	firstByteWait = 10 * time.Second
	// legacyRetry is how long a peer that did not speak the fast path is
	// sent AppendEntries over NetworkTransport before it is asked again.
	legacyRetry = time.Minute
)

// muxStream is a raft.StreamLayer that passes NetworkTransport only the
// connections that are not the fast path's.
type muxStream struct {
	raft.StreamLayer
	fast   func(net.Conn, *bufio.Reader) // serves one fast-path connection
	log    *slog.Logger
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newMuxStream(inner raft.StreamLayer, log *slog.Logger) *muxStream {
	return &muxStream{StreamLayer: inner, log: log, conns: make(chan net.Conn), done: make(chan struct{})}
}

// run accepts connections until Close, sorting each in a goroutine of its
// own (its first read may be a TLS handshake).
func (m *muxStream) run() {
	for {
		c, err := m.StreamLayer.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			m.log.Warn("raft transport accept", "err", err)
			select {
			case <-m.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		go m.sort(c)
	}
}

func (m *muxStream) sort(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(firstByteWait))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	if first[0] == fastMagic {
		m.fast(c, br)
		return
	}
	select {
	case m.conns <- &peekedConn{Conn: c, r: br}:
	case <-m.done:
		c.Close()
	}
}

// Accept returns the next connection for NetworkTransport.
func (m *muxStream) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, errors.New("raft transport closed")
	}
}

// Close stops accepting.
func (m *muxStream) Close() error {
	var err error
	m.closed.Do(func() {
		close(m.done)
		err = m.StreamLayer.Close()
	})
	return err
}

// peekedConn replays what sort read ahead.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// fastTransport is the node's Raft transport over TCP or TLS: NetworkTransport
// for everything but AppendEntries, which takes the fast path; no pipelined
// replication; and patience with a peer that refuses connections.
//
// Pipelining is off because it can deadlock a replication goroutine
// (hashicorp/raft#612: the leader keeps heartbeating a follower it no longer
// sends entries to, and Shutdown hangs). Replication then waits for each
// AppendEntries reply; with writes grouped into few large entries that
// costs little.
//
// Patience: the leader's replication goroutine for a follower counts every
// failed AppendEntries and, before the next, sleeps 10 ms doubled per
// failure up to 10 s (raft's backoff, which a success resets but nothing
// else). A follower that was down for a few seconds was therefore left
// unreplicated for seconds after it came back: it knew the leader from
// heartbeats but applied nothing, so it could not even tell clients where
// the leader is. Here an AppendEntries whose connection is refused (or times
// out) is retried every patienceRetry while this node still leads in the
// request's term and the peer is still a member, so failures do not pile
// up; the first attempt after the peer listens again goes through. Errors
// on an established connection are returned as they are.
type fastTransport struct {
	*raft.NetworkTransport
	stream  *muxStream
	node    *Node
	timeout time.Duration
	log     *slog.Logger

	rpcs      chan raft.RPC // what Consumer returns: both paths' RPCs
	heartbeat atomic.Pointer[func(raft.RPC)]

	mu     sync.Mutex
	idle   map[raft.ServerAddress][]*fastConn
	legacy map[raft.ServerAddress]time.Time // peers without the fast path, until when
	served map[net.Conn]struct{}            // open incoming fast-path connections
	closed bool
}

// patienceRetry is how often a refused AppendEntries is retried.
const patienceRetry = 20 * time.Millisecond

// memberCheckEvery is how many retries pass between checks that the peer
// is still in the configuration (a removed peer's goroutine must return).
const memberCheckEvery = 50

func newFastTransport(stream raft.StreamLayer, n *Node, timeout time.Duration, log *slog.Logger) *fastTransport {
	m := newMuxStream(stream, log)
	t := &fastTransport{stream: m, node: n, timeout: timeout, log: log, rpcs: make(chan raft.RPC),
		idle: map[raft.ServerAddress][]*fastConn{}, legacy: map[raft.ServerAddress]time.Time{}, served: map[net.Conn]struct{}{}}
	m.fast = t.serve
	t.NetworkTransport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: m, MaxPool: fastPool, Timeout: timeout, Logger: newRaftLogger(log, "transport"),
	})
	go m.run()
	go t.forward(t.NetworkTransport.Consumer())
	return t
}

// forward passes NetworkTransport's RPCs on to Raft.
func (t *fastTransport) forward(in <-chan raft.RPC) {
	for {
		select {
		case rpc := <-in:
			select {
			case t.rpcs <- rpc:
			case <-t.stream.done:
				return
			}
		case <-t.stream.done:
			return
		}
	}
}

// Consumer returns the RPCs of both paths.
func (t *fastTransport) Consumer() <-chan raft.RPC { return t.rpcs }

// SetHeartbeatHandler sets the fast-path handler of heartbeats on both paths.
func (t *fastTransport) SetHeartbeatHandler(cb func(raft.RPC)) {
	t.heartbeat.Store(&cb)
	t.NetworkTransport.SetHeartbeatHandler(cb)
}

// AppendEntriesPipeline reports pipelining as unsupported.
func (*fastTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// Close closes both paths and every fast-path connection.
func (t *fastTransport) Close() error {
	err := t.NetworkTransport.Close() // closes the stream, so the accept loop stops
	t.mu.Lock()
	t.closed = true
	for _, conns := range t.idle {
		for _, c := range conns {
			c.c.Close()
		}
	}
	t.idle = nil
	for c := range t.served {
		c.Close()
	}
	t.mu.Unlock()
	return err
}

// TimeoutNow (a leadership hand-over's last step) tries again on an error:
// NetworkTransport keeps up to fastPool idle connections per peer from
// earlier votes, and once the peer has restarted (a rolling upgrade hands
// leadership to a node just restarted) each of them fails on first use with
// EOF and is dropped. Tries beyond them dial afresh; a peer that is really
// down refuses each at once.
func (t *fastTransport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	var err error
	for range fastPool + 1 {
		if err = t.NetworkTransport.TimeoutNow(id, target, args, resp); err == nil {
			return nil
		}
	}
	return err
}

// AppendEntries sends the request over the fast path (NetworkTransport for
// a peer without it), waiting for a peer that refuses connections to come
// back (see the type's comment).
func (t *fastTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	for tries := 1; ; tries++ {
		err := t.appendEntries(id, target, args, resp)
		if err == nil || !isDialError(err) || !t.node.leadsIn(args.Term) {
			return err
		}
		if tries%memberCheckEvery == 0 && !t.node.isMember(id) {
			return err
		}
		select {
		case <-t.node.stop:
			return err
		case <-time.After(patienceRetry):
		}
	}
}

func (t *fastTransport) appendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if t.isLegacy(target) {
		return t.NetworkTransport.AppendEntries(id, target, args, resp)
	}
	c, err := t.conn(target)
	if errors.Is(err, errNoFastPath) {
		t.log.Info("raft peer has no fast path; using NetworkTransport for its AppendEntries", "peer", target)
		return t.NetworkTransport.AppendEntries(id, target, args, resp)
	}
	if err != nil {
		return err
	}
	if t.timeout > 0 {
		_ = c.c.SetDeadline(time.Now().Add(t.timeout))
	}
	err = writeAppendRequest(c.w, args)
	if err == nil {
		err = c.w.Flush()
	}
	if err == nil {
		err = readAppendResponse(c.r, resp)
	}
	var remote *remoteError
	switch {
	case err == nil || errors.As(err, &remote):
		t.release(target, c)
	default:
		c.c.Close()
	}
	return err
}

// errNoFastPath means the peer did not answer the fast path's hello.
var errNoFastPath = errors.New("peer has no fast path")

type fastConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (t *fastTransport) isLegacy(target raft.ServerAddress) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	until, ok := t.legacy[target]
	if ok && time.Now().After(until) {
		delete(t.legacy, target)
		return false
	}
	return ok
}

// conn returns an idle connection to target or dials one and says hello.
func (t *fastTransport) conn(target raft.ServerAddress) (*fastConn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, raft.ErrTransportShutdown
	}
	if conns := t.idle[target]; len(conns) > 0 {
		c := conns[len(conns)-1]
		t.idle[target] = conns[:len(conns)-1]
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	nc, err := t.stream.Dial(target, t.timeout)
	if err != nil {
		return nil, err
	}
	c := &fastConn{c: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10)}
	_ = nc.SetDeadline(time.Now().Add(t.timeout))
	_, err = nc.Write([]byte{fastMagic, fastVersion})
	var ack byte
	if err == nil {
		ack, err = c.r.ReadByte()
	}
	if err != nil || ack != fastAck {
		nc.Close()
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			// It closed on our hello: it does not know the fast path.
			t.mu.Lock()
			t.legacy[target] = time.Now().Add(legacyRetry)
			t.mu.Unlock()
			return nil, errNoFastPath
		}
		return nil, fmt.Errorf("raft fast path hello to %s: %w", target, err)
	}
	return c, nil
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func (t *fastTransport) release(target raft.ServerAddress, c *fastConn) {
	_ = c.c.SetDeadline(time.Time{})
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(t.idle[target]) >= fastPool {
		c.c.Close()
		return
	}
	t.idle[target] = append(t.idle[target], c)
}

// serve answers AppendEntries on one incoming fast-path connection.
func (t *fastTransport) serve(nc net.Conn, br *bufio.Reader) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		nc.Close()
		return
	}
	t.served[nc] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.served, nc)
		t.mu.Unlock()
		nc.Close()
	}()
	var hello [2]byte
	if _, err := io.ReadFull(br, hello[:]); err != nil || hello[1] != fastVersion {
		return // an unknown version: closing makes the peer fall back
	}
	bw := bufio.NewWriterSize(nc, 4<<10)
	if err := bw.WriteByte(fastAck); err != nil || bw.Flush() != nil {
		return
	}
	respCh := make(chan raft.RPCResponse, 1)
	var from, fromAddr string // who sent the last request
	for {
		req, err := readAppendRequest(br)
		if err != nil {
			select {
			case <-t.stream.done:
				return // this node is closing
			default:
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.log.Debug("raft fast path read", "peer", nc.RemoteAddr().String(), "err", err)
			}
			t.node.peerConnLost(from, fromAddr) // leadergone.go
			return
		}
		from, fromAddr = string(req.ID), string(req.Addr)
		rpc := raft.RPC{Command: req, RespChan: respCh}
		if hb := t.heartbeat.Load(); hb != nil && isHeartbeat(req) {
			(*hb)(rpc)
		} else {
			select {
			case t.rpcs <- rpc:
			case <-t.stream.done:
				return
			}
		}
		var resp raft.RPCResponse
		select {
		case resp = <-respCh:
		case <-t.stream.done:
			return
		}
		ar, _ := resp.Response.(*raft.AppendEntriesResponse)
		if ar == nil && resp.Error == nil {
			resp.Error = errors.New("no response")
		}
		if err := writeAppendResponse(bw, ar, resp.Error); err != nil || bw.Flush() != nil {
			return
		}
	}
}

// isHeartbeat is NetworkTransport's test for the heartbeat fast path.
func isHeartbeat(a *raft.AppendEntriesRequest) bool {
	leader := a.Addr
	if len(leader) == 0 {
		//lint:ignore SA1019 as NetworkTransport does: an older leader fills only Leader
		leader = a.Leader
	}
	return a.Term != 0 && leader != nil && a.PrevLogEntry == 0 && a.PrevLogTerm == 0 &&
		len(a.Entries) == 0 && a.LeaderCommitIndex == 0
}

// isDialError reports whether err is a failure to connect (nothing was sent).
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// tcpStream is raft's TCP stream layer: a listener, and dials with a timeout.
type tcpStream struct {
	ln        net.Listener
	advertise net.Addr
}

func newTCPStream(bind string, advertise *net.TCPAddr) (*tcpStream, error) {
	if advertise == nil || advertise.IP == nil || advertise.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft address %v is not advertisable: set the advertise address", advertise)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	var adv net.Addr = advertise
	if advertise.Port == 0 {
		adv = ln.Addr() // bound to port 0 (tests)
	}
	return &tcpStream{ln: ln, advertise: adv}, nil
}

func (s *tcpStream) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *tcpStream) Close() error              { return s.ln.Close() }
func (s *tcpStream) Addr() net.Addr            { return s.advertise }

func (s *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}
