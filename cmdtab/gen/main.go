// Command gen captures the command reference of a running redis-server
// into cmdtab/reference.resp (scripts/gen-commands.sh starts the server).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/understudy/understudy/cmdtab"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "reference redis-server")
	out := flag.String("o", "cmdtab/reference.resp", "output file")
	flag.Parse()
	if err := run(*addr, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(addr, out string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := cmdtab.Capture(f, c); err != nil {
		f.Close()
		return fmt.Errorf("capture from %s: %w", addr, err)
	}
	return f.Close()
}
