package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/rpc"
)

// Verbs for Kubernetes, where members are a StatefulSet's pods named
// <statefulset>-<ordinal> (deploy/helm/understudy). The image has no shell,
// so the chart's hooks run these.

// ordinal is the StatefulSet ordinal in id, if id is <set>-<n>.
func ordinal(set, id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, set+"-")
	if !ok || rest == "" {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

func newPruneCmd(f *adminFlags) *cobra.Command {
	var keep int
	var set string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the members a scaled-down StatefulSet no longer has (ordinal >= --keep)",
		Long: `Remove every member whose id is <statefulset>-<ordinal> with ordinal >= --keep,
highest first, handing leadership to a kept voter first if a member to be
removed leads. Members with other ids are left alone. Run by the Helm chart's
scale-down hook; removing nothing is a success.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if set == "" || keep < 1 {
				return fmt.Errorf("--statefulset and --keep (at least 1) are required")
			}
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			ms, err := c.Members(ctxFor(cmd))
			if err != nil {
				return err
			}
			var gone []*adminpb.Member
			var kept []*adminpb.Member
			for _, m := range ms.Members {
				if n, ok := ordinal(set, m.Id); ok && n >= keep {
					gone = append(gone, m)
				} else if ok && m.Suffrage == "voter" {
					kept = append(kept, m)
				}
			}
			out := cmd.OutOrStdout()
			if len(gone) == 0 {
				_, err := fmt.Fprintf(out, "nothing to prune: no member of %s has an ordinal >= %d\n", set, keep)
				return err
			}
			sort.Slice(gone, func(i, j int) bool {
				a, _ := ordinal(set, gone[i].Id)
				b, _ := ordinal(set, gone[j].Id)
				return a > b
			})
			for _, m := range gone {
				if m.Leader {
					if err := handToKept(cmd, c, set, m, kept); err != nil {
						return err
					}
				}
			}
			for _, m := range gone {
				r, err := c.Remove(ctxFor(cmd), m.Id)
				if err != nil {
					return fmt.Errorf("remove %s: %w", m.Id, err)
				}
				if err := write(out, f.output, removeView{Removed: m.Id, Index: r.Index}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 0, "the StatefulSet's replica count: members with this ordinal or higher are removed")
	cmd.Flags().StringVar(&set, "statefulset", "", "the StatefulSet's name; members are <name>-<ordinal>")
	return cmd
}

// handToKept moves leadership from m, about to be removed, to the kept
// voter with the lowest ordinal.
func handToKept(cmd *cobra.Command, c *rpc.Client, set string, m *adminpb.Member, kept []*adminpb.Member) error {
	if len(kept) == 0 {
		return fmt.Errorf("%s leads and no kept voter of %s can take over", m.Id, set)
	}
	sort.Slice(kept, func(i, j int) bool {
		a, _ := ordinal(set, kept[i].Id)
		b, _ := ordinal(set, kept[j].Id)
		return a < b
	})
	r, err := c.TransferLeadership(ctxFor(cmd), kept[0].Id)
	if err != nil {
		return fmt.Errorf("hand leadership from %s to %s before removing it: %w", m.Id, kept[0].Id, err)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "leadership handed from %s to %s in %dms\n", r.OldLeader, r.NewLeader, r.DurationMs)
	return err
}

func newHandoffCmd(f *adminFlags) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "handoff",
		Short: "If the node at --admin leads, hand leadership to another voter (a pod's preStop)",
		Long: `If the node at the first --admin address leads, hand leadership to another
reachable voter and wait for it to lead; if it does not lead, do nothing.
With --statefulset the new leader is the reachable voter with the highest
ordinal above this node's: a StatefulSet's rolling update replaces pods from
the highest ordinal down, so that pod already runs the new version and
leadership moves at most twice in a whole upgrade. Without one above, any
up-to-date voter.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			st, err := c.StatusOf(ctxFor(cmd), c.Addrs[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if st.Role != "leader" {
				_, err := fmt.Fprintf(out, "%s is a %s: nothing to hand over\n", st.Id, st.Role)
				return err
			}
			to := ""
			if set != "" {
				if to, err = updatedSuccessor(cmd, c, set, st.Id); err != nil {
					return err
				}
			}
			r, err := c.TransferLeadership(ctxFor(cmd), to)
			if err != nil {
				return err
			}
			return write(out, f.output, transferView{OldLeader: r.OldLeader, NewLeader: r.NewLeader, DurationMs: r.DurationMs})
		},
	}
	cmd.Flags().StringVar(&set, "statefulset", "", "the StatefulSet's name: prefer the reachable voter with the highest ordinal above this pod's")
	return cmd
}

// updatedSuccessor picks the reachable follower voter with the highest
// ordinal above self's, or "" (any) if there is none.
func updatedSuccessor(cmd *cobra.Command, c *rpc.Client, set, self string) (string, error) {
	mine, ok := ordinal(set, self)
	if !ok {
		return "", nil
	}
	all, err := c.ClusterStatus(ctxFor(cmd))
	if err != nil {
		return "", err
	}
	best, bestN := "", mine
	for _, m := range all {
		n, ok := ordinal(set, m.Member.Id)
		if !ok || m.Err != nil || m.Member.Suffrage != "voter" || m.Status.Role != "follower" {
			continue
		}
		if n > bestN {
			best, bestN = m.Member.Id, n
		}
	}
	return best, nil
}
