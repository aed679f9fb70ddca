package upgradetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Manifest is what a fixture holds: every key with its type, encoding,
// value and absolute expiry, and keys that must not exist.
type Manifest struct {
	// MadeWith is the build that wrote the fixture (git describe).
	MadeWith string `json:"made_with"`
	// RaftAddrs are the nodes' Raft addresses, id → host:port, as the
	// fixture's Raft configuration records them.
	RaftAddrs map[string]string `json:"raft_addrs,omitempty"`
	// Absent are keys the data set deleted, expired or renamed away.
	Absent []string `json:"absent"`
	// Keys is the whole keyspace.
	Keys map[string]Key `json:"keys"`
}

// Key is one key's state. Exactly the field of its type is set.
type Key struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	// PExpireAt is the absolute expiry in Unix ms (PEXPIRETIME), -1 for none.
	PExpireAt int64             `json:"pexpireat"`
	String    *string           `json:"string,omitempty"`
	List      []string          `json:"list,omitempty"`
	Set       []string          `json:"set,omitempty"` // sorted
	Hash      map[string]string `json:"hash,omitempty"`
	ZSet      []ZMember         `json:"zset,omitempty"` // in rank order
}

// ZMember is a sorted set member; the score as Go formats a float64 ('g',
// shortest), so +Inf and -Inf survive JSON.
type ZMember struct {
	Member string `json:"m"`
	Score  string `json:"s"`
}

// Load reads a manifest written by Save.
func Load(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, nil
}

// Save writes the manifest as indented JSON (keys in sorted order).
func (m *Manifest) Save(path string) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Dump reads the whole keyspace through c (SCAN, then each key by its type)
// and checks that no key of absent exists. No one may write meanwhile.
func Dump(ctx context.Context, c *redis.Client, absent []string) (*Manifest, error) {
	m := &Manifest{Keys: map[string]Key{}, Absent: slices.Sorted(slices.Values(absent))}
	m.Absent = slices.Compact(m.Absent)
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("SCAN: %w", err)
		}
		for _, k := range keys {
			if _, ok := m.Keys[k]; ok {
				continue // SCAN may return a key twice
			}
			v, err := dumpKey(ctx, c, k)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			m.Keys[k] = v
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("DBSIZE: %w", err)
	}
	if int(n) != len(m.Keys) {
		return nil, fmt.Errorf("DBSIZE is %d but SCAN found %d keys", n, len(m.Keys))
	}
	for _, k := range m.Absent {
		if _, ok := m.Keys[k]; ok {
			return nil, fmt.Errorf("key %q exists but should not", k)
		}
	}
	return m, nil
}

func dumpKey(ctx context.Context, c *redis.Client, k string) (Key, error) {
	var v Key
	var err error
	if v.Type, err = c.Type(ctx, k).Result(); err != nil {
		return v, fmt.Errorf("TYPE: %w", err)
	}
	if v.Encoding, err = c.ObjectEncoding(ctx, k).Result(); err != nil {
		return v, fmt.Errorf("OBJECT ENCODING: %w", err)
	}
	if v.PExpireAt, err = c.Do(ctx, "PEXPIRETIME", k).Int64(); err != nil {
		return v, fmt.Errorf("PEXPIRETIME: %w", err)
	}
	switch v.Type {
	case "string":
		s, err := c.Get(ctx, k).Result()
		if err != nil {
			return v, fmt.Errorf("GET: %w", err)
		}
		v.String = &s
	case "list":
		if v.List, err = c.LRange(ctx, k, 0, -1).Result(); err != nil {
			return v, fmt.Errorf("LRANGE: %w", err)
		}
	case "set":
		if v.Set, err = c.SMembers(ctx, k).Result(); err != nil {
			return v, fmt.Errorf("SMEMBERS: %w", err)
		}
		slices.Sort(v.Set)
	case "hash":
		if v.Hash, err = c.HGetAll(ctx, k).Result(); err != nil {
			return v, fmt.Errorf("HGETALL: %w", err)
		}
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			return v, fmt.Errorf("ZRANGE: %w", err)
		}
		for _, z := range zs {
			v.ZSet = append(v.ZSet, ZMember{Member: fmt.Sprint(z.Member), Score: strconv.FormatFloat(z.Score, 'g', -1, 64)})
		}
	default:
		return v, fmt.Errorf("unknown type %q", v.Type)
	}
	return v, nil
}

// encodingNow maps an OBJECT ENCODING an older build reported, by type, to
// what this build reports for the very same stored object. These are changes
// of the reply only, made on purpose to follow redis-server 7.0.15 (the
// reference), not of the data: builds before a7a8732 answered as Redis 7.2
// does, "listpack" for a small list, while Redis 7.0 reports every list as a
// "quicklist" (fsm/DESIGN.md, the encodings table). The stored
// listpack/quicklist flag is still kept in the snapshot.
var encodingNow = map[[2]string]string{
	{"list", "listpack"}: "quicklist",
}

// expected is want's state of one key as this build reports it.
func expected(w Key) Key {
	if enc, ok := encodingNow[[2]string{w.Type, w.Encoding}]; ok {
		w.Encoding = enc
	}
	return w
}

// Diff lists how got differs from want, key by key (values shortened), in
// key order; nothing when they hold the same keys with the same state. want's
// encodings are first read as this build reports them (encodingNow).
func Diff(want, got *Manifest) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want.Keys)) {
		g, ok := got.Keys[k]
		if !ok {
			out = append(out, fmt.Sprintf("%q: missing (want %s)", k, short(want.Keys[k])))
			continue
		}
		if w := expected(want.Keys[k]); !reflect.DeepEqual(w, g) {
			out = append(out, fmt.Sprintf("%q: got %s, want %s", k, short(g), short(w)))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got.Keys)) {
		if _, ok := want.Keys[k]; !ok {
			out = append(out, fmt.Sprintf("%q: unexpected key %s", k, short(got.Keys[k])))
		}
	}
	return out
}

// short renders a key's state as JSON cut at 300 bytes.
func short(k Key) string {
	b, _ := json.Marshal(k)
	if len(b) > 300 {
		return string(b[:300]) + fmt.Sprintf("...(%d bytes)", len(b))
	}
	return string(b)
}
