package server_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/server"
)

// Writes through the leader and through each follower (forwarded) are read
// back through every node, and the replicas end with the same state.
func TestCluster_InMem_WritesReplicateAndConverge(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)

	clients := map[string]*respClient{}
	for _, n := range nodes {
		clients[n.ID] = mustClient(t, n.ClientAddr())
	}
	for _, via := range nodes {
		c := clients[via.ID]
		for i := range 20 {
			key := fmt.Sprintf("%s-key-%d", via.ID, i)
			c.MustReply(t, okReply(), "SET", key, "v-"+key)
		}
		c.MustReply(t, intReply(1), "INCR", via.ID+"-counter")
		c.MustReply(t, intReply(5), "APPEND", via.ID+"-str", "hello")
	}
	// Every node answers every key the same way (followers forward reads).
	for _, reader := range nodes {
		c := clients[reader.ID]
		for _, via := range nodes {
			for i := range 20 {
				key := fmt.Sprintf("%s-key-%d", via.ID, i)
				c.MustReply(t, bulkReply("v-"+key), "GET", key)
			}
			c.MustReply(t, bulkReply("1"), "GET", via.ID+"-counter")
			c.MustReply(t, bulkReply("hello"), "GET", via.ID+"-str")
		}
		c.MustReply(t, intReply(3*22), "DBSIZE")
	}
	if !l.S.Node.IsLeader() {
		t.Fatalf("leadership moved during a calm test: %s", describe(nodes))
	}
	checkConvergence(t, nodes)
}

// pipeModel is a sequential reference for the commands the pipeline test
// sends: SET, GET, INCR, APPEND, DEL on string values.
type pipeModel map[string]string

func (m pipeModel) apply(cmd []string) reply {
	switch strings.ToUpper(cmd[0]) {
	case "SET":
		m[cmd[1]] = cmd[2]
		return okReply()
	case "GET":
		if len(cmd) != 2 {
			return errReply("ERR wrong number of arguments for 'get' command")
		}
		v, ok := m[cmd[1]]
		if !ok {
			return nilReply()
		}
		return bulkReply(v)
	case "INCR":
		v, ok := m[cmd[1]]
		n := int64(0)
		if ok {
			var err error
			n, err = strconv.ParseInt(v, 10, 64)
			if err != nil || strconv.FormatInt(n, 10) != v {
				return errReply("ERR value is not an integer or out of range")
			}
		}
		n++
		m[cmd[1]] = strconv.FormatInt(n, 10)
		return intReply(n)
	case "APPEND":
		m[cmd[1]] += cmd[2]
		return intReply(int64(len(m[cmd[1]])))
	case "DEL":
		_, ok := m[cmd[1]]
		delete(m, cmd[1])
		if ok {
			return intReply(1)
		}
		return intReply(0)
	}
	panic("pipeModel: unexpected command " + cmd[0])
}

// randomPipeline builds n mixed commands over a few keys under prefix. Values
// set are canonical integers or letters, so INCR's outcome is unambiguous.
func randomPipeline(rng *rand.Rand, prefix string, n int) [][]string {
	keys := make([]string, 5)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:k%d", prefix, i)
	}
	cmds := make([][]string, 0, n)
	for i := range n {
		k := keys[rng.IntN(len(keys))]
		switch r := rng.IntN(100); {
		case r < 20:
			v := strconv.Itoa(rng.IntN(1000))
			if rng.IntN(3) == 0 {
				v = fmt.Sprintf("s%d", i)
			}
			cmds = append(cmds, []string{"SET", k, v})
		case r < 45:
			cmds = append(cmds, []string{"INCR", k})
		case r < 70:
			cmds = append(cmds, []string{"GET", k})
		case r < 82:
			cmds = append(cmds, []string{"APPEND", k, []string{"x", "ab", "q"}[rng.IntN(3)]})
		case r < 97:
			cmds = append(cmds, []string{"DEL", k})
		default:
			cmds = append(cmds, []string{"GET"}) // arity error, answered locally in order
		}
	}
	return cmds
}

