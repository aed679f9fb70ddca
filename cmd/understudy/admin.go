package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// adminFlags are shared by every admin verb.
type adminFlags struct {
	addrs   string
	token   string
	output  string
	timeout time.Duration
	tls     adminTLSFlags

	tokenFile string // holds the token instead of --token (admin_token.go)
}

const defaultAdminAddrs = "127.0.0.1:9181,127.0.0.1:9182,127.0.0.1:9183"

func (f *adminFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.addrs, "admin", defaultAdminAddrs, "admin addresses to try in turn, comma-separated")
	pf.StringVar(&f.token, "token", "", "admin token (or UNDERSTUDY_ADMIN_TOKEN)")
	pf.StringVar(&f.tokenFile, "token-file", "", "file holding the admin token (or UNDERSTUDY_ADMIN_TOKEN_FILE)")
	pf.StringVarP(&f.output, "output", "o", "human", "output format: human or json")
	f.timeout = 5 * time.Second
	pf.Var(timeoutFlag{&f.timeout}, "timeout", "deadline of each call: a duration (2s, 500ms) or a number of seconds (2), as serve's --timeout")
	f.tls.register(pf)
}

func (f *adminFlags) client(cmd *cobra.Command) (*rpc.Client, error) {
	onCommandLine := tokenFlagsGiven(cmd)
	if err := applyEnvPersistent(cmd); err != nil {
		return nil, err
	}
	token, err := f.adminToken(onCommandLine)
	if err != nil {
		return nil, err
	}
	if f.output != "human" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: want human or json", f.output)
	}
	c := rpc.NewClient(f.addrs, token)
	c.Timeout = f.timeout
	tc, err := f.tls.config()
	if err != nil {
		return nil, err
	}
	c.TLS = tc
	if len(c.Addrs) == 0 {
		return nil, fmt.Errorf("--admin: no address given")
	}
	return c, nil
}

// applyEnvPersistent fills admin flags from UNDERSTUDY_ADMIN (addresses),
// UNDERSTUDY_ADMIN_TOKEN and the TLS variables (adminTLSEnv).
func applyEnvPersistent(cmd *cobra.Command) error {
	fs := cmd.Flags()
	envs := map[string]string{"admin": "UNDERSTUDY_ADMIN", "token": "UNDERSTUDY_ADMIN_TOKEN", "token-file": "UNDERSTUDY_ADMIN_TOKEN_FILE"}
	maps.Copy(envs, adminTLSEnv)
	for flag, env := range envs {
		if f := fs.Lookup(flag); f != nil && !f.Changed {
			if v, ok := os.LookupEnv(env); ok {
				if err := fs.Set(flag, v); err != nil {
					return fmt.Errorf("%s: %w", env, err)
				}
			}
		}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func addAdminCommands(root *cobra.Command) {
	f := &adminFlags{}
	group := []*cobra.Command{
		newStatusCmd(f), newMembersCmd(f), newJoinCmd(f), newPromoteCmd(f), newRemoveCmd(f),
		newTransferCmd(f), newHandoffCmd(f), newPruneCmd(f), newSnapshotCmd(f), newBackupCmd(f), newRestoreCmd(f), newRotateRelaySecretCmd(f),
	}
	for _, c := range group {
		f.register(c)
		root.AddCommand(c)
	}
}

func ctxFor(cmd *cobra.Command) context.Context { return cmd.Context() }

// statusView is the JSON shape of one node's status.
type statusView struct {
	ID                string `json:"id"`
	Role              string `json:"role"`
	Term              uint64 `json:"term"`
	LeaderID          string `json:"leader_id"`
	LeaderClientAddr  string `json:"leader_client_addr"`
	LeaderAdminAddr   string `json:"leader_admin_addr"`
	CommitIndex       uint64 `json:"commit_index"`
	AppliedIndex      uint64 `json:"applied_index"`
	LastLogIndex      uint64 `json:"last_log_index"`
	LastContactMs     int64  `json:"last_contact_ms"`
	LastSnapshotIndex uint64 `json:"last_snapshot_index"`
	LogSizeBytes      int64  `json:"log_size_bytes"`
	Keys              int64  `json:"keys"`
	UptimeSeconds     int64  `json:"uptime_seconds"`
	Version           string `json:"version"`
	FormatLevel       uint32 `json:"format_level"`
	ClusterVersion    uint32 `json:"cluster_version"`
	RaftAddr          string `json:"raft_addr"`
	ClientAddr        string `json:"client_addr"`
	AdminAddr         string `json:"admin_addr"`
	Error             string `json:"error,omitempty"`
}

func viewOf(s *adminpb.StatusResponse) statusView {
	return statusView{
		ID: s.Id, Role: s.Role, Term: s.Term, LeaderID: s.LeaderId, LeaderClientAddr: s.LeaderClientAddr,
		LeaderAdminAddr: s.LeaderAdminAddr, CommitIndex: s.CommitIndex, AppliedIndex: s.AppliedIndex,
		LastLogIndex: s.LastLogIndex, LastContactMs: s.LastContactMs,
		LastSnapshotIndex: s.LastSnapshotIndex, LogSizeBytes: s.LogSizeBytes, Keys: s.Keys,
		UptimeSeconds: s.UptimeSeconds, Version: s.Version, FormatLevel: s.FormatLevel, ClusterVersion: s.ClusterLevel, RaftAddr: s.RaftAddr, ClientAddr: s.ClientAddr, AdminAddr: s.AdminAddr,
	}
}

func newStatusCmd(f *adminFlags) *cobra.Command {
	var cluster bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this node's (or with --cluster every member's) Raft state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			var views []statusView
			if cluster {
				all, err := c.ClusterStatus(ctxFor(cmd))
				if err != nil {
					return err
				}
				for _, m := range all {
					if m.Err != nil {
						views = append(views, statusView{ID: m.Member.Id, Role: "unreachable", AdminAddr: m.Member.AdminAddr, Error: m.Err.Error()})
						continue
					}
					views = append(views, viewOf(m.Status))
				}
			} else {
				st, err := c.Status(ctxFor(cmd))
				if err != nil {
					return err
				}
				views = append(views, viewOf(st))
			}
			return writeStatus(cmd.OutOrStdout(), f.output, views, cluster)
		},
	}
	cmd.Flags().BoolVar(&cluster, "cluster", false, "collect the status of every member")
	return cmd
}

