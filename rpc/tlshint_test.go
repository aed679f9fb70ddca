package rpc

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
)

func TestTLSHint_NamesTheLikelyMismatch(t *testing.T) {
	plain, tlsNoCert := (*tls.Config)(nil), &tls.Config{}
	for _, tc := range []struct {
		msg  string
		tc   *tls.Config
		want string // "" = no hint added
	}{
		{`connection error: desc = "error reading server preface: EOF"`, plain, "may serve TLS"},
		{`connection error: desc = "error reading server preface: connection reset by peer"`, plain, "may serve TLS"},
		{`connection error: desc = "error reading server preface: read tcp 1->2: read: connection reset by peer"`, plain, "may serve TLS"},
		{`tls: first record does not look like a TLS handshake`, tlsNoCert, "does not serve TLS"},
		{`remote error: tls: certificate required`, tlsNoCert, "require a client certificate"},
		{`connection refused`, plain, ""},
		{`x509: certificate signed by unknown authority`, tlsNoCert, ""},
	} {
		err := errors.New(tc.msg)
		got := tlsHint(err, tc.tc).Error()
		switch {
		case tc.want == "" && got != tc.msg:
			t.Errorf("%q: added a hint: %q", tc.msg, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%q: got %q, want a hint saying %q", tc.msg, got, tc.want)
		}
	}
}
