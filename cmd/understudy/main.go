// Command understudy runs an Understudy node (serve) and, through the admin
// API, operates a cluster.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/understudy/understudy/server"
)

func main() {
	root := &cobra.Command{
		Use:           "understudy",
		Short:         "A hot-standby key-value server that speaks Redis and never loses an acknowledged write",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       server.BuildVersion(),
	}
	root.SetVersionTemplate("understudy {{.Version}}\n")
	root.AddCommand(newServeCmd(), newVersionCmd(), newConvertLogCmd())
	addAdminCommands(root)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "understudy:", err)
		os.Exit(1)
	}
}

// envName maps a flag to its environment variable: --raft-addr → UNDERSTUDY_RAFT_ADDR.
func envName(flag string) string {
	return "UNDERSTUDY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv fills every flag not given on the command line from UNDERSTUDY_*;
// flags win over the environment, which wins over defaults.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	return err
}
