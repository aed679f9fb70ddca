package server_test

import (
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/fsm/script"
	"github.com/understudy/understudy/server"
)

func shaOf(body string) string { return script.SHA1Hex([]byte(body)) }

const (
	scriptIncr = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
	scriptRead = "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])"
	scriptLib  = "#!lua name=lib\n" +
		"redis.register_function('bump', function(keys, args) return redis.call('INCR', keys[1]) end)\n" +
		"redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}"
)

// Scripts through the leader and a follower: EVAL caches the body on every
// node, so EVALSHA, SCRIPT EXISTS and FCALL work through any node and on
// the leader elected after the old one dies; every node holds the same state.
func TestScripting_EvalshaAfterFailover(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	f := followers(nodes, l)[0]
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, intReply(5), "EVAL", scriptIncr, "1", "n", "5")
	sha := fc.MustDo(t, "SCRIPT", "LOAD", scriptRead).Str
	fc.MustReply(t, bulkReply("lib"), "FUNCTION", "LOAD", scriptLib)
	lc := mustClient(t, l.ClientAddr())
	lc.MustReply(t, intReply(6), "EVALSHA", shaOf(scriptIncr), "1", "n", "1")
	lc.MustReply(t, bulkReply("6"), "EVALSHA", sha, "1", "n")
	lc.MustReply(t, intReply(7), "FCALL", "bump", "1", "n")
	checkConvergence(t, nodes)

	l.Kill(t)
	l2 := leader(t, nodes)
	for _, n := range liveNodes(nodes) {
		c := mustClient(t, n.ClientAddr())
		c.MustReply(t, bulkReply("7"), "EVALSHA", sha, "1", "n")
		c.MustReply(t, bulkReply("7"), "FCALL_RO", "peek", "1", "n")
	}
	mustClient(t, l2.ClientAddr()).MustReply(t, intReply(9), "EVALSHA", shaOf(scriptIncr), "1", "n", "2")
	mustClient(t, l2.ClientAddr()).MustReply(t, errReply("NOSCRIPT No matching script. Please use EVAL."), "EVALSHA", shaOf("return 0"), "0")
	checkConvergence(t, nodes)
}

// A READONLY connection on a follower runs read-only scripts from the
// follower's own state, without the leader; a write inside one gets
// Redis's error.
func TestScripting_ReadOnlyOnFollower(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	lc := mustClient(t, l.ClientAddr())
	lc.MustReply(t, okReply(), "SET", "k", "v")
	sha := lc.MustDo(t, "SCRIPT", "LOAD", scriptRead).Str
	lc.MustReply(t, bulkReply("lib"), "FUNCTION", "LOAD", scriptLib)
	checkConvergence(t, nodes)
	f := followers(nodes, l)[0]
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, okReply(), "READONLY")
	reads := f.S.RESP.Stats()
	for range 3 {
		fc.MustReply(t, bulkReply("v"), "EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k")
		fc.MustReply(t, bulkReply("v"), "EVALSHA", sha, "1", "k")
		fc.MustReply(t, bulkReply("v"), "EVALSHA_RO", sha, "1", "k")
		fc.MustReply(t, bulkReply("v"), "FCALL_RO", "peek", "1", "k")
		fc.MustReply(t, bulkReply("v"), "FCALL", "peek", "1", "k")
	}
	if after := f.S.RESP.Stats(); after.Forwarded != reads.Forwarded {
		t.Fatalf("read-only scripts were forwarded to the leader: %d forwards", after.Forwarded-reads.Forwarded)
	}
	r := fc.MustDo(t, "EVAL_RO", "return redis.call('SET', KEYS[1], 'x')", "1", "k")
	if !r.ErrPrefix("ERR Write commands are not allowed from read-only scripts.") {
		t.Fatalf("write in EVAL_RO: %s", r)
	}
	fc.MustReply(t, errReply("ERR Can not execute a script with write flag using *_ro command."), "FCALL_RO", "bump", "1", "k")
	// A script that may write still goes to the leader.
	fc.MustReply(t, intReply(3), "EVAL", scriptIncr, "1", "n", "3")
	checkConvergence(t, nodes)
}

