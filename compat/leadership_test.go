package compat

// When a leader loses leadership it closes its client connections, as a
// demoted Redis master's clients are disconnected, so that they reconnect
// and find the new leader. Before closing it tells them why: subscribers and
// idle clients read a TRYAGAIN naming the move, then the connection ends.

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

const farewellPrefix = "TRYAGAIN leadership moved"

func TestCompat_LeadershipLossTellsClients(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 30*time.Second)

	// go-redis subscribers, RESP2 and RESP3.
	type sub struct {
		proto int
		errs  chan error
	}
	var subs []sub
	for _, proto := range []int{2, 3} {
		ps := newClient(t, l.ClientAddr(), proto).Subscribe(ctx, "lm.ch")
		t.Cleanup(func() { ps.Close() })
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatalf("RESP%d SUBSCRIBE: %v", proto, err)
		}
		s := sub{proto, make(chan error, 1)}
		go func() {
			_, err := ps.Receive(ctx)
			s.errs <- err
		}()
		subs = append(subs, s)
	}
	// Raw clients, to see every byte and the end of the connection: a
	// RESP2 subscriber, a RESP3 subscriber and an idle normal client.
	type raw struct {
		name string
		c    *rawConn
	}
	var raws []raw
	for _, r := range []struct {
		name  string
		proto int
		first []string
	}{
		{"raw RESP2 subscriber", 2, []string{"SUBSCRIBE", "lm.raw"}},
		{"raw RESP3 subscriber", 3, []string{"SUBSCRIBE", "lm.raw"}},
		{"idle RESP2 client", 2, []string{"SET", "lm.k", "v"}},
		{"idle RESP3 client", 3, []string{"PING"}},
	} {
		c, err := dialRaw(l.ClientAddr(), r.proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if v, err := c.do(r.first...); err != nil || v.k == kErr {
			t.Fatalf("%s: %v: %v %v", r.name, r.first, v, err)
		}
		raws = append(raws, raw{r.name, c})
	}

	nl := cl.Transfer(t, nil)
	t.Logf("leadership moved from %s to %s", l.ID, nl.ID)

	for _, s := range subs {
		select {
		case err := <-s.errs:
			if err == nil || !strings.HasPrefix(err.Error(), farewellPrefix) {
				t.Errorf("go-redis RESP%d subscriber on the old leader: %v, want an error starting %q", s.proto, err, farewellPrefix)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("go-redis RESP%d subscriber on the old leader heard nothing 10s after the transfer", s.proto)
		}
	}
	for _, r := range raws {
		v, err := r.c.readWithin(10 * time.Second)
		if err != nil || v.k != kErr || !strings.HasPrefix(v.s, farewellPrefix) {
			t.Errorf("%s on the old leader: read %v %v, want an error starting %q", r.name, v, err, farewellPrefix)
			continue
		}
		t.Logf("%s: -%s", r.name, v.s)
		if v, err := r.c.readWithin(10 * time.Second); !errors.Is(err, io.EOF) {
			t.Errorf("%s on the old leader: after the farewell read %v %v, want the connection closed (EOF)", r.name, v, err)
		}
	}
	// The old leader, now a follower, serves new connections (forwarding).
	c := newClient(t, l.ClientAddr(), 2)
	if err := c.Set(ctx, "lm.after", "v", 0).Err(); err != nil {
		t.Errorf("SET through the old leader after the move: %v", err)
	}
}

// TestCompat_LeadershipLossAnswersOwedReplies: a command sent just before the
// move still gets its own reply before the farewell, never the farewell in
// its place: a pipeline on the old leader sees its replies in order, each a
// real reply or an error of the move, the farewell last, and every INCR
// that ran was answered.
func TestCompat_LeadershipLossAnswersOwedReplies(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	key := fmt.Sprintf("lm.owed.%d", time.Now().UnixNano())
	c := mustDial(t, l.ClientAddr(), 2)
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c.send("INCR", key) != nil {
				return
			}
			n++
			if n%50 == 0 {
				time.Sleep(time.Millisecond) // let the reads keep up; not synchronisation
			}
		}
	}()
	var replies []val
	readErr := make(chan error, 1)
	go func() {
		for {
			v, err := c.readWithin(20 * time.Second)
			if err != nil {
				readErr <- err
				return
			}
			replies = append(replies, v)
		}
	}()
	waitFor(t, 10*time.Second, func() bool {
		n, _ := newClient(t, l.ClientAddr(), 2).Get(ctxT(t, 5*time.Second), key).Int()
		return n > 100
	}, "the pipeline never got going")
	nl := cl.Transfer(t, nil)
	var rerr error
	select {
	case rerr = <-readErr:
	case <-time.After(20 * time.Second):
		t.Fatal("the connection to the old leader was not closed 20s after the transfer")
	}
	close(stop)
	<-sent
	if !errors.Is(rerr, io.EOF) && !strings.Contains(rerr.Error(), "reset") {
		t.Errorf("the connection ended with %v, want EOF", rerr)
	}
	// Every INCR reply counts up by one; then errors only; the farewell
	// is last.
	last := int64(0)
	errs, uncertain := 0, int64(0)
	for i, v := range replies {
		switch {
		case v.k == kInt && errs == 0 && (last == 0 || v.i == last+1):
			last = v.i
		case v.k == kErr && strings.HasPrefix(v.s, "TRYAGAIN"):
			errs++
		case v.k == kErr && strings.HasPrefix(v.s, "UNCERTAIN"):
			errs++
			uncertain++
		default:
			t.Fatalf("reply %d of %d: %v after %d counted and %d errors: out of order", i, len(replies), v, last, errs)
		}
	}
	if len(replies) == 0 || replies[len(replies)-1].k != kErr || !strings.HasPrefix(replies[len(replies)-1].s, farewellPrefix) {
		t.Fatalf("the last of %d replies is not the farewell: %v", len(replies), replies[max(0, len(replies)-3):])
	}
	// Every INCR that ran was answered (UNCERTAIN ones may have run): none
	// ran unanswered behind the farewell (what was read after it was not
	// executed).
	got, err := newClient(t, nl.ClientAddr(), 2).Get(ctxT(t, 10*time.Second), key).Int64()
	if err != nil || got < last || got > last+uncertain {
		t.Errorf("%s = %d %v on the new leader, but the client was answered up to %d (%d uncertain)", key, got, err, last, uncertain)
	}
	t.Logf("%d replies: INCR counted to %d, then %d errors ending with %q", len(replies), last, errs, replies[len(replies)-1].s)
}
