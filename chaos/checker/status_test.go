package checker

import "testing"

func sample(t int64, node string, inc, epoch int, role string, term, applied uint64) StatusSample {
	return StatusSample{T: ms(t), Node: node, Incarnation: inc, Epoch: epoch, Role: role, Term: term, Applied: applied}
}

func TestCheckStatuses_OneLeaderPerTermPasses(t *testing.T) {
	ss := []StatusSample{
		sample(0, "n1", 1, 0, "leader", 2, 10),
		sample(0, "n2", 1, 0, "follower", 2, 10),
		sample(100, "n1", 1, 0, "leader", 2, 12), // a deposed leader still says so in its own term
		sample(100, "n2", 1, 0, "leader", 3, 12),
	}
	mustBeClean(t, CheckStatuses(ss))
	if n := LeaderTerms(ss); n != 2 {
		t.Fatalf("leader terms = %d", n)
	}
}

func TestCheckStatuses_TwoLeadersInOneTermDetected(t *testing.T) {
	ss := []StatusSample{sample(0, "n1", 1, 0, "leader", 4, 10), sample(5, "n2", 1, 0, "leader", 4, 10)}
	mustHave(t, CheckStatuses(ss), "I6", "term 4")
}

func TestCheckStatuses_TermGoingBackDetected(t *testing.T) {
	ss := []StatusSample{sample(0, "n1", 1, 0, "follower", 5, 10), sample(10, "n1", 2, 0, "follower", 4, 10)}
	mustHave(t, CheckStatuses(ss), "I8", "term went back")
}

func TestCheckStatuses_AppliedIndexMayRestartLowerOnlyAfterRestart(t *testing.T) {
	ss := []StatusSample{sample(0, "n1", 1, 0, "follower", 5, 100), sample(10, "n1", 2, 0, "follower", 5, 40)}
	mustBeClean(t, CheckStatuses(ss))
	ss = []StatusSample{sample(0, "n1", 1, 0, "follower", 5, 100), sample(10, "n1", 1, 0, "follower", 5, 40)}
	mustHave(t, CheckStatuses(ss), "I8", "applied index went back")
}

func TestCheckStatuses_WipedNodeStartsOver(t *testing.T) {
	ss := []StatusSample{sample(0, "n3", 1, 0, "follower", 7, 100), sample(10, "n3", 2, 1, "follower", 1, 0)}
	mustBeClean(t, CheckStatuses(ss))
}
