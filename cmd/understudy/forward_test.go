package main

import (
	"testing"
	"time"
)

// TestProcess_FollowerConnectionSurvivesLeaderChange keeps one client
// connection on a follower across a leader crash: every command on it must
// be answered promptly (UNCERTAIN, TRYAGAIN, then OK from the new leader),
// never left hanging. A second connection that was idle during the crash must
// work too once a new leader is known.
//
// Regression: routeToLeader (resp/forward.go) made the new request the
// connection's last slot before releasing a broken or stale upstream, and
// releaseUpstream then waited for that very request: the connection hung.
func TestProcess_FollowerConnectionSurvivesLeaderChange(t *testing.T) {
	c := startProcCluster(t)
	leader := findLeader(t, c, 15*time.Second)
	var follower *proc
	for _, p := range c.procs {
		if p != leader {
			follower = p
			break
		}
	}
	active, idle := follower.client(), follower.client()
	defer active.Close()
	defer idle.Close()
	// Longer than any answer may take: a hang shows as a timeout, not a retry.
	active.timeout, idle.timeout = 8*time.Second, 8*time.Second
	for _, cl := range []*respClient{active, idle} {
		waitFor(t, 10*time.Second, func() bool {
			v, err := cl.Do("SET", "k", "before")
			return err == nil && v == "OK"
		}, "forwarded SET via %s", follower.id)
	}

	leader.kill()
	kill := time.Now()
	t.Logf("killed leader %s; client connections on follower %s", leader.id, follower.id)

	// The active connection: keep writing until the new leader answers OK.
	for i := 0; ; i++ {
		start := time.Now()
		v, err := active.Do("SET", "k", "after")
		took := time.Since(start)
		if took > 2*time.Second {
			t.Fatalf("active connection: SET #%d after the kill took %v (%v %v): the follower never answered",
				i, took.Round(time.Millisecond), v, err)
		}
		if err == nil && v == "OK" {
			t.Logf("active connection: OK at +%v after %d errors", time.Since(kill).Round(time.Millisecond), i)
			break
		}
		if classifyWrite(v, err) == outOther {
			t.Fatalf("active connection: SET #%d: unexpected %v %v", i, v, err)
		}
		if time.Since(kill) > 10*time.Second {
			t.Fatalf("active connection: no OK within 10s of the kill (last: %v %v)", v, err)
		}
		<-time.After(5 * time.Millisecond) // pace the retries; not synchronisation
	}

	// The idle connection, first used after the new leader is known.
	newLeader := findLeader(t, c, 10*time.Second)
	for i := 0; ; i++ {
		start := time.Now()
		v, err := idle.Do("GET", "k")
		took := time.Since(start)
		if took > 2*time.Second {
			t.Fatalf("idle connection: GET #%d after the leader change (now %s) took %v (%v %v): the follower never answered",
				i, newLeader.id, took.Round(time.Millisecond), v, err)
		}
		if err == nil {
			if v != "after" {
				t.Fatalf("idle connection: GET k = %#v, want \"after\"", v)
			}
			break
		}
		if i > 20 {
			t.Fatalf("idle connection: GET keeps failing: %v", err)
		}
	}
}
