package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/systemdtest"
	"github.com/hookrun/hookrun/internal/waittest"
)

// These tests run units on a real systemd user manager (see systemdtest).
// The units run this test binary (see helper_test.go) in place of hookrun.

type rig struct {
	m   *systemdtest.Manager
	s   *Systemd
	out string // where the helper writes its records
}

func newRig(t *testing.T) *rig {
	t.Helper()
	out := t.TempDir() // first: removed after the manager has stopped
	m := systemdtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := DialSystemd(ctx, "user", m.Getenv)
	if err != nil {
		t.Fatalf("DialSystemd: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	s.Self = testBinary(t)
	return &rig{m: m, s: s, out: out}
}

// unit is a plan.Unit for the helper; env adds HOOKRUN_TEST_HELPER_* settings.
func (r *rig) unit(job string, now time.Time, env ...string) *plan.Unit {
	name := UnitName(job, "web", now)
	return &plan.Unit{
		Version:  plan.Version,
		Name:     name,
		Job:      job,
		Repo:     "web",
		RepoPath: r.out,
		Refs:     []plan.Ref{{Ref: "refs/heads/main"}},
		Manager:  "user",
		Env: append([]string{
			"HOOKRUN_UNIT=" + name, "HOOKRUN_JOB=" + job, "HOOKRUN_REPO=web",
			helperOutEnv + "=" + r.out,
		}, env...),
	}
}

func (r *rig) start(t *testing.T, u *plan.Unit, planPath string) {
	t.Helper()
	writePlan(t, u, planPath)
	if err := r.s.Start(context.Background(), u, planPath); err != nil {
		t.Fatalf("Start %s: %v", u.Name, err)
	}
}

func TestSystemdStartAndReadBack(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	u := r.unit("site", time.Now(), helperSleepEnv+"=60s")
	u.Dir = t.TempDir()
	u.Limits = plan.Limits{Timeout: 10 * time.Minute, CPUQuotaPct: 50, MemoryMax: 512 << 20, TasksMax: 64, Nice: intp(5)}
	// systemd must pass $ and % through literally.
	planPath := filepath.Join(r.out, "units", "$HOME ${USER} $$ %h", u.Name+".json")
	r.start(t, u, planPath)

	rec := waitRecord(t, r.out, u.Name, "exec", 10*time.Second)
	if want := []string{r.s.Self, "exec", planPath}; !slices.Equal(rec.Args, want) {
		t.Errorf("ExecStart argv = %q, want %q", rec.Args, want)
	}
	if rec.Dir != u.Dir {
		t.Errorf("working directory %q, want %q", rec.Dir, u.Dir)
	}
	for _, kv := range u.Env {
		if !slices.Contains(rec.Env, kv) {
			t.Errorf("job environment lacks %s", kv)
		}
	}

	props, err := r.s.UnitProperties(ctx, u.Name, "Service")
	if err != nil {
		t.Fatalf("UnitProperties: %v", err)
	}
	for name, want := range map[string]any{
		"MemoryMax":          uint64(536870912),
		"CPUQuotaPerSecUSec": uint64(500000),
		"RuntimeMaxUSec":     uint64(600000000),
		"TasksMax":           uint64(64),
		"Nice":               int32(5),
		"TimeoutStopUSec":    uint64(StopTimeout / time.Microsecond),
		"Type":               "exec",
		"WorkingDirectory":   u.Dir,
		"SyslogIdentifier":   "hookrun",
	} {
		if got := props[name]; got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	// The job's environment reaches it through the plan (hookrun exec);
	// the unit carries only what identifies it (Units).
	env, _ := props["Environment"].([]string)
	var want []string
	for _, kv := range u.Env {
		if k, _, _ := strings.Cut(kv, "="); slices.Contains(identityVars, k) {
			want = append(want, kv)
		}
	}
	if !slices.Equal(env, want) {
		t.Errorf("Environment = %q, want only the identity %q", env, want)
	}
	// ExecStart reads back as a(sasbttttuii): path, argv, ignore-failure, ...
	if es, ok := props["ExecStart"].([][]any); !ok || len(es) != 1 || es[0][2] != false {
		t.Errorf("ExecStart = %#v: want one command with ignore-failure false", props["ExecStart"])
	}
	unitProps, err := r.s.UnitProperties(ctx, u.Name, "Unit")
	if err != nil {
		t.Fatalf("UnitProperties(Unit): %v", err)
	}
	if unitProps["ActiveState"] != "active" || unitProps["Description"] != "hookrun site for web refs/heads/main" ||
		unitProps["CollectMode"] != "inactive-or-failed" {
		t.Errorf("ActiveState %v, Description %q, CollectMode %v", unitProps["ActiveState"], unitProps["Description"], unitProps["CollectMode"])
	}
	// Units lists it (ListUnitsByPatterns decoded into go-systemd's
	// UnitStatus by the raw connection), with what its environment says.
	units, err := r.s.Units(ctx)
	if err != nil {
		t.Fatalf("Units: %v", err)
	}
	found := false
	for _, lu := range units {
		if lu.Name == u.Name {
			found = true
			if lu.Job != "site" || lu.Repo != "web" || lu.State != "active/running" || lu.Start.IsZero() {
				t.Errorf("Units: %+v", lu)
			}
		}
	}
	if !found {
		t.Errorf("Units: %s not among %+v", u.Name, units)
	}

	if err := r.s.StopUnit(ctx, u.Name); err != nil {
		t.Fatalf("StopUnit: %v", err)
	}
	post := waitRecord(t, r.out, u.Name, "notify", 10*time.Second)
	if want := []string{r.s.Self, "notify", planPath}; !slices.Equal(post.Args, want) {
		t.Errorf("ExecStopPost argv = %q, want %q", post.Args, want)
	}
	res, _ := post.getenv("SERVICE_RESULT")
	code, _ := post.getenv("EXIT_CODE")
	status, _ := post.getenv("EXIT_STATUS")
	t.Logf("stopped: SERVICE_RESULT=%s EXIT_CODE=%s EXIT_STATUS=%s", res, code, status)
	if res != "success" || code != "killed" || status != "TERM" {
		t.Errorf("stopped unit: SERVICE_RESULT=%s EXIT_CODE=%s EXIT_STATUS=%s, want success killed TERM", res, code, status)
	}

	// Collected once inactive (CollectMode): the name is free again.
	waitGone(t, r.s, u.Name)
	if err := r.s.StopUnit(ctx, u.Name); !errors.Is(err, ErrNoSuchUnit) {
		t.Errorf("StopUnit of a collected unit: %v, want ErrNoSuchUnit", err)
	}
}

// waitGone waits until the manager has unloaded name.
func waitGone(t *testing.T, s *Systemd, name string) {
	t.Helper()
	waittest.Until(t, 10*time.Second, name+" to be unloaded", func() (bool, string) {
		p, err := s.UnitProperties(context.Background(), name, "Unit")
		if err != nil {
			t.Fatalf("UnitProperties: %v", err)
		}
		return p["LoadState"] == "not-found", fmt.Sprintf("LoadState %v, ActiveState %v", p["LoadState"], p["ActiveState"])
	})
}

// outcome starts a unit and returns what its ExecStopPost saw.
func outcome(t *testing.T, r *rig, u *plan.Unit) (result, code, status string) {
	t.Helper()
	r.start(t, u, filepath.Join(r.out, u.Name+".json"))
	post := waitRecord(t, r.out, u.Name, "notify", 20*time.Second)
	result, _ = post.getenv("SERVICE_RESULT")
	code, _ = post.getenv("EXIT_CODE")
	status, _ = post.getenv("EXIT_STATUS")
	return
}

func TestSystemdOutcomes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	cases := []struct {
		name              string
		env               []string
		timeout           time.Duration
		result, code, sts string
	}{
		{"success", nil, 0, "success", "exited", "0"},
		// A failing job fails the unit: not ignored (ExecStart ignore-failure false).
		{"exit7", []string{helperExitEnv + "=7"}, 0, "exit-code", "exited", "7"},
		{"timeout", []string{helperSleepEnv + "=60s"}, 300 * time.Millisecond, "timeout", "killed", "TERM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := r.unit(tc.name, time.Now(), tc.env...)
			u.Limits.Timeout = tc.timeout
			start := time.Now()
			res, code, sts := outcome(t, r, u)
			t.Logf("SERVICE_RESULT=%s EXIT_CODE=%s EXIT_STATUS=%s after %v", res, code, sts, time.Since(start).Round(time.Millisecond))
			if res != tc.result || code != tc.code || sts != tc.sts {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", res, code, sts, tc.result, tc.code, tc.sts)
			}
		})
	}
}

func TestSystemdSandbox(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	u := r.unit("sandboxed", time.Now())
	u.Sandbox = plan.Sandbox{NoNewPrivileges: true, ProtectSystem: "strict", ReadWritePaths: []string{r.out}}
	if res, code, sts := outcome(t, r, u); res != "success" {
		t.Errorf("sandboxed unit: %s/%s/%s, want success", res, code, sts)
	}
}

func TestSystemdManyUnitsInOneSecond(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const n = 50
	now := time.Now()
	names := map[string]bool{}
	var units []*plan.Unit
	for i := 0; i < n; i++ {
		u := r.unit("burst", now)
		if names[u.Name] {
			t.Fatalf("duplicate unit name %s", u.Name)
		}
		names[u.Name] = true
		units = append(units, u)
	}
	start := time.Now()
	for _, u := range units {
		r.start(t, u, filepath.Join(r.out, u.Name+".json"))
	}
	elapsed := time.Since(start)
	t.Logf("%d units started over one connection in %v (%v per unit)", n, elapsed, elapsed/n)
	for _, u := range units {
		waitRecord(t, r.out, u.Name, "exec", 20*time.Second)
		waitRecord(t, r.out, u.Name, "notify", 20*time.Second)
	}
}

func TestSystemdUnitExists(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	u := r.unit("dup", time.Now(), helperSleepEnv+"=60s")
	r.start(t, u, filepath.Join(r.out, "a.json"))
	err := r.s.Start(context.Background(), u, filepath.Join(r.out, "b.json"))
	if !errors.Is(err, ErrUnitExists) {
		t.Fatalf("second Start: %v, want ErrUnitExists", err)
	}
	t.Logf("second Start: %v", err)
	if err := r.s.StopUnit(context.Background(), u.Name); err != nil {
		t.Fatal(err)
	}
}

func TestSystemdWrongManager(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	u := r.unit("sys", time.Now())
	u.Manager = "system"
	if err := r.s.Start(context.Background(), u, "/p.json"); err == nil || !strings.Contains(err.Error(), "system manager") {
		t.Errorf("Start of a system-manager unit on the user manager: %v", err)
	}
}

func TestSystemdCloseTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	// A start after Close is an error, not a panic.
	if err := r.s.Start(context.Background(), r.unit("closed", time.Now()), "/p.json"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Start after Close: %v, want an error saying the connection is closed", err)
	}
}

