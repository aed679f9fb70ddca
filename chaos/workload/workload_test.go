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
