package workload

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

func TestKeyRing_RotatesAfterPerKeyOperations(t *testing.T) {
	k := newKeyRing("p:", 1, 3)
	rng := rand.New(rand.NewSource(1))
	var got []string
	for range 7 {
		got = append(got, k.pick(rng))
	}
	want := "p:0:0 p:0:0 p:0:0 p:0:1 p:0:1 p:0:1 p:0:2"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if keys := k.keys(); len(keys) != 3 {
		t.Fatalf("keys used: %v", keys)
	}
}

// fakeServer answers each command with reply(argv) (raw RESP); it is enough
// to drive one client through the transaction sequence.
func fakeServer(t *testing.T, reply func(argv []string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					argv, err := readCommand(rd)
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, reply(argv)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func readCommand(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	argv := make([]string, n)
	for i := range argv {
		if _, err := rd.ReadString('\n'); err != nil { // $len
			return nil, err
		}
		s, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		argv[i] = strings.TrimRight(s, "\r\n")
	}
	return argv, nil
}

func casOnce(t *testing.T, exec string) checker.RegisterOp {
	t.Helper()
	addr := fakeServer(t, func(argv []string) string {
		switch strings.ToUpper(argv[0]) {
		case "WATCH", "MULTI", "DISCARD":
			return "+OK\r\n"
		case "GET":
			return "$2\r\nv1\r\n"
		case "SET":
			return "+QUEUED\r\n"
		case "EXEC":
			return exec
		}
		return "-ERR unknown command\r\n"
	})
	env := &Env{Base: time.Now(), Addrs: []string{addr}, OpTimeout: time.Second, Log: slog.Default()}
	w := &Register{Env: env, Clients: 1, Keys: 1, OpsPerKey: 10}
	if !w.ProbeCAS(context.Background()) {
		t.Fatal("probe says no transactions")
	}
	s := newSession(env, 1, 0)
	defer s.drop()
	w.compareAndSet(context.Background(), s, "k")
	ops := w.Ops()
	if len(ops) != 2 || ops[0].Kind != checker.RegRead || ops[0].Value != "v1" || ops[1].Kind != checker.RegCAS || ops[1].From != "v1" {
		t.Fatalf("ops %+v", ops)
	}
	return ops[1]
}

func TestCompareAndSet_ClassifiesEXECReplies(t *testing.T) {
	cases := []struct {
		exec    string
		outcome checker.Outcome
		result  string
	}{
		{"*1\r\n+OK\r\n", checker.OK, checker.CASApplied},
		{"*-1\r\n", checker.OK, checker.CASAborted},
		{"-UNCERTAIN outcome unknown\r\n", checker.Unknown, ""},
		{"-TRYAGAIN not leader\r\n", checker.Failed, ""},
		{"-EXECABORT Transaction discarded\r\n", checker.Failed, ""},
	}
	for _, c := range cases {
		op := casOnce(t, c.exec)
		if op.Outcome != c.outcome || op.Result != c.result {
			t.Errorf("EXEC %q: outcome %s result %q, want %s %q", c.exec, op.Outcome, op.Result, c.outcome, c.result)
		}
	}
}

func TestProbeCAS_UnknownCommandDisablesCAS(t *testing.T) {
	addr := fakeServer(t, func(argv []string) string {
		return "-ERR unknown command '" + argv[0] + "', with args beginning with: \r\n"
	})
	env := &Env{Base: time.Now(), Addrs: []string{addr}, OpTimeout: time.Second, Log: slog.Default()}
	w := &Register{Env: env, Clients: 1, Keys: 1, OpsPerKey: 10}
	if w.ProbeCAS(context.Background()) {
		t.Fatal("probe says transactions exist")
	}
	w.ring = newKeyRing("p:", 1, 10)
	if notes := w.Summary().Notes; len(notes) != 1 || !strings.Contains(notes[0], "skipped") {
		t.Fatalf("notes %v", notes)
	}
}

// listServer is a fake server holding lists: RPUSH and LRANGE 0 -1, with
// dup making every RPUSH apply twice (a server bug the checker must catch).
func listServer(t *testing.T, dup bool) string {
	var mu sync.Mutex
	lists := map[string][]string{}
	return fakeServer(t, func(argv []string) string {
		mu.Lock()
		defer mu.Unlock()
		switch strings.ToUpper(argv[0]) {
		case "RPUSH":
			lists[argv[1]] = append(lists[argv[1]], argv[2])
			if dup {
				lists[argv[1]] = append(lists[argv[1]], argv[2])
			}
			return ":" + strconv.Itoa(len(lists[argv[1]])) + "\r\n"
		case "LRANGE":
			l := lists[argv[1]]
			var b strings.Builder
			b.WriteString("*" + strconv.Itoa(len(l)) + "\r\n")
			for _, e := range l {
				b.WriteString("$" + strconv.Itoa(len(e)) + "\r\n" + e + "\r\n")
			}
			return b.String()
		}
		return "-ERR unknown command\r\n"
	})
}

func TestAppend_RecordsPushesAndWholeListReads(t *testing.T) {
	for _, c := range []struct {
		name string
		dup  bool
	}{{"correct server", false}, {"server applying each RPUSH twice", true}} {
		t.Run(c.name, func(t *testing.T) {
			env := &Env{Base: time.Now(), Addrs: []string{listServer(t, c.dup)}, OpTimeout: time.Second, Prefix: "t:", Log: slog.Default()}
			w := &Append{Env: env, Clients: 2, Keys: 2, OpsPerKey: 20}
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			w.Run(ctx, 1)
			cancel()
			if missing := w.Final(context.Background()); missing != 0 {
				t.Fatalf("%d keys without a final read", missing)
			}
			v := checker.CheckAppend(w.Ops())
			if v.Acknowledged == 0 || v.Keys < 2 {
				t.Fatalf("too little history: %+v", v)
			}
			if c.dup {
				if v.Duplicated == 0 {
					t.Fatalf("duplicates not detected: %+v", v)
				}
				return
			}
			if len(v.Violations) > 0 || v.KeysUnchecked != 0 {
				t.Fatalf("clean history flagged: %+v", v)
			}
		})
	}
}

func TestListOf(t *testing.T) {
	cases := []struct {
		name  string
		reply respclient.Reply
		want  []string
		err   bool
	}{
		{"empty", respclient.Reply{Kind: respclient.Array}, []string{}, false},
		{"two", respclient.Reply{Kind: respclient.Array, Elems: []respclient.Reply{{Kind: respclient.Bulk, Str: "a"}, {Kind: respclient.Bulk, Str: "b"}}}, []string{"a", "b"}, false},
		{"null array", respclient.Reply{Kind: respclient.Array, Nil: true}, nil, true},
		{"bulk string", respclient.Reply{Kind: respclient.Bulk, Str: "a"}, nil, true},
		{"integer element", respclient.Reply{Kind: respclient.Array, Elems: []respclient.Reply{{Kind: respclient.Int, Int: 1}}}, nil, true},
	}
	for _, c := range cases {
		got, err := listOf(c.reply)
		if (err != nil) != c.err || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %q, %v", c.name, got, err)
		}
	}
}
