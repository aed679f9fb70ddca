package resp

import (
	"net"
	"time"

	"github.com/understudy/understudy/tlsconf"
)

// dialLeader opens a relay connection to the leader's client port: over TLS,
// presenting this node's certificate, when this node serves its own client
// port over TLS (every node of a cluster serves it the same way), so a leader
// that requires client certificates accepts its followers. A TLS connection's
// Close never waits on a leader that has stopped reading (tlsconf.Conn): the
// pool closes connections under its lock.
func (s *Server) dialLeader(addr string) (net.Conn, error) {
	if s.cfg.TLS == nil {
		return net.DialTimeout("tcp", addr, 2*time.Second)
	}
	return tlsconf.Dial(addr, 2*time.Second, s.cfg.TLS.Client)
}
