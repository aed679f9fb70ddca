// Package tlsconf turns certificate and key files into *tls.Config values for
// Understudy's listeners (client RESP, Raft, admin gRPC) and for the
// connections a node opens to its peers on those listeners.
//
// One certificate serves both directions: a node presents it when it accepts
// a connection and when it dials a peer or the leader, and verifies the other
// side against the CA file. Files are read once, when the config is built.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ClientAuth says whether a server asks connecting clients for a certificate.
// The names are Redis's tls-auth-clients values.
type ClientAuth string

const (
	// AuthNo never asks for a client certificate.
	AuthNo ClientAuth = "no"
	// AuthOptional asks for one and verifies it if given, but accepts
	// clients without one.
	AuthOptional ClientAuth = "optional"
	// AuthYes refuses clients without a certificate signed by the CA.
	AuthYes ClientAuth = "yes"
)

// ParseClientAuth accepts Redis's names (no, optional, yes) and the
// descriptive ones (none, request, require-verify).
func ParseClientAuth(s string) (ClientAuth, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "no", "none":
		return AuthNo, nil
	case "optional", "request":
		return AuthOptional, nil
	case "yes", "require", "require-verify":
		return AuthYes, nil
	}
	return "", fmt.Errorf("client auth %q: want no, optional or yes", s)
}

// Files names the PEM files TLS is built from.
type Files struct {
	// CertFile and KeyFile are this side's certificate (chain) and private
	// key. A server needs them; a client presents them when given.
	CertFile string
	KeyFile  string
	// CAFile holds the CA certificates that peers' certificates must chain
	// to. Without it a client verifies servers against the system roots and
	// a server cannot verify client certificates.
	CAFile string
	// ClientAuth applies to Server; empty means AuthNo.
	ClientAuth ClientAuth
	// ServerName, for Client, overrides the name checked in the server's
	// certificate; empty means the host part of the address dialled.
	ServerName string
}

// Validate reports the first inconsistency without reading any file.
func (f Files) Validate() error {
	var errs []error
	if f.CertFile != "" && f.KeyFile == "" {
		errs = append(errs, fmt.Errorf("TLS certificate %s given without a key file", f.CertFile))
	}
	if f.KeyFile != "" && f.CertFile == "" {
		errs = append(errs, fmt.Errorf("TLS key %s given without a certificate file", f.KeyFile))
	}
	switch f.ClientAuth {
	case "", AuthNo:
	case AuthOptional, AuthYes:
		if f.CAFile == "" {
			errs = append(errs, fmt.Errorf("verifying client certificates (%s) needs a CA file", f.ClientAuth))
		}
	default:
		errs = append(errs, fmt.Errorf("client auth %q: want no, optional or yes", f.ClientAuth))
	}
	return errors.Join(errs...)
}

// Server returns the config of a listener: this node's certificate and, when
// ClientAuth asks for it, verification of client certificates against CAFile.
func (f Files) Server() (*tls.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.CertFile == "" {
		return nil, errors.New("a TLS listener needs a certificate and key file")
	}
	cert, err := loadPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	switch f.ClientAuth {
	case AuthOptional:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case AuthYes:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if f.CAFile != "" {
		if cfg.ClientCAs, err = loadPool(f.CAFile); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Client returns the config of a dialler: servers are verified against
// CAFile (or the system roots), and CertFile is presented when given.
func (f Files) Client() (*tls.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CertFile != "" {
		cert, err := loadPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Pair is what one kind of listener needs: Server for the connections it
// accepts, Client for the connections the node opens to the same listener on
// other nodes (Raft peers, the leader's client port, the leader's admin API).
type Pair struct {
	Server *tls.Config
	Client *tls.Config
}

// Pair builds both sides from the same files.
func (f Files) Pair() (*Pair, error) {
	srv, err := f.Server()
	if err != nil {
		return nil, err
	}
	cli, err := f.Client()
	if err != nil {
		return nil, err
	}
	return &Pair{Server: srv, Client: cli}, nil
}

func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	// LoadX509KeyPair's errors do not say which file was at fault; reading
	// each first does.
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

func loadPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS CA file %s: no PEM certificate found", caFile)
	}
	return pool, nil
}
