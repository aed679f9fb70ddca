package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestVersion_StampedEverywhere: the version a build stamps with -ldflags -X
// (TestMain stamps stampedVersion) is what INFO server, status and status
// --cluster report.
func TestVersion_StampedEverywhere(t *testing.T) {
	c := startProcCluster(t, withNodes(1))
	p := c.procs[0]
	findLeader(t, c, 15*time.Second)
	if v, err := info(p, "server", "understudy_version"); err != nil || v != stampedVersion {
		t.Errorf("INFO server understudy_version: %q, %v; want %q", v, err, stampedVersion)
	}
	code, stdout, stderr := runOnce(t, t.TempDir(), nil, "status", "--admin", p.adminAddr, "-o", "json")
	var one struct {
		Version     string `json:"version"`
		FormatLevel *int   `json:"format_level"`
	}
	if err := json.Unmarshal([]byte(stdout), &one); code != 0 || err != nil {
		t.Fatalf("status -o json: exit %d, %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
	}
	if one.Version != stampedVersion || one.FormatLevel == nil {
		t.Errorf("status -o json: version %q, format_level %v; want %q and a format_level", one.Version, one.FormatLevel, stampedVersion)
	}
	waitFor(t, 15*time.Second, func() bool {
		code, stdout, _ = runOnce(t, t.TempDir(), nil, "status", "--cluster", "--admin", p.adminAddr, "-o", "json")
		var all []struct {
			ID      string `json:"id"`
			Version string `json:"version"`
		}
		return code == 0 && json.Unmarshal([]byte(stdout), &all) == nil && len(all) == 1 && all[0].Version == stampedVersion
	}, "status --cluster never showed version %q: %s", stampedVersion, &stdout)
}
