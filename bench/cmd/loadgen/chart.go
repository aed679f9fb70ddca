package main

import (
	"errors"
	"image/color"

	"github.com/understudy/understudy/bench"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// drawChart draws, per workload, each system's ops/s relative to Redis
// without persistence (the ceiling, = 1.0), as grouped bars.
func drawChart(r bench.Results, path string) error {
	workloads := []string{bench.WlSet, bench.WlGet, bench.WlPipeSet, bench.WlSet1K, bench.WlSet16K, bench.WlMixed}
	systems := []string{bench.SysUnderstudy, bench.SysRedisAOF, bench.SysEtcd, bench.SysRedisMem}
	labels := map[string]string{
		bench.SysUnderstudy: "Understudy (3 nodes)", bench.SysRedisAOF: "Redis AOF always",
		bench.SysEtcd: "etcd (3 nodes)", bench.SysRedisMem: "Redis no persistence",
	}
	colors := []color.Color{
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff},
	}
	p := plot.New()
	p.Title.Text = "Throughput relative to Redis without persistence (= 1.0)"
	p.Y.Label.Text = "ops/s ÷ Redis no-persistence ops/s"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	width := vg.Points(14)
	found := false
	top := 1.0
	for i, sys := range systems {
		vals := make(plotter.Values, len(workloads))
		for j, w := range workloads {
			t, ok := r.FindThroughput(sys, w)
			c, okc := r.FindThroughput(bench.SysRedisMem, w)
			if ok && okc && c.OpsPerSec > 0 {
				vals[j] = t.OpsPerSec / c.OpsPerSec
				top = max(top, vals[j])
				found = true
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = colors[i%len(colors)]
		bars.Offset = vg.Length(float64(i)-float64(len(systems)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(labels[sys], bars)
	}
	if !found {
		return errors.New("no throughput results")
	}
	p.Y.Max = top * 1.35 // room for the legend above the bars
	p.Legend.Top = true
	p.Legend.Left = true
	p.NominalX(workloads...)
	return p.Save(9*vg.Inch, 4.5*vg.Inch, path)
}
