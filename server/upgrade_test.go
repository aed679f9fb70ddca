package server_test

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
	"github.com/understudy/understudy/server/upgradetest"
)

// Upgrade fixtures: testdata/upgrade/<build>/ holds the data directories of
// a three-node cluster that build ran, a backup taken from it and the
// manifest of its keyspace (scripts/make-upgrade-fixture.sh, README.md
// there). Every later build must open those directories and restore that
// backup with every key, type, encoding, value and expiry intact (the
// encoding as this build reports the same object: a reply deliberately
// changed to follow Redis 7.0 is mapped by upgradetest.Diff). These tests
// are the guard of the formats' compatibility: a fixture is never
// regenerated, only added.
const upgradeFixtureDir = "testdata/upgrade"

// upgradeFixtures lists the fixture directories; it fails rather than skips
// when there are none, so the guard cannot vanish silently.
func upgradeFixtures(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(upgradeFixtureDir)
	if err != nil {
		t.Fatalf("upgrade fixtures: %v", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		t.Fatalf("no upgrade fixture under %s", upgradeFixtureDir)
	}
	return out
}

// TestUpgrade_OpensOldDataDirs starts this build's nodes on copies of each
// fixture's data directories (each holds a snapshot and log entries after it,
// so both are decoded) and checks the keyspace against the manifest, and that
// every node reaches the same digest at the same applied index.
func TestUpgrade_OpensOldDataDirs(t *testing.T) {
	for _, build := range upgradeFixtures(t) {
		t.Run(build, func(t *testing.T) {
			dir := filepath.Join(upgradeFixtureDir, build)
			want, err := upgradetest.Load(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			if len(want.RaftAddrs) != 3 {
				t.Fatalf("manifest names %d nodes' Raft addresses, want 3", len(want.RaftAddrs))
			}
			dataDirs := map[string]string{}
			for id := range want.RaftAddrs {
				dataDirs[id] = filepath.Join(t.TempDir(), id)
				if err := os.CopyFS(dataDirs[id], os.DirFS(filepath.Join(dir, id))); err != nil {
					t.Fatalf("copy %s's data directory: %v", id, err)
				}
			}
			// The in-memory transport takes the addresses the stored Raft
			// configuration names, so no fixed port is listened on.
			nodes := startCluster(t, 3, withRaftAddrs(want.RaftAddrs), withStableTiming(), withConfig(func(c *server.Config) {
				c.InMemory = false
				c.DataDir = dataDirs[c.ID]
			}))
			for _, n := range nodes {
				if n.Cfg.DataDir == "" {
					t.Fatalf("node %s has no fixture data directory (manifest ids %v)", n.ID, slices.Sorted(maps.Keys(want.RaftAddrs)))
				}
			}
			checkAgainstManifest(t, nodes, want)
		})
	}
}

// TestUpgrade_RestoresOldBackup restores each fixture's backup into a fresh
// cluster through the admin API, as `understudy restore` does, and checks
// the keyspace against the manifest and the digests.
func TestUpgrade_RestoresOldBackup(t *testing.T) {
	for _, build := range upgradeFixtures(t) {
		t.Run(build, func(t *testing.T) {
			dir := filepath.Join(upgradeFixtureDir, build)
			want, err := upgradetest.Load(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			sumLine, err := os.ReadFile(filepath.Join(dir, "backup.snap.sha256"))
			if err != nil {
				t.Fatal(err)
			}
			sum := strings.Fields(string(sumLine))
			if len(sum) == 0 {
				t.Fatal("backup.snap.sha256 is empty")
			}
			f, err := os.Open(filepath.Join(dir, "backup.snap"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			// TCP, as in production: a follower answers heartbeats while it
			// installs the restored snapshot (the in-memory transport queues
			// them behind it, and a loaded machine can then cost the leader
			// its lease in the middle of the restore).
			nodes := startCluster(t, 3, withRealStores(), withConfig(func(c *server.Config) {
				c.HeartbeatTimeout = time.Second
				c.ElectionTimeout = time.Second
				c.LeaderLeaseTimeout = 800 * time.Millisecond
			}))
			leader(t, nodes)
			var admins []string
			for _, n := range nodes {
				admins = append(admins, n.S.AdminAddr())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// A restore cut short by a change of leader (a loaded machine
			// can starve the followers installing it of heartbeats) is run
			// again, as an operator would: it replaces everything anyway.
			var r *adminpb.RestoreResponse
			for attempt := 1; ; attempt++ {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				r, err = rpc.NewClient(strings.Join(admins, ","), "").Restore(ctx, f, sum[0], nil)
				if err == nil {
					break
				}
				if attempt == 3 || !strings.Contains(err.Error(), "leader") {
					t.Fatalf("restore %s (attempt %d): %v", build, attempt, err)
				}
				t.Logf("restore %s (attempt %d): %v; again", build, attempt, err)
				leader(t, nodes)
			}
			if r.Keys != int64(len(want.Keys)) {
				t.Errorf("restore reported %d keys, the manifest has %d", r.Keys, len(want.Keys))
			}
			checkAgainstManifest(t, nodes, want)
		})
	}
}

// checkAgainstManifest reads the whole keyspace from the leader and compares
// it with want, then waits for every node to report the same DEBUG DIGEST at
// the same applied index.
func checkAgainstManifest(t *testing.T, nodes []*testNode, want *upgradetest.Manifest) {
	t.Helper()
	l := leader(t, nodes)
	// Reads retried (TRYAGAIN, a broken connection) if leadership moves
	// meanwhile, as on a loaded machine it may.
	c := redis.NewClient(&redis.Options{Addr: l.ClientAddr(), MaxRetries: 10})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := upgradetest.Dump(ctx, c, want.Absent)
	if err != nil {
		t.Fatalf("read the keyspace: %v", err)
	}
	if diff := upgradetest.Diff(want, got); len(diff) > 0 {
		t.Fatalf("the keyspace differs from the manifest of %s in %d keys:\n%s", want.MadeWith, len(diff), strings.Join(diff, "\n"))
	}
	var last []string
	waitFor(t, 15*time.Second, func() bool {
		last = last[:0]
		var first string
		var index int64 = -1
		same := true
		for _, n := range nodes {
			rc := mustClient(t, n.ClientAddr())
			r, err := rc.Do("DEBUG", "DIGEST", "APPLIED")
			rc.Close()
			if err != nil || r.Kind != '*' || len(r.Arr) != 2 {
				t.Fatalf("DEBUG DIGEST APPLIED on %s: %v %v", n.ID, r, err)
			}
			last = append(last, n.ID+"="+r.Arr[0].Str+"@"+r.Arr[1].String())
			if index < 0 {
				first, index = r.Arr[0].Str, r.Arr[1].Int
			} else if r.Arr[0].Str != first || r.Arr[1].Int != index {
				same = false
			}
		}
		return same
	}, "nodes never agreed on a digest at one applied index: %v", &last)
}