// A pipeline of mixed reads and writes sent to a follower is forwarded to the
// leader and answered exactly as a sequential execution would, in order; the
// same holds on the leader itself. The pipelines go through the raw test
// client and through go-redis speaking RESP2 and RESP3 (the follower then
// relays over a RESP3 leader connection).
func TestCluster_FollowerForwardingPipelinePreservesOrder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>7))

	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	targets := append([]*testNode{followers(nodes, l)[0]}, l)
	for _, target := range targets {
		role := "follower"
		if target == l {
			role = "leader"
		}
		for _, client := range []string{"raw", "go-redis-resp2", "go-redis-resp3"} {
			t.Run(role+"/"+client, func(t *testing.T) {
				for round := range 3 {
					cmds := randomPipeline(rng, fmt.Sprintf("%s-%s-%d", role, client, round), 200)
					var got []string
					switch client {
					case "raw":
						rs, err := mustClient(t, target.ClientAddr()).Pipeline(cmds)
						if err != nil {
							t.Fatalf("round %d: pipeline: %v (after %d replies)", round, err, len(rs))
						}
						for _, r := range rs {
							got = append(got, r.String())
						}
					case "go-redis-resp2":
						got = goRedisPipeline(t, target.ClientAddr(), 2, cmds)
					case "go-redis-resp3":
						got = goRedisPipeline(t, target.ClientAddr(), 3, cmds)
					}
					model := pipeModel{}
					for i, cmd := range cmds {
						want := model.apply(cmd).String()
						if got[i] != want {
							t.Fatalf("round %d: reply %d to %q: got %s, want %s (seed %d)", round, i, cmd, got[i], want, seed)
						}
					}
				}
			})
		}
	}
	checkConvergence(t, nodes)
}

// goRedisPipeline runs cmds as one go-redis pipeline (no retries) and renders
// each result as reply.String() would.
func goRedisPipeline(t *testing.T, addr string, protocol int, cmds [][]string) []string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: protocol, MaxRetries: -1, PoolSize: 1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pipe := rdb.Pipeline()
	rcmds := make([]*redis.Cmd, len(cmds))
	for i, cmd := range cmds {
		args := make([]any, len(cmd))
		for j, a := range cmd {
			args[j] = a
		}
		rcmds[i] = pipe.Do(ctx, args...)
	}
	_, _ = pipe.Exec(ctx) // per-command errors are checked below
	out := make([]string, len(rcmds))
	for i, rc := range rcmds {
		v, err := rc.Result()
		var rerr redis.Error
		switch {
		case errors.Is(err, redis.Nil):
			out[i] = nilReply().String()
		case errors.As(err, &rerr):
			out[i] = errReply(rerr.Error()).String()
		case err != nil:
			t.Fatalf("go-redis (RESP%d) %q: %v", protocol, cmds[i], err)
		default:
			switch x := v.(type) {
			case int64:
				out[i] = intReply(x).String()
			case string:
				if strings.EqualFold(cmds[i][0], "SET") {
					out[i] = x // a status reply
				} else {
					out[i] = bulkReply(x).String()
				}
			default:
				t.Fatalf("go-redis (RESP%d) %q: unexpected %T %v", protocol, cmds[i], v, v)
			}
		}
	}
	return out
}

