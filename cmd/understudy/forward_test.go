package main

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestProcess_FollowerConnectionSurvivesLeaderChange keeps one client
// connection on a follower across a leader crash: every command on it must
// be answered promptly (UNCERTAIN, TRYAGAIN, then OK from the new leader),
// never left hanging. A second connection that was idle during the crash must
// work too once a new leader is known.
//
// "Promptly" is not a wall-clock bound (a loaded two-core machine under
// -race can take seconds to elect and answer): the test fails when a reply
// never comes, i.e. the client's deadline, far longer than any answer may
// take, runs out.
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
	active.Timeout, idle.Timeout = 20*time.Second, 20*time.Second
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
		if isTimeout(err) {
			t.Fatalf("active connection: SET #%d after the kill: no answer within %v (%v): the follower never answered",
				i, time.Since(start).Round(time.Millisecond), err)
		}
		if err == nil && v == "OK" {
			t.Logf("active connection: OK at +%v after %d errors", time.Since(kill).Round(time.Millisecond), i)
			break
		}
		if classifyWrite(v, err) == outOther {
			t.Fatalf("active connection: SET #%d: unexpected %v %v", i, v, err)
		}
		if time.Since(kill) > 60*time.Second {
			t.Fatalf("active connection: no OK within 60s of the kill (last: %v %v)", v, err)
		}
		<-time.After(5 * time.Millisecond) // pace the retries; not synchronisation
	}

	// The idle connection, first used after the new leader is known.
	newLeader := findLeader(t, c, 10*time.Second)
	for i := 0; ; i++ {
		start := time.Now()
		v, err := idle.Do("GET", "k")
		if isTimeout(err) {
			t.Fatalf("idle connection: GET #%d after the leader change (now %s): no answer within %v (%v): the follower never answered",
				i, newLeader.id, time.Since(start).Round(time.Millisecond), err)
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

// isTimeout reports a client deadline that ran out: no reply came.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
