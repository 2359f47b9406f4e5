package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is what `docker-compose config` prints: the file with its
// anchors, merges and ${VARIABLE:-default}s resolved and its paths made
// absolute.
type composeFile struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		Command     any               `json:"command"` // a list, or a string for the shell
		Environment map[string]string `json:"environment"`
		Ports       []struct {
			Target    int    `json:"target"`
			Published any    `json:"published"`
			Protocol  string `json:"protocol"`
		} `json:"ports"`
		DependsOn map[string]struct {
			Condition string `json:"condition"`
		} `json:"depends_on"`
		// "source:target:mode" (docker-compose v1) or the long form (v2).
		Volumes []any `json:"volumes"`
	} `json:"services"`
}

// TestComposeFile validates deploy/compose/docker-compose.yaml with
// docker-compose itself (no image is pulled: `config` works offline) and
// checks what it runs (issue 19, item 4): PostgreSQL, Temporal's schema
// set-up, the server, its namespace and UI, one mms API, two workers on
// the PostgreSQL URL of mms's database, and the collector with the
// project's configuration.
func TestComposeFile(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("docker-compose is not installed (apt-get install docker-compose); CI fails instead")
		}
		t.Fatal("docker-compose is not installed under CI")
	}
	file := filepath.Join("compose", "docker-compose.yaml")
	// A clean environment: the defaults in the file, not this shell's.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	check := exec.Command(bin, "-f", file, "config", "-q")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, out)
	}
	render := exec.Command(bin, "-f", file, "config")
	render.Env = env
	out, err := render.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	var c composeFile
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}

	want := []string{"postgresql", "temporal-admin-tools", "temporal", "temporal-create-namespace", "temporal-ui",
		"mms-api", "mms-worker-1", "mms-worker-2", "otel-collector"}
	var got []string
	for name := range c.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	published := func(svc string) []int {
		var ports []int
		for _, p := range c.Services[svc].Ports {
			ports = append(ports, p.Target)
		}
		return ports
	}
	for svc, ports := range map[string][]int{"temporal": {7233}, "temporal-ui": {8080}, "mms-api": {8080},
		"otel-collector": {4318, 8889}} {
		if got := published(svc); !slices.Equal(got, ports) {
			t.Errorf("%s publishes %v, want %v", svc, got, ports)
		}
	}
	// Official images for Temporal and PostgreSQL.
	for svc, prefix := range map[string]string{"postgresql": "postgres:", "temporal": "temporalio/server:",
		"temporal-admin-tools": "temporalio/admin-tools:", "temporal-ui": "temporalio/ui:",
		"otel-collector": "otel/opentelemetry-collector-contrib:"} {
		if img := c.Services[svc].Image; !strings.HasPrefix(img, prefix) {
			t.Errorf("%s image %q, want %s...", svc, img, prefix)
		}
	}
	if c.Services["temporal"].DependsOn["temporal-admin-tools"].Condition != "service_completed_successfully" {
		t.Error("the Temporal server must wait for its schema")
	}
	for svc, cmd := range map[string][]string{"mms-api": {"api", "--addr", "0.0.0.0:8080"},
		"mms-worker-1": {"worker", "--metrics-addr", "0.0.0.0:9464"}, "mms-worker-2": {"worker", "--metrics-addr", "0.0.0.0:9464"}} {
		s := c.Services[svc]
		if s.Image != "mms:local" || fmt.Sprint(s.Command) != fmt.Sprint(cmd) {
			t.Errorf("%s: image %q command %v, want mms:local %v", svc, s.Image, s.Command, cmd)
		}
		if db := s.Environment["MMS_DATABASE"]; !strings.HasPrefix(db, "postgres://mms:") || !strings.Contains(db, "@postgresql:5432/mms") {
			t.Errorf("%s: MMS_DATABASE %q, want mms's PostgreSQL database", svc, db)
		}
		if s.Environment["TEMPORAL_ADDRESS"] != "temporal:7233" || s.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://otel-collector:4318" {
			t.Errorf("%s: environment %v", svc, s.Environment)
		}
		for _, dep := range []string{"temporal-create-namespace", "postgresql"} {
			if _, ok := s.DependsOn[dep]; !ok {
				t.Errorf("%s does not wait for %s", svc, dep)
			}
		}
	}
	// Every file mounted from the repository exists (the collector's
	// configuration is deploy/observability's).
	var collectorBase bool
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			var source string
			switch v := v.(type) {
			case string:
				source, _, _ = strings.Cut(v, ":")
			case map[string]any:
				if v["type"] == "bind" {
					source, _ = v["source"].(string)
				}
			}
			if !filepath.IsAbs(source) {
				continue // a named volume
			}
			if _, err := os.Stat(source); err != nil {
				t.Errorf("%s mounts %s: %v", name, source, err)
			}
			collectorBase = collectorBase || strings.HasSuffix(source, filepath.Join("deploy", "observability", "otel-collector.yaml"))
		}
	}
	if !collectorBase {
		t.Error("the collector does not use deploy/observability/otel-collector.yaml")
	}
}
