package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Docker runs the nodes of cluster-compose.yml as a compose project of its
// own (so containers, network and volumes are named <Project>_...), with the
// RESP and admin ports published on 127.0.0.1:<prefix><i>.
//
// Partitions are blackhole routes inside the containers' network namespaces,
// entered from the host (`nsenter --net=/proc/<container pid>/ns/net ip
// route add blackhole <peer>/32`), so only the paths between nodes are cut:
// the published ports still reach every node. That needs root on the host
// running the containers, nsenter and ip; without them PartitionSupport says
// so and partition faults are skipped.
type Docker struct {
	ComposeFile string   // cluster-compose.yml
	Project     string   // e.g. understudy-chaos
	OutDir      string   // override files and logs go here
	Image       string   // understudy:dev
	RespPrefix  string   // host RESP port prefix: node i is 127.0.0.1:<prefix><i>; "" picks free ports
	AdminPrefix string   // same for the admin API
	Env         []string // extra UNDERSTUDY_* settings for every node (e.g. snapshot threshold)
	Log         *slog.Logger

	compose  []string
	override string
	network  string
	partErr  error
	cutter   cutter

	mu    sync.Mutex
	nodes []*dockerNode
}

type dockerNode struct {
	Node
	container   string
	volume      string
	rejoin      bool // next Start recreates the container joining the cluster
	paused      bool
	incarnation int
	epoch       int
}

// Name implements Cluster.
func (d *Docker) Name() string { return "docker" }

// Nodes implements Cluster.
func (d *Docker) Nodes() []Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Node, len(d.nodes))
	for i, n := range d.nodes {
		out[i] = n.Node
	}
	return out
}

func (d *Docker) node(id string) (*dockerNode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no node %q", id)
}

// DetectCompose returns the compose command: the plugin if it works, else
// docker-compose.
func DetectCompose(ctx context.Context) ([]string, error) {
	if _, err := run(ctx, nil, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := run(ctx, nil, "docker-compose", "version"); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, fmt.Errorf("neither 'docker compose' nor 'docker-compose' works")
}

func (d *Docker) composeEnv() []string {
	return []string{
		"UNDERSTUDY_IMAGE=" + d.Image,
		"UNDERSTUDY_RESP_PORT_PREFIX=" + d.RespPrefix,
		"UNDERSTUDY_ADMIN_PORT_PREFIX=" + d.AdminPrefix,
	}
}

// dc runs compose on the project with the base file, the suite's override
// and any extra files.
func (d *Docker) dc(ctx context.Context, extra []string, args ...string) (string, error) {
	full := append([]string{}, d.compose[1:]...)
	full = append(full, "--project-name", d.Project, "--file", d.ComposeFile, "--file", d.override)
	for _, f := range extra {
		full = append(full, "--file", f)
	}
	full = append(full, args...)
	return run(ctx, d.composeEnv(), d.compose[0], full...)
}

// writeOverride adds Env to every node's environment.
func (d *Docker) writeOverride() error {
	var b strings.Builder
	b.WriteString("# Written by the chaos suite: settings for every node of this run.\nservices:\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, "  n%d:\n    environment:\n", i)
		if len(d.Env) == 0 {
			b.WriteString("      UNDERSTUDY_LOG_LEVEL: info\n")
		}
		for _, kv := range d.Env {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(&b, "      %s: %q\n", k, v)
		}
	}
	d.override = filepath.Join(d.OutDir, "chaos-compose.override.yml")
	return os.WriteFile(d.override, []byte(b.String()), 0o644)
}

// Up implements Cluster: removes what a previous run of the same project
// left, then starts n1..n3 on fresh volumes. Without fixed prefixes it picks
// free host ports, and picks again should another process take one first.
func (d *Docker) Up(ctx context.Context) error {
	var err error
	if d.compose, err = DetectCompose(ctx); err != nil {
		return err
	}
	if err := d.writeOverride(); err != nil {
		return err
	}
	if _, err := d.dc(ctx, nil, "down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
		return err
	}
	auto := d.RespPrefix == "" || d.AdminPrefix == ""
	var skip []int
	for attempt := 1; ; attempt++ {
		if auto {
			if d.RespPrefix, d.AdminPrefix, err = freePrefixes(skip); err != nil {
				return err
			}
		}
		_, err = d.dc(ctx, nil, "up", "--detach", "n1", "n2", "n3")
		if err == nil {
			break
		}
		taken := strings.Contains(err.Error(), "already allocated") || strings.Contains(err.Error(), "address already in use")
		if !auto || !taken || attempt == 3 {
			return fmt.Errorf("compose up (host ports 127.0.0.1:%s1-3, :%s1-3): %w", d.RespPrefix, d.AdminPrefix, err)
		}
		d.Log.Warn("host port taken meanwhile; trying other ports", "resp_prefix", d.RespPrefix, "admin_prefix", d.AdminPrefix)
		p, _ := strconv.Atoi(d.RespPrefix)
		skip = append(skip, p)
		if _, err := d.dc(ctx, nil, "down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
			return err
		}
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("n%d", i)
		n := &dockerNode{Node: Node{ID: id,
			ClientAddr: fmt.Sprintf("127.0.0.1:%s%d", d.RespPrefix, i),
			AdminAddr:  fmt.Sprintf("127.0.0.1:%s%d", d.AdminPrefix, i)}, incarnation: 1}
		if err := d.inspect(ctx, n); err != nil {
			return err
		}
		d.mu.Lock()
		d.nodes = append(d.nodes, n)
		d.mu.Unlock()
	}
	d.Log.Info("docker cluster up", "project", d.Project, "network", d.network, "compose", strings.Join(d.compose, " "),
		"resp_ports", "127.0.0.1:"+d.RespPrefix+"1-3", "admin_ports", "127.0.0.1:"+d.AdminPrefix+"1-3")
	d.cutter = cutter{ip: d.nsIP, addr: d.peerAddr}
	d.partErr = d.probePartitions(ctx)
	return poll(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) error { return Whole(ctx, d.Nodes()) })
}

