// Package cli is the entry shape the bench commands share (loadgen,
// upgradeload, partition): the log setup, a subcommand table run under a
// context that SIGINT and SIGTERM cancel, and the freeports subcommand the
// scripts draw their ports with.
package cli

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/internal/freeport"
)

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Setup prefixes the log with the command's name and timestamps, and
// silences go-redis: it logs every failed dial and Sentinel lookup, and the
// commands count those errors themselves.
func Setup(name string) {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix(name + ": ")
	redis.SetLogger(quietLogger{})
}

// Command is one subcommand: os.Args[1] names it, Run gets the arguments
// after it.
type Command struct {
	Name string
	Run  func(ctx context.Context, args []string) error
}

// Main runs the subcommand os.Args[1] names, under a context SIGINT and
// SIGTERM cancel; it exits 2 with a usage line when none is named, and 1
// after logging the error the subcommand returns.
func Main(name string, cmds []Command) {
	if len(os.Args) < 2 {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name
		}
		fmt.Fprintf(os.Stderr, "usage: %s %s [flags]\n", name, strings.Join(names, "|"))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, args := os.Args[1], os.Args[2:]
	err := fmt.Errorf("unknown command %q", cmd)
	for _, c := range cmds {
		if c.Name == cmd {
			err = c.Run(ctx, args)
			break
		}
	}
	stop()
	if err != nil {
		log.Printf("%s: %v", cmd, err)
		os.Exit(1)
	}
}

// FreePorts is the freeports subcommand: it prints N (args[0], default 1)
// distinct free TCP ports on 127.0.0.1, space-separated (freeport hands no
// port out twice in one process, so none repeats).
func FreePorts(_ context.Context, args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil {
			return fmt.Errorf("port count: %w", err) // Main prefixes "freeports: "
		}
	}
	var out []string
	for range n {
		p, err := freeport.Port()
		if err != nil {
			return err
		}
		out = append(out, strconv.Itoa(p))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}
