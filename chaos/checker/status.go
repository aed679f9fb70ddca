package checker

import (
	"fmt"
	"sort"
)

// StatusSample is one node's answer to a status request during the run.
// Incarnation counts the node's process starts and Epoch its data wipes, as
// the fault injector saw them when the answer arrived.
type StatusSample struct {
	T           int64  `json:"t"`
	Node        string `json:"node"`
	Incarnation int    `json:"incarnation"`
	Epoch       int    `json:"epoch"`
	Role        string `json:"role"`
	Term        uint64 `json:"term"`
	Applied     uint64 `json:"applied"`
	Commit      uint64 `json:"commit"`
	Leader      string `json:"leader"`
}

// CheckStatuses checks the samples of every node:
//   - I6: at most one node claims leadership in any term;
//   - I8: a node's term never decreases while it keeps its data (across
//     restarts: the term is persisted), and its applied index never decreases
//     within one process (a restarted node re-applies from its snapshot, so
//     its applied index may restart lower; its commit index too).
func CheckStatuses(samples []StatusSample) []Violation {
	var out []Violation
	leaders := map[uint64]string{}
	for _, s := range samples {
		if s.Role != "leader" {
			continue
		}
		if prev, ok := leaders[s.Term]; ok && prev != s.Node {
			out = append(out, Violation{Invariant: "I6", Workload: "status",
				Detail: fmt.Sprintf("both %s and %s reported being leader in term %d (seen at %s)", prev, s.Node, s.Term, At(s.T))})
			continue
		}
		leaders[s.Term] = s.Node
	}
	byNode := map[string][]StatusSample{}
	var nodes []string
	for _, s := range samples {
		if _, ok := byNode[s.Node]; !ok {
			nodes = append(nodes, s.Node)
		}
		byNode[s.Node] = append(byNode[s.Node], s)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		ss := byNode[n]
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].T < ss[j].T })
		for i := 1; i < len(ss); i++ {
			a, b := ss[i-1], ss[i]
			if a.Epoch == b.Epoch && b.Term < a.Term {
				out = append(out, Violation{Invariant: "I8", Workload: "status",
					Detail: fmt.Sprintf("%s: term went back from %d to %d at %s", n, a.Term, b.Term, At(b.T))})
			}
			if a.Epoch == b.Epoch && a.Incarnation == b.Incarnation && b.Applied < a.Applied {
				out = append(out, Violation{Invariant: "I8", Workload: "status",
					Detail: fmt.Sprintf("%s: applied index went back from %d to %d at %s without a restart", n, a.Applied, b.Applied, At(b.T))})
			}
		}
	}
	return out
}

// LeaderTerms counts the distinct terms in which some leader was seen, for
// the report.
func LeaderTerms(samples []StatusSample) int {
	seen := map[uint64]bool{}
	for _, s := range samples {
		if s.Role == "leader" {
			seen[s.Term] = true
		}
	}
	return len(seen)
}
