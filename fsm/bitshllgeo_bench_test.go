package fsm_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// BenchmarkBitsHLLGeo measures the new families through the state machine.
// SETBIT copies the string it changes (values are immutable so snapshots
// can share them), so its cost grows with the bitmap: compare the sizes.
// PFCOUNT never writes its count into the value (hll.go); a node remembers
// its last eight counts instead: compare PFCOUNT of one unchanged value with
// PFCOUNT over nine values in turn, which always computes.
func BenchmarkBitsHLLGeo(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("SETBIT/%dKiB", size>>10), func(b *testing.B) {
			h := newHarness()
			h.do(b, "SETBIT", "bits", strconv.Itoa(size*8-1), "1")
			bits := size * 8
			argv := [][]byte{[]byte("SETBIT"), []byte("bits"), nil, nil}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				argv[2] = strconv.AppendInt(argv[2][:0], int64((i*7919)%bits), 10)
				argv[3] = []byte{'0' + byte(i/bits%2^1)}
				h.apply(b, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
			}
		})
	}
	b.Run("GETBIT/1024KiB", func(b *testing.B) {
		h := newHarness()
		h.do(b, "SETBIT", "bits", strconv.Itoa(8<<20-1), "1")
		argv := [][]byte{[]byte("GETBIT"), []byte("bits"), []byte("12345")}
		for b.Loop() {
			h.f.Read(0, h.now, 0, argv)
		}
	})
	for _, n := range []int{100, 100_000} {
		h := newHarness()
		for i := 0; i < n; i += 1000 {
			args := []string{"PFADD", "hll"}
			for j := i; j < min(n, i+1000); j++ {
				args = append(args, "e"+strconv.Itoa(j))
			}
			h.do(b, args...)
		}
		enc := fmtValue(h.do(b, "PFDEBUG", "ENCODING", "hll"))[1:]
		b.Run(fmt.Sprintf("PFADD/%s", enc), func(b *testing.B) {
			argv := [][]byte{[]byte("PFADD"), []byte("hll"), nil}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				argv[2] = strconv.AppendInt(argv[2][:0], int64(i%n), 10)
				h.apply(b, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
			}
		})
		b.Run(fmt.Sprintf("PFCOUNT/%s", enc), func(b *testing.B) {
			argv := [][]byte{[]byte("PFCOUNT"), []byte("hll")}
			b.ReportAllocs()
			for b.Loop() {
				h.f.Read(0, h.now, 0, argv)
			}
		})
		for i := range 9 {
			h.do(b, "PFMERGE", "copy"+strconv.Itoa(i), "hll")
		}
		b.Run(fmt.Sprintf("PFCOUNT/%s/uncached", enc), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				h.f.Read(0, h.now, 0, [][]byte{[]byte("PFCOUNT"), []byte("copy" + strconv.Itoa(i%9))})
			}
		})
	}
	h := newHarness()
	for i := range 100 {
		args := []string{"GEOADD", "geo"}
		for j := range 100 {
			args = append(args, strconv.FormatFloat(10+float64((i*100+j)%997)/100, 'f', 4, 64),
				strconv.FormatFloat(35+float64((i*100+j)%991)/200, 'f', 4, 64), "m"+strconv.Itoa(i*100+j))
		}
		h.do(b, args...)
	}
	b.Run("GEOADD/10000", func(b *testing.B) {
		argv := [][]byte{[]byte("GEOADD"), []byte("geo"), []byte("13.5"), []byte("37.5"), nil}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			argv[4] = []byte("n" + strconv.Itoa(i%1000))
			h.apply(b, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
		}
	})
	b.Run("GEOSEARCH/10000/50km", func(b *testing.B) {
		argv := bargs([]string{"GEOSEARCH", "geo", "FROMLONLAT", "13", "37", "BYRADIUS", "50", "km", "ASC", "COUNT", "10"})
		b.ReportAllocs()
		for b.Loop() {
			h.f.Read(0, h.now, 0, argv)
		}
	})
}
