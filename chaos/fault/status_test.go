package fault

import (
	"testing"

	"github.com/understudy/understudy/chaos/checker"
)

func TestDivergence(t *testing.T) {
	same := []checker.NodeState{{ID: "n1", Applied: 9, Keys: 3}, {ID: "n2", Applied: 9, Keys: 3}}
	if d := divergence(same); d != "" {
		t.Fatalf("divergence of equal nodes: %q", d)
	}
	cases := [][]checker.NodeState{
		{{ID: "n1", Applied: 9, Keys: 3}, {ID: "n2", Applied: 8, Keys: 3}},
		{{ID: "n1", Applied: 9, Keys: 3}, {ID: "n2", Applied: 9, Keys: 2}},
		{{ID: "n1", Applied: 9, Keys: 3}, {ID: "n2", Err: "status: refused"}},
	}
	for _, c := range cases {
		if d := divergence(c); d == "" {
			t.Errorf("no divergence found in %+v", c)
		}
	}
}

func TestSupported_LocalHasNoNetworkFaults(t *testing.T) {
	got, err := Supported(&Local{}, []string{KillLeader, IsolateLeader, PauseLeader})
	if err != nil || len(got) != 2 || got[0] != KillLeader || got[1] != PauseLeader {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := Supported(&Docker{}, []string{IsolateMajority}); err != nil || len(got) != 1 {
		t.Fatalf("docker: %v, %v", got, err)
	}
	if _, err := Supported(&Docker{}, []string{"kill-everyone"}); err == nil {
		t.Fatal("an unknown kind must be an error")
	}
}
