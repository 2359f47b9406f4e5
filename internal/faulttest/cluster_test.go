package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// label marks every container and network the suite creates, so that a
// run can purge what an interrupted one left behind.
const label = "org.openmms.faulttest"

const (
	image    = "mms-faulttest"
	tenant   = "fault"
	azure    = "fault.onmicrosoft.com"
	appID    = "mms-faulttest"
	appKey   = "mms-faulttest-secret"
	targetID = "300200100" // the conference ID of SeedBulk's users' own profile: the block's target
)

var (
	poolOnce sync.Once
	pool     *dockertest.Pool
	poolErr  error
	imgOnce  sync.Once
	imgErr   error
)

// dockerPool returns the Docker pool, skipping the test when no engine is
// reachable, unless CI is set: then it fails.
func dockerPool(t *testing.T) *dockertest.Pool {
	t.Helper()
	poolOnce.Do(func() {
		pool, poolErr = dockertest.NewPool("")
		if poolErr == nil {
			poolErr = pool.Client.Ping()
		}
		if poolErr == nil {
			purge(pool)
		}
	})
	if poolErr != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Docker engine reachable (%v); the fault suite needs one (CI fails instead)", poolErr)
		}
		t.Fatalf("no Docker engine reachable under CI: %v", poolErr)
	}
	imgOnce.Do(func() { imgErr = buildImage(pool) })
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	return pool
}

// purge removes the containers and networks of earlier, interrupted runs.
func purge(p *dockertest.Pool) {
	cs, _ := p.Client.ListContainers(dc.ListContainersOptions{All: true,
		Filters: map[string][]string{"label": {label}}})
	for _, c := range cs {
		_ = p.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true})
	}
	ns, _ := p.Client.FilteredListNetworks(dc.NetworkFilterOpts{"label": {label: true}})
	for _, n := range ns {
		_ = p.Client.RemoveNetwork(n.ID)
	}
}

// buildImage builds the static mms binary and packs it FROM scratch.
func buildImage(p *dockertest.Pool) error {
	dir, err := os.MkdirTemp("", "mms-faulttest-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := repoRoot()
	if err != nil {
		return err
	}
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "mms"), "./cmd/mms")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/mms: %v\n%s", err, out)
	}
	df, err := os.ReadFile(filepath.Join(root, "deploy", "faulttest.Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	built := time.Since(start)
	var out bytes.Buffer
	if err := p.Client.BuildImage(dc.BuildImageOptions{Name: image + ":latest", ContextDir: dir, Dockerfile: "Dockerfile",
		OutputStream: &out, Labels: map[string]string{label: "1"}, RmTmpContainer: true, ForceRmTmpContainer: true}); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out.String())
	}
	fmt.Fprintf(os.Stderr, "faulttest: binary built in %s, image in %s\n", built.Round(time.Millisecond),
		(time.Since(start) - built).Round(time.Millisecond))
	return nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Size of a scenario's migration.
type Size struct {
	Users    int // organizers migrated
	Meetings int // future meetings each organizes
	Latency  time.Duration
	// FailureRate: the emulator's share of random 500/503 answers.
	FailureRate float64
}

// cluster is one scenario's deployment: a network, the Temporal container
// (its data on a bind mount of its own that survives restarts), three
// worker containers and two API replicas, each in its own container with
// nothing in common but the network: mms's state is in PostgreSQL on the
// host, and each container gets its own copy of the calendars file. The
// Graph emulator runs in the test process and PostgreSQL beside it, both
// served on the network's gateway address.
type cluster struct {
	t       *testing.T
	pool    *dockertest.Pool
	id      string
	net     *dockertest.Network
	gateway string
	baseDir string
	tempDir string
	pg      *pgServer
	dsn     string // the service database, as the containers reach it
	db      *store.DB
	token   string
	cal     []byte // the calendars file

	emu     *graphtest.Server
	emuHTTP *http.Server

	temporal *dockertest.Resource
	workers  []*dockertest.Resource
	apis     []*dockertest.Resource // the replicas
	api      *dockertest.Resource   // the replica the test talks to
	apiURL   string

	selected []string // organizers migrated
	control  string   // an organizer of the same tenant never migrated
	target   string   // the conference ID the migrated blocks must show
	before   map[string]graphtest.EventState
	perUser  map[string][]string // event IDs by organizer
	abandons bool                // the scenario makes the client give up on requests Graph still holds
	started  time.Time
}

