package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// scrape is one /metrics answer: sample values by series ("name" or
// `name{label="v"}` as printed) and the metric family names from # TYPE.
type scrape struct {
	values   map[string]float64
	families map[string]bool
}

func (s scrape) get(series string) float64 { return s.values[series] }

// scrapeMetrics fetches and parses addr's /metrics (Prometheus text format).
func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics on %s: %s\n%s", addr, resp.Status, b)
	}
	out := scrape{values: map[string]float64{}, families: map[string]bool{}}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			out.families[strings.Fields(f)[0]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out.values[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return out
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetrics_ClusterEndpoint runs a three-node cluster with --metrics-addr
// on each node, sends writes, reads, an error and forwarded commands, takes
// a snapshot and moves leadership, and checks what each node's /metrics
// says against what happened. It also checks that README.md documents
// exactly the understudy_* metrics served.
func TestMetrics_ClusterEndpoint(t *testing.T) {
	addrs := map[string]string{}
	for i := 1; i <= 3; i++ {
		addrs[fmt.Sprintf("n%d", i)] = mustFreeAddr(t)
	}
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.MetricsAddr = addrs[c.ID] }))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]
	lc, fc := mustClient(t, l.ClientAddr()), mustClient(t, f.ClientAddr())
	for _, path := range []string{"/livez", "/readyz"} {
		if code := httpStatus(t, "http://"+addrs[l.ID]+path); code != http.StatusOK {
			t.Errorf("%s on the leader: %d", path, code)
		}
	}

	var cmds [][]string
	for i := range 10 {
		cmds = append(cmds, []string{"SET", fmt.Sprint("k", i), "v"})
	}
	if _, err := lc.Pipeline(cmds); err != nil {
		t.Fatal(err)
	}
	lc.MustReply(t, errReply("WRONGTYPE Operation against a key holding the wrong kind of value"), "LPUSH", "k0", "x")
	fc.MustReply(t, bulkReply("v"), "GET", "k0") // forwarded
	fc.MustReply(t, okReply(), "SET", "fk", "v") // forwarded
	if _, _, err := l.S.Node.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}

	var ls, fs scrape
	var last string
	waitFor(t, 10*time.Second, func() bool {
		ls, fs = scrapeMetrics(t, addrs[l.ID]), scrapeMetrics(t, addrs[f.ID])
		checks := []struct {
			what string
			ok   bool
		}{
			{"leader role", ls.get(`understudy_raft_role{role="leader"}`) == 1 && ls.get(`understudy_raft_role{role="follower"}`) == 0},
			{"follower role", fs.get(`understudy_raft_role{role="follower"}`) == 1},
			{"term", ls.get("understudy_raft_term") >= 1 && ls.get("understudy_raft_term") == fs.get("understudy_raft_term")},
			{"applied = commit", ls.get("understudy_raft_applied_index") == ls.get("understudy_raft_commit_index") && ls.get("understudy_raft_commit_index") > 0},
			{"last log", ls.get("understudy_raft_last_log_index") >= ls.get("understudy_raft_commit_index")},
			{"keys on leader", ls.get("understudy_keys") == 11},
			{"keys on follower", fs.get("understudy_keys") == 11},
			{"has leader", ls.get("understudy_raft_has_leader") == 1 && fs.get("understudy_raft_has_leader") == 1},
			{"read ready", ls.get("understudy_raft_read_ready") == 1 && fs.get("understudy_raft_read_ready") == 0},
			// The leader counts its own clients' commands and the follower's relayed ones.
			{"set calls", ls.get(`understudy_commands_total{command="set"}`) == 11},
			{"get calls", ls.get(`understudy_commands_total{command="get"}`) == 1},
			{"lpush failed", ls.get(`understudy_command_errors_total{command="lpush"}`) == 1},
			{"wrongtype", ls.get(`understudy_error_replies_total{error="WRONGTYPE"}`) == 1},
			{"set time", ls.get(`understudy_command_duration_seconds_total{command="set"}`) > 0},
			{"follower set", fs.get(`understudy_commands_total{command="set"}`) == 1},
			{"forwarded", fs.get("understudy_forwarded_commands_total") == 2 && ls.get("understudy_forwarded_commands_total") == 0},
			{"apply histogram", ls.get("understudy_apply_duration_seconds_count") >= 1 && ls.get("understudy_apply_duration_seconds_sum") > 0},
			{"apply batch", ls.get("understudy_apply_batch_commands_sum") >= 11},
			{"follower proposes nothing", fs.get("understudy_apply_duration_seconds_count") == 0},
			{"snapshot", ls.get("understudy_snapshot_duration_seconds_count") == 1 && ls.get("understudy_snapshot_size_bytes") > 0},
			{"snapshot index", ls.get("understudy_snapshot_last_index") > 0},
			{"clients", ls.get("understudy_connected_clients") >= 2}, // lc and the follower's relay
			{"leader changes", ls.get("understudy_leader_changes_total") >= 1 && fs.get("understudy_leader_changes_total") >= 1},
			{"build info", ls.get(`understudy_build_info{version="`+server.BuildVersion()+`"}`) == 1},
			{"go collector", ls.families["go_goroutines"]},
		}
		for _, c := range checks {
			if !c.ok {
				last = c.what
				return false
			}
		}
		return true
	}, "metrics never matched what happened; first mismatch: %s", lazyString{&last})

	// A leadership change is counted by every node that sees it.
	before := fs.get("understudy_leader_changes_total")
	if err := l.S.Node.Raft().LeadershipTransferToServer(raftID(f), raftAddr(f)).Error(); err != nil {
		t.Fatalf("transfer leadership to %s: %v", f.ID, err)
	}
	waitFor(t, 10*time.Second, func() bool {
		fs = scrapeMetrics(t, addrs[f.ID])
		return fs.get(`understudy_raft_role{role="leader"}`) == 1 && fs.get("understudy_leader_changes_total") > before
	}, "%s leads but its leader-change count stayed at %v", f.ID, before)

	checkMetricsDocumented(t, ls)
}

