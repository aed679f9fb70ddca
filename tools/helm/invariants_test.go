package helmtools

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// flags turns a container's --name=value arguments into a map.
func flags(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok && strings.HasPrefix(a, "--") {
			m[k] = v
		}
	}
	return m
}

func one[T any](t *testing.T, what string, xs []T) T {
	t.Helper()
	if len(xs) != 1 {
		t.Fatalf("%d %s rendered, want 1", len(xs), what)
	}
	return xs[0]
}

func container(t *testing.T, sts *appsv1.StatefulSet) corev1.Container {
	t.Helper()
	return one(t, "containers", sts.Spec.Template.Spec.Containers)
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container has no port %q", name)
	return 0
}

// Every replica count the chart accepts renders objects that decode
// strictly, and the StatefulSet's members, peers and budget agree.
func TestChart_PeersAndBudgetFollowReplicas(t *testing.T) {
	for _, n := range []int{1, 3, 5, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := mustRender(t, "--namespace", "ns1", "--set", fmt.Sprintf("replicas=%d", n))
			sts := one(t, "StatefulSets", m.sts)
			if sts.Spec.Replicas == nil || int(*sts.Spec.Replicas) != n {
				t.Fatalf("replicas %v, want %d", sts.Spec.Replicas, n)
			}
			c := container(t, sts)
			f := flags(c.Args)
			raftPort, adminPort := containerPort(t, c, "raft"), containerPort(t, c, "admin")
			if portOf(t, f["raft-addr"]) != raftPort || portOf(t, f["admin-addr"]) != adminPort || portOf(t, f["client-addr"]) != containerPort(t, c, "client") {
				t.Errorf("listen addresses %s %s %s do not match the container ports", f["raft-addr"], f["admin-addr"], f["client-addr"])
			}
			dom := sts.Spec.ServiceName + ".ns1.svc"
			peers := strings.Split(f["peers"], ",")
			joins := strings.Split(f["join"], ",")
			if len(peers) != n || len(joins) != n {
				t.Fatalf("%d peers and %d join addresses for %d replicas: %s / %s", len(peers), len(joins), n, f["peers"], f["join"])
			}
			for i := range n {
				pod := fmt.Sprintf("%s-%d", sts.Name, i)
				if want := fmt.Sprintf("%s=%s.%s:%d", pod, pod, dom, raftPort); peers[i] != want {
					t.Errorf("peer %d: %s, want %s", i, peers[i], want)
				}
				if want := fmt.Sprintf("%s.%s:%d", pod, dom, adminPort); joins[i] != want {
					t.Errorf("join %d: %s, want %s", i, joins[i], want)
				}
			}
			// Node id = pod name; it advertises its stable name.
			if f["id"] != "$(POD_NAME)" || f["advertise-raft-addr"] != fmt.Sprintf("$(POD_NAME).%s:%d", dom, raftPort) {
				t.Errorf("--id %s, --advertise-raft-addr %s: want the pod name and its name under %s", f["id"], f["advertise-raft-addr"], dom)
			}
			podName := false
			for _, e := range c.Env {
				podName = podName || (e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name")
			}
			if !podName {
				t.Error("POD_NAME does not come from metadata.name")
			}

			// PodDisruptionBudget: N - quorum.
			pdb := one(t, "PodDisruptionBudgets", m.pdbs)
			if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != n-(n/2+1) || pdb.Spec.MinAvailable != nil {
				t.Errorf("PDB maxUnavailable %v minAvailable %v, want maxUnavailable %d = %d - quorum %d", mu, pdb.Spec.MinAvailable, n-(n/2+1), n, n/2+1)
			}
			for k, v := range pdb.Spec.Selector.MatchLabels {
				if sts.Spec.Template.Labels[k] != v {
					t.Errorf("PDB selects %s=%s, not on the pods", k, v)
				}
			}

			// The prune hook keeps exactly the replicas.
			job := one(t, "Jobs", m.jobs)
			jf := flags(one(t, "job containers", job.Spec.Template.Spec.Containers).Command)
			if jf["keep"] != fmt.Sprint(n) || jf["statefulset"] != sts.Name || jf["admin"] != f["join"] {
				t.Errorf("prune hook: --keep %s --statefulset %s --admin %s; want %d, %s, the pods' admin addresses", jf["keep"], jf["statefulset"], jf["admin"], n, sts.Name)
			}
		})
	}
}