func newCluster(t *testing.T, size Size) *cluster {
	t.Helper()
	p := dockerPool(t)
	c := &cluster{t: t, pool: p, id: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffffff), target: targetID}
	var err error
	c.net, err = p.CreateNetwork("mmsft-"+c.id, func(o *dc.CreateNetworkOptions) {
		o.Labels = map[string]string{label: "1"}
		o.Driver = "bridge"
	})
	if err != nil {
		t.Fatalf("network: %v", err)
	}
	t.Cleanup(func() { _ = p.RemoveNetwork(c.net) })
	if info, err := p.Client.NetworkInfo(c.net.Network.ID); err == nil {
		c.net.Network = info
	}
	if cfg := c.net.Network.IPAM.Config; len(cfg) > 0 {
		c.gateway = cfg[0].Gateway
	}
	var subnet string
	if cfg := c.net.Network.IPAM.Config; len(cfg) > 0 {
		subnet = cfg[0].Subnet
	}
	if c.gateway == "" || subnet == "" {
		t.Fatalf("network %s has no gateway or subnet", c.net.Network.Name)
	}
	c.baseDir = t.TempDir()
	c.tempDir = filepath.Join(c.baseDir, "temporal")
	if err := os.MkdirAll(c.tempDir, 0o777); err != nil {
		t.Fatal(err)
	}
	c.pg = startPostgres(t, c.gateway, subnet)
	// Pools of 5: 3 workers x 2 pools x 5 + 2 APIs x 5 = 40 connections at
	// most (docs/POSTGRESQL.md), well within the server's 200.
	c.dsn = c.pg.DSN(c.gateway, "mms") + "&pool_max_conns=5"
	ctx := context.Background()
	if c.db, err = store.Open(ctx, c.pg.DSN("127.0.0.1", "mms")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })
	if c.token, err = c.db.CreateToken(ctx, "faulttest", "", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	users, err := sandbox.SeedBulk(ctx, c.db, sandbox.BulkOptions{Tenant: tenant, Users: size.Users + 1, Meetings: size.Meetings}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.selected, c.control = users[:size.Users], users[size.Users]
	c.startEmulator(size)
	c.startTemporal()
	c.workers = []*dockertest.Resource{c.startWorker(1), c.startWorker(2), c.startWorker(3)}
	c.apis = []*dockertest.Resource{c.startAPI(1), c.startAPI(2)}
	for _, r := range []*dockertest.Resource{c.apis[1], c.apis[0]} { // both ready; the first talked to
		c.api = r
		c.refreshAPI()
	}
	return c
}

// startEmulator mirrors the seeded mailboxes into a Graph emulator served
// on the network's gateway, and writes the calendars file routing the
// tenant to it.
func (c *cluster) startEmulator(size Size) {
	t := c.t
	ln, err := net.Listen("tcp", net.JoinHostPort(c.gateway, "0"))
	if err != nil {
		t.Fatalf("emulator on the gateway %s: %v", c.gateway, err)
	}
	root := "http://" + ln.Addr().String()
	c.emu = graphtest.New(graphtest.Options{Latency: size.Latency, FailureRate: size.FailureRate, Seed: 42,
		BaseURL: graphtest.GraphURL(root)})
	c.emuHTTP = &http.Server{Handler: c.emu, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.emuHTTP.Serve(ln) }()
	t.Cleanup(func() { _ = c.emuHTTP.Close() })
	c.emu.AddApp(azure, appID, appKey)
	ctx := context.Background()
	sb := sandboxIn(t, c.db)
	c.before, c.perUser = map[string]graphtest.EventState{}, map[string][]string{}
	for _, u := range append(append([]string(nil), c.selected...), c.control) {
		mb, err := sb.Mailbox(ctx, tenant, u)
		if err != nil {
			t.Fatal(err)
		}
		c.emu.AddUser(azure, mb.Address, mb.DisplayName, !mb.Online)
		ms, err := sb.Meetings(ctx, tenant, mb.Address)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			id, err := c.emu.AddEvent(mb.Address, emulatorEvent(m))
			if err != nil {
				t.Fatal(err)
			}
			st, _ := c.emu.Event(id)
			c.before[id] = st
			c.perUser[u] = append(c.perUser[u], id)
		}
	}
	cal := map[string]any{"default": "none", "tenants": map[string]any{tenant: map[string]any{
		"backend": "graph", "graph": map[string]any{"azureTenantId": azure, "clientId": appID, "clientSecret": appKey,
			"baseUrl": graphtest.GraphURL(root), "tokenUrl": graphtest.TokenURL(root, azure)}}}}
	c.cal, _ = json.MarshalIndent(cal, "", "  ")
}

