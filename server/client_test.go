package server_test

import (
	"strconv"
	"testing"
	"time"
)

// CLIENT PAUSE WRITE holds this node's writes (reads go on) until UNPAUSE;
// CLIENT UNBLOCK ends a blocking pop or stream read with a timeout or
// Redis's error.
func TestClient_PauseAndUnblock(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	admin := mustClient(t, l.ClientAddr())
	w := mustClient(t, l.ClientAddr())
	admin.MustReply(t, okReply(), "CLIENT", "PAUSE", "60000", "WRITE")
	send(t, w, "SET", "paused", "1")
	// Reads go on while the write is held: it gets no reply within a
	// while (a write served at once would answer in milliseconds).
	reader := mustClient(t, l.ClientAddr())
	reader.MustReply(t, nilReply(), "GET", "paused")
	_ = w.Conn().SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if r, err := readReply(w.Reader()); err == nil {
		t.Fatalf("a write answered during CLIENT PAUSE WRITE: %s", r)
	}
	reader.MustReply(t, nilReply(), "GET", "paused")
	admin.MustReply(t, okReply(), "CLIENT", "UNPAUSE")
	_ = w.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := readReply(w.Reader())
	if err != nil || r.String() != "OK" {
		t.Fatalf("the held SET after UNPAUSE: %s %v", r, err)
	}
	reader.MustReply(t, bulkReply("1"), "GET", "paused")

	b := mustClient(t, l.ClientAddr())
	id := b.MustDo(t, "CLIENT", "ID").Int
	admin.MustReply(t, okReply(), "XGROUP", "CREATE", "stream", "g", "$", "MKSTREAM")
	for _, cmd := range [][]string{
		{"BLPOP", "nothing", "0"},
		{"XREAD", "BLOCK", "0", "STREAMS", "stream", "$"},
		{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "stream", ">"},
	} {
		for _, c := range []struct {
			reason string
			want   string
		}{{"TIMEOUT", "(nil)"}, {"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK"}} {
			send(t, b, cmd...)
			waitFor(t, 5*time.Second, func() bool {
				return admin.MustDo(t, "CLIENT", "UNBLOCK", strconv.FormatInt(id, 10), c.reason).Int == 1
			}, "CLIENT UNBLOCK found the blocked client")
			r, err := readReply(b.Reader())
			if err != nil || r.String() != c.want {
				t.Fatalf("%s unblocked with %s: %s %v, want %s", cmd[0], c.reason, r, err, c.want)
			}
		}
	}
	admin.MustReply(t, intReply(0), "CLIENT", "UNBLOCK", strconv.FormatInt(id, 10))
}
