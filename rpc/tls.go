package rpc

import (
	"crypto/tls"
	"strings"
)

// tlsHint adds the likely cause to a failure that looks like a TLS mismatch
// (one side speaking TLS and the other not, or a node that requires a client
// certificate the client does not have), which gRPC reports in transport
// terms. tc is the client's config, nil for plaintext.
func tlsHint(err error, tc *tls.Config) error {
	msg := err.Error()
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case tc == nil && has("server preface") && has("EOF", "connection reset"):
		// A TLS listener given a plaintext preface closes or resets.
		return &readable{msg + " (the node may serve TLS: use --tls-ca-cert-file, and --tls-cert-file/--tls-key-file if it verifies clients)", err}
	case tc != nil && has("does not look like a TLS handshake"):
		return &readable{msg + " (the node does not serve TLS on this port)", err}
	case tc != nil && len(tc.Certificates) == 0 && tc.GetClientCertificate == nil &&
		has("certificate required", "broken pipe", "connection reset", "server preface: EOF"):
		// With TLS 1.3 the refusal may arrive as a reset rather than an alert.
		return &readable{msg + " (the node may require a client certificate: use --tls-cert-file and --tls-key-file)", err}
	}
	return err
}
