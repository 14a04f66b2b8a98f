package runner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"

	"github.com/hookrun/hookrun/internal/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

func intp(i int) *int { return &i }

// fullUnit has every setting Properties maps.
func fullUnit() *plan.Unit {
	return &plan.Unit{
		Version:  plan.Version,
		Name:     "git-site-web-20261122-101500-3f9a1c07.service",
		Job:      "site",
		Type:     "gitmal",
		Repo:     "web",
		RepoPath: "/srv/git/web.git",
		Refs:     []plan.Ref{{Ref: "refs/heads/main", Branch: "main", Old: "0000000", New: "1234567890abcdef"}},
		Env:      []string{"HOOKRUN_REPO=web", "HOOKRUN_JOB=site", "HOOKRUN_REF=refs/heads/main", "HOOKRUN_ACTIVE=1"},
		Dir:      "/srv/www",
		Limits: plan.Limits{
			Timeout:     30 * time.Minute,
			CPUQuotaPct: 50,
			MemoryMax:   512 << 20,
			TasksMax:    100,
			Nice:        intp(10),
		},
		Runner:  "systemd",
		Manager: "user",
		User:    "git", // ignored: user manager
		Group:   "git",
		Sandbox: plan.Sandbox{
			NoNewPrivileges: true,
			PrivateTmp:      true,
			ProtectSystem:   "strict",
			ReadWritePaths:  []string{"/srv/www", "-/var/cache/site"},
		},
	}
}

