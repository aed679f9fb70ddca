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
	workloads := []string{bench.WlSet, bench.WlGet, bench.WlPipeSet, bench.WlSet1K, bench.WlSet16K, bench.WlMixed, bench.WlEvalSha}
	var systems []string
	for _, sys := range []string{bench.SysUnderstudy, bench.SysUnderstudyAlt, bench.SysRedisAOF, bench.SysEtcd, bench.SysRedisMem} {
		for _, t := range r.Throughput {
			if t.System == sys {
				systems = append(systems, sys)
				break
			}
		}
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
		bars.Color = sysColor(sys)
		bars.Offset = vg.Length(float64(i)-float64(len(systems)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(r.Label(sys), bars)
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

// sysColor is each system's color in every chart.
func sysColor(sys string) color.Color {
	switch sys {
	case bench.SysUnderstudy:
		return color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	case bench.SysUnderstudyAlt:
		return color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	case bench.SysRedisAOF:
		return color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	case bench.SysEtcd:
		return color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	}
	return color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
}

// drawCurve draws SET ops/s against the number of clients (log scale), a
// line per system.
func drawCurve(r bench.Results, path string) error {
	if len(r.Curve) == 0 {
		return errors.New("no curve results")
	}
	p := plot.New()
	p.Title.Text = "SET of 100-byte values: throughput by number of clients"
	p.X.Label.Text = "concurrent clients"
	p.Y.Label.Text = "ops/s"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	for _, sys := range []string{bench.SysUnderstudy, bench.SysUnderstudyAlt, bench.SysRedisAOF, bench.SysEtcd, bench.SysRedisMem} {
		var pts plotter.XYs
		for _, t := range r.Curve {
			if t.System == sys && t.Clients > 0 {
				pts = append(pts, plotter.XY{X: float64(t.Clients), Y: t.OpsPerSec})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, s.Color = sysColor(sys), sysColor(sys)
		l.Width = vg.Points(2)
		p.Add(l, s)
		p.Legend.Add(r.Label(sys), l, s)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(9*vg.Inch, 4.5*vg.Inch, path)
}
