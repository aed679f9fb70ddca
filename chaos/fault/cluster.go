// Package fault starts the cluster under test and breaks it: a Cluster is a
// set of nodes that can be killed, paused, partitioned and wiped (local
// processes, or Docker containers), and the Injector runs a seeded schedule
// of faults against it (each kind alone, then a random mix), healing each
// before the next.
package fault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Node is one member as the suite reaches it from where it runs.
type Node struct {
	ID         string
	ClientAddr string // RESP
	AdminAddr  string // admin gRPC
}

// ErrUnsupported is returned by a Cluster for a fault it cannot inject.
var ErrUnsupported = errors.New("fault not supported by this cluster")

// Cluster is the system under test. Every method is bounded by ctx.
type Cluster interface {
	Name() string
	Nodes() []Node
	// Up starts every node with empty data and returns once each answers.
	Up(ctx context.Context) error
	// Kill crashes a node (SIGKILL); Start starts a stopped node on its data,
	// or, after Wipe, with empty data joining the running cluster.
	Kill(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
	// Pause freezes a node (SIGSTOP, docker pause); Resume thaws it.
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	// Cut stops all traffic between the two nodes of each pair, both ways,
	// while the suite (the clients) still reaches every node; Heal removes
	// every cut. ErrUnsupported when PartitionSupport is not nil.
	Cut(ctx context.Context, pairs [][2]string) error
	Heal(ctx context.Context) error
	// PartitionSupport says why Cut cannot work here (nil: it can). Known
	// once Up has returned.
	PartitionSupport() error
	// Wipe deletes a stopped node's data.
	Wipe(ctx context.Context, id string) error
	// Generation is how many times the node was started and wiped.
	Generation(id string) (incarnation, epoch int)
	// Down stops everything the cluster started (keep: leave it running for
	// inspection) after saving the nodes' logs in the output directory.
	Down(ctx context.Context, keep bool) error
}

// run executes a command with ctx's deadline and returns its combined
// output; an error includes the output.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// poll calls cond every interval until it returns nil, ctx ends or timeout
// passes; it returns cond's last error.
func poll(ctx context.Context, timeout, interval time.Duration, cond func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	for {
		if err = cond(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		case <-time.After(interval):
		}
	}
}
