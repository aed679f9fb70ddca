package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/server"
)

// waitLevel waits until every live node has applied the cluster level: the
// leader raises it once every member has answered with its build's level.
func waitLevel(t *testing.T, nodes []*testNode, want fsm.Level) {
	t.Helper()
	waitFor(t, 20*time.Second, func() bool {
		for _, n := range liveNodes(nodes) {
			if n.S.Node.FSM().Level() < want {
				return false
			}
		}
		return true
	}, "cluster level %d not reached: %s", want, stateOf(nodes))
}

// dbClient is a go-redis client of database db that retries TRYAGAIN as
// long as an election on a loaded machine may take.
func dbClient(addr string, db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, DB: db, MaxRetries: 20,
		MinRetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond})
}

// A client of database 3 (go-redis DB: 3, as redis-py db=3 and redis-cli -n
// 3 select it) works through the leader and through a follower, sees only
// its database, and keeps working after the leader dies.
func TestDatabases_ThroughFollowerAndFailover(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	ctx := context.Background()
	f := followers(nodes, l)[0]
	for _, n := range []*testNode{l, f} {
		for _, db := range []int{0, 3} {
			c := redis.NewClient(&redis.Options{Addr: n.ClientAddr(), DB: db, Protocol: 2})
			defer c.Close()
			key := fmt.Sprintf("k-%s", n.ID)
			if err := c.Set(ctx, key, fmt.Sprint(db), 0).Err(); err != nil {
				t.Fatalf("SET in db %d via %s: %v", db, n.ID, err)
			}
		}
	}
	for _, n := range nodes {
		for _, db := range []int{0, 3, 4} {
			c := dbClient(n.ClientAddr(), db)
			defer c.Close()
			for _, via := range []*testNode{l, f} {
				v, err := c.Get(ctx, "k-"+via.ID).Result()
				want := fmt.Sprint(db)
				if db == 4 {
					if err != redis.Nil {
						t.Errorf("db 4 via %s: GET k-%s = %q %v, want nil", n.ID, via.ID, v, err)
					}
					continue
				}
				if err != nil || v != want {
					t.Errorf("db %d via %s: GET k-%s = %q %v, want %q", db, n.ID, via.ID, v, err, want)
				}
			}
		}
	}
	info := mustClient(t, f.ClientAddr()).MustDo(t, "INFO", "keyspace")
	if !strings.Contains(info.Str, "db0:keys=2,") || !strings.Contains(info.Str, "db3:keys=2,") {
		t.Errorf("INFO keyspace: %q", info.Str)
	}

	c3 := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), DB: 3, MaxRetries: 20,
		MinRetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond})
	defer c3.Close()
	if err := c3.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	l.Kill(t)
	l2 := leader(t, nodes)
	waitFor(t, 10*time.Second, func() bool { return c3.Set(ctx, "after", "1", 0).Err() == nil },
		"SET through the follower after the failover")
	for _, k := range []string{"before", "after", "k-" + f.ID} {
		if n, err := c3.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Errorf("db 3 after failover (leader %s): EXISTS %s = %d %v", l2.ID, k, n, err)
		}
	}
	if n, err := dbClient(l2.ClientAddr(), 0).Exists(ctx, "before", "after").Result(); err != nil || n != 0 {
		t.Errorf("db 0 sees db 3's keys: %d %v", n, err)
	}
	checkConvergence(t, nodes)
}