// lazyString shows a string's value when the message is printed.
type lazyString struct{ p *string }

func (l lazyString) String() string { return *l.p }

// checkMetricsDocumented compares the understudy_* families served with the
// names README.md's Metrics table documents.
func checkMetricsDocumented(t *testing.T, s scrape) {
	t.Helper()
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Metrics\n")
	if !ok {
		t.Fatal(`README.md has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(understudy_[a-z_]+)`").FindAllStringSubmatch(section, -1) {
		documented[m[1]] = true
	}
	var missing, stale []string
	for name := range s.families {
		if strings.HasPrefix(name, "understudy_") && !documented[name] {
			missing = append(missing, name)
		}
	}
	for name := range documented {
		if !s.families[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("README.md's Metrics table does not document: %s", strings.Join(missing, " "))
	}
	if len(stale) > 0 {
		t.Errorf("README.md's Metrics table documents metrics not served: %s", strings.Join(stale, " "))
	}
}

// /readyz on a follower that knows the leader but lags behind it says not
// ready (its own commit index trails as far as its log, so only the
// leader's says it is behind), and ready once it has caught up.
func TestReadyz_LaggingFollowerIsNotReady(t *testing.T) {
	addrs := map[string]string{}
	for i := 1; i <= 3; i++ {
		addrs[fmt.Sprintf("n%d", i)] = mustFreeAddr(t)
	}
	nodes := startCluster(t, 3, withGates(), withStableTiming(), withConfig(func(c *server.Config) { c.MetricsAddr = addrs[c.ID] }))
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 10*time.Second)
	checkConvergence(t, nodes)
	lagging := followers(nodes, l)[0]
	readyz := func(n *testNode) (int, string) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addrs[n.ID] + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz on %s: %v", n.ID, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, n := range nodes {
		if code, body := readyz(n); code != http.StatusOK {
			t.Fatalf("/readyz on %s before any lag: %d %s", n.ID, code, body)
		}
	}

	l.Gate.HoldTo(lagging.Trans.LocalAddr())
	c := mustClient(t, l.ClientAddr())
	for i := range 20 {
		c.MustReply(t, okReply(), "SET", fmt.Sprint("lag", i), "v")
	}
	st := lagging.S.Node.Status()
	if !st.HasLeader || st.AppliedIndex < st.CommitIndex {
		t.Fatalf("the lagging follower should know the leader and have applied its own commit index: %+v", st)
	}
	code, body := readyz(lagging)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "leader's") {
		t.Fatalf("/readyz on a follower 20 writes behind: %d %q, want 503 saying how far behind the leader it is", code, body)
	}
	t.Logf("lagging follower: %d %s", code, body)
	if code, body := readyz(l); code != http.StatusOK {
		t.Fatalf("/readyz on the leader: %d %s", code, body)
	}

	l.Gate.Open()
	waitFor(t, 10*time.Second, func() bool { code, _ := readyz(lagging); return code == http.StatusOK },
		"the follower did not become ready after replication resumed")
}
