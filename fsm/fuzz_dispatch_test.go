package fsm_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// fuzzCmds turns fuzz input into argument vectors: commands separated by
// '\n', arguments by ' ' (empty commands skipped).
func fuzzCmds(data []byte) [][][]byte {
	var cmds [][][]byte
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		fields := bytes.Fields(line)
		if len(fields) > 0 && len(fields) < 64 && !hugeSetrange(fields) {
			cmds = append(cmds, fields)
		}
	}
	return cmds
}

// hugeSetrange reports a SETRANGE past 1 MiB. Like Redis, SETRANGE may grow
// a string to 512 MiB; an input that does so spends seconds on allocating,
// replaying and snapshotting it, and the fuzzer's deadline then fails the run
// although nothing is wrong (the size limit has its own tests).
func hugeSetrange(argv [][]byte) bool {
	if len(argv) < 3 || !bytes.EqualFold(argv[0], []byte("setrange")) {
		return false
	}
	off, err := strconv.ParseInt(string(argv[2]), 10, 64)
	return err == nil && off > 1<<20
}

// FuzzDispatch runs random argument vectors through the FSM as writes and as
// reads: no panic, and replay-from-empty equals restore-from-snapshot.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		"SET a 1\nINCR a\nAPPEND a x\nGET a",
		"HSET h f v g w\nHINCRBY h f 1\nHGETALL h\nDEL h",
		"RPUSH l a b c\nLPOP l 2\nLMOVE l m LEFT RIGHT\nLRANGE m 0 -1",
		"SADD s a b\nSPOP s\nSRANDMEMBER s -5\nSINTERSTORE d s s",
		"ZADD z 1 a 2 b\nZINCRBY z 3 a\nZRANGE z 0 -1 WITHSCORES\nZPOPMIN z",
		"SET k v EX 10\nEXPIRE k 0\nRENAME k j\nSCAN 0 COUNT 1",
		"understudy.exec x y\nunderstudy.bpop LEFT l\nOBJECT ENCODING l",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds := fuzzCmds(data)
		live := fsm.New()
		var entries []*fsm.Entry
		for i, argv := range cmds {
			e := &fsm.Entry{Type: fsm.EntryBatch, Time: 1_700_000_000_000 + int64(i)*7, Seed: uint64(i) * 31,
				Cmds: []fsm.Cmd{{Op: fsm.OpClient, Argv: argv}}}
			// Through the codec, as the log would carry it.
			dec, err := fsm.DecodeEntry(fsm.AppendEntry(nil, e))
			if err != nil {
				t.Fatalf("decode of an encoded entry: %v", err)
			}
			entries = append(entries, dec)
			live.ApplyEntry(uint64(i+1), dec)
			live.Read(0, 1_700_000_000_000+int64(i)*7, uint64(i), argv)
		}
		// Replay from empty gives the same state.
		replay := fsm.New()
		for i, e := range entries {
			replay.ApplyEntry(uint64(i+1), e)
		}
		if live.Hash() != replay.Hash() {
			t.Fatalf("replay differs from live state")
		}
		// Snapshot and restore give the same state.
		var buf bytes.Buffer
		if _, err := live.WriteSnapshot(&buf); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		restored := fsm.New()
		if err := restore(restored, buf.Bytes()); err != nil {
			t.Fatalf("restore own snapshot: %v", err)
		}
		if restored.Hash() != live.Hash() {
			t.Fatalf("restored state differs from live state")
		}
	})
}

// FuzzSnapshotRestore feeds arbitrary bytes to the snapshot reader: it must
// refuse or accept, never panic, and a refused stream leaves the state alone.
func FuzzSnapshotRestore(f *testing.F) {
	h := newHarness()
	h.do(f, "SET", "a", "1")
	h.do(f, "HSET", "h", "f", "v")
	h.do(f, "RPUSH", "l", "x", "y")
	h.do(f, "ZADD", "z", "1", "m")
	h.do(f, "SADD", "s", "1", "2")
	f.Add(snapshotBytes(f, h.f))
	f.Add([]byte("USNAPSHT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := fsm.New()
		before := dst.Hash()
		if _, err := fsm.ValidateSnapshot(bytes.NewReader(data)); err != nil {
			if rerr := restore(dst, data); rerr == nil {
				t.Fatalf("ValidateSnapshot refused (%v) what Restore accepted", err)
			}
			if dst.Hash() != before {
				t.Fatalf("a refused snapshot changed the state")
			}
		}
	})
}