// A SELECT queued in MULTI moves the connection only if EXEC runs the
// transaction; its commands run in the selected database, on the leader and
// through a follower.
func TestDatabases_SelectInsideMulti(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	for _, n := range []*testNode{l, followers(nodes, l)[0]} {
		c := mustClient(t, n.ClientAddr())
		key := "tx-" + n.ID
		c.MustReply(t, okReply(), "MULTI")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SELECT", "5")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SET", key, "in5")
		if r := c.MustDo(t, "EXEC"); r.Kind != '*' || len(r.Arr) != 2 {
			t.Fatalf("%s: EXEC = %s", n.ID, r)
		}
		c.MustReply(t, bulkReply("in5"), "GET", key) // now in database 5
		c.MustReply(t, okReply(), "SELECT", "0")
		c.MustReply(t, nilReply(), "GET", key)

		// Aborted by WATCH: the connection stays in its database.
		c.MustReply(t, okReply(), "WATCH", "w-"+n.ID)
		mustClient(t, l.ClientAddr()).MustReply(t, okReply(), "SET", "w-"+n.ID, "x")
		c.MustReply(t, okReply(), "MULTI")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "SELECT", "6")
		if r := c.MustDo(t, "EXEC"); r.Kind != '*' || !r.Null {
			t.Fatalf("%s: EXEC after a watched write = %s, want a null array", n.ID, r)
		}
		c.MustReply(t, bulkReply("x"), "GET", "w-"+n.ID) // still database 0
	}
	checkConvergence(t, nodes)
}

// WATCH watches a key of its own database: a write to the same name in
// another database does not abort EXEC, one in the same database does, and
// SWAPDB does.
func TestDatabases_WatchIsPerDatabase(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	c := mustClient(t, l.ClientAddr())
	other := mustClient(t, l.ClientAddr())
	c.MustReply(t, okReply(), "SELECT", "2")
	run := func() reply {
		c.MustReply(t, okReply(), "MULTI")
		c.MustReply(t, reply{Kind: '+', Str: "QUEUED"}, "INCR", "n")
		return c.MustDo(t, "EXEC")
	}
	c.MustReply(t, okReply(), "WATCH", "k")
	other.MustReply(t, okReply(), "SET", "k", "db0")
	if r := run(); r.Kind != '*' || r.Null {
		t.Fatalf("a write in db 0 aborted a transaction watching db 2: %s", r)
	}
	c.MustReply(t, okReply(), "WATCH", "k")
	other.MustReply(t, okReply(), "SELECT", "2")
	other.MustReply(t, okReply(), "SET", "k", "db2")
	if r := run(); !r.Null {
		t.Fatalf("a write in db 2 did not abort: %s", r)
	}
	c.MustReply(t, okReply(), "WATCH", "k")
	other.MustReply(t, okReply(), "SWAPDB", "2", "7")
	if r := run(); !r.Null {
		t.Fatalf("SWAPDB did not abort: %s", r)
	}
	checkConvergence(t, nodes)
}

// A client blocked in database 4 is served by a push in database 4 only;
// one blocked on an empty database is served when SWAPDB brings the list.
func TestDatabases_BlockingPops(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	ctx := context.Background()
	f := followers(nodes, l)[0]
	blocked := dbClient(f.ClientAddr(), 4)
	defer blocked.Close()
	got := make(chan []string, 1)
	go func() {
		v, _ := blocked.BLPop(ctx, 10*time.Second, "q").Result()
		got <- v
	}()
	waitFor(t, 5*time.Second, func() bool {
		return strings.Count(mustClient(t, l.ClientAddr()).MustDo(t, "CLIENT", "LIST").Str, "flags=b ") == 1
	}, "BLPOP blocked on the leader")
	db0 := dbClient(l.ClientAddr(), 0)
	defer db0.Close()
	db4 := dbClient(l.ClientAddr(), 4)
	defer db4.Close()
	if err := db0.RPush(ctx, "q", "wrong-db").Err(); err != nil {
		t.Fatal(err)
	}
	if err := db4.RPush(ctx, "q", "right-db").Err(); err != nil {
		t.Fatal(err)
	}
	if v := <-got; len(v) != 2 || v[1] != "right-db" {
		t.Fatalf("BLPOP in db 4 got %q", v)
	}
	if n, _ := db0.LLen(ctx, "q").Result(); n != 1 {
		t.Fatalf("db 0's list lost its element: LLEN %d", n)
	}

	// SWAPDB 0 9 moves db 0's list to db 9, where a client waits.
	db9 := dbClient(l.ClientAddr(), 9)
	defer db9.Close()
	go func() {
		v, _ := db9.BLPop(ctx, 10*time.Second, "q").Result()
		got <- v
	}()
	waitFor(t, 5*time.Second, func() bool {
		return strings.Count(mustClient(t, l.ClientAddr()).MustDo(t, "CLIENT", "LIST").Str, "flags=b ") == 1
	}, "second BLPOP blocked")
	if err := db0.Do(ctx, "SWAPDB", 0, 9).Err(); err != nil {
		t.Fatal(err)
	}
	if v := <-got; len(v) != 2 || v[1] != "wrong-db" {
		t.Fatalf("BLPOP in db 9 after SWAPDB got %q", v)
	}
	checkConvergence(t, nodes)
}

