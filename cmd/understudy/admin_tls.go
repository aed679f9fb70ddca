package main

import (
	"crypto/tls"

	"github.com/spf13/pflag"
	"github.com/understudy/understudy/tlsconf"
)

// adminTLSFlags let an operator reach admin ports served over TLS. The file
// flags have the names (and UNDERSTUDY_* variables) of serve's, so the CLI
// run beside a node, with the node's environment (a container healthcheck),
// speaks TLS to it the way its peers do.
type adminTLSFlags struct {
	enable     bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

// adminTLSEnv maps the TLS flags to the variables that set them.
var adminTLSEnv = map[string]string{
	"tls":              "UNDERSTUDY_TLS",
	"tls-ca-cert-file": "UNDERSTUDY_TLS_CA_CERT_FILE",
	"tls-cert-file":    "UNDERSTUDY_TLS_CERT_FILE",
	"tls-key-file":     "UNDERSTUDY_TLS_KEY_FILE",
	"tls-server-name":  "UNDERSTUDY_TLS_SERVER_NAME",
}

func (f *adminTLSFlags) register(pf *pflag.FlagSet) {
	pf.BoolVar(&f.enable, "tls", false, "connect over TLS (implied by --tls-ca-cert-file or --tls-cert-file); servers are verified against the system roots unless --tls-ca-cert-file is given")
	pf.StringVar(&f.caFile, "tls-ca-cert-file", "", "PEM CA certificates that verify the nodes")
	pf.StringVar(&f.certFile, "tls-cert-file", "", "PEM client certificate, for nodes that verify clients")
	pf.StringVar(&f.keyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	pf.StringVar(&f.serverName, "tls-server-name", "", "name expected in the nodes' certificates (default: the host of each address)")
}

// config is the client TLS config, or nil for plaintext.
func (f *adminTLSFlags) config() (*tls.Config, error) {
	if !f.enable && f.caFile == "" && f.certFile == "" && f.keyFile == "" {
		return nil, nil
	}
	return tlsconf.Files{CertFile: f.certFile, KeyFile: f.keyFile, CAFile: f.caFile, ServerName: f.serverName}.Client()
}
