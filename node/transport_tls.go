package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/tlsconf"
)

// tlsStreamLayer is hashicorp/raft's TCP stream layer with TLS on both ends:
// peers connect with the node's certificate (Client) and are accepted with
// Server, which requires and verifies theirs when a CA is configured. Its
// connections (tlsconf.Conn) close without waiting on a peer that has
// stopped reading, as a paused one does: Raft closes connections while
// shutting down and while holding its connection pool's lock.
type tlsStreamLayer struct {
	ln        net.Listener // a tlsconf listener
	advertise net.Addr
	client    *tls.Config
}

// newTLSStream listens on bind and returns a Raft stream layer whose
// connections are TLS. It mirrors raft.NewTCPTransportWithLogger, including
// its refusal of an unadvertisable address (0.0.0.0 with nothing else given).
func newTLSStream(bind string, advertise *net.TCPAddr, pair *tlsconf.Pair) (raft.StreamLayer, error) {
	if pair == nil || pair.Server == nil || pair.Client == nil {
		return nil, errors.New("raft TLS: server and client configs are required")
	}
	if advertise == nil || advertise.IP == nil || advertise.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft address %v is not advertisable: set the advertise address", advertise)
	}
	tcp, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	return &tlsStreamLayer{ln: tlsconf.NewListener(tcp, pair.Server), advertise: advertise, client: pair.Client}, nil
}

// Accept returns the next connection; its handshake runs on the first read,
// in the transport's per-connection goroutine, so a slow or hostile peer
// cannot hold up the accept loop.
func (l *tlsStreamLayer) Accept() (net.Conn, error) { return l.ln.Accept() }

// Close stops listening.
func (l *tlsStreamLayer) Close() error { return l.ln.Close() }

// Addr is the address peers dial.
func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial connects to a peer and completes the handshake within timeout. The
// peer's certificate must name the host of its Raft address (an IP SAN for
// 127.0.0.1:7381, a DNS SAN for n1:7381) unless the client config pins a
// ServerName.
func (l *tlsStreamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := tlsconf.Dial(string(addr), timeout, l.client)
	if err != nil {
		return nil, fmt.Errorf("raft TLS dial %s: %w", addr, err)
	}
	return c, nil
}
