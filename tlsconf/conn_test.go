package tlsconf_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/understudy/understudy/tlsconf"
	"github.com/understudy/understudy/tlsconf/tlstest"
)

// A peer that has stopped reading cannot hold up Close: tls.Conn.Close
// would wait up to 5 s to send close_notify; tlsconf.Conn gives it 100 ms.
// The connection is a net.Pipe, whose writes block until the other end
// reads, so the stall is certain.
func TestConn_CloseDoesNotWaitForAStalledPeer(t *testing.T) {
	ca := tlstest.NewCA(t, "close")
	cert := ca.Issue(t, "n1")
	srvCfg, err := tlsconf.Files{CertFile: cert.CertFile, KeyFile: cert.KeyFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	srvCfg.SessionTicketsDisabled = true // nothing left unread after the handshake
	cliCfg, err := tlsconf.Files{CAFile: ca.CertFile, ServerName: "localhost"}.Client()
	if err != nil {
		t.Fatal(err)
	}
	rawSrv, rawCli := net.Pipe()
	defer rawCli.Close()
	ln := tlsconf.NewListener(&oneConn{c: rawSrv}, srvCfg)
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cli := tls.Client(rawCli, cliCfg)
	done := make(chan error, 1)
	go func() { done <- cli.Handshake() }()
	if err := srv.(*tlsconf.Conn).Handshake(); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	// The client reads nothing from now on.
	start := time.Now()
	_ = srv.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with a peer that does not read", took)
	}
}

// oneConn is a listener that hands out one connection.
type oneConn struct {
	net.Listener
	c net.Conn
}

func (o *oneConn) Accept() (net.Conn, error) { return o.c, nil }

func TestDial_VerifiesTheHostDialled(t *testing.T) {
	ca := tlstest.NewCA(t, "dial")
	cert := ca.Issue(t, "n1") // 127.0.0.1, ::1, localhost
	srvCfg, err := tlsconf.Files{CertFile: cert.CertFile, KeyFile: cert.KeyFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tlsconf.NewListener(raw, srvCfg)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tlsconf.Conn).Handshake(); c.Close() }()
		}
	}()
	cliCfg, err := tlsconf.Files{CAFile: ca.CertFile}.Client()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlsconf.Dial(raw.Addr().String(), 5*time.Second, cliCfg)
	if err != nil {
		t.Fatalf("dial by IP with an IP SAN: %v", err)
	}
	c.Close()
	if cliCfg.ServerName != "" {
		t.Fatal("Dial changed the caller's config")
	}
	cliCfg.ServerName = "db.example"
	if _, err := tlsconf.Dial(raw.Addr().String(), 5*time.Second, cliCfg); err == nil {
		t.Fatal("dial accepted a certificate without the pinned ServerName")
	}
	// Nothing listens on a closed port: the error says so within the timeout.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := dead.Addr().String()
	dead.Close()
	if _, err := tlsconf.Dial(addr, time.Second, cliCfg); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}
