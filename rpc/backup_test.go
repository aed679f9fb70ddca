package rpc_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/internal/testcluster"
)

// backupFSM loads a backup into a standalone state machine, to look inside it.
func backupFSM(t testing.TB, data []byte) *fsm.FSM {
	t.Helper()
	f := fsm.New()
	if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatalf("load backup: %v", err)
	}
	return f
}

// allKeys lists the keys of a state machine, sorted.
func allKeys(t testing.TB, f *fsm.FSM) []string {
	t.Helper()
	v := f.Read(0, time.Now().UnixMilli(), 0, [][]byte{[]byte("KEYS"), []byte("*")})
	if v.Kind != fsm.KindArray {
		t.Fatalf("KEYS *: %+v", v)
	}
	out := make([]string, len(v.Arr))
	for i, e := range v.Arr {
		out[i] = string(e.Str)
	}
	sort.Strings(out)
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAdmin_BackupUnderLoadRestoreIntoFreshCluster takes a backup while
// clients write, checks it holds every write acknowledged before it started,
// restores it into a freshly started cluster through a follower's admin
// address, and checks that cluster serves exactly the backup's data, routes
// to its own nodes, converges, and refuses a backup whose checksum does not
// match or whose contents are damaged, keeping its data.
func TestAdmin_BackupUnderLoadRestoreIntoFreshCluster(t *testing.T) {
	src := startCluster(t, "src", 3)
	sl := src.Leader(t)
	waitAddrsKnown(t, src)
	sf := src.Followers(sl)
	keys, ttlKeys := loadKeys(t, sl.ClientAddr(), "k", 2000, 10)

	w := startWriters(t, "bw", []string{sf[0].ClientAddr(), sf[1].ClientAddr(), sl.ClientAddr()})
	w.waitMore(100)
	before := append(append([]string{}, keys...), w.ackedKeys()...) // acknowledged before the backup started

	var buf bytes.Buffer
	var progress []int64
	res, err := adminClient(adminAddrs(sf), "").Backup(ctxT(t), &buf, func(n int64) { progress = append(progress, n) })
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	w.waitMore(50) // writes go on after the backup too
	w.halt()
	t.Logf("writers: %s", w.summary())
	data := buf.Bytes()
	t.Logf("backup: index %d, %d bytes, sha256 %s, %d progress calls", res.Index, res.Size, res.SHA256, len(progress))

	if res.Size != int64(len(data)) || res.SHA256 != sha(data) || res.Index == 0 {
		t.Fatalf("backup result %+v does not describe the %d bytes received (sha256 %s)", res, len(data), sha(data))
	}
	if len(progress) == 0 || progress[len(progress)-1] != res.Size || !sort.SliceIsSorted(progress, func(i, j int) bool { return progress[i] < progress[j] }) {
		t.Errorf("progress %v: want increasing up to %d", progress, res.Size)
	}
	st, err := fsm.ValidateSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("backup does not validate: %v", err)
	}
	if st.Keys < len(before) || st.Expires != len(ttlKeys) || st.Applied != res.Index {
		t.Fatalf("backup holds %d keys (%d with expiry) at index %d; want at least %d (%d with expiry) at index %d",
			st.Keys, st.Expires, st.Applied, len(before), len(ttlKeys), res.Index)
	}
	bf := backupFSM(t, data)
	for _, k := range before {
		if v := bf.Read(0, time.Now().UnixMilli(), 0, [][]byte{[]byte("GET"), []byte(k)}); v.Kind != fsm.KindBulk || string(v.Str) != valueFor(k) {
			t.Fatalf("backup lacks %s, acknowledged before the backup started (got %+v)", k, v)
		}
	}
	backupKeys := allKeys(t, bf)
	if len(backupKeys) != st.Keys {
		t.Fatalf("backup lists %d keys, ValidateSnapshot counted %d", len(backupKeys), st.Keys)
	}
	t.Logf("backup holds %d keys: %d loaded before, %d of %d written under load", st.Keys, len(keys), st.Keys-len(keys), w.ackedCount())

	// A fresh cluster with the same ids, as after losing the first one.
	dst := startCluster(t, "dst", 3)
	dl := dst.Leader(t)
	waitAddrsKnown(t, dst)
	df := dst.Followers(dl)
	dcli := adminClient(adminAddrs(df), "")
	var restored []int64
	rr, err := dcli.Restore(ctxT(t), bytes.NewReader(data), res.SHA256, func(n int64) { restored = append(restored, n) })
	if err != nil {
		t.Fatalf("restore into the fresh cluster: %v", err)
	}
	if rr.Keys != int64(st.Keys) || rr.Index == 0 {
		t.Fatalf("restore response: %d keys at index %d; want %d keys", rr.Keys, rr.Index, st.Keys)
	}
	if len(restored) == 0 || restored[len(restored)-1] != int64(len(data)) {
		t.Errorf("restore progress %v: want it to end at %d", restored, len(data))
	}
	testcluster.Converge(t, dst.Live())

	// The restored cluster must still route to its own nodes: the backup
	// carries the source cluster's member addresses, which must not replace
	// the destination's (a follower would otherwise forward clients and admin
	// verbs to the source cluster). Checked without stopping the test, so the
	// refusals below run either way.
	if !poll(3*time.Second, func() bool {
		for _, n := range dst.Live() {
			li, ok := n.S.Node.Leader()
			if !ok || li.ID != dl.ID || li.ClientAddr != dl.ClientAddr() || li.AdminAddr != dl.AdminAddr() {
				return false
			}
		}
		return true
	}) {
		t.Errorf("after restore, destination nodes do not know their leader %s at client %s admin %s "+
			"(the source cluster's %s is at client %s admin %s):%s",
			dl.ID, dl.ClientAddr(), dl.AdminAddr(), dl.ID, src.Node(t, dl.ID).ClientAddr(), src.Node(t, dl.ID).AdminAddr(), dst.Describe())
	}
	for id, m := range membersOf(t, dl.AdminAddr()) {
		if want := dst.Node(t, id).AdminAddr(); m.AdminAddr != want {
			t.Errorf("after restore, member %s has admin address %s, want %s (source cluster's: %s)", id, m.AdminAddr, want, src.Node(t, id).AdminAddr())
		}
	}

	// Every key of the backup, with its value, on every node and through the
	// leader; expiries kept; nothing else.
	checkValues(t, dl.ClientAddr(), backupKeys)
	for _, n := range dst.Live() {
		if got := allKeys(t, n.S.Node.FSM()); strings.Join(got, ",") != strings.Join(backupKeys, ",") {
			t.Fatalf("%s holds %d keys after restore, the backup %d", n.ID, len(got), len(backupKeys))
		}
	}
	lc := dialRESP(dl.ClientAddr())
	defer lc.Close()
	for _, k := range ttlKeys {
		if r, err := lc.Do("TTL", k); err != nil || r.Kind != ':' || r.Int < 86000 {
			t.Fatalf("TTL %s after restore: %v %v, want about a day", k, r, err)
		}
	}

	// Refusals leave the data alone.
	keysNow := allKeys(t, dl.S.Node.FSM())
	if strings.Join(keysNow, ",") != strings.Join(backupKeys, ",") {
		t.Fatalf("destination leader holds %d keys, the backup %d", len(keysNow), len(backupKeys))
	}
	// Sent to the leader's own address: a follower may route elsewhere (see above).
	dcli = adminClient(dl.AdminAddr(), "")
	_, err = dcli.Restore(ctxT(t), bytes.NewReader(data), strings.Repeat("0", 64), nil)
	wantCode(t, "restore with a wrong sha256", err, codes.FailedPrecondition, "checksum mismatch")

	bad := append([]byte(nil), data...)
	for i := len(bad) / 2; i < len(bad)/2+8; i++ {
		bad[i] ^= 0xff
	}
	_, err = dcli.Restore(ctxT(t), bytes.NewReader(bad), sha(bad), nil)
	wantCode(t, "restore of a damaged backup with its own sha256", err, codes.FailedPrecondition)
	t.Logf("damaged backup refused: %v", err)

	short := data[:len(data)-100]
	_, err = dcli.Restore(ctxT(t), bytes.NewReader(short), sha(short), nil)
	wantCode(t, "restore of a truncated backup with its own sha256", err, codes.FailedPrecondition)

	testcluster.Converge(t, dst.Live())
	for _, n := range dst.Live() {
		if got := allKeys(t, n.S.Node.FSM()); strings.Join(got, ",") != strings.Join(keysNow, ",") {
			t.Fatalf("%s holds %d keys after the refused restores, want the %d it had", n.ID, len(got), len(keysNow))
		}
	}
	checkValues(t, dl.ClientAddr(), keysNow)

	// Last, through the followers: reads see the backup, a write lands in
	// the destination cluster and not in the source.
	checkValues(t, df[0].ClientAddr(), backupKeys)
	fc := dialRESP(df[1].ClientAddr())
	defer fc.Close()
	if r, err := fc.Do("SET", "after-restore", valueFor("after-restore")); err != nil || !r.OK() {
		t.Fatalf("SET through %s after restore: %v %v", df[1].ID, r, err)
	}
	testcluster.Converge(t, dst.Live())
	if _, ok := fsmGet(dl, "after-restore"); !ok {
		t.Errorf("a write through destination follower %s did not reach the destination leader", df[1].ID)
	}
	for _, n := range src.Live() {
		if _, ok := fsmGet(n, "after-restore"); ok {
			t.Errorf("a write through destination follower %s landed in the source cluster (on %s)", df[1].ID, n.ID)
			break
		}
	}
}
