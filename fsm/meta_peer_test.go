package fsm_test

import (
	"encoding/binary"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// TestMetaPeerAddresses: the meta command records a member's peer-facing
// addresses when given (six arguments) and not otherwise (four, as older
// nodes write it); snapshots keep them, in format version 2 only when some
// member has them, so a cluster that does not separate them writes
// snapshots older binaries read.
func TestMetaPeerAddresses(t *testing.T) {
	h := newLevel1Harness()
	if got := fmtValue(h.internal(t, "meta", "n1", "127.0.0.1:6381", "127.0.0.1:9181")); got != "+OK" {
		t.Fatalf("meta with four arguments: %s", got)
	}
	plain := snapshotBytes(t, h.f)
	if v := binary.LittleEndian.Uint32(plain[8:]); v != 1 {
		t.Fatalf("snapshot without peer addresses has version %d, want 1", v)
	}
	m, _ := h.f.Meta("n1")
	if m.PeerClient() != "127.0.0.1:6381" || m.PeerAdmin() != "127.0.0.1:9181" {
		t.Fatalf("peer addresses default to the advertised ones: got %+v", m)
	}

	if got := fmtValue(h.internal(t, "meta", "n2", "127.0.0.1:6382", "127.0.0.1:9182", "n2:6382", "n2:9182")); got != "+OK" {
		t.Fatalf("meta with six arguments: %s", got)
	}
	if got := h.internal(t, "meta", "n3", "a", "b", "c"); got.Kind != fsm.KindError {
		t.Fatalf("meta with five arguments: %s, want an error", fmtValue(got))
	}
	want := fsm.NodeMeta{ClientAddr: "127.0.0.1:6382", AdminAddr: "127.0.0.1:9182", PeerClientAddr: "n2:6382", PeerAdminAddr: "n2:9182"}
	if m, ok := h.f.Meta("n2"); !ok || m != want {
		t.Fatalf("meta n2 = %+v, want %+v", m, want)
	}

	data := snapshotBytes(t, h.f)
	if v := binary.LittleEndian.Uint32(data[8:]); v != 2 {
		t.Fatalf("snapshot with peer addresses has version %d, want 2", v)
	}
	for _, b := range [][]byte{plain, data} {
		other := fsm.New()
		if err := restore(other, b); err != nil {
			t.Fatalf("restore: %v", err)
		}
		if m, _ := other.Meta("n1"); m != (fsm.NodeMeta{ClientAddr: "127.0.0.1:6381", AdminAddr: "127.0.0.1:9181"}) {
			t.Fatalf("restored meta n1 = %+v", m)
		}
	}
	other := fsm.New()
	if err := restore(other, data); err != nil {
		t.Fatal(err)
	}
	if m, _ := other.Meta("n2"); m != want {
		t.Fatalf("restored meta n2 = %+v, want %+v", m, want)
	}
	if other.Hash() != h.f.Hash() {
		t.Fatal("restored state hashes differently")
	}
}
