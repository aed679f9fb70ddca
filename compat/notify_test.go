package compat

// Keyspace notifications, differentially: the same script of writes runs
// on redis-server and through a follower of a dedicated cluster, with
// notify-keyspace-events set on both, while a PSUBSCRIBE __key*@*__:*
// subscriber listens on redis-server and on every node. Every node must
// hear exactly what redis-server's subscriber heard: the same (channel,
// message) pairs in the same order, database numbers and the expiry's
// `expired` events included (the leader's expiry is a log entry, so every
// node sends the same).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/fsm"
)

// notifyStep is one line of testdata/notify.txt.
//
//	SET k v            a command, sent on the script's connection
//	@block BLPOP q 0   sent on a second connection, which must then show
//	                   as blocked in it; later lines wake it
//	@join              wait for the @block command's reply
//	@expired k         wait until every subscriber heard k expire (the
//	                   expiry cycles of the two servers run on their own
//	                   clocks: nothing may happen in between)
type notifyStep struct {
	line int
	op   string // "", "block", "join", "expired"
	args []string
}

func loadNotifyScript(t *testing.T) []notifyStep {
	t.Helper()
	data, err := os.ReadFile("testdata/notify.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []notifyStep
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		st := notifyStep{line: i + 1}
		if strings.HasPrefix(line, "@") {
			op, rest, _ := strings.Cut(line[1:], " ")
			st.op, line = op, rest
		}
		if st.args, err = splitArgs(line); err != nil {
			t.Fatalf("notify.txt:%d: %v", i+1, err)
		}
		switch {
		case st.op == "" && len(st.args) == 0, st.op == "block" && len(st.args) == 0,
			st.op == "join" && len(st.args) != 0, st.op == "expired" && len(st.args) != 1:
			t.Fatalf("notify.txt:%d: bad line %q", i+1, line)
		case st.op != "" && st.op != "block" && st.op != "join" && st.op != "expired":
			t.Fatalf("notify.txt:%d: unknown directive @%s", i+1, st.op)
		}
		out = append(out, st)
	}
	return out
}

// listener records what one PSUBSCRIBE __key*@*__:* subscriber hears.
type listener struct {
	name string
	mu   sync.Mutex
	got  []string // "channel message"
}

func listen(t *testing.T, name, addr string, proto int) *listener {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := ctxT(t, 10*time.Second)
	ps := rdb.PSubscribe(ctx, "__key*@*__:*")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatalf("PSUBSCRIBE on %s: %v", name, err)
	}
	l := &listener{name: name}
	ch := ps.Channel(redis.WithChannelSize(100000))
	go func() {
		for m := range ch {
			l.mu.Lock()
			l.got = append(l.got, m.Channel+" "+m.Payload)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *listener) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// notifySide is one server the script runs on, with its listeners.
type notifySide struct {
	name      string
	addr      string // where the script's connections go
	blockAddr string // whose CLIENT LIST shows the @block connection
	listeners []*listener
	conn      *rawConn
	bg        chan error
}

func (s *notifySide) run(t *testing.T, st notifyStep) {
	t.Helper()
	switch st.op {
	case "":
		if _, err := s.conn.do(st.args...); err != nil {
			t.Fatalf("%s: notify.txt:%d %q: %v", s.name, st.line, st.args, err)
		}
	case "block":
		name := fmt.Sprintf("notify-block-%d", st.line)
		c, err := dialRaw(s.addr, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if v, err := c.do("CLIENT", "SETNAME", name); err != nil || v.k == kErr {
			t.Fatalf("CLIENT SETNAME: %v %v", v, err)
		}
		s.bg = make(chan error, 1)
		go func() {
			_, err := c.do(st.args...)
			s.bg <- err
		}()
		waitFor(t, 10*time.Second, func() bool { return blockedOn(s.blockAddr, strings.ToLower(st.args[0]))(t, name) },
			"%s: notify.txt:%d: %q never blocked", s.name, st.line, st.args)
	case "join":
		select {
		case err := <-s.bg:
			if err != nil {
				t.Fatalf("%s: notify.txt:%d: the blocked command: %v", s.name, st.line, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: notify.txt:%d: the blocked command is still blocked", s.name, st.line)
		}
	case "expired":
		s.await(t, st.line, "__keyevent@", "__:expired "+st.args[0])
	}
}

// await waits until every listener heard an event "prefix<db>suffix" (any
// database).
func (s *notifySide) await(t *testing.T, line int, prefix, suffix string) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool {
		for _, l := range s.listeners {
			if count(l.events(), prefix, suffix) == 0 {
				return false
			}
		}
		return true
	}, "%s: notify.txt:%d: not every subscriber heard %s*%s", s.name, line, prefix, suffix)
}

func count(events []string, prefix, suffix string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, prefix) && strings.HasSuffix(e, suffix) {
			n++
		}
	}
	return n
}

