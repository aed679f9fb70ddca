package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/resp"
	"github.com/understudy/understudy/server"
)

// Client limits: maxclients, the idle timeout, and the output limits on
// clients that stop reading (a reply, pub/sub messages).

// infoFields runs INFO section and returns its key:value lines.
func infoFields(t *testing.T, c *respClient, section string) map[string]string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	if r.Kind != '$' {
		t.Fatalf("INFO %s: %s", section, r)
	}
	out := map[string]string{}
	for _, line := range strings.Split(r.Str, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

func infoInt(t *testing.T, c *respClient, section, field string) int64 {
	t.Helper()
	v, ok := infoFields(t, c, section)[field]
	if !ok {
		t.Fatalf("INFO %s has no %s", section, field)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("INFO %s: %s=%q: %v", section, field, v, err)
	}
	return n
}

// closedByServer waits up to d for nc to be closed by the server, discarding
// whatever it still sends; false if it is still open after d.
func closedByServer(t *testing.T, nc net.Conn, d time.Duration) bool {
	t.Helper()
	if err := nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true // EOF (nil from io.Copy) or reset
}

// send writes one command without waiting for its reply.
func send(t *testing.T, c *respClient, args ...string) {
	t.Helper()
	if err := c.Conn().SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Conn().Write(appendCommand(nil, args)); err != nil {
		t.Fatalf("send %q: %v", args, err)
	}
}

// dialNonReader connects with a small receive buffer, so that a client that
// stops reading stops the server's writes soon.
func dialNonReader(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	return nc, bufio.NewReader(nc)
}

func TestLimits_MaxClientsRefusesClientsButNotRelays(t *testing.T) {
	const maxClients = 3
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.MaxClients = maxClients }))
	l := leader(t, nodes)
	pong := reply{Kind: '+', Str: "PONG"}
	var held []*respClient
	for range maxClients {
		c := mustClient(t, l.ClientAddr())
		c.MustReply(t, pong, "PING")
		held = append(held, c)
	}

	// One more is refused with Redis's error and closed.
	if got := sendRaw(t, l.ClientAddr(), "*1\r\n$4\r\nPING\r\n"); got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("client past maxclients got %q, want the maxclients error and a close", got)
	}

	// A follower's clients are its own to count: its relay to the full
	// leader gets through.
	fc := mustClient(t, followers(nodes, l)[0].ClientAddr())
	fc.MustReply(t, okReply(), "SET", "via-follower", "1")
	fc.MustReply(t, bulkReply("1"), "GET", "via-follower")

	if n := infoInt(t, held[0], "stats", "rejected_connections"); n < 1 {
		t.Errorf("rejected_connections = %d, want at least 1", n)
	}
	if n := infoInt(t, held[0], "clients", "maxclients"); n != maxClients {
		t.Errorf("INFO maxclients = %d, want %d", n, maxClients)
	}
	held[0].MustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("maxclients"), bulkReply("3")}}, "CONFIG", "GET", "maxclients")

	// A place given up is a place taken.
	held[0].Close()
	waitFor(t, 5*time.Second, func() bool {
		c, err := dialClient(l.ClientAddr())
		if err != nil {
			return false
		}
		defer c.Close()
		r, err := c.Do("PING")
		return err == nil && r.String() == "PONG"
	}, "no client admitted after one of %d left", maxClients)
	held[1].MustReply(t, pong, "PING")
}

func TestLimits_IdleClientsTimeOut(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.Timeout = time.Second }))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]
	pong := reply{Kind: '+', Str: "PONG"}

	idle := mustClient(t, l.ClientAddr())
	// Taken before the command is sent: the server starts counting idle time
	// when it waits for the next command, after it read this one, so the
	// close cannot come less than the timeout after lastUsed however the
	// two sides are scheduled (a time taken after the reply could be late).
	lastUsed := time.Now()
	idle.MustReply(t, pong, "PING")
	// Exempt, as in Redis: a subscriber and blocked clients, here on the
	// leader and on a follower (whose BLPOP waits in the leader's relay).
	sub := mustClient(t, l.ClientAddr())
	sub.MustDo(t, "SUBSCRIBE", "news")
	blockedL := mustClient(t, l.ClientAddr())
	send(t, blockedL, "BLPOP", "qL", "0")
	blockedF := mustClient(t, f.ClientAddr())
	send(t, blockedF, "BLPOP", "qF", "0")
	active := mustClient(t, l.ClientAddr())

	// waitIdleClosed keeps active busy while it waits for c to be closed.
	waitIdleClosed := func(c *respClient) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !closedByServer(t, c.Conn(), 200*time.Millisecond) {
			active.MustReply(t, pong, "PING")
			if time.Now().After(deadline) {
				t.Fatalf("idle client still connected after %v with timeout 1s", time.Since(lastUsed))
			}
		}
	}
	waitIdleClosed(idle)
	if d := time.Since(lastUsed); d < time.Second {
		t.Fatalf("idle client closed after %v, before the 1s timeout", d)
	}
	// A client idle from now on marks a full timeout for everyone else.
	later := mustClient(t, l.ClientAddr())
	later.MustReply(t, pong, "PING")
	waitIdleClosed(later)

	active.MustReply(t, pong, "PING")
	sub.MustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("pong"), bulkReply("")}}, "PING")
	active.MustReply(t, intReply(1), "LPUSH", "qL", "a")
	active.MustReply(t, intReply(1), "LPUSH", "qF", "b")
	for _, b := range []struct {
		c    *respClient
		want string
	}{{blockedL, `["qL", "a"]`}, {blockedF, `["qF", "b"]`}} {
		r, err := readReply(b.c.Reader())
		if err != nil || r.String() != b.want {
			t.Errorf("blocked client: %s, %v; want %s", r, err, b.want)
		}
	}
	active.MustReply(t, reply{Kind: '*', Arr: []reply{bulkReply("timeout"), bulkReply("1")}}, "CONFIG", "GET", "timeout")
}

