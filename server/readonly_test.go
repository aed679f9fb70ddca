package server_test

import (
	"strconv"
	"testing"
	"time"
)

// A READONLY connection on a follower reads from the follower's state, but
// never before its own earlier writes: a pipelined GET after the same
// connection's SET (forwarded to the leader) sees it.
func TestReadonly_ReadsFollowOwnWrites(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	f := followers(nodes, l)[0]
	c := mustClient(t, f.ClientAddr())
	c.MustReply(t, okReply(), "READONLY")
	var cmds [][]string
	for i := range 200 {
		v := strconv.Itoa(i)
		cmds = append(cmds, []string{"SET", "own", v}, []string{"GET", "own"}, []string{"INCR", "n"}, []string{"GET", "n"})
	}
	// 400 forwarded writes in a row, each read waiting for its own: a
	// deadline for a hang, not a speed requirement (a loaded machine under
	// -race needs well over the default 10s).
	c.Timeout = 2 * time.Minute
	rs, err := c.Pipeline(cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if got := rs[4*i+1].String(); got != bulkReply(strconv.Itoa(i)).String() {
			t.Fatalf("GET after the connection's SET %d read %s", i, got)
		}
		if got := rs[4*i+3].String(); got != bulkReply(strconv.Itoa(i+1)).String() {
			t.Fatalf("GET after the connection's INCR %d read %s", i+1, got)
		}
	}
	// The follower has applied them (the reads above waited for it): a
	// READONLY read with no write before it is served from its state.
	r := mustClient(t, f.ClientAddr())
	r.MustReply(t, okReply(), "READONLY")
	r.MustReply(t, bulkReply("199"), "GET", "own")
}
