package fault

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Docker runs the nodes of cluster-compose.yml as a compose project of its
// own (so containers, network and volumes are named <Project>_...), with the
// RESP and admin ports published on 127.0.0.1:<prefix><i>.
type Docker struct {
	ComposeFile string   // cluster-compose.yml
	Project     string   // e.g. understudy-chaos
	OutDir      string   // override files and logs go here
	Image       string   // understudy:dev
	RespPrefix  string   // host RESP port prefix: node i is 127.0.0.1:<prefix><i>
	AdminPrefix string   // same for the admin API
	Env         []string // extra UNDERSTUDY_* settings for every node (e.g. snapshot threshold)
	Log         *slog.Logger

	compose  []string
	override string
	network  string

	mu    sync.Mutex
	nodes []*dockerNode
}

type dockerNode struct {
	Node
	container   string
	aliases     []string
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
// left, then starts n1..n3 on fresh volumes.
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
	if _, err := d.dc(ctx, nil, "up", "--detach", "n1", "n2", "n3"); err != nil {
		return err
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
	d.Log.Info("docker cluster up", "project", d.Project, "network", d.network, "compose", strings.Join(d.compose, " "))
	return poll(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) error { return Whole(ctx, d.Nodes()) })
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
		`{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{join $v.Aliases ","}}{{"\n"}}{{end}}{{range .Mounts}}{{if eq .Destination "/data"}}volume {{.Name}}{{"\n"}}{{end}}{{end}}`, c)
	if err != nil {
		return err
	}
	n.container = c
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "volume":
			n.volume = f[1]
		case len(f) >= 1 && strings.HasPrefix(f[0], d.Project):
			d.network = f[0]
			n.aliases = nil
			if len(f) == 2 {
				for _, a := range strings.Split(f[1], ",") {
					if a != "" && !strings.HasPrefix(c, a) { // the container id is added back by Docker
						n.aliases = append(n.aliases, a)
					}
				}
			}
		}
	}
	if d.network == "" || n.volume == "" {
		return fmt.Errorf("%s: network or volume not found in %q", n.ID, out)
	}
	if len(n.aliases) == 0 {
		n.aliases = []string{n.ID}
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

// Isolate implements Cluster: disconnects the container from the project's
// network, which cuts it off from its peers and from the published ports.
func (d *Docker) Isolate(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	_, err = run(ctx, nil, "docker", "network", "disconnect", d.network, n.container)
	return err
}

// Reconnect implements Cluster, restoring the DNS aliases compose gave the
// container (its service name above all).
func (d *Docker) Reconnect(ctx context.Context, id string) error {
	n, err := d.node(id)
	if err != nil {
		return err
	}
	args := []string{"network", "connect"}
	for _, a := range n.aliases {
		args = append(args, "--alias", a)
	}
	args = append(args, d.network, n.container)
	if _, err := run(ctx, nil, "docker", args...); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	return nil
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
		d.Log.Info("leaving the containers running (--keep)", "project", d.Project)
		return nil
	}
	_, err := d.dc(ctx, nil, "down", "--volumes", "--remove-orphans", "--timeout", "10")
	return err
}
