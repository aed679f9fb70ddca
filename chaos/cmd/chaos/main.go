// Command chaos runs Understudy's chaos suite: it starts a three-node
// cluster (local processes or Docker containers), runs the register, append,
// counter, script and stream workloads against it while a seeded random schedule of faults
// kills, pauses, partitions, wipes and re-leads the nodes, heals everything,
// and checks the recorded histories against the invariants of
// docs/reliability.md.
//
//	go run ./chaos/cmd/chaos --local --duration 60s
//	go run ./chaos/cmd/chaos --docker --duration 10m --seed 42 --out /tmp/chaos
//
// It writes report.md and report.json (and, if a history is not
// linearizable, register-linearizability.html) to --out. Exit codes: 0 every
// invariant checked and held; 1 an invariant was violated; 2 the run could
// not be carried out (setup failed, nothing was checked) or a signal cut it
// short (verdict INTERRUPTED); 3 no violation was found but linearizability
// was not proven (porcupine hit --check-timeout).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/fault"
	"github.com/understudy/understudy/chaos/workload"
)

type options struct {
	local, docker   bool
	netns           bool
	duration        time.Duration
	seed            int64
	out             string
	bin             string
	keep            bool
	composeFile     string
	project         string
	image           string
	respPrefix      string
	adminPrefix     string
	regClients      int
	appClients      int
	cntClients      int
	scriptClients   int
	strProducers    int
	strConsumers    int
	streams         int
	regDB           int
	keys            int
	opsPerKey       int
	opTimeout       time.Duration
	pace            time.Duration
	cutProb         float64
	quiet           time.Duration
	faults          string
	checkTimeout    time.Duration
	recoveryTimeout time.Duration
	snapThreshold   int
	trailingLogs    int
	logStore        string
}

func parseFlags() options {
	var o options
	flag.BoolVar(&o.local, "local", false, "run the nodes as local processes (each in a network namespace of its own, see --netns; else on free 127.0.0.1 ports)")
	flag.BoolVar(&o.docker, "docker", false, "run the nodes as Docker containers (cluster-compose.yml); default when 'docker info' and compose work")
	flag.BoolVar(&o.netns, "netns", true, "local: run each node in a network namespace of its own so that partitions can be injected (needs root and iproute2; without them partition faults are skipped, with a message)")
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, "how long to run the workloads under faults (e.g. 60s, 10m)")
	flag.Int64Var(&o.seed, "seed", 0, "seed of the fault schedule and the workloads (0: time-based, printed)")
	flag.StringVar(&o.out, "out", "", "output directory for the report (default: a new directory under $TMPDIR)")
	flag.StringVar(&o.bin, "bin", "bin/understudy", "the understudy binary (local nodes; status CLI in both modes)")
	flag.BoolVar(&o.keep, "keep", false, "leave the cluster running and its data in place afterwards")
	flag.StringVar(&o.composeFile, "compose-file", "cluster-compose.yml", "docker: the compose file")
	flag.StringVar(&o.project, "project", "understudy-chaos", "docker: compose project name (prefix of containers, network, volumes)")
	flag.StringVar(&o.image, "image", "understudy:dev", "docker: image of the nodes")
	flag.StringVar(&o.respPrefix, "resp-port-prefix", "", "docker: node i's RESP port on the host is 127.0.0.1:<prefix>i (default: 1638 if 16381-16383 are free, else the next free prefix)")
	flag.StringVar(&o.adminPrefix, "admin-port-prefix", "", "docker: node i's admin port on the host is 127.0.0.1:<prefix>i (default: 1918 if free, else the next free prefix)")
	flag.IntVar(&o.regClients, "register-clients", 6, "register workload clients")
	flag.IntVar(&o.appClients, "append-clients", 4, "append workload clients")
	flag.IntVar(&o.cntClients, "counter-clients", 3, "counter workload clients")
	flag.IntVar(&o.scriptClients, "script-clients", 3, "script workload clients (CAS by EVALSHA, transfers that keep a sum); 0 leaves the workload out")
	flag.IntVar(&o.strProducers, "stream-producers", 2, "stream workload producers (XADD); 0 with --stream-consumers 0 turns the workload off")
	flag.IntVar(&o.strConsumers, "stream-consumers", 2, "stream workload consumers of the consumer group (XREADGROUP, XAUTOCLAIM, XACK)")
	flag.IntVar(&o.streams, "streams", 2, "streams of the stream workload, for the whole run")
	flag.IntVar(&o.regDB, "register-db", 9, "database the odd register clients SELECT (0: every client in db 0)")
	flag.IntVar(&o.keys, "keys", 10, "register and append keys in use at a time")
	flag.IntVar(&o.opsPerKey, "ops-per-key", 150, "operations on a register or append key before moving to a fresh one")
	flag.DurationVar(&o.opTimeout, "op-timeout", time.Second, "deadline of one request (then its outcome is unknown)")
	flag.DurationVar(&o.pace, "pace", 10*time.Millisecond, "each client sleeps up to this long between operations")
	flag.Float64Var(&o.cutProb, "cut-prob", 0.005, "chance that a client cuts its connection right after sending a write")
	flag.DurationVar(&o.quiet, "quiet", 3*time.Second, "mean quiet time between faults (uniform in [quiet/2, 3*quiet/2])")
	flag.StringVar(&o.faults, "faults", "", "comma-separated fault kinds to use (default: all the cluster supports), each injected once alone first, then mixed at random: "+allKinds())
	flag.DurationVar(&o.checkTimeout, "check-timeout", 2*time.Minute, "porcupine's time limit (past it, linearizability is 'unknown': verdict NOT PROVEN, exit code 3)")
	flag.DurationVar(&o.recoveryTimeout, "recovery-timeout", 30*time.Second, "how soon the cluster must be whole again after a fault heals (I10)")
	flag.IntVar(&o.snapThreshold, "snapshot-threshold", 256, "nodes' --snapshot-threshold, low so that restarted followers need snapshots (F6)")
	flag.IntVar(&o.trailingLogs, "trailing-logs", 128, "nodes' --trailing-logs")
	flag.StringVar(&o.logStore, "log-store", "", "nodes' --log-store, wal or bolt (default: the server's default)")
	flag.Parse()
	return o
}

