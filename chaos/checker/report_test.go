package checker

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLongestGap(t *testing.T) {
	s := []int64{10, 20, 50, 55}
	cases := []struct {
		from, to int64
		want     Gap
	}{
		{0, 60, Gap{Length: 30, From: 20, To: 50}},
		{0, 100, Gap{Length: 45, From: 55, To: 100}},
		{21, 49, Gap{Length: 28, From: 21, To: 49}}, // no success inside
		{5, 20, Gap{Length: 10, From: 10, To: 20}},
	}
	for _, c := range cases {
		if got := LongestGap(s, c.from, c.to); got != c.want {
			t.Errorf("LongestGap(%d, %d) = %+v, want %+v", c.from, c.to, got, c.want)
		}
	}
	if got := FirstAfter(s, 21); got != 50 {
		t.Errorf("FirstAfter = %d", got)
	}
	if got := FirstAfter(s, 56); got != Never {
		t.Errorf("FirstAfter past the end = %d", got)
	}
}

func TestReport_FinishAndWrite(t *testing.T) {
	rv := RegisterVerdict{Linearizable: LinYes, CheckedOps: 3, Keys: 1}
	rep := &Report{
		Mode: "local", Seed: 7, Duration: "1m0s", Nodes: []string{"n1", "n2", "n3"},
		Faults: []FaultRecord{
			{N: 1, Kind: "kill-leader", Target: "n1", Start: ms(100), Healed: ms(200), Recovered: ms(300)},
			{N: 2, Kind: "pause-leader", Target: "n2", Start: ms(500), Healed: ms(900), Recovered: Never, Error: "stuck"},
		},
		Workloads:   []WorkloadSummary{{Name: "register", Clients: 2, Counts: Counts{OK: 3}, Errors: map[string]int{"TRYAGAIN": 2}}},
		Register:    &rv,
		Convergence: Convergence{Converged: true, Detail: "every node at applied index 9 with 1 keys"},
	}
	rep.Finish([]int64{ms(50), ms(250), ms(950)}, 0, ms(1000))
	if rep.Verdict != "PASS" {
		t.Fatalf("verdict %s", rep.Verdict)
	}
	if g := rep.Faults[0].WriteGap.Length; g != ms(500)-ms(250) { // until fault 2 starts
		t.Fatalf("gap of fault 1 = %d", g)
	}
	if got := rep.Faults[0].FirstWriteHeal; got != ms(250) {
		t.Fatalf("first write after heal = %d", got)
	}
	if rep.LongestGap.Length != ms(700) {
		t.Fatalf("longest gap %+v", rep.LongestGap)
	}

	rep.Violations = append(rep.Violations, Violation{Invariant: "I2", Workload: "register", Key: "x", Detail: "lost"})
	rep.Finish(nil, 0, ms(1000))
	if !rep.Failed() {
		t.Fatal("a violation must fail the run")
	}
	var i2 InvariantRow
	for _, in := range rep.Invariants {
		if in.ID == "I2" {
			i2 = in
		}
	}
	if !strings.HasPrefix(i2.Status, "violated") {
		t.Fatalf("I2 row %+v", i2)
	}

	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Chaos run: FAIL", "## Invariants", "## Faults", "kill-leader", "## Workloads", "## Convergence", "## Violations", "`TRYAGAIN` 2"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || back.Verdict != "FAIL" || len(back.Faults) != 2 {
		t.Fatalf("report.json: %v %+v", err, back.Verdict)
	}
}

func TestReport_NotConvergedFails(t *testing.T) {
	rep := &Report{Convergence: Convergence{Converged: false, Detail: "applied index n1=5, n2=4"}}
	rep.Finish(nil, 0, 0)
	if !rep.Failed() {
		t.Fatal("divergence must fail the run")
	}
}

func TestReport_Verdicts(t *testing.T) {
	converged := Convergence{Converged: true}
	cases := []struct {
		name    string
		rep     Report
		verdict string
		exit    int
	}{
		{"all checks passed", Report{Register: &RegisterVerdict{Linearizable: LinYes}, Convergence: converged}, VerdictPass, ExitPass},
		{"porcupine timed out", Report{Register: &RegisterVerdict{Linearizable: LinUnknown}, Convergence: converged}, VerdictNotProven, ExitNotProven},
		{"porcupine timed out and a write was lost", Report{Register: &RegisterVerdict{Linearizable: LinUnknown}, Convergence: converged,
			Violations: []Violation{{Invariant: "I2", Detail: "lost"}}}, VerdictFail, ExitViolation},
		{"not linearizable", Report{Register: &RegisterVerdict{Linearizable: LinNo}, Convergence: converged,
			Violations: []Violation{{Invariant: "I1", Detail: "history not linearizable"}}}, VerdictFail, ExitViolation},
		{"not converged", Report{Register: &RegisterVerdict{Linearizable: LinYes}}, VerdictFail, ExitViolation},
		{"interrupted", Report{Register: &RegisterVerdict{Linearizable: LinYes}, Convergence: converged, Interrupted: true}, VerdictInterrupted, ExitCouldNotRun},
		{"interrupted after a violation", Report{Register: &RegisterVerdict{Linearizable: LinYes}, Convergence: converged, Interrupted: true,
			Violations: []Violation{{Invariant: "I6", Detail: "two leaders"}}}, VerdictFail, ExitViolation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := c.rep
			rep.Finish(nil, 0, 0)
			if rep.Verdict != c.verdict || rep.ExitCode() != c.exit {
				t.Fatalf("verdict %q exit %d, want %q %d", rep.Verdict, rep.ExitCode(), c.verdict, c.exit)
			}
			if (c.verdict == VerdictFail) != rep.Failed() {
				t.Fatalf("Failed() = %v with verdict %s", rep.Failed(), rep.Verdict)
			}
		})
	}
}