func TestCompat_KeyspaceNotifications(t *testing.T) {
	needRedis(t)
	script := loadNotifyScript(t)
	cl, err := startCluster("notify", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	l := cl.SettledLeader(t)
	follower := cl.Followers(l)[0]
	ctl := mustDial(t, redisAddr, 2)
	t.Cleanup(func() { _, _ = ctl.do("CONFIG", "SET", "notify-keyspace-events", "") })

	// KEA is what applications set; n (new keys) is not part of A.
	for _, flags := range []string{"KEA", "KEAn"} {
		t.Run(flags, func(t *testing.T) {
			if v, err := ctl.do("FLUSHALL"); err != nil || v.k == kErr {
				t.Fatalf("FLUSHALL: %v %v", v, err)
			}
			if v, err := ctl.do("CONFIG", "SET", "notify-keyspace-events", flags); err != nil || v.k == kErr {
				t.Fatalf("redis-server CONFIG SET: %v %v", v, err)
			}
			setNotifyConfig(t, cl, flags)
			// FLUSHALL in the cluster, after the setting: no events.
			fc, err := dialRaw(l.ClientAddr(), 2)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := fc.do("FLUSHALL"); err != nil || v.k == kErr {
				t.Fatalf("FLUSHALL: %v %v", v, err)
			}
			fc.Close()

			redisSide := &notifySide{name: "redis-server", addr: redisAddr, blockAddr: redisAddr,
				listeners: []*listener{listen(t, "redis-server", redisAddr, 2)}}
			usSide := &notifySide{name: "understudy", addr: follower.ClientAddr(), blockAddr: follower.ClientAddr()}
			for i, n := range cl.Nodes {
				usSide.listeners = append(usSide.listeners, listen(t, n.ID, n.ClientAddr(), 2+i%2))
			}
			for _, s := range []*notifySide{redisSide, usSide} {
				if s.conn, err = dialRaw(s.addr, 2); err != nil {
					t.Fatal(err)
				}
				defer s.conn.Close()
				for _, st := range script {
					s.run(t, st)
				}
				// A last write in db 0 marks the end of the events.
				if _, err := s.conn.do("SELECT", "0"); err != nil {
					t.Fatal(err)
				}
				if _, err := s.conn.do("SET", "notify:end", flags); err != nil {
					t.Fatal(err)
				}
				s.await(t, 0, "__keyevent@0__:set notify:end", "")
			}
			want := redisSide.listeners[0].events()
			if len(want) < 100 {
				t.Fatalf("redis-server sent only %d events: %q", len(want), want)
			}
			for _, ls := range usSide.listeners {
				if got := ls.events(); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s heard %d events, redis-server %d; first difference:\n%s",
						ls.name, len(got), len(want), firstDifference(want, got))
				}
			}
			t.Logf("%d events from %d steps, the same on redis-server and every node", len(want), len(script))
		})
	}
}

// setNotifyConfig sets notify-keyspace-events in the cluster through the
// replicated configuration entry, and waits until every node applied it.
func setNotifyConfig(t *testing.T, cl *cluster, flags string) {
	t.Helper()
	l := cl.SettledLeader(t)
	f := l.Srv().Node.WriteInternal([][]byte{[]byte("config-set"), []byte("notify-keyspace-events"), []byte(flags)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v, err := f.Wait(ctx); err != nil || v.Kind == fsm.KindError {
		t.Fatalf("config-set: %v %v", v, err)
	}
	want := canonicalFlags(flags)
	waitFor(t, 10*time.Second, func() bool {
		for _, n := range cl.Nodes {
			if v, _ := n.Srv().Node.FSM().ConfigGet("notify-keyspace-events"); v != want {
				return false
			}
		}
		return true
	}, "notify-keyspace-events did not reach every node")
}

// canonicalFlags is how CONFIG GET shows the flags the test sets.
func canonicalFlags(f string) string {
	return map[string]string{"": "", "KEA": "AKE", "KEAn": "AKE"}[f]
}

func firstDifference(want, got []string) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			lo := max(0, i-3)
			return fmt.Sprintf("at event %d: redis-server %q, here %q\nredis-server before and after: %q\nhere before and after:         %q",
				i, w, g, want[lo:min(len(want), i+4)], got[lo:min(len(got), i+4)])
		}
	}
	return "none"
}

// TestCompat_NotificationsRedisPy: an application as teams write one, with
// Debian's python3-redis: it subscribes to keyspace events of db 3 on a
// follower and hears the "set" of a write made through the other follower,
// after config_set('notify-keyspace-events', 'KEA') through the first
// (replicated: the follower has the leader put it in the log).
func TestCompat_NotificationsRedisPy(t *testing.T) {
	py := needRedisPy(t, "import redis")
	cl := shared(t)
	l := cl.SettledLeader(t)
	fs := cl.Followers(l)
	t.Cleanup(func() { setNotifyConfig(t, cl, "") })
	host, subPort := splitAddr(t, fs[0].ClientAddr())
	_, pubPort := splitAddr(t, fs[1].ClientAddr())
	ctx := ctxT(t, 30*time.Second)
	out, err := exec.CommandContext(ctx, py, "-c", redisPyNotify, host, strconv.Itoa(subPort), strconv.Itoa(pubPort)).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "heard __keyspace@3__:py:notified set" {
		t.Fatalf("redis-py heard: %q", got)
	}
}

// redisPyNotify subscribes on argv[2], writes through argv[3], both in db 3,
// and prints the keyspace event it hears for the write.
const redisPyNotify = `
import sys, time, redis
host, sub_port, pub_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sub = redis.Redis(host=host, port=sub_port, db=3, decode_responses=True)
sub.config_set('notify-keyspace-events', 'KEA')
p = sub.pubsub()
p.psubscribe('__keyspace@3__:py:*')
deadline = time.time() + 20
while time.time() < deadline:
    m = p.get_message(timeout=1)
    if m and m['type'] == 'psubscribe':
        break
pub = redis.Redis(host=host, port=pub_port, db=3)
pub.set('py:notified', 'v')
while time.time() < deadline:
    m = p.get_message(timeout=1)
    if m and m['type'] == 'pmessage':
        print('heard', m['channel'], m['data'])
        sys.exit(0)
print('heard nothing')
sys.exit(1)
`
