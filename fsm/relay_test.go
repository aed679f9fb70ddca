package fsm_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// TestRelaySecret: the secret is in raft snapshots (a follower installing
// one needs it) but never in a backup (WriteSnapshot) or the state digest;
// proofs of the current and the previous secret are accepted, no other.
func TestRelaySecret(t *testing.T) {
	h := newHarness()
	h.run(t, "SET k v")
	before := h.f.Hash()
	if h.f.RelayProof() != "" || h.f.CheckRelayProof([]byte("")) {
		t.Fatal("a proof before any secret")
	}
	first := strings.Repeat("a1", 32)
	if v := h.internal(t, "relay-secret", first); fmtValue(v) != "+OK" {
		t.Fatalf("relay-secret: %s", fmtValue(v))
	}
	if h.f.Hash() != before {
		t.Fatal("the relay secret changed the state digest")
	}
	p1 := h.f.RelayProof()
	if p1 == "" || strings.Contains(p1, first) || !h.f.CheckRelayProof([]byte(p1)) || h.f.CheckRelayProof([]byte(p1[1:])) {
		t.Fatalf("proof %q", p1)
	}
	second := strings.Repeat("b2", 32)
	h.internal(t, "relay-secret", second)
	p2 := h.f.RelayProof()
	if p2 == p1 || !h.f.CheckRelayProof([]byte(p1)) || !h.f.CheckRelayProof([]byte(p2)) {
		t.Fatal("after a rotation the current and previous proofs must both pass")
	}
	h.internal(t, "relay-secret", strings.Repeat("c3", 32))
	if h.f.CheckRelayProof([]byte(p1)) {
		t.Fatal("a proof two rotations old still passes")
	}

	raftSnap := persist(t, mustSnapshot(t, h.f))
	var backup bytes.Buffer
	if _, err := h.f.WriteSnapshot(&backup); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raftSnap, []byte(strings.Repeat("c3", 32))) {
		t.Fatal("a raft snapshot lacks the relay secret")
	}
	for _, s := range []string{first, second, strings.Repeat("c3", 32)} {
		if bytes.Contains(backup.Bytes(), []byte(s)) {
			t.Fatal("a backup holds a relay secret")
		}
	}
	fromRaft, fromBackup := fsm.New(), fsm.New()
	if err := fromRaft.Restore(io.NopCloser(bytes.NewReader(raftSnap))); err != nil {
		t.Fatal(err)
	}
	if err := fromBackup.Restore(io.NopCloser(bytes.NewReader(backup.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if fromRaft.RelayProof() != h.f.RelayProof() || fromBackup.HasRelaySecret() {
		t.Fatal("restore: raft snapshots keep the secret, backups have none")
	}
	if fromRaft.Hash() != h.f.Hash() || fromBackup.Hash() != h.f.Hash() {
		t.Fatal("restored states differ")
	}
}