// freePrefixes picks port prefixes whose ports <prefix>1..<prefix>3 are
// all free on 127.0.0.1: 1638/1918 if they are, else the first free pair
// of 1639/1919, 1640/1920, ... (prefixes in skip excluded).
func freePrefixes(skip []int) (string, string, error) {
	for k := range 200 {
		resp, admin := 1638+k, 1918+k
		if slices.Contains(skip, resp) || resp == 1918 || admin == 1638 {
			continue
		}
		if portsFree(resp) && portsFree(admin) {
			return strconv.Itoa(resp), strconv.Itoa(admin), nil
		}
	}
	return "", "", errors.New("no free host ports 127.0.0.1:<prefix>1-3 for prefixes 1638..1837 / 1918..2117")
}

// portsFree checks that 127.0.0.1:<prefix>1..3 can be listened on.
func portsFree(prefix int) bool {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d%d", prefix, i))
		if err != nil {
			return false
		}
		lns = append(lns, ln)
	}
	return true
}

// nsIP is the cutter's way into a container's network namespace: nsenter
// on its PID, as seen by the host. A stopped container has none.
func (d *Docker) nsIP(ctx context.Context, id string) ([]string, bool, error) {
	n, err := d.node(id)
	if err != nil {
		return nil, false, err
	}
	out, err := run(ctx, nil, "docker", "inspect", "--format", "{{.State.Pid}}", n.container)
	if err != nil {
		return nil, false, err
	}
	pid := strings.TrimSpace(out)
	if pid == "0" || pid == "" {
		return nil, true, nil
	}
	return []string{"nsenter", "--net=/proc/" + pid + "/ns/net", "ip"}, false, nil
}

