package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/tlsconf"
	"github.com/understudy/understudy/tlsconf/tlstest"
)

func TestParseClientAuth(t *testing.T) {
	for in, want := range map[string]tlsconf.ClientAuth{
		"no": tlsconf.AuthNo, "none": tlsconf.AuthNo, "optional": tlsconf.AuthOptional, "request": tlsconf.AuthOptional,
		"yes": tlsconf.AuthYes, "YES": tlsconf.AuthYes, "require-verify": tlsconf.AuthYes,
	} {
		got, err := tlsconf.ParseClientAuth(in)
		if err != nil || got != want {
			t.Errorf("ParseClientAuth(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := tlsconf.ParseClientAuth("maybe"); err == nil {
		t.Error("ParseClientAuth(maybe): no error")
	}
}

func TestFiles_ValidateRejectsHalfConfigs(t *testing.T) {
	for _, tc := range []struct {
		f    tlsconf.Files
		want string
	}{
		{tlsconf.Files{CertFile: "a.crt"}, "without a key"},
		{tlsconf.Files{KeyFile: "a.key"}, "without a certificate"},
		{tlsconf.Files{CertFile: "a.crt", KeyFile: "a.key", ClientAuth: tlsconf.AuthYes}, "needs a CA file"},
		{tlsconf.Files{CertFile: "a.crt", KeyFile: "a.key", ClientAuth: "sometimes"}, "want no, optional or yes"},
	} {
		err := tc.f.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want an error containing %q", tc.f, err, tc.want)
		}
	}
	if _, err := (tlsconf.Files{}).Server(); err == nil {
		t.Error("Server() without a certificate: no error")
	}
}

// Load failures name the file at fault, so an operator knows what to fix.
func TestFiles_LoadErrorsNameTheFile(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	good := ca.Issue(t, "n1")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    tlsconf.Files
		want string
	}{
		{"missing cert", tlsconf.Files{CertFile: missing, KeyFile: good.KeyFile}, missing},
		{"missing key", tlsconf.Files{CertFile: good.CertFile, KeyFile: missing}, missing},
		{"garbage cert", tlsconf.Files{CertFile: garbage, KeyFile: good.KeyFile}, garbage},
		{"key of another cert", tlsconf.Files{CertFile: good.CertFile, KeyFile: ca.Issue(t, "other").KeyFile}, good.CertFile},
		{"missing CA", tlsconf.Files{CertFile: good.CertFile, KeyFile: good.KeyFile, CAFile: missing}, missing},
		{"garbage CA", tlsconf.Files{CertFile: good.CertFile, KeyFile: good.KeyFile, CAFile: garbage}, garbage},
	} {
		_, serr := tc.f.Server()
		_, cerr := tc.f.Client()
		for _, err := range []error{serr, cerr} {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v does not name %s", tc.name, err, tc.want)
			}
		}
	}
	var pe *os.PathError
	if _, err := (tlsconf.Files{CertFile: missing, KeyFile: missing}).Server(); !errors.As(err, &pe) {
		t.Errorf("missing file: %v does not wrap the *os.PathError", err)
	}
}

// handshake runs one TLS handshake between srv and cli over real TCP and
// returns the error each side saw.
func handshake(t *testing.T, srv, cli *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			done <- err
			return
		}
		// TLS 1.3 reports a refused client certificate on the client's first
		// read, so answer something for it to read.
		_, err = c.Write([]byte("x"))
		done <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cli)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 1))
		c.Close()
	}
	return <-done, err
}

func TestFiles_ClientAuthModes(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	other := tlstest.NewCA(t, "other")
	node := ca.Issue(t, "n1")
	stranger := other.Issue(t, "stranger")

	server := func(auth tlsconf.ClientAuth) *tls.Config {
		cfg, err := tlsconf.Files{CertFile: node.CertFile, KeyFile: node.KeyFile, CAFile: ca.CertFile, ClientAuth: auth}.Server()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
		}
		return cfg
	}
	client := func(c tlstest.Cert, caFile string) *tls.Config {
		cfg, err := tlsconf.Files{CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: caFile}.Client()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	withCert := client(ca.Issue(t, "client"), ca.CertFile)
	noCert := client(tlstest.Cert{}, ca.CertFile)
	// Go's client only offers a certificate the server's CA list accepts;
	// force the foreign one so the server has to reject it.
	foreignCert := client(stranger, ca.CertFile)
	forced := foreignCert.Certificates[0]
	foreignCert.Certificates = nil
	foreignCert.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &forced, nil }
	for _, tc := range []struct {
		name string
		auth tlsconf.ClientAuth
		cli  *tls.Config
		ok   bool
	}{
		{"no auth, no cert", tlsconf.AuthNo, noCert, true},
		{"optional, no cert", tlsconf.AuthOptional, noCert, true},
		{"optional, cert", tlsconf.AuthOptional, withCert, true},
		{"optional, foreign cert", tlsconf.AuthOptional, foreignCert, false},
		{"yes, cert", tlsconf.AuthYes, withCert, true},
		{"yes, no cert", tlsconf.AuthYes, noCert, false},
		{"yes, foreign cert", tlsconf.AuthYes, foreignCert, false},
	} {
		serr, cerr := handshake(t, server(tc.auth), tc.cli)
		if ok := serr == nil && cerr == nil; ok != tc.ok {
			t.Errorf("%s: server err %v, client err %v; want success %v", tc.name, serr, cerr, tc.ok)
		}
	}

	// A client that does not trust the server's CA refuses it.
	_, cerr := handshake(t, server(tlsconf.AuthNo), client(tlstest.Cert{}, other.CertFile))
	if cerr == nil {
		t.Error("client trusting another CA accepted the server")
	}
	// ServerName overrides the name checked: the certificate has no "db.example".
	bad, err := tlsconf.Files{CAFile: ca.CertFile, ServerName: "db.example"}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, cerr := handshake(t, server(tlsconf.AuthNo), bad); cerr == nil {
		t.Error("ServerName db.example accepted a certificate without that name")
	}
}

func TestFiles_PairSharesTheCertificate(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	n := ca.Issue(t, "n1")
	p, err := tlsconf.Files{CertFile: n.CertFile, KeyFile: n.KeyFile, CAFile: ca.CertFile, ClientAuth: tlsconf.AuthYes}.Pair()
	if err != nil {
		t.Fatal(err)
	}
	// Two nodes with this pair talk mutual TLS to each other.
	if serr, cerr := handshake(t, p.Server, p.Client); serr != nil || cerr != nil {
		t.Fatalf("pair to itself: server %v, client %v", serr, cerr)
	}
}
