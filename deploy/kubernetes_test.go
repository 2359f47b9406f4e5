package deploy

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/openmms/mms/internal/calendar/router"
)

// The ServiceMonitor's type is the Prometheus Operator's, not in
// k8s.io/api: these are the fields of monitoring.coreos.com/v1 the
// manifest may use, decoded strictly like the others, so a misspelt field
// fails here rather than being dropped by the operator.
type serviceMonitor struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   metadataOnly       `json:"metadata"`
	Spec       serviceMonitorSpec `json:"spec"`
}

type metadataOnly struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type serviceMonitorSpec struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	Endpoints []struct {
		Port          string `json:"port"`
		Path          string `json:"path"`
		Interval      string `json:"interval"`
		Authorization *struct {
			Type        string                   `json:"type"`
			Credentials corev1.SecretKeySelector `json:"credentials"`
		} `json:"authorization"`
	} `json:"endpoints"`
}

type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests is every object of deploy/kubernetes, each decoded strictly
// (unknown or duplicate fields are errors) into its API type.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	secrets     map[string]corev1.Secret
	configMaps  map[string]corev1.ConfigMap
	pdbs        []policyv1.PodDisruptionBudget
	monitors    []serviceMonitor
}

func strict(t *testing.T, where string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := "kubernetes"
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	strict(t, "kustomization.yaml", raw, &k)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var listed []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(k.Resources)), listed) {
		t.Errorf("kustomization resources %v, files %v: each manifest must be listed", k.Resources, listed)
	}
	m := manifests{secrets: map[string]corev1.Secret{}, configMaps: map[string]corev1.ConfigMap{}}
	sep := regexp.MustCompile(`(?m)^---\s*$`)
	for _, f := range k.Resources {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range sep.Split(string(raw), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			where := f + " document " + strconv.Itoa(i+1)
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				var d appsv1.Deployment
				strict(t, where, []byte(doc), &d)
				m.deployments = append(m.deployments, d)
			case "v1 Service":
				var s corev1.Service
				strict(t, where, []byte(doc), &s)
				m.services = append(m.services, s)
			case "v1 Secret":
				var s corev1.Secret
				strict(t, where, []byte(doc), &s)
				m.secrets[s.Name] = s
			case "v1 ConfigMap":
				var c corev1.ConfigMap
				strict(t, where, []byte(doc), &c)
				m.configMaps[c.Name] = c
			case "policy/v1 PodDisruptionBudget":
				var p policyv1.PodDisruptionBudget
				strict(t, where, []byte(doc), &p)
				m.pdbs = append(m.pdbs, p)
			case "monitoring.coreos.com/v1 ServiceMonitor":
				var s serviceMonitor
				strict(t, where, []byte(doc), &s)
				m.monitors = append(m.monitors, s)
			default:
				t.Fatalf("%s: unexpected %s %s", where, head.APIVersion, head.Kind)
			}
		}
	}
	return m
}

// subset: every label of sel is in labels (matchLabels semantics).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false // an empty selector would select everything
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func secretKey(m manifests, name, key string) bool {
	s, ok := m.secrets[name]
	if !ok {
		return false
	}
	_, inString := s.StringData[key]
	_, inData := s.Data[key]
	return inString || inData
}

