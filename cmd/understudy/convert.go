package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/understudy/understudy/node"
)

func newConvertLogCmd() *cobra.Command {
	var dataDir, to, logLevel string
	cmd := &cobra.Command{
		Use:   "convert-log --data-dir DIR --to wal|bolt",
		Short: "Move a stopped node's Raft log to the other log store",
		Long: `Move a stopped node's Raft log between the bolt store (raft.db) and the WAL
(wal/), so that the node can be started with the other --log-store without
wiping it and re-joining. The term, vote and snapshots stay in place; every
entry moved is checked. Stop the node first (a running node holds raft.db
locked). An interrupted conversion is finished or undone by running it again,
or by the next start with either store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(logLevel, "text")
			if err != nil {
				return err
			}
			if dataDir == "" {
				return fmt.Errorf("--data-dir is required")
			}
			res, err := node.ConvertLog(dataDir, to, logger)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case !res.Done:
				fmt.Fprintf(out, "%s: the log is already in %s; nothing to do\n", dataDir, res.To)
			case res.Last == 0:
				fmt.Fprintf(out, "%s: log store %s -> %s (the log was empty)\n", dataDir, res.From, res.To)
			default:
				fmt.Fprintf(out, "%s: log store %s -> %s, entries %d-%d; start the node with --log-store %s\n",
					dataDir, res.From, res.To, res.First, res.Last, res.To)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "the node's data directory (its --data-dir)")
	f.StringVar(&to, "to", node.LogStoreWAL, "the log store to move to: wal or bolt")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}