// The headless Service publishes not-ready pods (a cluster without a
// leader must still find its members) and is the StatefulSet's; the client
// Service selects the same pods.
func TestChart_Services(t *testing.T) {
	m := mustRender(t)
	sts := one(t, "StatefulSets", m.sts)
	var headless, client *corev1.Service
	for _, s := range m.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			headless = s
		} else {
			client = s
		}
	}
	if headless == nil || client == nil {
		t.Fatalf("want a headless and a client Service, got %d Services", len(m.services))
	}
	if !headless.Spec.PublishNotReadyAddresses {
		t.Error("headless Service: publishNotReadyAddresses is false")
	}
	if sts.Spec.ServiceName != headless.Name {
		t.Errorf("StatefulSet serviceName %s, want the headless Service %s", sts.Spec.ServiceName, headless.Name)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %s: after a full stop no pod can be ready alone, so OrderedReady would never start pod 1", sts.Spec.PodManagementPolicy)
	}
	c := container(t, sts)
	for _, s := range []*corev1.Service{headless, client} {
		for k, v := range s.Spec.Selector {
			if sts.Spec.Template.Labels[k] != v {
				t.Errorf("Service %s selects %s=%s, not on the pods", s.Name, k, v)
			}
		}
		for _, p := range s.Spec.Ports {
			containerPort(t, c, p.TargetPort.StrVal)
		}
	}
	if len(client.Spec.Ports) != 1 || client.Spec.Ports[0].TargetPort.StrVal != "client" {
		t.Errorf("client Service ports %+v, want the client port only", client.Spec.Ports)
	}
}

// The claims are mounted where --data-dir points; scale-down deletes the
// removed ordinals' claims; the probes are /readyz and /livez on the port
// --metrics-addr serves, and the binary answers them there.
func TestChart_StorageAndProbes(t *testing.T) {
	sts := one(t, "StatefulSets", mustRender(t).sts)
	c := container(t, sts)
	f := flags(c.Args)
	claim := one(t, "volumeClaimTemplates", sts.Spec.VolumeClaimTemplates)
	mounted := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == claim.Name {
			mounted = vm.MountPath
		}
	}
	if mounted == "" || mounted != f["data-dir"] {
		t.Errorf("claim %s mounted at %q, --data-dir %q", claim.Name, mounted, f["data-dir"])
	}
	if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		t.Errorf("persistentVolumeClaimRetentionPolicy %+v, want whenScaled: Delete", p)
	}
	if sts.Spec.Template.Spec.SecurityContext == nil || sts.Spec.Template.Spec.SecurityContext.FSGroup == nil {
		t.Error("no fsGroup: the unprivileged binary cannot write the claim")
	}

	httpPort := containerPort(t, c, "http")
	if portOf(t, f["metrics-addr"]) != httpPort {
		t.Errorf("--metrics-addr %s, container port http %d", f["metrics-addr"], httpPort)
	}
	probes := map[string]*corev1.Probe{"/readyz": c.ReadinessProbe, "/livez": c.LivenessProbe}
	var paths []string
	for want, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.StrVal != "http" {
			t.Errorf("probe for %s: %+v, want httpGet %s on port http", want, p, want)
		}
		paths = append(paths, want)
	}
	for path, code := range serveProbes(t, paths...) {
		if code != 200 {
			t.Errorf("understudy serve answers %s with %d", path, code)
		}
	}
}