// Before the cluster level reaches 2, only database 0 exists: SELECT of any
// other is refused, as by a Redis with one database.
func TestDatabases_Level1HasOneDatabase(t *testing.T) {
	nodes := startCluster(t, 1, withConfig(func(c *server.Config) { c.Databases = 4 }))
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	c := mustClient(t, l.ClientAddr())
	c.MustReply(t, okReply(), "SELECT", "3")
	c.MustReply(t, errReply("ERR DB index is out of range"), "SELECT", "4")
	if got := l.S.Node.FSM().Databases(); got != 4 {
		t.Fatalf("Databases() = %d, want the leader's --databases 4", got)
	}
}

// While one member still runs a build of level 1 the cluster stays at level
// 1: commands that need level 2 are refused with a clear error on every
// node, and work once that member is upgraded (restarted on this build).
func TestLevel_OldMemberHoldsTheClusterBack(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withRealStores(), withConfig(func(c *server.Config) {
		if c.ID == "n3" {
			c.SetReportLevel(1) // n3 stands for a member on the older build
		}
	}))
	old := nodes[2]
	l := leader(t, nodes)
	// The leader has heard every member's level, the old one's included.
	waitFor(t, 20*time.Second, func() bool {
		l = leader(t, nodes)
		for _, n := range followers(nodes, l) {
			if p := l.S.PeersForTest().Peer(n.ID); !p.Answered || (n == old) != (p.FormatLevel == 1) {
				return false
			}
		}
		return true
	}, "the leader knows every member's level")
	// (A cluster of this build reaches level 2 within a second otherwise.)
	for _, n := range nodes {
		if lv := n.S.Node.FSM().Level(); lv != fsm.Level1 {
			t.Fatalf("%s is at level %d with a level-1 member", n.ID, lv)
		}
	}
	for _, n := range nodes {
		c := mustClient(t, n.ClientAddr())
		c.MustReply(t, errReply("ERR DB index is out of range"), "SELECT", "1")
		c.MustReply(t, okReply(), "SET", "k", "v")
		if r := c.MustDo(t, "MOVE", "k", "1"); !r.ErrPrefix("ERR 'move' needs cluster version 2") {
			t.Fatalf("MOVE via %s with an old member: %s", n.ID, r)
		}
		if r := c.MustDo(t, "SWAPDB", "0", "1"); !r.ErrPrefix("ERR 'swapdb' needs cluster version 2") {
			t.Fatalf("SWAPDB via %s with an old member: %s", n.ID, r)
		}
	}
	// Upgrade the old member: the cluster moves to level 2.
	old.Kill(t)
	old.Cfg.SetReportLevel(0)
	old.Start(t)
	waitLevel(t, nodes, fsm.Level2)
	c := mustClient(t, old.ClientAddr())
	c.MustReply(t, intReply(1), "MOVE", "k", "1")
	c.MustReply(t, okReply(), "SELECT", "1")
	c.MustReply(t, bulkReply("v"), "GET", "k")
	checkConvergence(t, nodes)
}
