package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
	"github.com/understudy/understudy/tlsconf"
	"github.com/understudy/understudy/tlsconf/tlstest"
)

// withTLS gives every node its own certificate signed by ca, the CA file,
// and --tls-auth-clients auth ("" for the default: yes with a CA).
func withTLS(t *testing.T, ca *tlstest.CA, auth string) clusterOption {
	return withConfig(func(c *server.Config) {
		cert := ca.Issue(t, c.ID)
		c.TLSCertFile, c.TLSKeyFile, c.TLSCACertFile, c.TLSAuthClients = cert.CertFile, cert.KeyFile, ca.CertFile, auth
	})
}

// clientTLS is what a client trusting ca presents: cert, or none if zero.
func clientTLS(t *testing.T, ca *tlstest.CA, cert tlstest.Cert) *tls.Config {
	t.Helper()
	cfg, err := tlsconf.Files{CertFile: cert.CertFile, KeyFile: cert.KeyFile, CAFile: ca.CertFile}.Client()
	if err != nil {
		t.Fatalf("client TLS config: %v", err)
	}
	return cfg
}

// tlsRedis is a go-redis client of addr over TLS, without retries, so a
// refused handshake shows as the error of the first command.
func tlsRedis(t *testing.T, addr string, tc *tls.Config) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tc, MaxRetries: -1, DialTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Second, PoolSize: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestTLS_ClusterOnEveryListener runs three nodes with TLS on the client,
// Raft and admin ports, client certificates required: they elect a leader
// and replicate; a follower forwards reads and writes to the leader over TLS
// with its own certificate; the nodes register their addresses and a fourth
// node joins through the admin API over TLS; plaintext is refused everywhere.
func TestTLS_ClusterOnEveryListener(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster")
	nodes := startCluster(t, 3, withRealStores(), withStableTiming(), withTLS(t, ca, ""))
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 15*time.Second) // followers registered through the leader's TLS admin port
	cli := clientTLS(t, ca, ca.Issue(t, "app"))

	lc := tlsRedis(t, l.ClientAddr(), cli)
	if err := lc.Set(ctx5(t), "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("SET on leader %s over TLS: %v", l.ID, err)
	}
	for _, f := range followers(nodes, l) {
		fc := tlsRedis(t, f.ClientAddr(), cli)
		if got, err := fc.Get(ctx5(t), "greeting").Result(); err != nil || got != "hello" {
			t.Fatalf("GET on follower %s (forwarded over TLS): %q, %v", f.ID, got, err)
		}
		if err := fc.Incr(ctx5(t), "hits").Err(); err != nil {
			t.Fatalf("INCR on follower %s (forwarded over TLS): %v", f.ID, err)
		}
	}
	if got, err := lc.Get(ctx5(t), "hits").Result(); err != nil || got != "2" {
		t.Fatalf("GET hits on leader: %q, %v; want 2", got, err)
	}

	// Plaintext RESP on the TLS client port gets no reply.
	if c, err := dialClient(l.ClientAddr()); err == nil {
		c.Timeout = 2 * time.Second
		if r, err := c.Do("PING"); err == nil {
			t.Fatalf("plaintext PING on a TLS port answered %s", r)
		}
		c.Close()
	}

	// Raft is mutual TLS: a handshake with a certificate of the CA succeeds,
	// one without a certificate is refused.
	raftAddr := l.Cfg.RaftAddr
	if err := tlsHandshake(raftAddr, cli); err != nil {
		t.Fatalf("TLS handshake with the Raft port %s: %v", raftAddr, err)
	}
	if err := tlsHandshake(raftAddr, clientTLS(t, ca, tlstest.Cert{})); err == nil {
		t.Fatalf("Raft port %s accepted a peer without a certificate", raftAddr)
	}

	// The admin API: with the CA and a certificate it answers, in plaintext it does not.
	admin := rpc.NewClient(l.S.AdminAddr(), "")
	admin.TLS = cli
	ms, err := admin.Members(ctx5(t))
	if err != nil || len(ms.Members) != 3 {
		t.Fatalf("admin Members over TLS: %v, %v", ms, err)
	}
	plain := rpc.NewClient(l.S.AdminAddr(), "")
	plain.Timeout = 2 * time.Second
	if _, err := plain.Status(ctx5(t)); err == nil {
		t.Fatal("admin Status in plaintext on a TLS admin port succeeded")
	}

	// A fourth node joins through a follower's admin port (forwarded to the
	// leader over TLS) and receives the data over TLS Raft.
	n4 := testConfig("n4")
	cert := ca.Issue(t, "n4")
	n4.DataDir, n4.RaftAddr, n4.ClientAddr, n4.AdminAddr = t.TempDir(), mustFreeAddr(t), mustFreeAddr(t), mustFreeAddr(t)
	n4.TLSCertFile, n4.TLSKeyFile, n4.TLSCACertFile = cert.CertFile, cert.KeyFile, ca.CertFile
	n4.Join, n4.JoinNonVoter = followers(nodes, l)[0].S.AdminAddr(), true
	n4.Logger = l.Cfg.Logger.With("node", "n4")
	tn4 := &testNode{ID: "n4", Cfg: n4}
	tn4.Start(t)
	t.Cleanup(func() { closeWithin(t, tn4, 5*time.Second) })
	all := append(append([]*testNode{}, nodes...), tn4)
	waitFor(t, 20*time.Second, func() bool { return tn4.S.Node.FSM().Stats().Keys >= 2 },
		"n4 did not join and catch up over TLS: %s", stateOf(all))
	if _, err := admin.Promote(ctx5(t), "n4"); err != nil {
		t.Fatalf("promote n4 over TLS: %v", err)
	}
	checkConvergence(t, all)
}

