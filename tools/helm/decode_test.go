package helmtools

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
)

// manifests are the rendered objects, decoded.
type manifests struct {
	sts      []*appsv1.StatefulSet
	services []*corev1.Service
	pdbs     []*policyv1.PodDisruptionBudget
	jobs     []*batchv1.Job
	secrets  []*corev1.Secret
	all      []runtime.Object
}

// strict decodes YAML into the registered k8s.io/api types, refusing
// unknown and duplicate fields and values of the wrong type: what an API
// server's strict field validation refuses.
var strict = func() *json.Serializer {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, batchv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, json.SerializerOptions{Yaml: true, Strict: true})
}()

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func mustDecode(t *testing.T, out string) *manifests {
	t.Helper()
	m := &manifests{}
	for _, doc := range docSep.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, gvk, err := strict.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("strict decode: %v\n%s", err, doc)
		}
		if errs := validateObject(obj); len(errs) > 0 {
			t.Errorf("%s: %s", gvk.Kind, strings.Join(errs, "; "))
		}
		m.all = append(m.all, obj)
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			m.sts = append(m.sts, o)
		case *corev1.Service:
			m.services = append(m.services, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		case *batchv1.Job:
			m.jobs = append(m.jobs, o)
		case *corev1.Secret:
			m.secrets = append(m.secrets, o)
		default:
			t.Errorf("unexpected kind %s", gvk)
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// validateObject checks what the API server checks beyond the types:
// names, labels, port names and references inside a pod.
func validateObject(obj runtime.Object) []string {
	var errs []string
	add := func(what string, msgs []string) {
		for _, m := range msgs {
			errs = append(errs, what+": "+m)
		}
	}
	meta := obj.(interface {
		GetName() string
		GetLabels() map[string]string
	})
	add("name "+meta.GetName(), validation.IsDNS1123Subdomain(meta.GetName()))
	errs = append(errs, labelErrs(meta.GetLabels())...)
	switch o := obj.(type) {
	case *corev1.Service:
		add("service name", validation.IsDNS1035Label(o.Name))
		for _, p := range o.Spec.Ports {
			add("service port "+p.Name, validation.IsValidPortName(p.Name))
			add("service port number", validation.IsValidPortNum(int(p.Port)))
		}
		errs = append(errs, labelErrs(o.Spec.Selector)...)
	case *appsv1.StatefulSet:
		// The pods' names and their DNS labels: <sts>-<ordinal> must be a label.
		add("statefulset pod name", validation.IsDNS1123Label(fmt.Sprintf("%s-%d", o.Name, 99)))
		errs = append(errs, labelErrs(o.Spec.Template.Labels)...)
		errs = append(errs, podErrs(&o.Spec.Template.Spec, o.Spec.VolumeClaimTemplates)...)
		for k, v := range o.Spec.Selector.MatchLabels {
			if o.Spec.Template.Labels[k] != v {
				errs = append(errs, fmt.Sprintf("selector %s=%s does not match the pod template", k, v))
			}
		}
	case *batchv1.Job:
		errs = append(errs, podErrs(&o.Spec.Template.Spec, nil)...)
		if p := o.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			errs = append(errs, "a Job's restartPolicy must be Never or OnFailure")
		}
	}
	return errs
}

func labelErrs(labels map[string]string) []string {
	var errs []string
	for k, v := range labels {
		for _, m := range validation.IsQualifiedName(k) {
			errs = append(errs, "label key "+k+": "+m)
		}
		for _, m := range validation.IsValidLabelValue(v) {
			errs = append(errs, "label "+k+" value: "+m)
		}
	}
	return errs
}

// podErrs: every volume mount names a volume (or claim template), every
// probe's named port is a container port, port names are valid.
func podErrs(spec *corev1.PodSpec, claims []corev1.PersistentVolumeClaim) []string {
	var errs []string
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		vols[v.Name] = true
	}
	for _, c := range claims {
		vols[c.Name] = true
	}
	for _, c := range spec.Containers {
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
			for _, m := range validation.IsValidPortName(p.Name) {
				errs = append(errs, "container port "+p.Name+": "+m)
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				errs = append(errs, "volume mount "+m.Name+" names no volume")
			}
		}
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if pr != nil && pr.HTTPGet != nil && pr.HTTPGet.Port.StrVal != "" && !ports[pr.HTTPGet.Port.StrVal] {
				errs = append(errs, "probe port "+pr.HTTPGet.Port.StrVal+" is not a container port")
			}
		}
		if c.Image == "" {
			errs = append(errs, "container "+c.Name+" has no image")
		}
	}
	return errs
}
