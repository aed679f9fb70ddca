package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/understudy/understudy/fsm"
)

// ConvertResult says what ConvertLog did.
type ConvertResult struct {
	From, To    string // log stores
	First, Last uint64 // the entries moved (0, 0: none)
	Done        bool   // false: the log was already in To
}

// ConvertLog moves a stopped node's log between the bolt and WAL stores, so
// that it can be started with the other --log-store without re-joining. The
// term, vote, snapshots and configuration stay where they are. Every entry
// moved is checked on the way (its checksum, its index); the source is
// verified first as at start-up.
//
// It is safe to interrupt: the new log is built aside and switched in by
// one rename, and what is left over is cleaned up by the next start or the
// next ConvertLog. wal/wal-meta.db existing is what makes the WAL the log
// (store.go):
//
//	to wal:  build wal.convert/, rename it to wal/ (the switch), drop the log from raft.db
//	to bolt: copy into raft.db, rename wal/ to wal.old/ (the switch), delete wal.old/
func ConvertLog(dataDir, to string, log *slog.Logger) (ConvertResult, error) {
	res := ConvertResult{To: to}
	if to != LogStoreWAL && to != LogStoreBolt {
		return res, fmt.Errorf("log store %q: want %s or %s", to, LogStoreWAL, LogStoreBolt)
	}
	boltPath := filepath.Join(dataDir, boltFile)
	if _, err := os.Stat(boltPath); err != nil {
		return res, fmt.Errorf("%s: not a node's data directory (%v)", dataDir, err)
	}
	if err := checkBoltMeta(boltPath); err != nil {
		return res, err
	}
	if err := checkBoltPages(boltPath); err != nil {
		return res, err
	}
	b, err := openBolt(boltPath) // also the lock: a running node holds it
	if err != nil {
		return res, err
	}
	defer b.Close()
	for _, leftover := range []string{walTmpDir, walOldDir} {
		if err := os.RemoveAll(filepath.Join(dataDir, leftover)); err != nil {
			return res, fmt.Errorf("remove %s: %w", filepath.Join(dataDir, leftover), err)
		}
	}
	walPresent, err := hasWAL(dataDir)
	if err != nil {
		return res, err
	}
	wdir := filepath.Join(dataDir, walDir)
	res.From = LogStoreBolt
	if walPresent {
		res.From = LogStoreWAL
		// A log left in raft.db beside a WAL is from an interrupted run.
		if err := dropBoltLog(b); err != nil {
			return res, fmt.Errorf("log store %s: drop a leftover log: %w", boltPath, err)
		}
	}
	if res.From == to {
		return res, nil
	}
	quiet := newRaftLogger(log, "wal")
	if to == LogStoreWAL {
		tmp := filepath.Join(dataDir, walTmpDir)
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return res, fmt.Errorf("create %s: %w", tmp, err)
		}
		w, err := wal.Open(tmp, wal.WithLogger(quiet))
		if err != nil {
			return res, fmt.Errorf("create log store %s: %w", tmp, err)
		}
		res.First, res.Last, err = copyLog(w, b, boltPath)
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close log store %s: %w", tmp, cerr)
		}
		if err != nil {
			return res, err
		}
		if err := syncDir(tmp); err != nil {
			return res, err
		}
		if err := os.Rename(tmp, wdir); err != nil {
			return res, fmt.Errorf("switch to the WAL: %w", err)
		}
		if err := syncDir(dataDir); err != nil {
			return res, err
		}
		if err := dropBoltLog(b); err != nil {
			return res, fmt.Errorf("log store %s: drop the old log (the WAL is the log now; the next start drops it): %w", boltPath, err)
		}
		res.Done = true
		return res, nil
	}
	if err := checkWAL(wdir); err != nil {
		return res, err
	}
	w, err := wal.Open(wdir, wal.WithLogger(quiet))
	if err != nil {
		return res, fmt.Errorf("log store %s cannot be opened (%v); %s", wdir, err, recoveryHint)
	}
	res.First, res.Last, err = copyLog(b, w, wdir)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close log store %s: %w", wdir, cerr)
	}
	if err != nil {
		return res, err
	}
	old := filepath.Join(dataDir, walOldDir)
	if err := os.Rename(wdir, old); err != nil {
		return res, fmt.Errorf("switch to raft.db: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return res, err
	}
	if err := os.RemoveAll(old); err != nil {
		log.Warn("remove the retired WAL (the next start removes it)", "dir", old, "err", err)
	}
	res.Done = true
	return res, nil
}

// copyLog copies src's entries to the empty dst, checking each. It copies
// the longest run of consecutive entries that ends at the last one: bolt
// may keep older entries below a gap left by a snapshot install, which Raft
// never reads again and the WAL cannot hold.
func copyLog(dst, src raft.LogStore, srcPath string) (first, last uint64, err error) {
	if first, err = src.FirstIndex(); err != nil {
		return 0, 0, fmt.Errorf("log store %s: read first index: %w", srcPath, err)
	}
	if last, err = src.LastIndex(); err != nil {
		return 0, 0, fmt.Errorf("log store %s: read last index: %w", srcPath, err)
	}
	if last == 0 {
		return 0, 0, nil
	}
	var l raft.Log
	from := last
	for from > first {
		err := src.GetLog(from-1, &l)
		if errors.Is(err, raft.ErrLogNotFound) {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("log store %s: entry %d is unreadable (%v); %s", srcPath, from-1, err, recoveryHint)
		}
		from--
	}
	const batchBytes = 8 << 20
	var batch []*raft.Log
	size := 0
	for i := from; i <= last; i++ {
		e := new(raft.Log)
		if err := src.GetLog(i, e); err != nil {
			return 0, 0, fmt.Errorf("log store %s: entry %d is unreadable (%v); %s", srcPath, i, err, recoveryHint)
		}
		if e.Index != i {
			return 0, 0, fmt.Errorf("log store %s: entry %d is stored as index %d; %s", srcPath, i, e.Index, recoveryHint)
		}
		if e.Type == raft.LogCommand {
			if err := fsm.VerifyEntry(e.Data); err != nil {
				return 0, 0, fmt.Errorf("log store %s: entry %d (term %d) is damaged: %v; %s", srcPath, i, e.Term, err, recoveryHint)
			}
		}
		batch = append(batch, e)
		if size += len(e.Data); size >= batchBytes || i == last {
			if err := dst.StoreLogs(batch); err != nil {
				return 0, 0, fmt.Errorf("write entries %d-%d: %w", batch[0].Index, i, err)
			}
			batch, size = batch[:0], 0
		}
	}
	return from, last, nil
}

// syncDir fsyncs a directory, so that renames and new files in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