// ownDir is a directory for one container alone, holding its copy of the
// calendars file: the containers share no file.
func (c *cluster) ownDir(name string) string {
	dir := filepath.Join(c.baseDir, name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calendars.json"), c.cal, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return dir
}

func emulatorEvent(m calendar.Meeting) graphtest.Event {
	e := graphtest.Event{Subject: m.Subject, Organizer: m.Organizer, Start: m.Start, End: m.End, Body: m.Body,
		BodyType: m.BodyType}
	for _, a := range m.Attendees {
		e.Attendees = append(e.Attendees, graphtest.Attendee{Address: a.Address, Name: a.Name})
	}
	if om := m.OnlineMeeting; om != nil {
		e.IsOnlineMeeting, e.Provider, e.JoinURL, e.ConferenceID = true, om.Provider, om.JoinURL, om.ConferenceID
	}
	return e
}

// run starts a container of the mms image on the cluster's network.
func (c *cluster) run(name string, ports []string, mounts []string, env []string, cmd ...string) *dockertest.Resource {
	c.t.Helper()
	opts := &dockertest.RunOptions{Name: "mmsft-" + c.id + "-" + name, Hostname: name, Repository: image, Tag: "latest",
		Cmd: cmd, Env: env, Mounts: mounts, Networks: []*dockertest.Network{c.net},
		Labels: map[string]string{label: "1"}, User: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		ExposedPorts: ports}
	r, err := c.pool.RunWithOptions(opts, func(hc *dc.HostConfig) {
		hc.PublishAllPorts = false
		hc.PortBindings = map[dc.Port][]dc.PortBinding{}
		for _, p := range ports { // loopback only
			hc.PortBindings[dc.Port(p)] = []dc.PortBinding{{HostIP: "127.0.0.1", HostPort: ""}}
		}
		hc.RestartPolicy = dc.RestartPolicy{Name: "no"}
	})
	if err != nil {
		c.t.Fatalf("run %s: %v", name, err)
	}
	c.t.Cleanup(func() {
		if c.t.Failed() {
			c.t.Logf("--- logs of %s ---\n%s", name, c.logs(r, 40))
		}
		_ = c.pool.Purge(r)
	})
	return r
}

// logs returns a container's last n lines of output.
func (c *cluster) logs(r *dockertest.Resource, n int) string {
	var buf bytes.Buffer
	_ = c.pool.Client.Logs(dc.LogsOptions{Container: r.Container.ID, OutputStream: &buf, ErrorStream: &buf,
		Stdout: true, Stderr: true, Tail: fmt.Sprint(n)})
	return buf.String()
}

func (c *cluster) startTemporal() {
	c.temporal = c.run("temporal", []string{"7233/tcp"}, []string{c.tempDir + ":/data"}, nil,
		"temporal", "--data-dir", "/data", "--temporal-address", "0.0.0.0:7233", "--log-level", "warn")
	c.waitLog(c.temporal, "temporal ready", 1, time.Minute)
}

// waitLog waits until the container printed a line containing s n times.
func (c *cluster) waitLog(r *dockertest.Resource, s string, n int, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for strings.Count(c.logs(r, 10000), s) < n {
		if ct, err := c.pool.Client.InspectContainer(r.Container.ID); err == nil && !ct.State.Running {
			c.t.Fatalf("%s exited (%d) before printing %q:\n%s", r.Container.Name, ct.State.ExitCode, s, c.logs(r, 40))
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %q after %s:\n%s", r.Container.Name, s, within, c.logs(r, 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var clusterEnv = []string{"TEMPORAL_ADDRESS=temporal:7233", "TEMPORAL_NAMESPACE=default", "OTEL_SDK_DISABLED=true"}

func (c *cluster) startWorker(i int) *dockertest.Resource {
	name := fmt.Sprintf("worker%d", i)
	w := c.run(name, nil, []string{c.ownDir(name) + ":/conf"}, clusterEnv,
		"worker", "--database", c.dsn, "--calendars", "/conf/calendars.json", "--metrics-addr", "",
		"--log-level", "warn")
	return w
}

func (c *cluster) startAPI(i int) *dockertest.Resource {
	return c.run(fmt.Sprintf("api%d", i), []string{"8080/tcp"}, nil, clusterEnv,
		"api", "--database", c.dsn, "--addr", "0.0.0.0:8080", "--log-level", "warn")
}

// hostAddr is the loopback address a container's port is published on
// ("" while it has none: the port changes when the container restarts).
func (c *cluster) hostAddr(r *dockertest.Resource, port string) string {
	ct, err := c.pool.Client.InspectContainer(r.Container.ID)
	if err != nil || ct.NetworkSettings == nil {
		return ""
	}
	if b := ct.NetworkSettings.Ports[dc.Port(port)]; len(b) > 0 && b[0].HostPort != "" {
		return "127.0.0.1:" + b[0].HostPort
	}
	return ""
}

// refreshAPI reads the API's published port (it changes on restart) and
// waits for it to be ready.
func (c *cluster) refreshAPI() {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		if addr := c.hostAddr(c.api, "8080/tcp"); addr != "" {
			c.apiURL = "http://" + addr
			var resp *http.Response
			if resp, err = http.Get(c.apiURL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("api not ready: %v\n%s", err, c.logs(c.api, 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// do calls the API; a transport error is returned as status 0.
func (c *cluster) do(method, path string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.apiURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// startAll starts a migration of every selected organizer.
func (c *cluster) startAll() {
	c.t.Helper()
	c.started = time.Now()
	for _, u := range c.selected {
		if code, raw := c.do("POST", "/v1/tenants/"+tenant+"/migrations", map[string]any{"user": u}); code != 202 {
			c.t.Fatalf("start %s = %d %s", u, code, raw)
		}
	}
}

// writes is the number of successful PATCHes so far across all events.
func (c *cluster) writes() int {
	n := 0
	for _, u := range c.selected {
		for _, e := range c.emu.Events(u) {
			n += e.Writes
		}
	}
	return n
}

func (c *cluster) total() int { return len(c.selected) * len(c.perUser[c.selected[0]]) }

// waitWrites waits until at least n meetings were written (the fault then
// hits a migration in flight).
func (c *cluster) waitWrites(n int, within time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		w := c.writes()
		if w >= n {
			return w
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("only %d/%d meetings written after %s", w, n, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDone waits until every selected organizer's record is final.
func (c *cluster) waitDone(within time.Duration) map[string]api.MigrationDetail {
	c.t.Helper()
	deadline := time.Now().Add(within)
	out := map[string]api.MigrationDetail{}
	for _, u := range c.selected {
		for {
			code, raw := c.do("GET", "/v1/tenants/"+tenant+"/migrations/"+u, nil)
			var d api.MigrationDetail
			if code == 200 && json.Unmarshal(raw, &d) == nil &&
				(d.State == migration.StateSucceeded || d.State == migration.StateFailed) {
				out[u] = d
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("migration of %s not final after %s (%d/%d written): %d %.300s", u, within,
					c.writes(), c.total(), code, raw)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return out
}

// sandboxIn opens the sandbox back end in db for the test's duration.
func sandboxIn(t testing.TB, db *store.DB) *sandbox.Backend {
	b, err := sandbox.In(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