func TestPropertiesGolden(t *testing.T) {
	const self = "/usr/local/bin/hookrun"
	cases := []struct {
		name     string
		unit     func() *plan.Unit
		planPath string
	}{
		{"full", fullUnit, "/srv/git/web.git/hookrun/units/git-site-web-20261122-101500-3f9a1c07.service.json"},
		{"minimal", func() *plan.Unit {
			return &plan.Unit{Job: "deploy", Repo: "api", RepoPath: "/srv/git/api.git"}
		}, "/srv/git/api.git/hookrun/units/x.json"},
		{"system_manager", func() *plan.Unit {
			u := fullUnit()
			u.Manager = "system"
			u.Sandbox = plan.Sandbox{}
			u.Limits = plan.Limits{MemoryMax: plan.Infinity, CPUQuotaPct: 200, Nice: intp(-5), Timeout: 1500 * time.Millisecond}
			return u
		}, "/srv/git/web.git/hookrun/units/u.json"},
		{"hostile", func() *plan.Unit {
			u := fullUnit()
			u.Dir = ""
			u.Refs = []plan.Ref{{Ref: "refs/heads/$(touch /tmp/pwned);'\"`x`${HOME}"}, {Ref: "refs/tags/v1"}, {Ref: "refs/heads/caf\xe9"}}
			u.Env = []string{"HOOKRUN_REF=refs/heads/caf\xe9", "A=$HOME %h"}
			return u
		}, "/srv/git/$HOME/${USER}/%h/units/a.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := renderProperties(Properties(tc.unit(), self, tc.planPath))
			golden := filepath.Join("testdata", "properties", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("properties differ from %s (-update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// renderProperties is one "Name signature value" line per property, with
// the value in GVariant text form (as `busctl` and `gdbus` print them).
func renderProperties(props []sd.Property) string {
	var b strings.Builder
	for _, p := range props {
		fmt.Fprintf(&b, "%s %s %s\n", p.Name, p.Value.Signature(), p.Value.String())
	}
	return b.String()
}

func TestPropertiesTypes(t *testing.T) {
	props := map[string]sd.Property{}
	for _, p := range Properties(fullUnit(), "/bin/hookrun", "/p.json") {
		if _, dup := props[p.Name]; dup {
			t.Errorf("property %s set twice", p.Name)
		}
		props[p.Name] = p
	}
	want := map[string]struct {
		sig   string
		value any
	}{
		"Description":        {"s", "hookrun site for web refs/heads/main"},
		"Type":               {"s", "exec"},
		"WorkingDirectory":   {"s", "/srv/www"},
		"RuntimeMaxUSec":     {"t", uint64(1800000000)},
		"CPUQuotaPerSecUSec": {"t", uint64(500000)},
		"MemoryMax":          {"t", uint64(536870912)},
		"TasksMax":           {"t", uint64(100)},
		"Nice":               {"i", int32(10)},
		"TimeoutStopUSec":    {"t", uint64(120000000)},
		"CollectMode":        {"s", "inactive-or-failed"},
		"SyslogIdentifier":   {"s", "hookrun"},
		"NoNewPrivileges":    {"b", true},
		"PrivateTmp":         {"b", true},
		"ProtectSystem":      {"s", "strict"},
		"ExecStart":          {"a(sasb)", nil},
		"ExecStopPost":       {"a(sasb)", nil},
		"Environment":        {"as", nil},
		"ReadWritePaths":     {"as", nil},
	}
	for name, w := range want {
		p, ok := props[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if sig := p.Value.Signature().String(); sig != w.sig {
			t.Errorf("%s: signature %s, want %s", name, sig, w.sig)
		}
		if w.value != nil && p.Value.Value() != w.value {
			t.Errorf("%s = %#v, want %#v", name, p.Value.Value(), w.value)
		}
	}
	for _, name := range []string{"User", "Group"} {
		if _, ok := props[name]; ok {
			t.Errorf("%s set for the user manager", name)
		}
	}
	for name, verb := range map[string]string{"ExecStart": "exec", "ExecStopPost": "notify"} {
		cmds := props[name].Value.Value().([]execCommand)
		if len(cmds) != 1 {
			t.Fatalf("%s: %d commands", name, len(cmds))
		}
		c := cmds[0]
		if c.IgnoreFailure {
			t.Errorf("%s: ignore-failure set: a failing job would count as success", name)
		}
		if c.Path != "/bin/hookrun" || strings.Join(c.Args, " ") != "/bin/hookrun "+verb+" /p.json" {
			t.Errorf("%s = %q %q", name, c.Path, c.Args)
		}
	}
}

func TestPropertiesEscapesDollar(t *testing.T) {
	u := &plan.Unit{Job: "j", Repo: "r", RepoPath: "/r"}
	cmd := Properties(u, "/opt/$bin/hookrun", "/x/${HOME}/$$/a.json")[2]
	if cmd.Name != "ExecStart" {
		t.Fatalf("property 2 is %s", cmd.Name)
	}
	c := cmd.Value.Value().([]execCommand)[0]
	if c.Path != "/opt/$bin/hookrun" {
		t.Errorf("path %q: the path is not expanded by systemd and must stay as is", c.Path)
	}
	want := []string{"/opt/$$bin/hookrun", "exec", "/x/$${HOME}/$$$$/a.json"}
	if strings.Join(c.Args, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv %q, want %q", c.Args, want)
	}
}

// TestEnvironmentOnlyForSync: a unit running hookrun exec gets its job's
// environment from the plan, so only the variables that identify it
// (Units) are a property of it; a unit RunSync runs the job's program
// itself and gets all of it.
func TestEnvironmentOnlyForSync(t *testing.T) {
	u := &plan.Unit{Job: "j", Repo: "r", RepoPath: "/r", Manager: "user",
		Env: []string{"HOOKRUN_ACTIVE=1", "HOOKRUN_REPO=r", "HOOKRUN_JOB=j", "HOOKRUN_REFS=a b c", "TOKEN=s\xffcret"}}
	envOf := func(props []sd.Property) []string {
		for _, p := range props {
			if p.Name == "Environment" {
				return p.Value.Value().([]string)
			}
		}
		return nil
	}
	if env, want := envOf(Properties(u, "/h", "/p")), []string{"HOOKRUN_REPO=r", "HOOKRUN_JOB=j"}; !slices.Equal(env, want) {
		t.Errorf("Properties Environment %q, want %q", env, want)
	}
	want := []string{"HOOKRUN_ACTIVE=1", "HOOKRUN_REPO=r", "HOOKRUN_JOB=j", "HOOKRUN_REFS=a b c", "TOKEN=s\uFFFDcret"}
	if env := envOf(SyncProperties(u, []string{"/bin/check"}, 3)); !slices.Equal(env, want) {
		t.Errorf("SyncProperties Environment %q, want %q", env, want)
	}
}

func TestPropertiesLimitsUnset(t *testing.T) {
	u := &plan.Unit{Job: "j", Repo: "r", RepoPath: "/r", Manager: "system"}
	for _, p := range Properties(u, "/h", "/p") {
		switch p.Name {
		case "RuntimeMaxUSec", "CPUQuotaPerSecUSec", "MemoryMax", "TasksMax", "Nice", "User", "Group",
			"Environment", "NoNewPrivileges", "PrivateTmp", "ProtectSystem", "ReadWritePaths":
			t.Errorf("%s set for a unit without it", p.Name)
		}
	}
}

func TestUsec(t *testing.T) {
	for d, want := range map[time.Duration]uint64{
		0: 0, time.Nanosecond: 1, time.Microsecond: 1, 1500 * time.Microsecond: 1500,
		time.Second: 1000000, 30 * time.Minute: 1800000000,
	} {
		if got := usec(d); got != want {
			t.Errorf("usec(%v) = %d, want %d", d, got, want)
		}
	}
}

// BenchmarkProperties: building one unit's D-Bus properties (per unit on
// the hook's hot path).
func BenchmarkProperties(b *testing.B) {
	u := fullUnit()
	b.ReportAllocs()
	for b.Loop() {
		if len(Properties(u, "/usr/local/bin/hookrun", "/srv/git/web.git/hookrun/units/x.json")) == 0 {
			b.Fatal("no properties")
		}
	}
}

// BenchmarkUnitName: one unique unit name.
func BenchmarkUnitName(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		UnitName("deploy-prod", "web", now)
	}
}