// peerAddr is a container's address on the project's network (looked up
// each time: a recreated container may get another one).
func (d *Docker) peerAddr(ctx context.Context, id string) (string, error) {
	n, err := d.node(id)
	if err != nil {
		return "", err
	}
	out, err := run(ctx, nil, "docker", "inspect", "--format",
		fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}`, d.network), n.container)
	if err != nil {
		return "", err
	}
	ip := strings.TrimSpace(out)
	if net.ParseIP(ip) == nil {
		return "", fmt.Errorf("%s has no address on %s (%q)", id, d.network, ip)
	}
	return ip, nil
}

// probePartitions checks that the host can enter a container's network
// namespace and read its routes (root, nsenter, ip, the daemon on this host).
func (d *Docker) probePartitions(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root (uid %d): entering the containers' network namespaces needs root", os.Geteuid())
	}
	for _, tool := range []string{"nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("no %s on PATH", tool)
		}
	}
	ip, gone, err := d.nsIP(ctx, "n1")
	if err == nil && gone {
		err = errors.New("n1 is not running")
	}
	if err == nil {
		_, err = blackholes(ctx, ip)
	}
	if err == nil {
		_, err = d.peerAddr(ctx, "n1")
	}
	if err != nil {
		return fmt.Errorf("cannot enter the containers' network namespaces (is the Docker daemon on this host?): %w", err)
	}
	return nil
}

// inspect finds the node's container, its network with its aliases there,
// and its data volume.
func (d *Docker) inspect(ctx context.Context, n *dockerNode) error {
	out, err := d.dc(ctx, nil, "ps", "-q", n.ID)
	if err != nil {
		return err
	}
	c := strings.TrimSpace(out)
	if c == "" || strings.Contains(c, "\n") {
		return fmt.Errorf("container of %s: %q", n.ID, c)
	}
	out, err = run(ctx, nil, "docker", "inspect", "--format",
		`{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{"\n"}}{{end}}{{range .Mounts}}{{if eq .Destination "/data"}}volume {{.Name}}{{"\n"}}{{end}}{{end}}`, c)
	if err != nil {
		return err
	}
	n.container = c
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "volume":
			n.volume = f[1]
		case len(f) == 1 && strings.HasPrefix(f[0], d.Project):
			d.network = f[0]
		}
	}
	if d.network == "" || n.volume == "" {
		return fmt.Errorf("%s: network or volume not found in %q", n.ID, out)
	}
	return nil
}

// Kill implements Cluster.
func (d *Docker) Kill(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	if _, err := run(ctx, nil, "docker", "kill", "--signal", "KILL", n.container); err != nil && !strings.Contains(err.Error(), "is not running") {
		return err
	}
	return poll(ctx, 15*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		out, err := run(ctx, nil, "docker", "inspect", "--format", "{{.State.Running}}", n.container)
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "false" {
			return fmt.Errorf("%s still running", id)
		}
		return nil
	})
}

// Start implements Cluster. After Wipe it recreates the container with an
// override that swaps --peers for --join, so the node joins with empty data.
func (d *Docker) Start(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	if !n.rejoin {
		if _, err := run(ctx, nil, "docker", "start", n.container); err != nil {
			return err
		}
		d.mu.Lock()
		n.incarnation++
		n.paused = false
		d.mu.Unlock()
		return nil
	}
	var others []string
	for _, o := range d.Nodes() {
		if o.ID != id {
			// Inside the network, ni's admin API is at ni:918i (see cluster-compose.yml).
			others = append(others, fmt.Sprintf("%s:918%s", o.ID, strings.TrimPrefix(o.ID, "n")))
		}
	}
	f := filepath.Join(d.OutDir, "chaos-rejoin-"+id+".override.yml")
	body := fmt.Sprintf("# Written by the chaos suite: %s rejoins with empty data.\nservices:\n  %s:\n    environment:\n      UNDERSTUDY_PEERS: \"\"\n      UNDERSTUDY_JOIN: %q\n",
		id, id, strings.Join(others, ","))
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		return err
	}
	if _, err := d.dc(ctx, []string{f}, "up", "--detach", "--no-deps", id); err != nil {
		return err
	}
	if err := d.inspect(ctx, n); err != nil {
		return err
	}
	d.mu.Lock()
	n.rejoin = false
	n.incarnation++
	n.paused = false
	d.mu.Unlock()
	return nil
}

// Pause implements Cluster.
func (d *Docker) Pause(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	if _, err := run(ctx, nil, "docker", "pause", n.container); err != nil {
		return err
	}
	d.mu.Lock()
	n.paused = true
	d.mu.Unlock()
	return nil
}

// Resume implements Cluster.
func (d *Docker) Resume(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	if _, err := run(ctx, nil, "docker", "unpause", n.container); err != nil && !strings.Contains(err.Error(), "is not paused") {
		return err
	}
	d.mu.Lock()
	n.paused = false
	d.mu.Unlock()
	return nil
}

// PartitionSupport implements Cluster.
func (d *Docker) PartitionSupport() error { return d.partErr }

// Cut implements Cluster: blackhole routes inside the containers.
func (d *Docker) Cut(ctx context.Context, pairs [][2]string) error {
	if d.partErr != nil {
		return ErrUnsupported
	}
	return d.cutter.cut(ctx, pairs)
}

// Heal implements Cluster. A container that stopped took its routes with
// its namespace; a running one loses every blackhole route.
func (d *Docker) Heal(ctx context.Context) error {
	if d.partErr != nil || d.cutter.ip == nil {
		return nil
	}
	var ids []string
	for _, n := range d.Nodes() {
		ids = append(ids, n.ID)
	}
	return d.cutter.heal(ctx, ids)
}

// Wipe implements Cluster: removes the (stopped) container and its volume.
func (d *Docker) Wipe(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	if _, err := d.dc(ctx, nil, "rm", "--stop", "--force", id); err != nil {
		return err
	}
	if _, err := run(ctx, nil, "docker", "volume", "rm", n.volume); err != nil {
		return err
	}
	d.mu.Lock()
	n.rejoin = true
	n.epoch++
	d.mu.Unlock()
	return nil
}

// Generation implements Cluster.
func (d *Docker) Generation(id string) (int, int) {
	n, err := d.node(id)
	if err != nil {
		return 0, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return n.incarnation, n.epoch
}

// Down implements Cluster: saves every node's log to the output directory,
// then removes the project's containers, network and volumes (unless keep).
func (d *Docker) Down(ctx context.Context, keep bool) error {
	if d.compose == nil {
		return nil
	}
	for _, n := range d.Nodes() {
		nn, _ := d.node(n.ID)
		if nn.paused {
			_ = d.Resume(ctx, n.ID)
		}
	}
	if out, err := d.dc(ctx, nil, "logs", "--no-color", "--timestamps"); err == nil {
		_ = os.WriteFile(filepath.Join(d.OutDir, "docker-nodes.log"), []byte(out), 0o644)
	}
	if keep {
		if err := d.Heal(ctx); err != nil {
			d.Log.Warn("heal before leaving the containers running", "err", err)
		}
		d.Log.Info("leaving the containers running (--keep)", "project", d.Project)
		return nil
	}
	_, err := d.dc(ctx, nil, "down", "--volumes", "--remove-orphans", "--timeout", "10")
	return err
}