// In redirect mode a follower answers data commands with MOVED to the
// leader's client address and answers node-local commands itself.
func TestCluster_RedirectMode(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.FollowerMode = "redirect" }))
	l := leader(t, nodes)
	lc := mustClient(t, l.ClientAddr())
	lc.MustReply(t, okReply(), "SET", "k", "v")
	lc.MustReply(t, bulkReply("v"), "GET", "k")
	if r := lc.MustDo(t, "ROLE"); len(r.Arr) == 0 || r.Arr[0].Str != "master" {
		t.Fatalf("leader ROLE: got %s, want master first", r)
	}

	moved := "MOVED 0 " + l.ClientAddr()
	for _, f := range followers(nodes, l) {
		c := mustClient(t, f.ClientAddr())
		for _, cmd := range [][]string{{"SET", "k", "other"}, {"GET", "k"}, {"INCR", "n"}, {"DEL", "k"}} {
			r := c.MustDo(t, cmd...)
			if !r.IsErr() || r.Str != moved {
				t.Fatalf("follower %s %q: got %s, want -%s", f.ID, cmd, r, moved)
			}
		}
		c.MustReply(t, reply{Kind: '+', Str: "PONG"}, "PING")
		c.MustReply(t, bulkReply("hi"), "ECHO", "hi")

		role := c.MustDo(t, "ROLE")
		host, port, _ := strings.Cut(l.ClientAddr(), ":")
		if len(role.Arr) != 5 || role.Arr[0].Str != "slave" || role.Arr[1].Str != host ||
			strconv.FormatInt(role.Arr[2].Int, 10) != port || role.Arr[3].Str != "connected" {
			t.Fatalf("follower %s ROLE: got %s, want [slave %s %s connected offset]", f.ID, role, host, port)
		}
		info := c.MustDo(t, "INFO", "replication")
		for _, want := range []string{"role:slave\r\n", "raft_node_id:" + f.ID + "\r\n", "raft_leader_client_addr:" + l.ClientAddr() + "\r\n"} {
			if info.Kind != '$' || !strings.Contains(info.Str, want) {
				t.Fatalf("follower %s INFO replication: %q lacks %q", f.ID, info.Str, want)
			}
		}
	}
	// The redirects changed nothing.
	lc.MustReply(t, bulkReply("v"), "GET", "k")
	lc.MustReply(t, intReply(0), "EXISTS", "n")
	checkConvergence(t, nodes)
}

// After a leader change (a graceful transfer, then a crash) the first reads
// the new leader serves reflect every write the old one acknowledged.
func TestCluster_NewLeaderServesNoStaleRead(t *testing.T) {
	nodes := startCluster(t, 3)
	counter := 0
	for round, change := range []string{"transfer", "crash"} {
		l := leader(t, nodes)
		lc := mustClient(t, l.ClientAddr())
		// Acknowledged writes: a counter bumped one at a time and a batch of keys.
		for range 30 {
			counter++
			lc.MustReply(t, intReply(int64(counter)), "INCR", "counter")
		}
		var cmds [][]string
		for i := range 100 {
			cmds = append(cmds, []string{"SET", fmt.Sprintf("r%d-k%d", round, i), fmt.Sprintf("v%d", i)})
		}
		rs, err := lc.Pipeline(cmds)
		if err != nil {
			t.Fatalf("round %d: pipeline: %v", round, err)
		}
		for i, r := range rs {
			if r.String() != "OK" {
				t.Fatalf("round %d: SET %d: %s", round, i, r)
			}
		}

		// Clients on the would-be successors, connected before the change.
		var readers []*respClient
		for _, f := range followers(nodes, l) {
			readers = append(readers, mustClient(t, f.ClientAddr()))
		}
		switch change {
		case "transfer":
			if err := l.S.Node.Raft().LeadershipTransfer().Error(); err != nil {
				t.Fatalf("leadership transfer: %v", err)
			}
		case "crash":
			l.Kill(t)
		}

		// Poll until some survivor answers with data; until then only
		// TRYAGAIN is acceptable. The first data answer must be complete.
		want := fmt.Sprint(counter)
		answered := 0
		waitFor(t, 10*time.Second, func() bool {
			for _, c := range readers {
				r, err := c.Do("GET", "counter")
				if err != nil {
					t.Fatalf("round %d: GET counter on %s: %v", round, c.Addr, err)
				}
				if r.ErrPrefix("TRYAGAIN") {
					continue
				}
				if r.String() != strconv.Quote(want) {
					t.Fatalf("round %d (%s): stale read on %s: counter=%s, want %s\n%s", round, change, c.Addr, r, want, describe(nodes))
				}
				answered++
			}
			return answered > 0
		}, "round %d: no survivor served a read after the %s: %s", round, change, stateOf(nodes))

		nl := leader(t, nodes)
		if nl == l {
			t.Fatalf("round %d: leadership did not move", round)
		}
		var gets [][]string
		for i := range 100 {
			gets = append(gets, []string{"GET", fmt.Sprintf("r%d-k%d", round, i)})
		}
		rs = pipelineOnLeader(t, nodes, gets)
		for i, r := range rs {
			if r.String() != strconv.Quote(fmt.Sprintf("v%d", i)) {
				t.Fatalf("round %d: new leader %s lost acknowledged r%d-k%d: got %s", round, nl.ID, round, i, r)
			}
		}
		mustClient(t, nl.ClientAddr()).MustReply(t, bulkReply(want), "GET", "counter")
	}
	checkConvergence(t, nodes)
}

