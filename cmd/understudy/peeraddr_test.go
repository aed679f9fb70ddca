package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcess_PeerAddrFlagsRefuseUndialable: --peer-client-addr and
// --peer-admin-addr (and UNDERSTUDY_PEER_*) exist, and an address no peer
// can dial (a wildcard host, no port) is refused before anything is opened,
// naming the flag.
func TestProcess_PeerAddrFlagsRefuseUndialable(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"PeerClientWildcard", []string{"--peer-client-addr", "0.0.0.0:6381"}, nil, `--peer-client-addr "0.0.0.0:6381"`},
		{"EnvPeerAdminNoPort", nil, []string{"UNDERSTUDY_PEER_ADMIN_ADDR=n1"}, `--peer-admin-addr "n1"`},
		{"AdvertiseClientWildcard", []string{"--advertise-client-addr", "[::]:6381"}, nil, `--advertise-client-addr "[::]:6381"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dataDir := filepath.Join(dir, "data")
			args := append([]string{"serve", "--data-dir", dataDir,
				"--raft-addr", freeAddr(t), "--client-addr", freeAddr(t), "--admin-addr", freeAddr(t)}, tc.args...)
			code, _, stderr := runOnce(t, dir, tc.env, args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant non-zero and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(dataDir); err == nil {
				t.Errorf("refused configuration still created %s", dataDir)
			}
		})
	}
}
