package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
)

// The files of a data directory:
//
//	raft.db      bolt: the stable store (term, vote) always; the log too with --log-store bolt
//	wal/         raft-wal: wal-meta.db (which segments make up the log) and the
//	             segment files <base index>-<id>.wal, with --log-store wal
//	snapshots/   the file snapshot store
//
// wal/wal-meta.db existing is what makes the WAL the node's log: a log left
// in raft.db beside it is what an interrupted convert-log left behind, and is
// dropped. A data directory holding one kind of log is refused by a node
// started with the other (convert-log moves it, convert.go).
const (
	boltFile    = "raft.db"
	walDir      = "wal"
	walMetaFile = "wal-meta.db"
	// walTmpDir and walOldDir are convert-log's staging names: a WAL being
	// built, and one being retired. Both are removed at start-up.
	walTmpDir = "wal.convert"
	walOldDir = "wal.old"
)

// hasWAL reports whether dataDir's log is a WAL (its meta file exists).
func hasWAL(dataDir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dataDir, walDir, walMetaFile))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", filepath.Join(dataDir, walDir, walMetaFile), err)
	}
}

// boltHasLog reports whether the bolt store holds log entries.
func boltHasLog(b *raftboltdb.BoltStore) (bool, error) {
	last, err := b.LastIndex()
	if err != nil {
		return false, fmt.Errorf("read last index: %w", err)
	}
	return last > 0, nil
}

// logStores is what open found: the stores Raft uses and what to close.
type logStores struct {
	bolt *raftboltdb.BoltStore // stable store; the log store too in bolt mode
	wal  *wal.WAL              // the log store in wal mode
	// logPath names the log in messages: raft.db's path, or the WAL's directory.
	logPath string
}

func (s *logStores) close() error {
	var errs []error
	if s.wal != nil {
		if err := s.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log store %s: %w", s.logPath, err))
		}
	}
	if s.bolt != nil {
		if err := s.bolt.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", boltFile, err))
		}
	}
	return errors.Join(errs...)
}

// logStore is the store holding the log.
func (s *logStores) logStore() raft.LogStore {
	if s.wal != nil {
		return s.wal
	}
	return s.bolt
}

// openStores checks and opens the data directory's stores for the
// configured log store. snapIndex is the newest snapshot's index (entries
// after it are replayed, so each is verified first).
func openStores(cfg Config, snapIndex uint64) (*logStores, error) {
	dir := cfg.DataDir
	boltPath := filepath.Join(dir, boltFile)
	if err := checkBoltMeta(boltPath); err != nil {
		return nil, err
	}
	if err := checkBoltPages(boltPath); err != nil {
		return nil, err
	}
	walPresent, err := hasWAL(dir)
	if err != nil {
		return nil, err
	}
	for _, leftover := range []string{walTmpDir, walOldDir} {
		if err := os.RemoveAll(filepath.Join(dir, leftover)); err != nil {
			return nil, fmt.Errorf("remove %s left by an interrupted convert-log: %w", filepath.Join(dir, leftover), err)
		}
	}
	b, err := openBolt(boltPath)
	if err != nil {
		return nil, err
	}
	s := &logStores{bolt: b, logPath: boltPath}
	fail := func(err error) (*logStores, error) {
		_ = s.close()
		return nil, err
	}
	boltLog, err := boltHasLog(b)
	if err != nil {
		return fail(fmt.Errorf("log store %s: %w", boltPath, err))
	}
	if cfg.LogStore == "" {
		// The data directory's store, or the WAL for a new node.
		cfg.LogStore = LogStoreWAL
		if boltLog && !walPresent {
			cfg.LogStore = LogStoreBolt
		}
	}
	switch cfg.LogStore {
	case LogStoreBolt:
		if walPresent {
			return fail(fmt.Errorf("data directory %s holds a WAL log (%s) but the node was started with --log-store %s: "+
				"start it with --log-store %s, or stop it and run `understudy convert-log --data-dir %s --to %s`",
				dir, filepath.Join(dir, walDir), LogStoreBolt, LogStoreWAL, dir, LogStoreBolt))
		}
		if err := checkLogEntries(boltPath, b, snapIndex, nil); err != nil {
			return fail(err)
		}
		return s, nil
	case LogStoreWAL:
		if boltLog && !walPresent {
			return fail(fmt.Errorf("data directory %s holds its log in %s but the node was started with --log-store %s: "+
				"start it with --log-store %s, or stop it and run `understudy convert-log --data-dir %s --to %s`",
				dir, boltPath, LogStoreWAL, LogStoreBolt, dir, LogStoreWAL))
		}
		wdir := filepath.Join(dir, walDir)
		if boltLog {
			// An interrupted convert-log: the WAL is the log (convert.go).
			if err := dropBoltLog(b); err != nil {
				return fail(fmt.Errorf("log store %s: drop the log left by an interrupted convert-log: %w", boltPath, err))
			}
			cfg.Logger.Warn("dropped the log left in raft.db by an interrupted convert-log; the WAL is the log", "wal", wdir)
		}
		if err := os.MkdirAll(wdir, 0o755); err != nil {
			return fail(fmt.Errorf("create log store directory %s: %w", wdir, err))
		}
		if walPresent {
			if err := checkWAL(wdir); err != nil {
				return fail(err)
			}
		}
		segBytes := wal.DefaultSegmentSize
		if cfg.walSegmentBytes > 0 {
			segBytes = cfg.walSegmentBytes
		}
		w, err := wal.Open(wdir, wal.WithLogger(newRaftLogger(cfg.Logger, "wal")), wal.WithSegmentSize(segBytes))
		if err != nil {
			return fail(fmt.Errorf("log store %s cannot be opened (%v); %s", wdir, err, recoveryHint))
		}
		// checkWAL has verified every entry; raft-wal's view must agree.
		s.wal, s.logPath = w, wdir
		return s, nil
	}
	return fail(fmt.Errorf("log store %q: want %s or %s", cfg.LogStore, LogStoreWAL, LogStoreBolt))
}

// dropBoltLog deletes every log entry from a bolt store.
func dropBoltLog(b *raftboltdb.BoltStore) error {
	first, err := b.FirstIndex()
	if err != nil {
		return err
	}
	last, err := b.LastIndex()
	if err != nil {
		return err
	}
	if last == 0 {
		return nil
	}
	return b.DeleteRange(first, last)
}

// dataSize is the bytes on disk of the log and stable stores.
func dataSize(dataDir string) int64 {
	var total int64
	if fi, err := os.Stat(filepath.Join(dataDir, boltFile)); err == nil {
		total += fi.Size()
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, walDir))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	return total
}