func allKinds() string {
	var ks []string
	for _, k := range fault.AllKinds {
		ks = append(ks, k.Kind)
	}
	return strings.Join(ks, ",")
}

func main() { os.Exit(run()) }

func run() int {
	o := parseFlags()
	if o.local && o.docker {
		fmt.Fprintln(os.Stderr, "chaos: --local and --docker are exclusive")
		return checker.ExitCouldNotRun
	}
	if !o.local && !o.docker {
		o.docker = dockerUsable()
		o.local = !o.docker
	}
	kinds, err := fault.ParseKinds(o.faults)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: --faults:", err)
		return checker.ExitCouldNotRun
	}
	if o.seed == 0 {
		o.seed = time.Now().UnixNano() % 1_000_000_000
	}
	if o.out == "" {
		o.out = filepath.Join(os.TempDir(), fmt.Sprintf("understudy-chaos-%s-%d", time.Now().Format("20060102-150405"), o.seed))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return checker.ExitCouldNotRun
	}
	if abs, err := filepath.Abs(o.out); err == nil {
		o.out = abs
	}
	logf, err := os.Create(filepath.Join(o.out, "chaos.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return checker.ExitCouldNotRun
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(os.Stderr, logf), &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", "chaos")

	mode := "local"
	if o.docker {
		mode = "docker"
	}
	log.Info("chaos run", "mode", mode, "seed", o.seed, "duration", o.duration, "out", o.out)
	fmt.Fprintf(os.Stderr, "seed %d (replay: %s)\n", o.seed, replay(o, mode))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	cluster, err := newCluster(o, log)
	if err != nil {
		log.Error("setup", "err", err)
		return checker.ExitCouldNotRun
	}
	teardown := func() {
		tctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cluster.Down(tctx, o.keep); err != nil {
			log.Warn("teardown", "err", err)
		}
	}
	defer func() { teardown() }()

	upCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err = cluster.Up(upCtx)
	cancel()
	if err != nil {
		log.Error("cluster did not come up", "err", err)
		return checker.ExitCouldNotRun
	}
	kinds, skipped, why := fault.Supported(cluster, kinds)
	var skipNote string
	if len(skipped) > 0 {
		skipNote = fmt.Sprintf("partition faults skipped (%s): %v", strings.Join(skipped, ", "), why)
		fmt.Fprintf(os.Stderr, "chaos: SKIPPING fault kinds %s in %s mode: %v\n", strings.Join(skipped, ", "), mode, why)
		log.Warn("fault kinds skipped", "kinds", strings.Join(skipped, ","), "why", why)
	}
	if len(kinds) == 0 {
		log.Error("no fault kind left to inject", "mode", mode, "faults", o.faults)
		return checker.ExitCouldNotRun
	}
	rep, err := experiment(ctx, o, mode, cluster, kinds, log)
	if err != nil {
		log.Error("run", "err", err)
		return checker.ExitCouldNotRun
	}
	teardown()
	teardown = func() {}
	installs := 0
	if ents, err := os.ReadDir(o.out); err == nil {
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "report.") && !strings.HasSuffix(e.Name(), ".html") {
				rep.Files = append(rep.Files, e.Name())
			}
			if strings.HasSuffix(e.Name(), ".log") && e.Name() != "chaos.log" {
				if b, err := os.ReadFile(filepath.Join(o.out, e.Name())); err == nil {
					installs += strings.Count(string(b), "Installed remote snapshot")
				}
			}
		}
	}
	if skipNote != "" {
		rep.Notes = append(rep.Notes, skipNote)
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("followers installed a snapshot sent by the leader %d times (F6; --snapshot-threshold %d, --trailing-logs %d)",
		installs, o.snapThreshold, o.trailingLogs))
	if o.logStore != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("nodes ran with --log-store %s", o.logStore))
	} else {
		rep.Notes = append(rep.Notes, "nodes ran with the default --log-store")
	}
	if err := rep.Write(o.out); err != nil {
		log.Error("write report", "err", err)
		return checker.ExitCouldNotRun
	}
	fmt.Fprintf(os.Stderr, "\n%s: linearizable %s, lost acknowledged writes %d, violations %d, converged %v\nreport: %s\n",
		rep.Verdict, rep.Linearizable, rep.LostWrites, len(rep.Violations), rep.Convergence.Converged, filepath.Join(o.out, "report.md"))
	for i, v := range rep.Violations {
		if i == 20 {
			fmt.Fprintf(os.Stderr, "  ... %d more\n", len(rep.Violations)-20)
			break
		}
		fmt.Fprintln(os.Stderr, "  "+v.String())
	}
	if rep.Verdict == checker.VerdictNotProven {
		fmt.Fprintf(os.Stderr, "not proven: porcupine did not finish within --check-timeout %s; no violation was found, but linearizability was not shown\n", o.checkTimeout)
	}
	return rep.ExitCode()
}