// TestSystemdDialOnce checks that DialSystemd opens a single socket to the
// manager, and measures it against go-systemd's NewConnection, which dials
// twice. Not parallel: it counts this process's sockets, and its timings
// should not include other tests' load.
func TestSystemdDialOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	before := sockets(t)
	s, err := DialSystemd(ctx, "user", r.m.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	after := sockets(t)
	s.Close()
	if after-before != 1 {
		t.Errorf("DialSystemd opened %d sockets, want 1", after-before)
	}
	if closed := sockets(t); closed != before {
		t.Errorf("%d sockets open after Close, want %d", closed, before)
	}

	const rounds = 20
	var ours, theirs, startOne time.Duration
	for i := 0; i < rounds; i++ {
		t0 := time.Now()
		s, err := DialSystemd(ctx, "user", r.m.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		ours += time.Since(t0)
		s.Self = testBinary(t)
		u := r.unit("timing", time.Now())
		writePlan(t, u, filepath.Join(r.out, u.Name+".json"))
		t1 := time.Now()
		if err := s.Start(ctx, u, filepath.Join(r.out, u.Name+".json")); err != nil {
			t.Fatal(err)
		}
		startOne += time.Since(t1)
		s.Close()

		t0 = time.Now()
		c, err := sd.NewConnection(func() (*godbus.Conn, error) {
			c, _, err := dialEndpoint(ctx, privateSocket(filepath.Join(r.m.RuntimeDir, "systemd", "private")), nil)
			return c, err
		})
		if err != nil {
			t.Fatal(err)
		}
		theirs += time.Since(t0)
		c.Close()
	}
	t.Logf("dial: DialSystemd %v, go-systemd NewConnection (two sockets) %v; first StartTransientUnit %v (averages of %d)",
		ours/rounds, theirs/rounds, startOne/rounds, rounds)
}

// sockets counts this process's open sockets.
func sockets(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count sockets: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func TestSystemdStartAll(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	now := time.Now()
	var units []*plan.Unit
	var paths []string
	for _, job := range []string{"first", "second", "third"} {
		u := r.unit(job, now)
		p := filepath.Join(r.out, u.Name+".json")
		writePlan(t, u, p)
		units, paths = append(units, u), append(paths, p)
	}
	if err := r.s.StartAll(context.Background(), units, paths); err != nil {
		t.Fatalf("StartAll: %v", err)
	}
	for _, u := range units {
		waitRecord(t, r.out, u.Name, "exec", 20*time.Second)
		post := waitRecord(t, r.out, u.Name, "notify", 20*time.Second)
		if res, _ := post.getenv("SERVICE_RESULT"); res != "success" {
			t.Errorf("%s: SERVICE_RESULT=%s, want success", u.Name, res)
		}
	}
	// Once the first is collected, nothing keeps the others.
	for _, u := range units {
		waitGone(t, r.s, u.Name)
	}
}

// A call the manager refuses starts none of its units and leaves none
// loaded: each can then be started alone under its own name.
func TestSystemdStartAllRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	now := time.Now()
	taken := r.unit("taken", now, helperSleepEnv+"=60s")
	r.start(t, taken, filepath.Join(r.out, "taken.json"))
	waitRecord(t, r.out, taken.Name, "exec", 20*time.Second)
	a, c := r.unit("a", now), r.unit("c", now)
	units := []*plan.Unit{a, taken, c}
	var paths []string
	for _, u := range units {
		p := filepath.Join(r.out, u.Name+".again.json")
		writePlan(t, u, p)
		paths = append(paths, p)
	}
	err := r.s.StartAll(context.Background(), units, paths)
	if !errors.Is(err, ErrUnitExists) || !Answered(err) {
		t.Fatalf("StartAll with a name taken: %v, want ErrUnitExists, answered", err)
	}
	t.Logf("StartAll: %v", err)
	for _, u := range []*plan.Unit{a, c} {
		p, err := r.s.UnitProperties(context.Background(), u.Name, "Unit")
		if err != nil {
			t.Fatal(err)
		}
		if p["LoadState"] != "not-found" || p["ActiveState"] != "inactive" {
			t.Errorf("%s after the refused call: LoadState %v, ActiveState %v, Job %v; want not-found, inactive",
				u.Name, p["LoadState"], p["ActiveState"], p["Job"])
		}
		if err := r.s.Start(context.Background(), u, filepath.Join(r.out, u.Name+".again.json")); err != nil {
			t.Errorf("Start %s alone after the refused call: %v", u.Name, err)
		}
		waitRecord(t, r.out, u.Name, "notify", 20*time.Second)
	}
	if err := r.s.StopUnit(context.Background(), taken.Name); err != nil {
		t.Fatal(err)
	}
}