// Inside MULTI a script is queued like any command and runs in EXEC's
// entry; WATCH sees a key a script wrote.
func TestScripting_MultiAndWatch(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	for _, n := range []*testNode{l, followers(nodes, l)[0]} {
		c := mustClient(t, n.ClientAddr())
		c.MustReply(t, okReply(), "MULTI")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "EVAL", scriptIncr, "1", "m", "2")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "EVAL", scriptIncr, "1", "m", "3")
		got := c.MustDo(t, "EXEC")
		if got.String() != "[(integer) 2, (integer) 5]" {
			t.Fatalf("%s: EXEC = %s", n.ID, got)
		}
		c.MustReply(t, intReply(1), "DEL", "m")

		w := mustClient(t, n.ClientAddr())
		w.MustReply(t, okReply(), "WATCH", "m")
		c.MustReply(t, intReply(1), "EVAL", scriptIncr, "1", "m", "1")
		w.MustReply(t, okReply(), "MULTI")
		w.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "GET", "m")
		if got := w.MustDo(t, "EXEC"); !got.Null {
			t.Fatalf("%s: EXEC after a script wrote a watched key = %s", n.ID, got)
		}
		c.MustReply(t, intReply(1), "DEL", "m")
	}
	checkConvergence(t, nodes)
}

// Scripts run with the caller's permissions on every node: a user who may
// not publish gets Redis's ACL error from PUBLISH inside a script, through
// the leader and through a follower, inside MULTI too, and
// redis.acl_check_cmd says so.
func TestScripting_CallerPermissions(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withACL(t, testACL))
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	const pub = "return redis.call('PUBLISH', 'ch', 'm')"
	for _, n := range []*testNode{l, followers(nodes, l)[0]} {
		q := login(t, n.ClientAddr(), "quiet", "qpw")
		r := q.MustDo(t, "EVAL", pub, "0")
		if !r.ErrPrefix("ERR The user executing the script can't publish to the channel mentioned in the command script: ") {
			t.Fatalf("%s: PUBLISH in a script of a user without channels: %s", n.ID, r)
		}
		q.MustReply(t, reply{Kind: ':', Int: 0}, "EVAL", "return redis.acl_check_cmd('PUBLISH', 'ch', 'm') and 1 or 0", "0")
		q.MustReply(t, intReply(1), "EVAL", "return redis.acl_check_cmd('SET', 'k', 'v') and 1 or 0", "0")
		q.MustReply(t, okReply(), "MULTI")
		q.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "EVAL", pub, "0")
		if got := q.MustDo(t, "EXEC"); len(got.Arr) != 1 || !got.Arr[0].ErrPrefix("ERR The user executing the script can't publish") {
			t.Fatalf("%s: EXEC = %s", n.ID, got)
		}
		b := login(t, n.ClientAddr(), "bob", "bobpw")
		b.MustReply(t, intReply(0), "EVAL", pub, "0")
	}
	checkConvergence(t, nodes)
}

