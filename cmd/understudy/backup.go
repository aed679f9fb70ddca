package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// A backup is two files: FILE, the snapshot stream exactly as the leader sent
// it, and FILE.sha256 in sha256sum format. restore refuses a FILE whose
// SHA-256 does not match.

func progressFor(what string, total int64) (func(int64), func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionClearOnFinish(),
	)
	return func(n int64) { _ = bar.Set64(n) }, func() { _ = bar.Finish() }
}

func newBackupCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Stream a consistent snapshot from the leader into FILE (and FILE.sha256)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			path := args[0]
			tmp := path + ".partial"
			out, err := os.Create(tmp)
			if err != nil {
				return fmt.Errorf("create %s: %w", tmp, err)
			}
			defer os.Remove(tmp)
			bw := bufio.NewWriterSize(out, 1<<20)
			progress, done := progressFor("backup", -1)
			res, err := c.Backup(ctxFor(cmd), bw, progress)
			done()
			if err == nil {
				err = bw.Flush()
			}
			if err == nil {
				err = out.Sync()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp, path); err != nil {
				return fmt.Errorf("rename %s: %w", tmp, err)
			}
			line := fmt.Sprintf("%s  %s\n", res.SHA256, filepath.Base(path))
			if err := os.WriteFile(path+".sha256", []byte(line), 0o644); err != nil {
				return fmt.Errorf("write checksum: %w", err)
			}
			return write(cmd.OutOrStdout(), f.output, backupView{File: path, Bytes: res.Size, Index: res.Index, SHA256: res.SHA256})
		},
	}
}

// expectedSum reads FILE.sha256 unless --sha256 was given.
func expectedSum(path, flag string) (string, error) {
	if flag != "" {
		return strings.ToLower(flag), nil
	}
	b, err := os.ReadFile(path + ".sha256")
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no checksum for %s: %s.sha256 is missing (pass --sha256)", path, path)
	}
	if err != nil {
		return "", fmt.Errorf("read checksum: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s.sha256 is empty", path)
	}
	return strings.ToLower(fields[0]), nil
}

func newRestoreCmd(f *adminFlags) *cobra.Command {
	var sum string
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Load a backup into the cluster through Raft (meant for a fresh cluster)",
		Long: `Load a backup into a running cluster. The leader checks the file's SHA-256
and contents, installs it as a snapshot, and the followers receive it through
Raft. It replaces everything the cluster holds: use it on a freshly started
cluster (scripts/cluster.sh up on empty data, then restore).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(cmd)
			if err != nil {
				return err
			}
			path := args[0]
			want, err := expectedSum(path, sum)
			if err != nil {
				return err
			}
			in, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("open backup: %w", err)
			}
			defer in.Close()
			h := sha256.New()
			size, err := io.Copy(h, in)
			if err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				return fmt.Errorf("refusing to restore %s: checksum mismatch (file has %s, expected %s)", path, got, want)
			}
			if _, err := in.Seek(0, io.SeekStart); err != nil {
				return err
			}
			progress, done := progressFor("restore", size)
			r, err := c.Restore(ctxFor(cmd), bufio.NewReaderSize(in, 1<<20), want, progress)
			done()
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), f.output, restoreView{File: path, Keys: r.Keys, Index: r.Index})
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "expected SHA-256 of FILE (default: read FILE.sha256)")
	return cmd
}