func newCluster(o options, log *slog.Logger) (fault.Cluster, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("--bin: %w", err)
	}
	if o.local {
		dir, err := os.MkdirTemp("", "understudy-chaos-data-")
		if err != nil {
			return nil, err
		}
		flags := []string{"--snapshot-threshold", fmt.Sprint(o.snapThreshold), "--snapshot-interval", "1s",
			"--trailing-logs", fmt.Sprint(o.trailingLogs)}
		if o.logStore != "" {
			flags = append(flags, "--log-store", o.logStore)
		}
		return &fault.Local{Bin: bin, Dir: dir, LogDir: o.out, Log: log, Netns: o.netns, Flags: flags}, nil
	}
	env := []string{
		fmt.Sprintf("UNDERSTUDY_SNAPSHOT_THRESHOLD=%d", o.snapThreshold),
		"UNDERSTUDY_SNAPSHOT_INTERVAL=1s",
		fmt.Sprintf("UNDERSTUDY_TRAILING_LOGS=%d", o.trailingLogs),
	}
	if o.logStore != "" {
		env = append(env, "UNDERSTUDY_LOG_STORE="+o.logStore)
	}
	return &fault.Docker{ComposeFile: o.composeFile, Project: o.project, OutDir: o.out, Image: o.image,
		RespPrefix: o.respPrefix, AdminPrefix: o.adminPrefix, Log: log, Env: env}, nil
}

