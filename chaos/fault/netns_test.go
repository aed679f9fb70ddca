package fault

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenIn listens on addr inside network namespace ns: the socket is made
// on a thread moved into ns, which is thrown away afterwards.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	type res struct {
		ln  net.Listener
		err error
	}
	ch := make(chan res)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{err: fmt.Errorf("setns: %w", err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- res{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	go func() {
		for {
			c, err := r.ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return r.ln
}

// dialFrom connects to addr from inside namespace ns (bash's /dev/tcp).
func dialFrom(ctx context.Context, ns, addr string) error {
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := run(ctx, nil, "ip", "netns", "exec", ns, "bash", "-c", `exec 3<>"/dev/tcp/$1/$2"`, "_", host, port)
	return err
}

// TestNetLab builds real namespaces, a bridge and blackhole routes: it
// needs root and iproute2 and changes the host's network for a moment, so
// it runs only with CHAOS_NETNS_TEST=1.
func TestNetLab(t *testing.T) {
	if os.Getenv("CHAOS_NETNS_TEST") != "1" {
		t.Skip("set CHAOS_NETNS_TEST=1 to build real network namespaces")
	}
	if err := netLabSupport(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lab, err := newNetLab(ctx, 3, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = lab.close(context.Background())
		}
	}()
	ln := listenIn(t, lab.ns[1], lab.addr(1)+":7000")
	defer ln.Close()
	target := lab.addr(1) + ":7000"
	c := cutter{
		ip: func(_ context.Context, id string) ([]string, bool, error) {
			i, _ := strconv.Atoi(id)
			return []string{"ip", "-n", lab.ns[i]}, false, nil
		},
		addr: func(_ context.Context, id string) (string, error) { i, _ := strconv.Atoi(id); return lab.addr(i), nil },
	}
	rootDial := func() error {
		conn, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := rootDial(); err != nil {
		t.Fatalf("root namespace cannot reach node 1: %v", err)
	}
	if err := dialFrom(ctx, lab.ns[0], target); err != nil {
		t.Fatalf("node 0 cannot reach node 1: %v", err)
	}
	if err := c.cut(ctx, [][2]string{{"0", "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(ctx, lab.ns[0], target); err == nil {
		t.Fatal("node 0 reaches node 1 through the cut")
	}
	if err := dialFrom(ctx, lab.ns[2], target); err != nil {
		t.Fatalf("node 2 (not cut) cannot reach node 1: %v", err)
	}
	if err := rootDial(); err != nil {
		t.Fatalf("the suite lost node 1 during the cut: %v", err)
	}
	if err := c.heal(ctx, []string{"0", "1", "2"}); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(ctx, lab.ns[0], target); err != nil {
		t.Fatalf("node 0 cannot reach node 1 after healing: %v", err)
	}
	ln.Close()
	if err := lab.close(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	nss, links, err := labObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nss[lab.tag])+len(links[lab.tag]) > 0 {
		t.Fatalf("left behind: %v %v", nss[lab.tag], links[lab.tag])
	}
	if out, _ := run(ctx, nil, "iptables", "-S", "FORWARD"); bridgeNetfilter() && containsWord(out, lab.bridge) {
		t.Fatalf("iptables rule left: %s", out)
	}
}

func containsWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}
