package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// Shutdown with a delay, as Kubernetes needs it: /readyz turns not ready at
// once (so the pod leaves its Services' endpoints) while the node keeps
// serving: a new client connects to the follower and its writes are
// forwarded and answered as before. Only after the delay does the node drain
// and close.
func TestShutdown_DelayServesWhileNotReady(t *testing.T) {
	const delay = 3 * time.Second
	addrs := map[string]string{"n1": mustFreeAddr(t), "n2": mustFreeAddr(t), "n3": mustFreeAddr(t)}
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) {
		c.MetricsAddr = addrs[c.ID]
		c.ShutdownDelay = delay
	}))
	l := leader(t, nodes)
	f := followers(nodes, l)[0]
	readyz := "http://" + addrs[f.ID] + "/readyz"
	waitFor(t, 10*time.Second, func() bool { return httpStatus(t, readyz) == http.StatusOK }, "follower %s never ready", f.ID)
	addr := f.ClientAddr()

	srv := f.S
	start := time.Now()
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), delay+8*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(ctx)
	}()
	waitFor(t, 2*time.Second, func() bool { return httpStatus(t, readyz) == http.StatusServiceUnavailable },
		"/readyz still ready after Shutdown began")
	if body := httpBody(t, readyz); !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz during the delay: %q, want it to say shutting down", body)
	}

	// Still serving: a new connection, a forwarded write and a read.
	c := mustClient(t, addr)
	c.MustReply(t, okReply(), "SET", "during-delay", "v")
	c.MustReply(t, bulkReply("v"), "GET", "during-delay")
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v after %v, within its %v delay", err, time.Since(start), delay)
	default:
	}
	if code := httpStatus(t, "http://"+addrs[f.ID]+"/livez"); code != http.StatusOK {
		t.Errorf("/livez during the delay: %d, want 200 (the kubelet must not restart the pod)", code)
	}

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(delay + 10*time.Second):
		t.Fatal("Shutdown did not return")
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("Shutdown took %v, less than its %v delay", took, delay)
	}
	f.S = nil
	mustClient(t, leader(t, nodes).ClientAddr()).MustReply(t, bulkReply("v"), "GET", "during-delay")
}

func TestConfig_NegativeShutdownDelayRefused(t *testing.T) {
	c := testConfig("n1")
	c.InMemory = true
	c.ShutdownDelay = -time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--shutdown-delay") {
		t.Fatalf("Validate: %v, want --shutdown-delay refused", err)
	}
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}