// A read-only script that runs too long makes other clients get BUSY once
// busy-reply-threshold has passed; SCRIPT KILL stops it (FUNCTION KILL
// refuses an EVAL script) and the node serves again. A write script is
// UNKILLABLE: lua-instruction-limit stops it on every node alike.
func TestScripting_BusyAndScriptKill(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	lc := mustClient(t, l.ClientAddr())
	lc.MustReply(t, okReply(), "CONFIG", "SET", "busy-reply-threshold", "100")
	runner := mustClient(t, l.ClientAddr())
	runner.Timeout = 30 * time.Second
	done := make(chan reply, 1)
	go func() {
		r, _ := runner.Do("EVAL_RO", "while true do end", "0")
		done <- r
	}()
	// PING is answered by the node itself, never queued behind the script
	// (a GET sent before the threshold would wait for it, as in Redis).
	other := mustClient(t, l.ClientAddr())
	busy := "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	waitFor(t, 10*time.Second, func() bool {
		r, err := other.Do("PING")
		return err == nil && r.String() == busy
	}, "no BUSY while a script runs")
	if r := mustClient(t, l.ClientAddr()).MustDo(t, "GET", "k"); r.String() != busy {
		t.Fatalf("GET while a script runs: %s", r)
	}
	if r := other.MustDo(t, "FUNCTION", "STATS"); r.String() != busy {
		t.Fatalf("FUNCTION STATS while an EVAL script runs: %s", r)
	}
	other.MustReply(t, errReply("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."), "FUNCTION", "KILL")
	other.MustReply(t, okReply(), "SCRIPT", "KILL")
	select {
	case r := <-done:
		if !r.ErrPrefix("ERR Script killed by user with SCRIPT KILL...") {
			t.Fatalf("killed script replied %s", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the script did not stop after SCRIPT KILL")
	}
	other.MustReply(t, nilReply(), "GET", "k")
	other.MustReply(t, errReply("NOTBUSY No scripts in execution right now."), "SCRIPT", "KILL")

	lc.MustReply(t, okReply(), "CONFIG", "SET", "lua-instruction-limit", "1000000")
	r := lc.MustDo(t, "EVAL", "redis.call('SET', 'k', 'v') while true do end", "0")
	if !r.ErrPrefix("ERR Script exceeded the instruction limit of 1000000 (lua-instruction-limit)") {
		t.Fatalf("runaway write script: %s", r)
	}
	lc.MustReply(t, nilReply(), "GET", "k")
	checkConvergence(t, nodes)
}

// The script cache and the libraries come back after a full restart (from
// the snapshot and from the log) and on a follower that installs a
// snapshot because the leader compacted the entries it missed.
func TestScripting_RestartAndSnapshotInstall(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores(), withStableTiming(), withConfig(func(c *server.Config) {
		c.SnapshotThreshold = 64
		c.TrailingLogs = 16
	}))
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	c := mustClient(t, l.ClientAddr())
	shaSnap := c.MustDo(t, "SCRIPT", "LOAD", scriptRead).Str
	c.MustReply(t, bulkReply("lib"), "FUNCTION", "LOAD", scriptLib)
	c.MustReply(t, okReply(), "SET", "k", "v")
	checkConvergence(t, nodes)
	for _, n := range nodes {
		if err := n.S.Node.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("%s snapshot: %v", n.ID, err)
		}
	}
	shaLog := c.MustDo(t, "SCRIPT", "LOAD", scriptIncr).Str // in the log only

	f := followers(nodes, l)[0]
	f.Kill(t)
	c.MustReply(t, bulkReply("lib2"), "FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='two', callback=function() return 2 end, flags={'no-writes'}}")
	for i := range 100 {
		c.MustReply(t, intReply(int64(i+1)), "EVALSHA", shaLog, "1", "n", "1")
	}
	if err := l.S.Node.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("leader snapshot: %v", err)
	}
	fLast := raftStat(t, l, "last_snapshot_index")
	f.Start(t)
	checkConvergence(t, nodes)
	waitFor(t, 5*time.Second, func() bool { return raftStat(t, f, "last_snapshot_index") >= fLast },
		"follower %s installed no snapshot", f.ID)
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, okReply(), "READONLY")
	fc.MustReply(t, bulkReply("v"), "EVALSHA", shaSnap, "1", "k")
	fc.MustReply(t, intReply(2), "FCALL_RO", "two", "0")

	for _, n := range nodes {
		n.Kill(t)
	}
	for _, n := range nodes {
		n.Start(t)
	}
	l = leader(t, nodes)
	c = mustClient(t, l.ClientAddr())
	c.MustReply(t, bulkReply("v"), "EVALSHA", shaSnap, "1", "k")
	c.MustReply(t, intReply(101), "EVALSHA", shaLog, "1", "n", "1")
	c.MustReply(t, intReply(102), "FCALL", "bump", "1", "n")
	c.MustReply(t, intReply(2), "FCALL", "two", "0")
	checkConvergence(t, nodes)
}