func writeStatus(w io.Writer, format string, views []statusView, cluster bool) error {
	if format == "json" {
		if cluster {
			return printJSON(w, views)
		}
		return printJSON(w, views[0])
	}
	if !cluster {
		return writeStatusOne(w, views[0])
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tTERM\tLEADER\tCOMMIT\tAPPLIED\tSNAPSHOT\tKEYS\tLOG SIZE\tLAST CONTACT\tUPTIME\tVERSION\tFORMAT\tCLIENT\tADMIN")
	for _, v := range views {
		if v.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", v.ID, v.Role, v.AdminAddr)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Role, v.Term, dash(v.LeaderID),
			v.CommitIndex, v.AppliedIndex, v.LastSnapshotIndex, v.Keys, humanBytes(v.LogSizeBytes), v.contact(),
			v.uptime(), dash(v.Version), v.formatLevel(), v.ClientAddr, v.AdminAddr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The cluster version: the level the leader has applied; it rises once
	// every member's FORMAT reaches it.
	var cv uint32
	for _, v := range views {
		if v.Error == "" && v.Role == "leader" {
			cv = v.ClusterVersion
		}
	}
	if cv > 0 {
		if _, err := fmt.Fprintf(w, "cluster version: %d\n", cv); err != nil {
			return err
		}
	}
	for _, v := range views {
		if v.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", v.ID, v.Error)
		}
	}
	return nil
}

// writeStatusOne prints one node's status as a list, leader addresses included.
func writeStatusOne(w io.Writer, v statusView) error {
	leader := "none known"
	if v.LeaderID != "" {
		leader = fmt.Sprintf("%s (client %s, admin %s)", v.LeaderID, dash(v.LeaderClientAddr), dash(v.LeaderAdminAddr))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", v.ID},
		{"role", v.Role},
		{"term", fmt.Sprint(v.Term)},
		{"leader", leader},
		{"last contact", v.contact()},
		{"commit index", fmt.Sprint(v.CommitIndex)},
		{"applied index", fmt.Sprint(v.AppliedIndex)},
		{"last log index", fmt.Sprint(v.LastLogIndex)},
		{"last snapshot", fmt.Sprint(v.LastSnapshotIndex)},
		{"log size", humanBytes(v.LogSizeBytes)},
		{"keys", fmt.Sprint(v.Keys)},
		{"uptime", v.uptime()},
		{"version", dash(v.Version)},
		{"format level", v.formatLevel()},
		{"cluster version", v.clusterVersion()},
		{"raft address", dash(v.RaftAddr)},
		{"client address", dash(v.ClientAddr)},
		{"admin address", dash(v.AdminAddr)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// contact is how long ago a follower last heard from the leader.
func (v statusView) contact() string {
	if v.LastContactMs < 0 {
		return "never"
	}
	if v.Role == "leader" {
		return "-"
	}
	return fmt.Sprintf("%dms", v.LastContactMs)
}

// clusterVersion is the level the cluster runs at, as this node applied it
// ("-" from a build before levels).
func (v statusView) clusterVersion() string {
	if v.ClusterVersion == 0 {
		return "-"
	}
	return fmt.Sprint(v.ClusterVersion)
}

// formatLevel is the node's format level, "-" when it reports none.
func (v statusView) formatLevel() string {
	if v.FormatLevel == 0 {
		return "-"
	}
	return fmt.Sprint(v.FormatLevel)
}

func (v statusView) uptime() string { return (time.Duration(v.UptimeSeconds) * time.Second).String() }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

type memberView struct {
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	ClientAddr string `json:"client_addr"`
	AdminAddr  string `json:"admin_addr"`
	Suffrage   string `json:"suffrage"`
	Leader     bool   `json:"leader"`
	Reachable  bool   `json:"reachable"`
}

func newMembersCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List the cluster's members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			ms, err := c.Members(ctxFor(cmd))
			if err != nil {
				return err
			}
			var views []memberView
			for _, m := range ms.Members {
				views = append(views, memberView{m.Id, m.RaftAddr, m.ClientAddr, m.AdminAddr, m.Suffrage, m.Leader, m.Reachable})
			}
			sort.Slice(views, func(i, j int) bool { return views[i].ID < views[j].ID })
			return writeMembers(cmd.OutOrStdout(), f.output, views)
		},
	}
}

func writeMembers(w io.Writer, format string, views []memberView) error {
	if format == "json" {
		return printJSON(w, views)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUFFRAGE\tLEADER\tREACHABLE\tRAFT\tCLIENT\tADMIN")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Suffrage, yes(v.Leader), yes(v.Reachable), v.RaftAddr, dash(v.ClientAddr), dash(v.AdminAddr))
	}
	return tw.Flush()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newJoinCmd(f *adminFlags) *cobra.Command {
	var req adminpb.JoinRequest
	cmd := &cobra.Command{
		Use:   "join",
		Short: "Add a server to the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			if req.Id == "" || req.RaftAddr == "" {
				return fmt.Errorf("--id and --raft-addr are required")
			}
			r, err := c.Join(ctxFor(cmd), &req)
			if err != nil {
				return err
			}
			suffrage := "voter"
			if req.NonVoter {
				suffrage = "non-voter"
			}
			return write(cmd.OutOrStdout(), f.output, joinView{Joined: req.Id, RaftAddr: req.RaftAddr,
				ClientAddr: req.ClientAddr, AdminAddr: req.AdminAddr, Suffrage: suffrage, Index: r.Index})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&req.Id, "id", "", "id of the new server")
	fl.StringVar(&req.RaftAddr, "raft-addr", "", "its Raft address")
	fl.StringVar(&req.ClientAddr, "client-addr", "", "its client (RESP) address")
	fl.StringVar(&req.AdminAddr, "admin-addr", "", "its admin address")
	fl.BoolVar(&req.NonVoter, "non-voter", false, "join as a non-voter (promote it once it has caught up)")
	return cmd
}

func newPromoteCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "promote ID",
		Short: "Make a caught-up non-voter a voter",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			r, err := c.Promote(ctxFor(cmd), args[0])
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), f.output, promoteView{Promoted: args[0], Index: r.Index})
		},
	}
}

func newRemoveCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a server from the cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			r, err := c.Remove(ctxFor(cmd), args[0])
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), f.output, removeView{Removed: args[0], Index: r.Index})
		},
	}
}

func newTransferCmd(f *adminFlags) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "transfer-leadership",
		Short: "Hand leadership to another voter (graceful switch-over)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			r, err := c.TransferLeadership(ctxFor(cmd), to)
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), f.output, transferView{OldLeader: r.OldLeader, NewLeader: r.NewLeader, DurationMs: r.DurationMs})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "id of the new leader (default: any up-to-date voter)")
	return cmd
}

func newRotateRelaySecretCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-relay-secret",
		Short: "Replace the secret followers prove cluster membership with when they relay clients' commands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			if err := c.RotateRelaySecret(ctxFor(cmd)); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "relay secret rotated; the previous one stays valid until the next rotation")
			return err
		},
	}
}

func newSnapshotCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot",
		Short: "Force a snapshot and log compaction on the node addressed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			r, err := c.Snapshot(ctxFor(cmd))
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), f.output, snapshotView{Index: r.Index, Term: r.Term})
		},
	}
}

// timeoutFlag is the admin verbs' --timeout: a duration ("2s") or a bare
// number of seconds ("2"), read by server.ParseSeconds as `serve --timeout`
// is, so the one flag name never means two units.
type timeoutFlag struct{ d *time.Duration }

func (f timeoutFlag) Set(v string) error {
	d, err := server.ParseSeconds(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (f timeoutFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (timeoutFlag) Type() string { return "duration" }
