package node

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/raft"
)

// A snapshot that cannot be written for lack of space stops the node like a
// failed log write. The "disk" fills for real: RLIMIT_FSIZE makes a write
// past the limit fail with EFBIG (Go ignores SIGXFSZ), as a full disk fails a
// write that needs new blocks.
func TestSnapshotGuard_DiskFullFencesTheNode(t *testing.T) {
	dir := t.TempDir()
	bolt, err := openBolt(filepath.Join(dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	guard := newDiskGuard(bolt, filepath.Join(dir, "raft.db"), bolt, filepath.Join(dir, "raft.db"), quiet)
	fss, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, newRaftLogger(quiet, "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	snaps := snapshotGuard{SnapshotStore: fss, guard: guard, dir: filepath.Join(dir, "snapshots")}

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	limited := old
	limited.Cur = 256 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Errorf("restore RLIMIT_FSIZE: %v", err)
			}
		}
	}
	defer restore()

	sink, err := snaps.Create(raft.SnapshotVersionMax, 10, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var werr error
	for i := 0; i < 16 && werr == nil; i++ {
		_, werr = sink.Write(chunk)
	}
	cerr := sink.Close()
	restore()
	if werr == nil && cerr == nil {
		t.Fatal("a 1 MiB snapshot was written past a 256 KiB file size limit")
	}
	select {
	case <-guard.failed:
	default:
		t.Fatalf("the node was not fenced (write err %v, close err %v)", werr, cerr)
	}
	msg := guard.fenced().Error()
	for _, want := range []string{"snapshot store " + snaps.dir, "disk is full"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q does not say %q", msg, want)
		}
	}
	// Later log writes fail at once: the node stops rather than limping on.
	if err := guard.StoreLogs([]*raft.Log{{Index: 1, Term: 1}}); err == nil {
		t.Error("a log write after the fence succeeded")
	}
}
