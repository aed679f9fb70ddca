package server_test

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// sendRaw writes req on a fresh connection and returns everything the server
// sends until it closes the connection (failing if it does not within 5s).
func sendRaw(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatalf("write %q: %v", req, err)
	}
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("after %q the server neither closed the connection nor stopped sending: read %q, %v", req, got, err)
	}
	return string(got)
}

// A malformed or oversized request gets Redis's protocol error and its
// connection is closed; other clients of the node are not affected.
func TestCluster_MalformedRequestClosesOnlyThatConnection(t *testing.T) {
	const maxBulk = 1024
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.MaxBulkLen = maxBulk }))
	l := leader(t, nodes)
	for _, n := range []*testNode{l, followers(nodes, l)[0]} {
		t.Run(n.ID, func(t *testing.T) {
			bystander := mustClient(t, n.ClientAddr())
			bystander.MustReply(t, okReply(), "SET", "bystander-"+n.ID, "1")

			const badLen = "-ERR Protocol error: invalid bulk length\r\n"
			cases := []struct{ name, req string }{
				{"non-numeric bulk length", "*1\r\n$x\r\n"},
				{"negative bulk length", "*1\r\n$-5\r\n"},
				{"bulk over proto-max-bulk-len", "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + strconv.Itoa(maxBulk+1) + "\r\n"},
				{"error after a good command", "*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n"},
			}
			for _, tc := range cases {
				want := badLen
				if strings.HasPrefix(tc.name, "error after") {
					want = "+PONG\r\n" + badLen
				}
				if got := sendRaw(t, n.ClientAddr(), tc.req); got != want {
					t.Errorf("%s: server sent %q then closed, want %q", tc.name, got, want)
				}
			}

			// A bulk of exactly the limit is accepted.
			big := strings.Repeat("b", maxBulk)
			bystander.MustReply(t, okReply(), "SET", "big-"+n.ID, big)
			bystander.MustReply(t, bulkReply(big), "GET", "big-"+n.ID)
			bystander.MustReply(t, intReply(0), "EXISTS", "big")
			// The bystander's connection was never disturbed.
			bystander.MustReply(t, reply{Kind: '+', Str: "PONG"}, "PING")
			bystander.MustReply(t, bulkReply("1"), "GET", "bystander-"+n.ID)
		})
	}
	checkConvergence(t, nodes)
}
