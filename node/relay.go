package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/fsm"
)

// The relay secret (fsm/relay.go) lives in the replicated state; the node
// also keeps the newest it has applied in its stable store, beside the
// term and vote, so that after a restart it can open relays to the leader
// (and, leading, check them) before its log has replayed up to the entry
// that carries the secret. A restarted follower thus forwards its clients'
// commands as soon as it knows the leader.

// relayKey is the stable store key of the persisted secret.
var relayKey = []byte("understudy/relay-secret")

type relayKnown struct {
	mu        sync.Mutex
	cur, prev string
}

// loadRelaySecret reads the persisted secret, if any.
func (n *Node) loadRelaySecret() {
	b, err := n.stable.Get(relayKey)
	if err != nil || len(b) == 0 {
		return
	}
	cur, prev, _ := strings.Cut(string(b), "\n")
	n.relay.mu.Lock()
	n.relay.cur, n.relay.prev = cur, prev
	n.relay.mu.Unlock()
}

// runRelaySync keeps the persisted secret up to date with the state's.
func (n *Node) runRelaySync() {
	defer n.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.syncRelaySecret()
		}
	}
}

// syncRelaySecret persists the state's secret when it differs from the one
// stored (a new cluster, a rotation). Called after applied entries.
func (n *Node) syncRelaySecret() {
	cur, prev := n.fsm.RelaySecrets()
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	if cur == "" || (cur == n.relay.cur && prev == n.relay.prev) {
		return
	}
	if err := n.stable.Set(relayKey, []byte(cur+"\n"+prev)); err != nil {
		n.log.Warn("persist the relay secret", "err", err) // retried on the next change check
		return
	}
	n.relay.cur, n.relay.prev = cur, prev
}

// RelayProof is what this node sends to the leader to open a relay: a
// proof of the newest secret it knows, "" if it knows none (a cluster below
// level 2, whose older members accept only the bare handshake).
func (n *Node) RelayProof() string {
	if cur, _ := n.fsm.RelaySecrets(); cur != "" {
		return fsm.RelayProofOf(cur)
	}
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	if n.relay.cur == "" {
		return ""
	}
	return fsm.RelayProofOf(n.relay.cur)
}

// CheckRelayProof reports whether p proves knowledge of a relay secret this
// node knows: the state's current or previous one, or the persisted ones.
func (n *Node) CheckRelayProof(p []byte) bool {
	cur, prev := n.fsm.RelaySecrets()
	n.relay.mu.Lock()
	pcur, pprev := n.relay.cur, n.relay.prev
	n.relay.mu.Unlock()
	return fsm.CheckRelayProof(p, cur, prev, pcur, pprev)
}

// KnowsRelaySecret reports whether this node knows any relay secret.
func (n *Node) KnowsRelaySecret() bool {
	if cur, _ := n.fsm.RelaySecrets(); cur != "" {
		return true
	}
	n.relay.mu.Lock()
	defer n.relay.mu.Unlock()
	return n.relay.cur != ""
}

// NewRelaySecret is a fresh secret: 32 random bytes, hex.
func NewRelaySecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("relay secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// RotateRelaySecret proposes a new relay secret on the leader. The previous
// secret stays valid until the next rotation, so relays opened by followers
// that have not applied the new one yet still get through. The secret is
// never logged.
func (n *Node) RotateRelaySecret(ctx context.Context) error {
	s, err := NewRelaySecret()
	if err != nil {
		return err
	}
	_, err = n.WriteInternal([][]byte{[]byte("relay-secret"), []byte(s)}).Wait(ctx)
	return err
}
