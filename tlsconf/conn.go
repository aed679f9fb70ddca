package tlsconf

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Connections. tls.Conn.Close first sends a close_notify alert with a
// 5-second write deadline, which blocks when the peer has stopped reading and
// the socket buffer is full (a paused peer, a client that no longer reads).
// Understudy closes connections under locks (the RESP server's client list,
// the relay pool, Raft's connection pool), so the connections handed out
// here give the alert closeNotifyWait and then close the socket under it.

// closeNotifyWait is how long Close lets the close_notify alert take.
const closeNotifyWait = 100 * time.Millisecond

// Conn is a TLS connection whose Close is bounded.
type Conn struct {
	*tls.Conn
	raw net.Conn
}

// Close sends close_notify if it can do so at once, and closes the socket.
func (c *Conn) Close() error {
	done := make(chan error, 1)
	go func() { done <- c.Conn.Close() }()
	t := time.NewTimer(closeNotifyWait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		// The alert is stuck behind unread data: closing the socket fails
		// that write, and tls.Conn.Close then returns.
		return c.raw.Close()
	}
}

type listener struct {
	net.Listener
	cfg *tls.Config
}

// NewListener wraps a TCP listener so that it hands out server-side TLS
// connections (*Conn). The handshake runs on a connection's first read or
// write, in the goroutine serving it, so a slow client never holds up Accept.
func NewListener(ln net.Listener, cfg *tls.Config) net.Listener {
	return &listener{Listener: ln, cfg: cfg}
}

func (l *listener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: tls.Server(raw, l.cfg), raw: raw}, nil
}

// Dial connects to addr and completes the TLS handshake within timeout. As
// with tls.Dial, the server's certificate must name the host of addr unless
// cfg.ServerName says otherwise.
func Dial(addr string, timeout time.Duration, cfg *tls.Config) (*Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS dial %s: %w", addr, err)
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return &Conn{Conn: c, raw: raw}, nil
}
