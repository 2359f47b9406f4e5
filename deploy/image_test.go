package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

const imageLabel = "mms-deploy-test"

// dockerPool is the Docker engine, or a skip when there is none and CI is
// unset (under CI a missing engine fails the test).
func dockerPool(t *testing.T) *dockertest.Pool {
	t.Helper()
	pool, err := dockertest.NewPool("")
	if err == nil {
		err = pool.Client.Ping()
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Docker engine reachable (%v); CI fails instead", err)
		}
		t.Fatalf("no Docker engine reachable under CI: %v", err)
	}
	return pool
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyTree copies src (a directory) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runImage runs the image with args to its end and returns its exit code
// and output.
func runImage(t *testing.T, pool *dockertest.Pool, image string, args ...string) (int, string) {
	t.Helper()
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Config: &dc.Config{Image: image, Cmd: args, Labels: map[string]string{imageLabel: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true}) }()
	if err := pool.Client.StartContainer(c.ID, nil); err != nil {
		t.Fatal(err)
	}
	code, err := pool.Client.WaitContainer(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pool.Client.Logs(dc.LogsOptions{Container: c.ID, OutputStream: &out, ErrorStream: &out,
		Stdout: true, Stderr: true}); err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// TestRuntimeImageFromHostBinary builds the runtime-prebuilt target of
// deploy/Dockerfile from the slim binary compiled here, as the Dockerfile
// documents (no registry is needed), and runs it (issue 19, item 3):
//   - the TLS trust store inside the image is not empty, and comes from the
//     roots embedded in the binary (a FROM scratch image has no /etc/ssl);
//   - it runs as the unprivileged mms user, 65532;
//   - that user can write /data (a SQLite database is created there).
func TestRuntimeImageFromHostBinary(t *testing.T) {
	pool := dockerPool(t)
	root := repoRoot(t)
	dir := t.TempDir()
	start := time.Now()
	build := exec.Command("go", "build", "-tags", "nodevserver", "-trimpath", "-ldflags", "-s -w -X main.version=deploy-test",
		"-o", filepath.Join(dir, "bin", "mms-slim"), "./cmd/mms")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	built := time.Since(start)
	copyTree(t, filepath.Join(root, "deploy", "image"), filepath.Join(dir, "deploy", "image"))
	df, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy", "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	image := "mms-deploy-test:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var out bytes.Buffer
	if err := pool.Client.BuildImage(dc.BuildImageOptions{Name: image, ContextDir: dir, Dockerfile: "deploy/Dockerfile",
		Target: "runtime-prebuilt", OutputStream: &out, Labels: map[string]string{imageLabel: "1"},
		RmTmpContainer: true, ForceRmTmpContainer: true}); err != nil {
		t.Fatalf("docker build --target runtime-prebuilt: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { _ = pool.Client.RemoveImageExtended(image, dc.RemoveImageOptions{Force: true}) })
	st, _ := os.Stat(filepath.Join(dir, "bin", "mms-slim"))
	t.Logf("slim binary %.1f MB built in %s, image in %s", float64(st.Size())/(1<<20), built.Round(time.Millisecond),
		(time.Since(start) - built).Round(time.Millisecond))

	img, err := pool.Client.InspectImage(image)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.User != "65532:65532" || img.Config.WorkingDir != "/data" {
		t.Errorf("image user %q, workdir %q; want 65532:65532 and /data", img.Config.User, img.Config.WorkingDir)
	}

	code, got := runImage(t, pool, image, "version", "--verbose")
	m := regexp.MustCompile(`tls trust roots: (\d+) \((.*)\)`).FindStringSubmatch(got)
	if code != 0 || m == nil {
		t.Fatalf("mms version --verbose: exit %d\n%s", code, got)
	}
	if n, _ := strconv.Atoi(m[1]); n < 100 || !strings.Contains(m[2], "x509roots/fallback") {
		t.Errorf("trust roots in the image: %s from %q; want the embedded bundle (> 100 roots)", m[1], m[2])
	}
	if !strings.Contains(got, "embedded temporal server: false") {
		t.Errorf("the runtime image should carry the slim binary:\n%s", got)
	}

	// Writing /data as 65532: the service database is created there.
	code, got = runImage(t, pool, image, "token", "create", "--database", "/data/mms.db", "--name", "probe", "--role", "operator")
	if code != 0 || len(strings.TrimSpace(got)) < 20 {
		t.Fatalf("mms token create in /data: exit %d\n%s", code, got)
	}
	// And not the root file system: the user is not root.
	code, got = runImage(t, pool, image, "token", "create", "--database", "/mms.db", "--name", "probe", "--role", "operator")
	if code == 0 {
		t.Errorf("writing / succeeded: the image runs as a user that may write the root directory\n%s", got)
	}
}
