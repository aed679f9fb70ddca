package compat

// Transactions through a follower live on the follower's relay connection
// to the leader: a client that leaves mid-transaction must not hand its
// MULTI or WATCHes to the next client of that relay, and a transaction
// whose relay is given up (a new leader) must fail, never run without its
// WATCHes. The chaos suite found both.

import (
	"strings"
	"testing"
	"time"
)

func txDo(t *testing.T, c *rawConn, want string, args ...string) {
	t.Helper()
	v, err := c.do(args...)
	if err != nil || (want != "" && v.String() != want) {
		t.Fatalf("%v: %v %v, want %s", args, v, err, want)
	}
}

func TestCompat_FollowerRelayKeepsNoTransactionOfAClientThatLeft(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	for i := range 5 {
		for _, db := range []string{"0", "9"} {
			a, err := dialRaw(f.ClientAddr(), 2)
			if err != nil {
				t.Fatal(err)
			}
			txDo(t, a, "+OK", "SELECT", db)
			txDo(t, a, "+OK", "WATCH", "txrelay:k")
			txDo(t, a, "+OK", "MULTI")
			txDo(t, a, "+QUEUED", "SET", "txrelay:k", "left")
			a.Close()
			// The next clients of the same relays see a plain connection.
			b, err := dialRaw(f.ClientAddr(), 2)
			if err != nil {
				t.Fatal(err)
			}
			txDo(t, b, "+OK", "SELECT", db)
			if v, err := b.do("GET", "txrelay:missing"); err != nil || v.k != kNil {
				t.Fatalf("round %d db %s: GET after another client left mid-MULTI: %v %v", i, db, v, err)
			}
			txDo(t, b, "+OK", "MULTI")
			txDo(t, b, "+QUEUED", "INCR", "txrelay:n")
			if v, err := b.do("EXEC"); err != nil || len(v.elems) != 1 {
				t.Fatalf("round %d db %s: EXEC: %v %v (a WATCH of the client that left fired?)", i, db, v, err)
			}
			b.Close()
		}
	}
	c := mustDial(t, l.ClientAddr(), 2)
	if v, err := c.do("GET", "txrelay:k"); err != nil || v.k != kNil {
		t.Errorf("the abandoned transaction ran: txrelay:k = %v %v", v, err)
	}
}

func TestCompat_FollowerTransactionFailsWhenItsRelayIsLost(t *testing.T) {
	cl, err := startCluster("txl", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	// Leadership moves to the client's own node (it now runs the
	// transaction itself; the WATCH was on its relay) or to the third node
	// (the client's node needs a relay of the new term).
	for _, to := range []string{"the client's node", "another node"} {
		t.Run(to, func(t *testing.T) {
			l := cl.SettledLeader(t)
			fs := cl.Followers(l)
			f, target := fs[0], fs[0]
			if to == "another node" {
				target = fs[1]
			}
			c := mustDial(t, f.ClientAddr(), 2)
			txDo(t, c, "+OK", "SET", "txl:k", "v1")
			txDo(t, c, "+OK", "WATCH", "txl:k")
			txDo(t, c, `"v1"`, "GET", "txl:k")
			// Another client changes the watched key, then leadership moves.
			o := mustDial(t, l.ClientAddr(), 2)
			txDo(t, o, "+OK", "SET", "txl:k", "changed")
			cl.Transfer(t, target)
			var multi string
			waitFor(t, 10*time.Second, func() bool {
				v, err := c.do("MULTI")
				multi = v.String()
				return err == nil && !strings.HasPrefix(multi, "-TRYAGAIN")
			}, "MULTI never got through")
			queued, _ := c.do("SET", "txl:k", "cas")
			v, err := c.do("EXEC")
			if err != nil {
				t.Fatal(err)
			}
			// Redis's null (the WATCH fired) or an abort: anything but running.
			if len(v.elems) > 0 {
				t.Fatalf("EXEC ran without its WATCH after the relay was lost: MULTI %s, SET %v, EXEC %v", multi, queued, v)
			}
			r := mustDial(t, cl.SettledLeader(t).ClientAddr(), 2)
			txDo(t, r, `"changed"`, "GET", "txl:k")
			// The connection works on: a new transaction runs.
			txDo(t, c, "+OK", "MULTI")
			txDo(t, c, "+QUEUED", "SET", "txl:k", "after")
			if v, err := c.do("EXEC"); err != nil || len(v.elems) != 1 {
				t.Fatalf("the next transaction: %v %v", v, err)
			}
		})
	}
}
