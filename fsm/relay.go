package fsm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// The relay secret: how a follower proves to the leader that a connection
// relaying its clients' commands comes from a member of this cluster. The
// leader creates it (server/level.go) once every member runs a build that
// knows it (cluster level 2); the internal entry "relay-secret HEX" carries
// it to every node, and a rotation keeps the previous one valid until the
// next, so a follower that has not yet applied the new one still gets
// through. It is part of the raft snapshot (section 3), never of a backup
// handed to an operator (WriteSnapshot) and never of the state digest, and
// no command reads it: a relay sends an HMAC of it, not the secret.

type relaySecret struct {
	cur, prev string
}

// relayProofLabel is what a proof is the HMAC of.
const relayProofLabel = "understudy relay v1"

func proofOf(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(relayProofLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// RelayProofOf is the proof a relay sends for secret.
func RelayProofOf(secret string) string { return proofOf(secret) }

// CheckRelayProof reports whether p proves knowledge of one of secrets
// (empty ones ignored), in constant time.
func CheckRelayProof(p []byte, secrets ...string) bool {
	ok := false
	for _, s := range secrets {
		if s != "" && hmac.Equal(p, []byte(proofOf(s))) {
			ok = true
		}
	}
	return ok
}

// RelaySecrets returns the current and previous relay secret, for the node
// to keep beside its term and vote (node/relay.go). No command reads them.
func (f *FSM) RelaySecrets() (cur, prev string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.relay.cur, f.relay.prev
}

// RelayProof is the proof of the current secret ("" without one).
func (f *FSM) RelayProof() string {
	cur, _ := f.RelaySecrets()
	if cur == "" {
		return ""
	}
	return proofOf(cur)
}

// CheckRelayProof reports whether p proves the current or previous secret.
func (f *FSM) CheckRelayProof(p []byte) bool {
	cur, prev := f.RelaySecrets()
	return CheckRelayProof(p, cur, prev)
}

// HasRelaySecret reports whether the state holds a relay secret.
func (f *FSM) HasRelaySecret() bool {
	cur, _ := f.RelaySecrets()
	return cur != ""
}

// cmdRelaySecret is the internal "relay-secret HEX" entry: a new secret,
// the current one kept as the previous.
func cmdRelaySecret(c *ctx, argv [][]byte) Value {
	if len(argv) != 2 || len(argv[1]) < 32 {
		return Err("ERR bad relay-secret command")
	}
	c.f.relay = relaySecret{cur: string(argv[1]), prev: c.f.relay.cur}
	return OK
}