// Everything the chart runs is the understudy binary with flags it knows:
// the server's arguments, the preStop hand-over and the prune hook (the
// image has no shell). Each is parsed by the binary itself with --help.
func TestChart_CommandsExistInTheBinary(t *testing.T) {
	m := mustRender(t, "--set", "auth.adminToken.value=t0k", "--set", "auth.requirepass.value=pw",
		"--set", "tls.enabled=true", "--set", "tls.existingSecret=understudy-tls")
	sts := one(t, "StatefulSets", m.sts)
	c := container(t, sts)
	pre := c.Lifecycle.PreStop
	if pre == nil || pre.Exec == nil {
		t.Fatal("no preStop exec")
	}
	job := one(t, "Jobs", m.jobs)
	hooks := job.Annotations["helm.sh/hook"]
	if !strings.Contains(hooks, "pre-upgrade") || !strings.Contains(hooks, "post-upgrade") {
		t.Errorf("prune Job hooks %q, want pre-upgrade and post-upgrade", hooks)
	}
	jc := one(t, "job containers", job.Spec.Template.Spec.Containers)
	for what, argv := range map[string][]string{
		"server":  append([]string{"/understudy"}, c.Args...),
		"preStop": pre.Exec.Command,
		"prune":   jc.Command,
	} {
		if argv[0] != "/understudy" {
			t.Errorf("%s runs %q, want /understudy (the image has nothing else)", what, argv[0])
			continue
		}
		if out, err := understudy(append(argv[1:], "--help")...); err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%s: understudy %s --help: %v\n%s", what, strings.Join(argv[1:], " "), err, out)
		}
		if strings.Contains(strings.Join(argv, " "), "remove") {
			t.Errorf("%s removes a member: members never remove themselves", what)
		}
	}
	if pre.Exec.Command[1] != "handoff" || jc.Command[1] != "prune" {
		t.Errorf("preStop runs %q and the hook %q, want handoff and prune", pre.Exec.Command[1], jc.Command[1])
	}
	// Each UNDERSTUDY_* variable is a flag of the command that reads it.
	serveHelp, _ := understudy("serve", "--help")
	pruneHelp, _ := understudy("prune", "--help")
	for what, env := range map[string][]corev1.EnvVar{"server": c.Env, "prune": jc.Env} {
		help := serveHelp
		if what == "prune" {
			help = pruneHelp
		}
		for _, e := range env {
			name, ok := strings.CutPrefix(e.Name, "UNDERSTUDY_")
			if !ok {
				continue
			}
			flag := "--" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
			if what == "prune" {
				flag = strings.Replace(flag, "--admin-token-file", "--token-file", 1)
			}
			if !strings.Contains(help, flag+" ") {
				t.Errorf("%s: %s names no flag %s", what, e.Name, flag)
			}
		}
	}
	// The secrets' files are mounted where the variables point, in the
	// server and in the hook (which needs the token and TLS too).
	for what, ct := range map[string]corev1.Container{"server": c, "prune": jc} {
		for _, e := range ct.Env {
			if !strings.HasSuffix(e.Name, "_FILE") {
				continue
			}
			ok := false
			for _, vm := range ct.VolumeMounts {
				ok = ok || strings.HasPrefix(e.Value, vm.MountPath+"/")
			}
			if !ok {
				t.Errorf("%s: %s=%s is on no mounted volume", what, e.Name, e.Value)
			}
		}
	}
	if len(m.secrets) != 2 {
		t.Errorf("%d Secrets rendered from auth values, want 2", len(m.secrets))
	}
}

// An even member count, or none, is refused at render time.
func TestChart_EvenReplicasRefused(t *testing.T) {
	for _, n := range []int{0, 2, 4, 6} {
		out, err := render(t, "--set", fmt.Sprintf("replicas=%d", n))
		if err == nil || !strings.Contains(err.Error(), "replicas must be odd") {
			t.Errorf("replicas=%d: rendered (%v):\n%.300s", n, err, out)
		}
	}
	if _, err := render(t, "--set", "tls.enabled=true"); err == nil || !strings.Contains(err.Error(), "tls.existingSecret") {
		t.Errorf("tls.enabled without a Secret: %v, want refused", err)
	}
}

// Soft anti-affinity by default, required as an option.
func TestChart_AntiAffinity(t *testing.T) {
	soft := one(t, "StatefulSets", mustRender(t).sts).Spec.Template.Spec.Affinity.PodAntiAffinity
	if len(soft.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || len(soft.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Errorf("default anti-affinity %+v, want preferred only", soft)
	}
	hard := one(t, "StatefulSets", mustRender(t, "--set", "podAntiAffinity=hard").sts).Spec.Template.Spec.Affinity.PodAntiAffinity
	if len(hard.RequiredDuringSchedulingIgnoredDuringExecution) != 1 || len(hard.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Errorf("hard anti-affinity %+v, want required only", hard)
	}
	if _, err := render(t, "--set", "podAntiAffinity=maybe"); err == nil {
		t.Error("podAntiAffinity=maybe accepted")
	}
}

// helm lint --strict: the chart's own conventions (values, templates, YAML).
func TestChart_LintStrict(t *testing.T) {
	cmd := exec.Command(filepath.Join(root, "scripts", "helm.sh"), "lint", "--strict")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}
