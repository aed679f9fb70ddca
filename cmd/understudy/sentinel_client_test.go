package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestProcess_SentinelFailoverClientFollowsLeader drives an unmodified
// go-redis FailoverClient, given the three nodes as its sentinels, through a
// SIGKILL of the leader: it must resume writing on the new leader by itself,
// and every write it saw acknowledged must survive.
func TestProcess_SentinelFailoverClientFollowsLeader(t *testing.T) {
	c := startProcCluster(t)
	leader := findLeader(t, c, 15*time.Second)
	var sentinels []string
	for _, p := range c.procs {
		sentinels = append(sentinels, p.clientAddr)
	}
	// Every node must know every other's client address before a failover
	// can be followed: the new leader records its own when it takes over.
	waitFor(t, 15*time.Second, func() bool {
		for _, p := range c.procs {
			v, err := p.client().Do("SENTINEL", "get-master-addr-by-name", "understudy")
			arr, ok := v.([]any)
			if err != nil || !ok || len(arr) != 2 || fmt.Sprint(arr[1]) != fmt.Sprint(portOf(leader.clientAddr)) {
				return false
			}
		}
		return true
	}, "every node names the leader through SENTINEL get-master-addr-by-name")

	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:      "understudy",
		SentinelAddrs:   sentinels,
		MaxRetries:      10,
		MinRetryBackoff: 20 * time.Millisecond,
		MaxRetryBackoff: 200 * time.Millisecond,
		DialTimeout:     2 * time.Second,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		PoolSize:        8,
		Protocol:        3,
	})
	defer rdb.Close()

	type ack struct {
		key string
		at  time.Time
	}
	var (
		mu      sync.Mutex
		acked   []ack
		failed  atomic.Int64
		lastErr atomic.Value
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("fo-%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := rdb.Set(ctx, key, key, 0).Err()
				cancel()
				if err != nil {
					failed.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				mu.Lock()
				acked = append(acked, ack{key, time.Now()})
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, 10*time.Second, func() bool { return count() >= 200 }, "writes flowing before the kill")
	killedAt := time.Now()
	leader.kill()
	before := count()
	for deadline := time.Now().Add(20 * time.Second); count() < before+200; {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("the client did not write again within 20 s of the leader's SIGKILL: %d writes failed, the last with %v", failed.Load(), lastErr.Load())
		}
		time.Sleep(20 * time.Millisecond) // polling a counter, not synchronising
	}
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	sort.Slice(acked, func(i, j int) bool { return acked[i].at.Before(acked[j].at) })
	// The kill takes effect a moment after killedAt, so the gap is the
	// longest pause between consecutive acknowledgements from just before
	// the kill on.
	var gap time.Duration
	for i := 1; i < len(acked); i++ {
		if acked[i].at.After(killedAt.Add(-time.Second)) {
			gap = max(gap, acked[i].at.Sub(acked[i-1].at))
		}
	}
	t.Logf("failover gap seen by go-redis FailoverClient: %v (longest pause between acknowledged writes around the SIGKILL); %d writes acknowledged, %d failed", gap.Round(time.Millisecond), len(acked), failed.Load())
	if gap > 10*time.Second {
		t.Errorf("failover gap %v: the client did not find the new leader by itself", gap)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range acked {
		v, err := rdb.Get(ctx, a.key).Result()
		if err != nil || v != a.key {
			t.Fatalf("acknowledged write %s lost after failover: %q, %v", a.key, v, err)
		}
	}
}
