package compat

// Pub/sub through go-redis's PubSub API (the differential script covers the
// raw protocol): the same conversation with redis-server and with Understudy
// gives the same events.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// pubsubConversation subscribes, publishes and inspects through go-redis on
// addr, and returns what it saw, one line per event.
func pubsubConversation(t *testing.T, addr string, proto int, p string) []string {
	ctx := ctxT(t, 20*time.Second)
	var log []string
	note := func(format string, args ...any) {
		log = append(log, strings.ReplaceAll(fmt.Sprintf(format, args...), p, "{}"))
	}
	sub := newClient(t, addr, proto)
	pub := newClient(t, addr, proto)
	ps := sub.Subscribe(ctx, p+"ch1", p+"ch2")
	defer ps.Close()
	for range 2 {
		m, err := ps.Receive(ctx)
		note("receive: %v %v", m, err)
	}
	if err := ps.PSubscribe(ctx, p+"news.*"); err != nil {
		t.Fatal(err)
	}
	m, err := ps.Receive(ctx)
	note("receive: %v %v", m, err)
	recv := func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			note("message: %v", err)
			return
		}
		note("message: channel=%s pattern=%s payload=%q", m.Channel, m.Pattern, m.Payload)
	}
	n, err := pub.Publish(ctx, p+"ch1", "hello").Result()
	note("PUBLISH ch1: %d %v", n, err)
	recv()
	n, err = pub.Publish(ctx, p+"news.today", "headline").Result()
	note("PUBLISH news.today: %d %v", n, err)
	recv()
	chans, err := pub.PubSubChannels(ctx, p+"*").Result()
	note("PUBSUB CHANNELS: %d channels %v", len(chans), err)
	numsub, err := pub.PubSubNumSub(ctx, p+"ch1", p+"ch2", p+"none").Result()
	note("PUBSUB NUMSUB: %v %v", numsub, err)
	if err := ps.Unsubscribe(ctx, p+"ch1"); err != nil {
		t.Fatal(err)
	}
	m, err = ps.Receive(ctx)
	note("receive: %v %v", m, err)
	n, err = pub.Publish(ctx, p+"ch1", "nobody").Result()
	note("PUBLISH ch1 after UNSUBSCRIBE: %d %v", n, err)
	n, err = pub.Publish(ctx, p+"ch2", "still").Result()
	note("PUBLISH ch2: %d %v", n, err)
	recv()
	if err := ps.PUnsubscribe(ctx, p+"news.*"); err != nil {
		t.Fatal(err)
	}
	m, err = ps.Receive(ctx)
	note("receive: %v %v", m, err)
	return log
}

func TestCompat_PubSub(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			want := pubsubConversation(t, redisAddr, proto, fmt.Sprintf("ps%d.r:", proto))
			got := pubsubConversation(t, cl.SettledLeader(t).ClientAddr(), proto, fmt.Sprintf("ps%d.u:", proto))
			for i := range max(len(want), len(got)) {
				w, g := "(nothing)", "(nothing)"
				if i < len(want) {
					w = want[i]
				}
				if i < len(got) {
					g = got[i]
				}
				if w != g {
					t.Errorf("event %d:\n  redis-server: %s\n  understudy:   %s", i, w, g)
				}
			}
		})
	}
}

// TestCompat_PubSubThroughFollower: a client that subscribes through a
// follower receives what is published, as it would from any Redis (a
// replica receives its master's PUBLISH through replication).
func TestCompat_PubSubThroughFollower(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	ctx := ctxT(t, 20*time.Second)
	sub := newClient(t, f.ClientAddr(), 3)
	ps := sub.Subscribe(ctx, "psf.ch")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for _, via := range []*cnode{f, l} {
		pub := newClient(t, via.ClientAddr(), 3)
		n, err := pub.Publish(ctx, "psf.ch", "via "+via.ID).Result()
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := ps.ReceiveMessage(rctx)
		cancel()
		role := "the follower itself"
		if via == l {
			role = "the leader"
		}
		// PUBLISH goes through the log, so every node delivers it to its own
		// subscribers; like Redis, the reply counts the receivers on the node
		// that answered: 1 on the follower, 0 on the leader.
		want := int64(1)
		if via == l {
			want = 0
		}
		if n != want || err != nil {
			t.Errorf("subscriber on follower %s, PUBLISH through %s (%s): PUBLISH counted %d receivers (want %d), the subscriber got %v %v",
				f.ID, role, via.ID, n, want, msgString(m), err)
		}
	}
}

func msgString(m *redis.Message) string {
	if m == nil {
		return "no message"
	}
	return fmt.Sprintf("%q on %s", m.Payload, m.Channel)
}

// TestCompat_PubSubIntrospectionIsNodeLocal: PUBSUB CHANNELS, NUMSUB and
// NUMPAT describe the node that answers, as docs/compat.md says (a Redis
// replica, too, reports its own subscribers): a follower is not forwarded.
func TestCompat_PubSubIntrospectionIsNodeLocal(t *testing.T) {
	cl := shared(t)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	ctx := ctxT(t, 20*time.Second)
	ps := newClient(t, f.ClientAddr(), 3).Subscribe(ctx, "psl.ch")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ps.PSubscribe(ctx, "psl.pat.*"); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []int{2, 3} {
		for _, c := range []struct {
			via              *cnode
			numsub, channels int64
		}{{f, 1, 1}, {l, 0, 0}} {
			rdb := newClient(t, c.via.ClientAddr(), proto)
			numsub, err := rdb.PubSubNumSub(ctx, "psl.ch").Result()
			if err != nil || numsub["psl.ch"] != c.numsub {
				t.Errorf("RESP%d PUBSUB NUMSUB psl.ch on %s: %v %v, want %d", proto, c.via.ID, numsub, err, c.numsub)
			}
			chans, err := rdb.PubSubChannels(ctx, "psl.*").Result()
			if err != nil || int64(len(chans)) != c.channels {
				t.Errorf("RESP%d PUBSUB CHANNELS psl.* on %s: %q %v, want %d", proto, c.via.ID, chans, err, c.channels)
			}
			// Other tests may leave patterns on a node; this one adds one
			// on the follower only, so the follower has at least one.
			numpat, err := rdb.PubSubNumPat(ctx).Result()
			if err != nil || (c.via == f && numpat < 1) {
				t.Errorf("RESP%d PUBSUB NUMPAT on %s: %d %v", proto, c.via.ID, numpat, err)
			}
		}
	}
	// A message published through the leader still reaches the follower's
	// subscriber, and PUBLISH counts the receivers of the node it was sent to.
	n, err := newClient(t, f.ClientAddr(), 2).Publish(ctx, "psl.ch", "hi").Result()
	if err != nil || n != 1 {
		t.Errorf("PUBLISH through the follower: %d %v, want 1", n, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if m, err := ps.ReceiveMessage(rctx); err != nil || m.Payload != "hi" {
		t.Errorf("the follower's subscriber got %s %v", msgString(m), err)
	}
}