// tlsHandshake completes one handshake with addr, including the server's
// verdict on the client certificate (TLS 1.3 delivers it after the client's
// handshake returns, so wait briefly for an alert).
func tlsHandshake(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil // the server accepted us and waits for a request
	}
	return err
}

// TestTLS_ClientCertificates checks --tls-auth-clients on the client and
// admin ports: yes refuses clients without a certificate of the CA, optional
// lets them in but refuses a foreign one, no never asks.
func TestTLS_ClientCertificates(t *testing.T) {
	ca := tlstest.NewCA(t, "auth")
	foreign := tlstest.NewCA(t, "foreign")
	for _, tc := range []struct {
		auth                string
		noCertOK, foreignOK bool
	}{
		{"yes", false, false},
		{"optional", true, false},
		{"no", true, true},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			nodes := startCluster(t, 1, withRealStores(), withTLS(t, ca, tc.auth))
			l := leader(t, nodes)
			with := clientTLS(t, ca, ca.Issue(t, "app"))
			without := clientTLS(t, ca, tlstest.Cert{})
			// Go only offers a certificate the server's CA list accepts:
			// force the foreign one out so the server has to judge it.
			wrong := clientTLS(t, ca, foreign.Issue(t, "intruder"))
			wrongCert := wrong.Certificates[0]
			wrong.Certificates = nil
			wrong.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &wrongCert, nil }

			for _, c := range []struct {
				name string
				cfg  *tls.Config
				ok   bool
			}{{"with a certificate", with, true}, {"without a certificate", without, tc.noCertOK}, {"with a foreign certificate", wrong, tc.foreignOK}} {
				err := tlsRedis(t, l.ClientAddr(), c.cfg).Set(ctx5(t), "k", "v", 0).Err()
				if (err == nil) != c.ok {
					t.Errorf("RESP client %s: err %v, want success %v", c.name, err, c.ok)
				}
				admin := rpc.NewClient(l.S.AdminAddr(), "")
				admin.TLS, admin.Timeout = c.cfg, 3*time.Second
				_, err = admin.Status(ctx5(t))
				if (err == nil) != c.ok {
					t.Errorf("admin client %s: err %v, want success %v", c.name, err, c.ok)
				}
			}
		})
	}
}

// TestTLS_PerListener turns TLS on for the client port only: the admin API
// and Raft stay plaintext.
func TestTLS_PerListener(t *testing.T) {
	ca := tlstest.NewCA(t, "partial")
	nodes := startCluster(t, 1, withRealStores(), withTLS(t, ca, "no"), withConfig(func(c *server.Config) {
		c.TLSRaft, c.TLSAdmin = false, false
	}))
	l := leader(t, nodes)
	if err := tlsRedis(t, l.ClientAddr(), clientTLS(t, ca, tlstest.Cert{})).Ping(ctx5(t)).Err(); err != nil {
		t.Fatalf("PING over TLS: %v", err)
	}
	st, err := rpc.NewClient(l.S.AdminAddr(), "").Status(ctx5(t))
	if err != nil || st.Role != "leader" {
		t.Fatalf("plaintext admin Status: %v, %v", st, err)
	}
	if err := tlsHandshake(l.Cfg.RaftAddr, clientTLS(t, ca, tlstest.Cert{})); err == nil {
		t.Fatal("the Raft port speaks TLS with --tls-raft=false")
	}
	tlsAdmin := rpc.NewClient(l.S.AdminAddr(), "")
	tlsAdmin.TLS = clientTLS(t, ca, tlstest.Cert{})
	if _, err := tlsAdmin.Status(ctx5(t)); err == nil || !strings.Contains(err.Error(), "does not serve TLS") {
		t.Fatalf("TLS admin client on a plaintext admin port: %v, want an error saying the node does not serve TLS", err)
	}
}

// TestTLS_ConfigRefused checks that inconsistent TLS settings are refused
// before anything listens, and that an unreadable file is named.
func TestTLS_ConfigRefused(t *testing.T) {
	ca := tlstest.NewCA(t, "cfg")
	cert := ca.Issue(t, "n1")
	for _, tc := range []struct {
		name string
		set  func(*server.Config)
		want string
	}{
		{"cert without key", func(c *server.Config) { c.TLSCertFile = cert.CertFile }, "--tls-cert-file needs --tls-key-file"},
		{"key without cert", func(c *server.Config) { c.TLSKeyFile = cert.KeyFile }, "--tls-key-file needs --tls-cert-file"},
		{"CA without cert", func(c *server.Config) { c.TLSCACertFile = ca.CertFile }, "need --tls-cert-file"},
		{"auth yes without CA", func(c *server.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSAuthClients = cert.CertFile, cert.KeyFile, "yes"
		}, "needs --tls-ca-cert-file"},
		{"bogus auth", func(c *server.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSAuthClients = cert.CertFile, cert.KeyFile, "sometimes"
		}, `--tls-auth-clients "sometimes"`},
		{"every listener off", func(c *server.Config) {
			c.TLSCertFile, c.TLSKeyFile = cert.CertFile, cert.KeyFile
			c.TLSClient, c.TLSRaft, c.TLSAdmin = false, false, false
		}, "are all off"},
		{"missing CA file", func(c *server.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSCACertFile = cert.CertFile, cert.KeyFile, "/nonexistent/ca.pem"
		}, "/nonexistent/ca.pem"},
		{"key of another certificate", func(c *server.Config) {
			c.TLSCertFile, c.TLSKeyFile = cert.CertFile, ca.Issue(t, "other").KeyFile
		}, cert.CertFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("n1")
			cfg.DataDir, cfg.RaftAddr, cfg.ClientAddr = t.TempDir(), mustFreeAddr(t), mustFreeAddr(t)
			tc.set(&cfg)
			s, err := server.Start(cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Start accepted the config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
