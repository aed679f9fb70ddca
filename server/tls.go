package server

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/tlsconf"
)

// tlsListeners holds the TLS settings of each listener; nil means plaintext.
type tlsListeners struct {
	client, raft, admin *tlsconf.Pair
}

// authClients resolves --tls-auth-clients: as in Redis, clients must present
// a certificate signed by the CA ("yes") by default, which needs a CA file;
// without one the default is "no", so a certificate and key alone give an
// encrypted, server-authenticated port.
func (c *Config) authClients() (tlsconf.ClientAuth, error) {
	if c.TLSAuthClients == "" {
		if c.TLSCACertFile != "" {
			return tlsconf.AuthYes, nil
		}
		return tlsconf.AuthNo, nil
	}
	a, err := tlsconf.ParseClientAuth(c.TLSAuthClients)
	if err != nil {
		return "", fmt.Errorf("--tls-auth-clients %q: want no, optional or yes", c.TLSAuthClients)
	}
	return a, nil
}

// validateTLS checks the TLS settings without reading the files (Start
// reads them and names the file at fault).
func (c *Config) validateTLS() error {
	on := c.TLSCertFile != "" || c.TLSKeyFile != ""
	if !on {
		if c.TLSCACertFile != "" || c.TLSAuthClients != "" {
			return errors.New("--tls-ca-cert-file and --tls-auth-clients need --tls-cert-file and --tls-key-file")
		}
		return nil
	}
	var errs []error
	if c.TLSCertFile == "" {
		errs = append(errs, errors.New("--tls-key-file needs --tls-cert-file"))
	}
	if c.TLSKeyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file needs --tls-key-file"))
	}
	auth, err := c.authClients()
	if err != nil {
		errs = append(errs, err)
	} else if auth != tlsconf.AuthNo && c.TLSCACertFile == "" {
		errs = append(errs, fmt.Errorf("--tls-auth-clients %s needs --tls-ca-cert-file to verify client certificates", auth))
	}
	if !c.TLSClient && !c.TLSRaft && !c.TLSAdmin {
		errs = append(errs, errors.New("--tls-cert-file is given but --tls-client, --tls-raft and --tls-admin are all off"))
	}
	return errors.Join(errs...)
}

// loadTLS reads the certificate, key and CA once for every listener that
// uses TLS. Raft is always mutual TLS when a CA is given (peers are nodes,
// and every node has a certificate); the client and admin ports verify
// client certificates as --tls-auth-clients says.
func (c *Config) loadTLS() (tlsListeners, error) {
	var out tlsListeners
	if c.TLSCertFile == "" {
		return out, nil
	}
	auth, err := c.authClients()
	if err != nil {
		return out, err
	}
	files := tlsconf.Files{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, CAFile: c.TLSCACertFile, ClientAuth: auth}
	pair, err := files.Pair()
	if err != nil {
		return out, err
	}
	if c.TLSClient {
		out.client = pair
	}
	if c.TLSAdmin {
		out.admin = pair
	}
	if c.TLSRaft {
		peer := files
		peer.ClientAuth = tlsconf.AuthNo
		if c.TLSCACertFile != "" {
			peer.ClientAuth = tlsconf.AuthYes
		}
		if out.raft, err = peer.Pair(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// logTLS says which listeners use TLS, once at start-up.
func (s *Server) logTLS() {
	t := s.tls
	if t.client == nil && t.raft == nil && t.admin == nil {
		return
	}
	auth, _ := s.cfg.authClients()
	s.log.Info("TLS", "client", t.client != nil, "raft", t.raft != nil, "admin", t.admin != nil, "auth_clients", string(auth))
	if t.raft != nil && s.cfg.TLSCACertFile == "" {
		s.log.Warn("Raft TLS without --tls-ca-cert-file: peers' certificates are checked against the system roots and peers are not asked for certificates")
	}
}

// adminClient returns an admin API client for the node's own calls (join,
// registering its addresses), over TLS when the admin port is TLS.
func (s *Server) adminClient(addrs string) *rpc.Client {
	c := rpc.NewClient(addrs, s.cfg.AdminToken)
	c.TLS = clientSide(s.tls.admin)
	return c
}

func clientSide(p *tlsconf.Pair) *tls.Config {
	if p == nil {
		return nil
	}
	return p.Client
}
