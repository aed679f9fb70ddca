package main

import (
	"fmt"
	"io"
)

// The results of the verbs that change the cluster, as printed: one line for
// people, one JSON object (fields in this order) for scripts. Each verb's
// RunE builds its view from the RPC's answer and calls write; the golden
// tests (admin_cli_test.go) pin both forms.

// joinView is what `join` prints.
type joinView struct {
	Joined     string `json:"joined"`
	RaftAddr   string `json:"raft_addr"`
	ClientAddr string `json:"client_addr,omitempty"`
	AdminAddr  string `json:"admin_addr,omitempty"`
	Suffrage   string `json:"suffrage"`
	Index      uint64 `json:"index"`
}

func (v joinView) human() string {
	return fmt.Sprintf("joined %s as a %s (raft %s) at index %d", v.Joined, v.Suffrage, v.RaftAddr, v.Index)
}

// promoteView is what `promote` prints.
type promoteView struct {
	Promoted string `json:"promoted"`
	Index    uint64 `json:"index"`
}

func (v promoteView) human() string {
	return fmt.Sprintf("promoted %s to voter at index %d", v.Promoted, v.Index)
}

// removeView is what `remove` prints.
type removeView struct {
	Removed string `json:"removed"`
	Index   uint64 `json:"index"`
}

func (v removeView) human() string { return fmt.Sprintf("removed %s at index %d", v.Removed, v.Index) }

// transferView is what `transfer-leadership` prints.
type transferView struct {
	OldLeader  string `json:"old_leader"`
	NewLeader  string `json:"new_leader"`
	DurationMs int64  `json:"duration_ms"`
}

func (v transferView) human() string {
	return fmt.Sprintf("leadership moved from %s to %s in %dms", v.OldLeader, v.NewLeader, v.DurationMs)
}

// snapshotView is what `snapshot` prints.
type snapshotView struct {
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
}

func (v snapshotView) human() string {
	return fmt.Sprintf("snapshot at index %d (term %d)", v.Index, v.Term)
}

// backupView is what `backup` prints.
type backupView struct {
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	Index  uint64 `json:"index"`
	SHA256 string `json:"sha256"`
}

func (v backupView) human() string {
	return fmt.Sprintf("backup of index %d written to %s (%s, sha256 %s)", v.Index, v.File, humanBytes(v.Bytes), v.SHA256)
}

// restoreView is what `restore` prints.
type restoreView struct {
	File  string `json:"file"`
	Keys  int64  `json:"keys"`
	Index uint64 `json:"index"`
}

func (v restoreView) human() string {
	return fmt.Sprintf("restored %s: %d keys, cluster at index %d", v.File, v.Keys, v.Index)
}

// humanView is a verb's result that has a one-line human form.
type humanView interface{ human() string }

// write prints v as JSON or as its human line.
func write(w io.Writer, format string, v humanView) error {
	if format == "json" {
		return printJSON(w, v)
	}
	_, err := fmt.Fprintln(w, v.human())
	return err
}
