package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// direct is a client of one node that never retries: every error is seen.
func direct(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 2 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
}

// role is INFO replication's role of the node at c: master or slave.
func role(ctx context.Context, c *redis.Client) (string, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "role:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO replication has no role")
}

// waitLeader waits until exactly one of addrs reports role:master and every
// node answers, and returns the leader's index.
func waitLeader(ctx context.Context, addrs []string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		leader, n := -1, 0
		for i, a := range addrs {
			c := direct(a)
			r, err := role(ctx, c)
			c.Close()
			if err != nil {
				last = fmt.Errorf("%s: %w", a, err)
				continue
			}
			n++
			if r == "master" {
				if leader >= 0 {
					last = fmt.Errorf("%s and %s both report role:master", addrs[leader], a)
				}
				leader = i
			}
		}
		if leader >= 0 && n == len(addrs) && last == nil {
			return leader, nil
		}
		if leader < 0 && last == nil {
			last = fmt.Errorf("no node reports role:master")
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("no leader with every node up after %v: %w", timeout, last)
		}
		last = nil
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// digestAt is DEBUG DIGEST APPLIED of one node.
func digestAt(ctx context.Context, addr string) (string, int64, error) {
	c := direct(addr)
	defer c.Close()
	v, err := c.Do(ctx, "DEBUG", "DIGEST", "APPLIED").Slice()
	if err != nil {
		return "", 0, fmt.Errorf("%s: DEBUG DIGEST APPLIED: %w", addr, err)
	}
	if len(v) != 2 {
		return "", 0, fmt.Errorf("%s: DEBUG DIGEST APPLIED: %v", addr, v)
	}
	d, _ := v[0].(string)
	idx, ok := v[1].(int64)
	if !ok {
		return "", 0, fmt.Errorf("%s: DEBUG DIGEST APPLIED: index %v", addr, v[1])
	}
	return d, idx, nil
}

// sameDigest waits until every node reports the same digest at the same
// applied index, and returns them; on timeout the error lists each node's.
func sameDigest(ctx context.Context, addrs []string, timeout time.Duration) (string, int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		var seen []string
		d0, i0, err := digestAt(ctx, addrs[0])
		same := err == nil
		seen = append(seen, fmt.Sprintf("%s=%s@%d", addrs[0], d0, i0))
		for _, a := range addrs[1:] {
			if !same {
				break
			}
			d, i, err := digestAt(ctx, a)
			seen = append(seen, fmt.Sprintf("%s=%s@%d", a, d, i))
			same = err == nil && d == d0 && i == i0
		}
		if same {
			return d0, i0, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return "", 0, err
			}
			return "", 0, fmt.Errorf("nodes never agreed on a digest at one applied index within %v: %s", timeout, strings.Join(seen, " "))
		}
		select {
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