// Many concurrent GETs on the leader share read barriers yet each returns the
// latest acknowledged value; reads racing a writer never go back in time.
func TestCluster_LinearizableReadsBatched(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	lc := mustClient(t, l.ClientAddr())
	for i := 1; i <= 50; i++ {
		lc.MustReply(t, okReply(), "SET", "latest", fmt.Sprintf("v%d", i))
	}

	const readers = 100
	clients := make([]*respClient, readers)
	for i := range clients {
		clients[i] = mustClient(t, l.ClientAddr())
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := c.Do("GET", "latest")
			if err != nil {
				t.Errorf("reader %d: %v", i, err)
				return
			}
			if r.String() != `"v50"` {
				t.Errorf("reader %d: got %s, want \"v50\"", i, r)
			}
		}()
	}
	close(start)
	wg.Wait()

	// The same through one go-redis client with a pool of 100 connections.
	rdb := redis.NewClient(&redis.Options{Addr: l.ClientAddr(), MaxRetries: -1, PoolSize: readers})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start = make(chan struct{})
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if v, err := rdb.Get(ctx, "latest").Result(); err != nil || v != "v50" {
				t.Errorf("go-redis reader %d: %q %v, want \"v50\"", i, v, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	// Reads racing an INCR writer: each read returns at least the value the
	// writer had been acknowledged before the read was sent.
	var mu sync.Mutex
	acked := int64(0)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := lc.Do("INCR", "racing")
			if err != nil || r.Kind != ':' {
				t.Errorf("writer INCR: %s %v", r, err)
				return
			}
			mu.Lock()
			acked = r.Int
			mu.Unlock()
		}
	}()
	for i, c := range clients[:20] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				mu.Lock()
				floor := acked
				mu.Unlock()
				r, err := c.Do("GET", "racing")
				if err != nil {
					t.Errorf("racing reader %d: %v", i, err)
					return
				}
				got := int64(0)
				if !r.Null {
					if got, err = strconv.ParseInt(r.Str, 10, 64); err != nil {
						t.Errorf("racing reader %d: got %s", i, r)
						return
					}
				}
				if got < floor {
					t.Errorf("racing reader %d: stale read %d, writer was acknowledged %d before the read", i, got, floor)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-writerDone
	checkConvergence(t, nodes)
}

// Config.Validate accepts an empty RaftAddr when a Transport is given (the
// test hook). Followers must still get their client and admin addresses into
// the replicated metadata (ROLE, INFO and the admin API list them), which
// they do by registering with the leader under their Raft address.
func TestCluster_InMem_EmptyRaftAddrFollowersStillRegister(t *testing.T) {
	nodes := startCluster(t, 3, withoutRaftAddr())
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 5*time.Second)
	// ROLE lists the replicas the leader has found connected (its background
	// status calls, about every 100ms until all are).
	c := mustClient(t, l.ClientAddr())
	var role reply
	waitFor(t, 5*time.Second, func() bool {
		role = c.MustDo(t, "ROLE")
		return len(role.Arr) == 3 && len(role.Arr[2].Arr) == 2
	}, "leader ROLE: got %v, want two replicas", &role)
	for _, rep := range role.Arr[2].Arr {
		if rep.Arr[0].Str == "" || rep.Arr[1].Str == "0" {
			t.Fatalf("leader ROLE lists a replica without an address: %s", role)
		}
	}
}
