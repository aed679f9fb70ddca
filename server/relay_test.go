package server_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// waitRelaySecret waits until every live node has applied the relay secret
// the leader creates once the cluster reaches level 2.
func waitRelaySecret(t *testing.T, nodes []*testNode) {
	t.Helper()
	waitLevel(t, nodes, fsm.Level2)
	waitFor(t, 20*time.Second, func() bool {
		for _, n := range liveNodes(nodes) {
			if !n.S.Node.FSM().HasRelaySecret() {
				return false
			}
		}
		return true
	}, "relay secret not on every node: %s", stateOf(nodes))
}

// A client that sends the relay handshake, bare or with a guessed proof, is
// no relay: past maxclients it gets the maxclients error and is closed; below
// it, the command is unknown to it and it stays an ordinary client (counted,
// timed out when idle). A follower's real relay still gets through a full
// leader, and the clients holding the places keep working.
func TestRelay_OnlyMembersAreRelays(t *testing.T) {
	const maxClients = 5
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) {
		c.MaxClients = maxClients
		c.Timeout = 2 * time.Second
	}))
	l := leader(t, nodes)
	waitRelaySecret(t, nodes)
	pong := reply{Kind: '+', Str: "PONG"}
	var held []*respClient
	for range maxClients {
		c := mustClient(t, l.ClientAddr())
		c.MustReply(t, pong, "PING")
		held = append(held, c)
	}
	for _, hs := range []string{
		"*1\r\n$20\r\nUNDERSTUDY.FORWARDED\r\n",
		"*2\r\n$20\r\nUNDERSTUDY.FORWARDED\r\n$6\r\nsecret\r\n",
		"*2\r\n$20\r\nunderstudy.forwarded\r\n$64\r\n" + strings.Repeat("0", 64) + "\r\n",
		"*3\r\n$20\r\nUNDERSTUDY.FORWARDED\r\n$1\r\na\r\n$1\r\nb\r\n",
	} {
		if got := sendRaw(t, l.ClientAddr(), hs+"*1\r\n$4\r\nPING\r\n"); got != "-ERR max number of clients reached\r\n" {
			t.Fatalf("handshake %q past maxclients: got %q, want the maxclients error and a close", hs, got)
		}
	}
	for _, c := range held {
		c.MustReply(t, pong, "PING")
	}
	fc := mustClient(t, followers(nodes, l)[0].ClientAddr())
	fc.MustReply(t, okReply(), "SET", "via-follower", "1")
	fc.MustReply(t, bulkReply("1"), "GET", "via-follower")

	// Below maxclients: an unknown command, and an ordinary client after it.
	held[0].Close()
	var plain *respClient
	waitFor(t, 5*time.Second, func() bool {
		c, err := dialClient(l.ClientAddr())
		if err != nil {
			return false
		}
		r, err := c.Do("UNDERSTUDY.FORWARDED", "guess")
		if err != nil || !r.ErrPrefix("ERR unknown command 'UNDERSTUDY.FORWARDED'") {
			c.Close()
			return false
		}
		plain = c
		return true
	}, "a place for a sixth client")
	t.Cleanup(plain.Close)
	plain.MustReply(t, errReply("ERR unknown command 'UNDERSTUDY.FORWARDED', with args beginning with: "), "UNDERSTUDY.FORWARDED")
	// It holds the last place: a seventh is refused.
	if got := sendRaw(t, l.ClientAddr(), "*1\r\n$4\r\nPING\r\n"); got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("after the handshake a client still counts: a new client got %q", got)
	}
	// And the idle timeout closes it.
	deadline := time.Now().Add(10 * time.Second)
	for !closedByServer(t, plain.Conn(), 200*time.Millisecond) {
		held[1].MustReply(t, pong, "PING")
		if time.Now().After(deadline) {
			t.Fatal("the client that sent the handshake was not closed by the idle timeout")
		}
	}
}

// The relay secret is never shown: not in INFO, CONFIG GET, CLIENT LIST, the
// slow log, the logs, nor a backup handed to an operator; rotating it keeps
// relays working, and a restored backup gets a new one.
func TestRelay_SecretNeverShownAndRotates(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.SlowlogLogSlowerThan = 0 }))
	l := leader(t, nodes)
	waitRelaySecret(t, nodes)
	f := followers(nodes, l)[0]
	proof := f.S.Node.FSM().RelayProof()
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, okReply(), "SET", "k", "v")
	lc := mustClient(t, l.ClientAddr())
	var shown []string
	for _, args := range [][]string{{"INFO", "everything"}, {"CONFIG", "GET", "*"}, {"CLIENT", "LIST"}, {"SLOWLOG", "GET", "1000"}} {
		shown = append(shown, lc.MustDo(t, args...).String(), fc.MustDo(t, args...).String())
	}
	ctx := context.Background()
	cli := rpc.NewClient(l.S.AdminAddr(), "")
	var backup bytes.Buffer
	if _, err := cli.Backup(ctx, &backup, nil); err != nil {
		t.Fatal(err)
	}
	for i, s := range shown {
		if strings.Contains(s, proof) {
			t.Fatalf("the relay proof shows in output %d: %.200s", i, s)
		}
	}
	// A backup restored elsewhere carries no secret (fsm's tests check its
	// bytes): the restored state has none until its leader makes one.
	r := fsm.New()
	if err := r.Restore(io.NopCloser(bytes.NewReader(backup.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if r.HasRelaySecret() {
		t.Fatal("a backup carries the relay secret")
	}

	if err := cli.RotateRelaySecret(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		for _, n := range nodes {
			if n.S.Node.FSM().RelayProof() == proof {
				return false
			}
		}
		return true
	}, "the rotation reached every node")
	// The pooled relay keeps working; a new client gets a new relay.
	fc.MustReply(t, bulkReply("v"), "GET", "k")
	fc2 := mustClient(t, f.ClientAddr())
	fc2.MustReply(t, okReply(), "SET", "k2", "v2")
	// The previous secret is still accepted, until the next rotation.
	c := mustClient(t, l.ClientAddr())
	c.MustReply(t, okReply(), "UNDERSTUDY.FORWARDED", proof)
}