// TestKubernetesManifests decodes deploy/kubernetes strictly into the
// Kubernetes API types and checks that its parts agree (issue 19, item 4):
// selectors select their own pods, probes hit /healthz and /readyz on
// declared ports, pods run as non-root with a read-only root, resources
// are requested, every Secret and key referred to exists, the calendars
// Secret is mounted where --calendars points and is a valid calendars
// file, each Deployment has a PodDisruptionBudget and the ServiceMonitor
// scrapes declared ports with the metrics token.
func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 2 || len(m.services) != 2 || len(m.pdbs) != 2 || len(m.monitors) != 1 {
		t.Fatalf("%d deployments, %d services, %d PDBs, %d ServiceMonitors; want 2, 2, 2, 1",
			len(m.deployments), len(m.services), len(m.pdbs), len(m.monitors))
	}
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			sel := d.Spec.Selector
			if sel == nil || len(sel.MatchExpressions) > 0 || !subset(sel.MatchLabels, d.Spec.Template.Labels) {
				t.Errorf("selector %v does not select the template's labels %v", sel, d.Spec.Template.Labels)
			}
			pod := d.Spec.Template.Spec
			if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
				sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", sc)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
				!slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, ALL capabilities dropped", sc)
			}
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want {
					t.Errorf("probe %+v: want GET %s", probe, want)
					continue
				}
				if _, ok := ports[probe.HTTPGet.Port.StrVal]; !ok {
					t.Errorf("probe %s on port %q, not a port of the container %v", want, probe.HTTPGet.Port.String(), ports)
				}
			}
			// The probes are served on the address the arguments bind.
			args := strings.Join(c.Args, " ")
			for name, port := range ports {
				if !strings.Contains(args, "0.0.0.0:"+strconv.Itoa(int(port))) {
					t.Errorf("port %s (%d) is not bound by the arguments %q", name, port, args)
				}
			}
			req := c.Resources.Requests
			if req.Cpu().IsZero() || req.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
			}
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				env[e.Name] = e
			}
			for _, name := range []string{"MMS_DATABASE", "MMS_METRICS_TOKEN"} {
				ref := env[name].ValueFrom
				if ref == nil || ref.SecretKeyRef == nil || !secretKey(m, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key) {
					t.Errorf("%s must come from a key of a Secret of the base: %+v", name, env[name])
				}
			}
			for _, from := range c.EnvFrom {
				if from.ConfigMapRef == nil || m.configMaps[from.ConfigMapRef.Name].Data["TEMPORAL_ADDRESS"] == "" {
					t.Errorf("envFrom %+v: want the ConfigMap with TEMPORAL_ADDRESS", from)
				}
			}
			volumes := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				volumes[v.Name] = v
			}
			for _, vm := range c.VolumeMounts {
				if _, ok := volumes[vm.Name]; !ok {
					t.Errorf("mount %s of no volume", vm.Name)
				}
			}
			if c.Args[0] == "worker" {
				checkCalendars(t, m, c, volumes)
			}
			covered := false
			for _, p := range m.pdbs {
				covered = covered || p.Spec.Selector != nil && subset(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
			}
			if !covered {
				t.Error("no PodDisruptionBudget selects its pods")
			}
		})
	}
	for _, s := range m.services {
		var pods *appsv1.Deployment
		for i, d := range m.deployments {
			if subset(s.Spec.Selector, d.Spec.Template.Labels) {
				pods = &m.deployments[i]
			}
		}
		if pods == nil {
			t.Errorf("service %s selects no Deployment's pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, cp := range pods.Spec.Template.Spec.Containers[0].Ports {
				found = found || cp.Name == p.TargetPort.StrVal
			}
			if !found {
				t.Errorf("service %s port %s targets %q, not a named port of %s", s.Name, p.Name, p.TargetPort.String(), pods.Name)
			}
		}
	}
	for _, sm := range m.monitors {
		ports := map[string]bool{}
		for _, s := range m.services {
			if subset(sm.Spec.Selector.MatchLabels, s.Labels) {
				for _, p := range s.Spec.Ports {
					ports[p.Name] = true
				}
			}
		}
		if len(sm.Spec.Endpoints) == 0 {
			t.Error("ServiceMonitor has no endpoints")
		}
		for _, e := range sm.Spec.Endpoints {
			if !ports[e.Port] || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s%s: not a port of the services it selects (%v)", e.Port, e.Path, slices.Sorted(maps.Keys(ports)))
			}
			if a := e.Authorization; a == nil || a.Type != "Bearer" || !secretKey(m, a.Credentials.Name, a.Credentials.Key) {
				t.Errorf("ServiceMonitor endpoint %s: want a Bearer token from a Secret of the base", e.Port)
			}
		}
	}
}

// checkCalendars: the worker's --calendars file is in a mounted Secret,
// and that Secret's calendars file loads (its clientSecretFile paths
// pointing at the Secret's other keys).
func checkCalendars(t *testing.T, m manifests, c corev1.Container, volumes map[string]corev1.Volume) {
	t.Helper()
	i := slices.Index(c.Args, "--calendars")
	if i < 0 || i+1 == len(c.Args) {
		t.Fatal("the worker has no --calendars")
	}
	path := c.Args[i+1]
	var secret corev1.Secret
	var mountedAt string
	for _, vm := range c.VolumeMounts {
		v := volumes[vm.Name]
		if v.Secret != nil && strings.HasPrefix(path, vm.MountPath+"/") {
			secret, mountedAt = m.secrets[v.Secret.SecretName], vm.MountPath
			if !vm.ReadOnly {
				t.Errorf("the calendars Secret is mounted read-write")
			}
		}
	}
	key := strings.TrimPrefix(path, mountedAt+"/")
	doc, ok := secret.StringData[key]
	if mountedAt == "" || !ok {
		t.Fatalf("--calendars %s is not a key of a mounted Secret", path)
	}
	dir := t.TempDir()
	for k, v := range secret.StringData {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	local := bytes.ReplaceAll([]byte(doc), []byte(mountedAt+"/"), []byte(dir+"/"))
	if err := os.WriteFile(filepath.Join(dir, key), local, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := router.Load(filepath.Join(dir, key)); err != nil {
		t.Errorf("the calendars file of Secret %s: %v", secret.Name, err)
	}
}
