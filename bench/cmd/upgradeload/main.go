// Command upgradeload drives the upgrade scripts' clusters:
//
//	upgradeload freeports N
//	upgradeload fixture --nodes C1,C2,C3 --admin A1,A2,A3 --raft n1=R1,... --made-with REF --manifest FILE
//	upgradeload seed --nodes C1,C2,C3 --made-with REF --manifest FILE
//	upgradeload load --nodes C1,C2,C3 --acked FILE --result FILE [--ready FILE --failover 2 --plain 2 --interval 5ms]
//	upgradeload status --admin A1,A2,A3
//	upgradeload caught-up --nodes C1,C2,C3 --admin A1,A2,A3 --index N
//	upgradeload max-level
//	upgradeload wait-level --admin A1,A2,A3 --level L
//	upgradeload verify --nodes C1,C2,C3 --admin A1,A2,A3 --acked FILE --result FILE [--manifest FILE --version V --level L]
//
// fixture writes the upgrade fixtures' data set (server/upgradetest) into a
// running cluster, snapshots every node half way so each holds a snapshot and
// log entries after it, and writes the manifest of the resulting keyspace
// (scripts/make-upgrade-fixture.sh).
//
// The others serve scripts/rolling-upgrade.sh: seed writes the same data set
// once; load writes unique keys through a go-redis FailoverClient and plain
// clients of every node until it is signalled (rolling.go says what counts as
// an error and a pause); status, caught-up, max-level and wait-level tell the
// script where the cluster stands; verify checks the end state and prints
// the final line errors=<n> lost=<n> max_pause=<d>.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/understudy/understudy/bench/internal/cli"
	"github.com/understudy/understudy/fsm"
)

func main() {
	cli.Setup("upgradeload")
	log.SetOutput(os.Stderr) // capnslog (a dependency of node) took it over in init
	cli.Main("upgradeload", []cli.Command{
		{Name: "freeports", Run: cli.FreePorts},
		{Name: "fixture", Run: fixture},
		{Name: "seed", Run: seed},
		{Name: "load", Run: load},
		{Name: "status", Run: nodesStatus},
		{Name: "caught-up", Run: caughtUp},
		{Name: "max-level", Run: func(context.Context, []string) error {
			fmt.Println(int(fsm.MaxLevel))
			return nil
		}},
		{Name: "wait-level", Run: waitLevel},
		{Name: "verify", Run: verify},
	})
}

// split turns "a,b,c" into its non-empty parts.
func split(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
