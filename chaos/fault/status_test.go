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
		// Same index and key count, different state.
		{{ID: "n1", Applied: 9, Keys: 3, Digest: "aa", DigestApplied: 9}, {ID: "n2", Applied: 9, Keys: 3, Digest: "ab", DigestApplied: 9}},
		// Digests taken at different indexes cannot be compared yet.
		{{ID: "n1", Applied: 9, Keys: 3, Digest: "aa", DigestApplied: 9}, {ID: "n2", Applied: 9, Keys: 3, Digest: "aa", DigestApplied: 10}},
	}
	for _, c := range cases {
		if d := divergence(c); d == "" {
			t.Errorf("no divergence found in %+v", c)
		}
	}
}