func TestLimits_SlowSubscriberIsDisconnected(t *testing.T) {
	const hard = 1 << 20
	nodes := startCluster(t, 1, withConfig(func(c *server.Config) {
		c.PubSubOutputLimit = resp.OutputLimit{Hard: hard}
		c.ClientWriteTimeout = 0 // only the pub/sub limit may cut it
	}))
	l := leader(t, nodes)

	slow, slowBR := dialNonReader(t, l.ClientAddr())
	if _, err := slow.Write(appendCommand(nil, []string{"SUBSCRIBE", "news"})); err != nil {
		t.Fatal(err)
	}
	if r, err := readReply(slowBR); err != nil || len(r.Arr) != 3 {
		t.Fatalf("SUBSCRIBE: %s, %v", r, err)
	}
	// A subscriber that keeps up, and a publisher that never runs more
	// than one batch ahead of it.
	good := mustClient(t, l.ClientAddr())
	good.MustDo(t, "SUBSCRIBE", "news")
	got := make(chan string, 64)
	go func() {
		defer close(got)
		_ = good.Conn().SetReadDeadline(time.Now().Add(2 * time.Minute))
		for {
			r, err := readReply(good.Reader())
			if err != nil || len(r.Arr) != 3 {
				return
			}
			got <- r.Arr[2].Str
		}
	}()
	pub := mustClient(t, l.ClientAddr())
	numsub := func() int64 {
		r := pub.MustDo(t, "PUBSUB", "NUMSUB", "news")
		if len(r.Arr) != 2 {
			t.Fatalf("PUBSUB NUMSUB: %s", r)
		}
		return r.Arr[1].Int
	}
	payload := strings.Repeat("p", 64<<10)
	const batch, most = 8, 1024 // half the hard limit per batch, 64 MiB at most
	published := 0
	for numsub() == 2 {
		if published >= most {
			t.Fatalf("slow subscriber still connected after %d MiB published", published*len(payload)>>20)
		}
		cmds := make([][]string, batch)
		for i := range cmds {
			cmds[i] = []string{"PUBLISH", "news", payload}
		}
		rs, err := pub.Pipeline(cmds)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		for _, r := range rs {
			if r.Kind != ':' {
				t.Fatalf("PUBLISH: %s", r)
			}
		}
		published += batch
		for range batch {
			if m, ok := <-got; !ok || m != payload {
				t.Fatalf("good subscriber: message lost or closed after %d", published)
			}
		}
	}
	// The slow reader held at most hard plus what the sockets buffer: it
	// was cut long before the publisher stopped, not allowed to grow.
	t.Logf("slow subscriber cut after %d KiB published", published*len(payload)>>10)
	if mb := published * len(payload) >> 20; mb > 24 {
		t.Errorf("slow subscriber cut only after %d MiB published (hard limit 1 MiB)", mb)
	}
	if !closedByServer(t, slow, 10*time.Second) {
		t.Fatal("server did not close the slow subscriber's connection")
	}
	pub.MustReply(t, intReply(1), "PUBLISH", "news", "done")
	if m := <-got; m != "done" {
		t.Fatalf("good subscriber got %q, want done", m)
	}
	pub.MustReply(t, okReply(), "SET", "still", "working")
	pub.MustReply(t, bulkReply("working"), "GET", "still")
	if n := infoInt(t, pub, "stats", "client_output_buffer_limit_disconnections"); n != 1 {
		t.Errorf("client_output_buffer_limit_disconnections = %d, want 1", n)
	}
}

