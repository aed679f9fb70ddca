package server

import (
	"fmt"
	"net"
	"time"
)

// resolveWait bounds how long a node waits for its advertised Raft host name
// to resolve before giving up.
const resolveWait = 2 * time.Minute

// awaitOwnName waits until the host of addr resolves, when it is a name.
// A new Kubernetes pod's DNS record (<pod>.<headless service>) appears a
// moment after the pod starts; the Raft transport resolves its advertised
// address once at start, so failing at once would only cost a container
// restart and its back-off.
func awaitOwnName(addr string, log interface{ Info(string, ...any) }) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return nil // Validate reports a malformed address
	}
	deadline := time.Now().Add(resolveWait)
	for logged := false; ; logged = true {
		_, err := net.LookupHost(host)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("advertised Raft address %s does not resolve after %v: %w", addr, resolveWait, err)
		}
		if !logged {
			log.Info("waiting for the advertised Raft address to resolve", "addr", addr, "err", err)
		}
		time.Sleep(time.Second)
	}
}