// experiment runs workloads and faults, heals, reads back, and checks.
func experiment(ctx context.Context, o options, mode string, cluster fault.Cluster, kinds []string, log *slog.Logger) (*checker.Report, error) {
	started := time.Now()
	nodes := cluster.Nodes()
	var addrs, ids []string
	for _, n := range nodes {
		addrs = append(addrs, n.ClientAddr)
		ids = append(ids, fmt.Sprintf("%s (resp %s, admin %s)", n.ID, n.ClientAddr, n.AdminAddr))
	}
	env := &workload.Env{Base: time.Now(), Addrs: addrs, OpTimeout: o.opTimeout, Pace: o.pace, CutProb: o.cutProb,
		Prefix: fmt.Sprintf("chaos:%d:", o.seed), Log: log}
	reg := &workload.Register{Env: env, Clients: o.regClients, Keys: o.keys, OpsPerKey: o.opsPerKey, DB: o.regDB}
	app := &workload.Append{Env: env, Clients: o.appClients, Keys: o.keys, OpsPerKey: o.opsPerKey}
	cnt := &workload.Counter{Env: env, Clients: o.cntClients, Keys: 3}
	scr := &workload.Script{Env: env, Clients: o.scriptClients, Keys: o.keys, OpsPerKey: o.opsPerKey, Pairs: 2, Total: 1000}
	str := &workload.Stream{Env: env, Producers: o.strProducers, Consumers: o.strConsumers, Keys: o.streams}
	streams := o.strProducers+o.strConsumers > 0 && o.streams > 0

	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	cas := reg.ProbeCAS(pctx)
	scripts := o.scriptClients > 0 && scr.Setup(pctx)
	cancel()
	log.Info("transactions", "cas", cas, "scripts", scripts)

	mon := &fault.Monitor{Cluster: cluster, Base: env.Base, Interval: 250 * time.Millisecond}
	mon.Start(ctx)

	wctx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var wg sync.WaitGroup
	runners := []interface {
		Run(context.Context, int64)
	}{reg, app, cnt, scr}
	if streams {
		runners = append(runners, str)
	}
	for i, w := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(wctx, o.seed*10+int64(i))
		}()
	}

	inj := &fault.Injector{Cluster: cluster, Base: env.Base, Rng: rand.New(rand.NewSource(o.seed)), Log: log,
		Kinds: kinds, Quiet: o.quiet, Recovery: o.recoveryTimeout, ElectionMin: time.Second}
	until := time.Now().Add(o.duration)
	faults := inj.Run(ctx, until)
	sleepUntil(ctx, until)

	// Heal whatever is left, let the workloads see a whole cluster for a
	// moment, then stop them and read everything back.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	healErr := inj.HealAll(hctx)
	if cluster.PartitionSupport() == nil {
		// Whatever the injector believes, no cut may outlive the run.
		healErr = errors.Join(healErr, cluster.Heal(hctx))
	}
	wholeErr := waitWhole(hctx, cluster, o.recoveryTimeout)
	cancel()
	sleepUntil(ctx, time.Now().Add(2*time.Second))
	stopWork()
	wg.Wait()
	workEnd := env.Now()
	log.Info("workloads stopped; final reads")

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	missing := reg.Final(fctx) + app.Final(fctx) + cnt.Final(fctx) + scr.Final(fctx)
	if streams {
		missing += str.Final(fctx)
	}
	cancel()
	samples, polls := mon.Stop()

	log.Info("convergence check")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	bin, _ := filepath.Abs(o.bin)
	conv := fault.Converge(cctx, bin, cluster.Nodes(), time.Minute)
	cancel()

	log.Info("checking histories")
	rep := &checker.Report{
		Mode: mode, Seed: o.seed, Started: started, Duration: o.duration.String(), Binary: o.bin, Nodes: ids,
		Replay:      replay(o, mode),
		Faults:      faults,
		Workloads:   []checker.WorkloadSummary{reg.Summary(), app.Summary(), cnt.Summary()},
		Convergence: conv, StatusPolls: polls, LeaderTerms: checker.LeaderTerms(samples),
	}
	rv := checker.CheckRegister(reg.Ops(), o.checkTimeout)
	av := checker.CheckAppend(app.Ops())
	cv := checker.CheckCounter(cnt.Ops())
	rep.Register, rep.Append, rep.Counter = &rv, &av, &cv
	rep.Violations = append(rep.Violations, rv.Violations...)
	rep.Violations = append(rep.Violations, av.Violations...)
	rep.Violations = append(rep.Violations, cv.Violations...)
	if o.scriptClients > 0 {
		rep.Workloads = append(rep.Workloads, scr.Summary())
		if scripts {
			sv := checker.CheckScript(scr.CASOps(), scr.TransferOps(), scr.Total, o.checkTimeout)
			rep.Script = &sv
			rep.Violations = append(rep.Violations, sv.Violations...)
		}
	}
	if streams {
		sv := checker.CheckStream(str.Ops())
		rep.Stream = &sv
		rep.Workloads = append(rep.Workloads, str.Summary())
		rep.Violations = append(rep.Violations, sv.Violations...)
	}
	rep.Violations = append(rep.Violations, checker.CheckStatuses(samples)...)
	for _, f := range faults {
		if f.Recovered == checker.Never {
			rep.Violations = append(rep.Violations, checker.Violation{Invariant: "I10", Workload: "faults",
				Detail: fmt.Sprintf("fault #%d (%s %s) was not healed into a whole cluster within %s: %s", f.N, f.Kind, f.Target, o.recoveryTimeout, f.Error)})
		} else if f.Error != "" {
			rep.Notes = append(rep.Notes, fmt.Sprintf("fault #%d (%s): %s", f.N, f.Kind, f.Error))
		}
	}
	if healErr != nil || wholeErr != nil {
		rep.Violations = append(rep.Violations, checker.Violation{Invariant: "I10", Workload: "faults",
			Detail: fmt.Sprintf("after the run: heal: %v; whole: %v", healErr, wholeErr)})
	}
	if missing > 0 {
		rep.Violations = append(rep.Violations, checker.Violation{Invariant: "I10", Workload: "final reads",
			Detail: fmt.Sprintf("%d keys could not be read back after healing", missing)})
	}
	if !conv.Converged {
		rep.Violations = append(rep.Violations, checker.Violation{Invariant: "I7", Workload: "convergence", Detail: conv.Detail})
	}
	if rv.Linearizable == checker.LinUnknown {
		rep.Notes = append(rep.Notes, fmt.Sprintf("porcupine did not finish within --check-timeout %s: linearizability not proven (not a pass)", o.checkTimeout))
	}
	if len(kinds) < len(fault.AllKinds) {
		rep.Notes = append(rep.Notes, "fault kinds used: "+strings.Join(kinds, ", "))
	}
	if inj.FirstDone < len(inj.First) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("first pass (each kind alone) cut short by --duration: %d of %d kinds injected; not reached: %s",
			inj.FirstDone, len(inj.First), strings.Join(inj.First[inj.FirstDone:], ", ")))
	} else {
		rep.Notes = append(rep.Notes, fmt.Sprintf("first pass: each of the %d kinds alone, in the order %s; then %d faults mixed at random",
			len(inj.First), strings.Join(inj.First, ", "), len(faults)-len(inj.First)))
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		rep.Notes = append(rep.Notes, "interrupted by a signal: the run was cut short; what it recorded was checked")
	}
	rep.Finish(env.Successes(), 0, workEnd)
	rep.Elapsed = time.Since(started).Round(time.Second).String()

	if rv.Linearizable == checker.LinNo {
		path := filepath.Join(o.out, "register-linearizability.html")
		var spans []checker.Span
		for _, f := range faults {
			spans = append(spans, checker.Span{Start: f.Start, End: f.Healed, Description: f.Kind + " " + f.Target,
				Details: fmt.Sprintf("#%d %s %s, %s to %s", f.N, f.Kind, f.Target, checker.At(f.Start), checker.At(f.Healed))})
		}
		if err := checker.VisualizeRegister(rv, spans, o.checkTimeout, path); err != nil {
			log.Warn("visualization", "err", err)
		} else {
			rep.Files = append(rep.Files, filepath.Base(path))
		}
	}
	return rep, nil
}

// replay is the command that runs the same schedule again: the seed and
// the settings that shape the schedule.
func replay(o options, mode string) string {
	cmd := fmt.Sprintf("scripts/chaos.sh --%s --duration %s --seed %d", mode, o.duration, o.seed)
	var extra []string
	if o.quiet != 3*time.Second {
		extra = append(extra, "--quiet", o.quiet.String())
	}
	if o.faults != "" {
		extra = append(extra, "--faults", o.faults)
	}
	if len(extra) > 0 {
		cmd += " -- " + strings.Join(extra, " ")
	}
	return cmd
}

// dockerUsable: the daemon answers and a compose command works.
func dockerUsable() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, "docker", "info").Run() != nil {
		return false
	}
	_, err := fault.DetectCompose(ctx)
	return err == nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

func waitWhole(ctx context.Context, c fault.Cluster, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err = fault.Whole(ctx, c.Nodes()); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}