func TestLimits_ClientThatStopsReadingIsDisconnected(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	nodes := startCluster(t, 1, withConfig(func(c *server.Config) { c.ClientWriteTimeout = writeTimeout }))
	l := leader(t, nodes)
	c := mustClient(t, l.ClientAddr())
	// A 16 MiB list: far more than the sockets between the two can buffer.
	elem := strings.Repeat("e", 1024)
	const pushes, per = 32, 512
	for i := range pushes {
		args := []string{"RPUSH", "big"}
		for range per {
			args = append(args, elem)
		}
		c.MustReply(t, intReply(int64((i+1)*per)), args...)
	}

	stalled, br := dialNonReader(t, l.ClientAddr())
	if _, err := stalled.Write(appendCommand(nil, []string{"CLIENT", "ID"})); err != nil {
		t.Fatal(err)
	}
	idr, err := readReply(br)
	if err != nil || idr.Kind != ':' {
		t.Fatalf("CLIENT ID: %s, %v", idr, err)
	}
	if _, err := stalled.Write(appendCommand(nil, []string{"LRANGE", "big", "0", "-1"})); err != nil {
		t.Fatal(err)
	}
	asked := time.Now()
	listed := func() bool {
		return strings.Contains(c.MustDo(t, "CLIENT", "LIST").Str, "id="+strconv.FormatInt(idr.Int, 10)+" ")
	}
	waitFor(t, 15*time.Second, func() bool { return !listed() }, "client that stopped reading still connected")
	if d := time.Since(asked); d < writeTimeout*3/4 {
		t.Errorf("disconnected after %v, before the %v write timeout", d, writeTimeout)
	}
	if !closedByServer(t, stalled, 10*time.Second) {
		t.Fatal("server did not close the connection")
	}
	if n := infoInt(t, c, "stats", "client_output_buffer_limit_disconnections"); n != 1 {
		t.Errorf("client_output_buffer_limit_disconnections = %d, want 1", n)
	}
	// A client that reads gets the whole reply.
	if r := c.MustDo(t, "LRANGE", "big", "0", "-1"); len(r.Arr) != pushes*per {
		t.Fatalf("LRANGE by a reading client: %d elements, want %d", len(r.Arr), pushes*per)
	}
}

func TestLimits_ConfigValues(t *testing.T) {
	var b server.ByteSize
	for in, want := range map[string]server.ByteSize{"100mb": 100 << 20, "1GB": 1 << 30, "1k": 1000, "512kb": 512 << 10, "7": 7, "2g": 2e9} {
		if err := b.Set(in); err != nil || b != want {
			t.Errorf("ByteSize.Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1", "12xb", "1.5mb", "mb"} {
		if err := b.Set(in); err == nil {
			t.Errorf("ByteSize.Set(%q) accepted", in)
		}
	}
	var d time.Duration
	if err := (server.Seconds{&d}).Set("300"); err != nil || d != 300*time.Second {
		t.Errorf("Seconds.Set(300) = %v, %v", d, err)
	}
	// A duration of whole seconds is the same setting (seconds_test.go);
	// fractions and negatives are not.
	if err := (server.Seconds{&d}).Set("5s"); err != nil || d != 5*time.Second {
		t.Errorf("Seconds.Set(5s) = %v, %v", d, err)
	}
	for _, in := range []string{"-1", "1.5", "1500ms"} {
		if err := (server.Seconds{&d}).Set(in); err == nil {
			t.Errorf("Seconds.Set(%q) accepted", in)
		}
	}
	var o resp.OutputLimit
	if err := o.Set("normal 0 0 0 replica 256mb 64mb 60 pubsub 1mb 512kb 5"); err != nil ||
		o != (resp.OutputLimit{Hard: 1 << 20, Soft: 512 << 10, SoftFor: 5 * time.Second}) {
		t.Errorf("OutputLimit.Set = %+v, %v", o, err)
	}
	for _, in := range []string{"pubsub 1mb 1mb", "normal 1mb 0 0", "bogus 0 0 0", "pubsub 1mb 1mb -1"} {
		if err := o.Set(in); err == nil {
			t.Errorf("OutputLimit.Set(%q) accepted", in)
		}
	}
	c := server.Defaults()
	if c.MaxClients != 10000 || c.Timeout != 0 || c.MaxMemory != 0 || c.PubSubOutputLimit.String() != "pubsub 33554432 8388608 60" {
		t.Errorf("defaults: maxclients %d timeout %v maxmemory %d %s", c.MaxClients, c.Timeout, c.MaxMemory, c.PubSubOutputLimit.String())
	}
	c.MaxClients, c.MaxQueue, c.MaxMemory = 0, 0, -1
	err := c.ValidateLimits()
	for _, want := range []string{"--maxclients 0", "--max-queue 0", "--maxmemory"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v; want it to mention %s", err, want)
		}
	}
}
