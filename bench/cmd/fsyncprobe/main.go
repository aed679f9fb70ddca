// Command fsyncprobe measures what one durable append costs on this disk, the
// floor under a commit (docs/bench.md, "Where a durable write's time goes"):
//
//	fsyncprobe [-dir DIR] [-n 2000] [-size 1500] [-rounds 2]
//
// It appends n records of size bytes to a 64 MiB file in DIR, each followed
// by a sync, and prints the latency percentiles for four ways of doing it:
// the file preallocated with fallocate (as raft-wal does) or written with
// zeros first, and synced with fsync (as raft-wal does) or fdatasync. The
// difference between the rows is what a custom raft-wal file system could
// gain.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

const fileSize = 64 << 20

func main() {
	dir := flag.String("dir", ".", "directory on the disk to measure")
	n := flag.Int("n", 2000, "appends per way")
	size := flag.Int("size", 1500, "bytes per append")
	rounds := flag.Int("rounds", 2, "rounds of the four ways")
	flag.Parse()
	prep := map[string]func(*os.File) error{"fallocate": fallocate, "zeroed": zeroed}
	sync := map[string]func(*os.File) error{"fsync": (*os.File).Sync, "fdatasync": fdatasync}
	for range *rounds {
		for _, p := range []string{"fallocate", "zeroed"} {
			for _, s := range []string{"fsync", "fdatasync"} {
				d, err := probe(filepath.Join(*dir, "fsyncprobe.dat"), *n, *size, prep[p], sync[s])
				if err != nil {
					log.Fatalf("fsyncprobe: %s+%s: %v", p, s, err)
				}
				slices.Sort(d)
				fmt.Printf("%-20s p50 %8v  p90 %8v  p99 %8v\n", p+"+"+s,
					d[len(d)/2].Round(time.Microsecond), d[len(d)*9/10].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond))
			}
		}
	}
}

// probe returns the latency of each of n appends of size bytes plus a sync.
func probe(path string, n, size int, prep, sync func(*os.File) error) ([]time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	defer f.Close()
	if err := prep(f); err != nil {
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	buf := make([]byte, size)
	d := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*int64(size)); err != nil {
			return nil, err
		}
		if err := sync(f); err != nil {
			return nil, err
		}
		d = append(d, time.Since(start))
	}
	return d, nil
}

func fallocate(f *os.File) error {
	if err := unix.Fallocate(int(f.Fd()), 0, 0, fileSize); err != nil {
		return err
	}
	return f.Sync()
}

func zeroed(f *os.File) error {
	b := make([]byte, 1<<20)
	for off := int64(0); off < fileSize; off += int64(len(b)) {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
	}
	return f.Sync()
}

func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
