package remote_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
	"github.com/hookrun/hookrun/internal/waittest"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // nil: an error
	}{
		{"id -u", []string{"id", "-u"}},
		{"'cat' '--' '/h/a b/x.log'", []string{"cat", "--", "/h/a b/x.log"}},
		{`git-receive-pack '/h/it'\''s.git'`, []string{"git-receive-pack", "/h/it's.git"}},
		{`'a'\!'b'`, []string{"a!b"}},
		{"''", []string{""}},
		{"tar -x -f - -C '/m/hookrun'", []string{"tar", "-x", "-f", "-", "-C", "/m/hookrun"}},
		{"", nil},
		{"id  -u", nil},
		{"id ", nil},
		{" id", nil},
		{"id; sh", nil},
		{"id|sh", nil},
		{"echo $HOME", nil},
		{"echo `id`", nil},
		{`echo "x"`, nil},
		{"cat /etc/*", nil},
		{"cat ~/x", nil},
		{"cat x>y", nil},
		{"a\nb", nil},
		{"'unterminated", nil},
		{`a\b`, nil},
	} {
		got, err := remote.Words(tc.line)
		if tc.want == nil {
			if err == nil {
				t.Errorf("Words(%q) = %q, want an error", tc.line, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

// FuzzWords: no line panics Words, and what it accepts it reads back the
// same once quoted as hookrun quotes (job.QuoteArgs).
func FuzzWords(f *testing.F) {
	for _, s := range []string{"id -u", "'a'\\''b' c", "tar -x -f - -C '/m/hookrun'", "a;b", "'x", "\\!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		w, err := remote.Words(line)
		if err != nil {
			return
		}
		back, err := remote.Words(job.QuoteArgs(w))
		if err != nil || !slices.Equal(back, w) {
			t.Fatalf("Words(%q) = %q, but Words(QuoteArgs) = %q, %v", line, w, back, err)
		}
	})
}

// TestGateSavesOnlyPlans: the gate writes a SavePlans stream's plans and
// states into the mirror, and refuses any other member (a path out of the
// directory, a symlink), writing nothing for it.
func TestGateSavesOnlyPlans(t *testing.T) {
	home := t.TempDir()
	m := filepath.Join(home, remote.MirrorsDir, "web.git")
	for _, d := range []string{"units", "state"} {
		if err := os.MkdirAll(filepath.Join(m, "hookrun", d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	planB, stateB := shipped(t, "u.service")
	content := map[string][]byte{"units/u.service.json": planB, "state/u.service.json": stateB}
	stream := func(hdrs ...*tar.Header) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			body := content[h.Name]
			if body == nil {
				body = []byte("{}")
			}
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(body))
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				tw.Write(body)
			}
		}
		tw.Close()
		return &b
	}
	line := remote.SavePlansLine(m)
	g := &remote.Gate{Home: home, UID: os.Getuid(), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	g.Stdin = stream(&tar.Header{Name: "units/u.service.json", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "state/u.service.json", Typeflag: tar.TypeReg, Mode: 0o600})
	if err := g.Run(line); err != nil {
		t.Fatalf("gate refused a SavePlans stream: %v", err)
	}
	for p, want := range content {
		if b, err := os.ReadFile(filepath.Join(m, "hookrun", p)); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	for _, h := range []*tar.Header{
		{Name: "units/../../../../evil.json", Typeflag: tar.TypeReg},
		{Name: "../evil.json", Typeflag: tar.TypeReg},
		{Name: "units/evil.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "hooks/post-receive", Typeflag: tar.TypeReg},
		{Name: "units/.hidden.json", Typeflag: tar.TypeReg},
	} {
		g.Stdin = stream(h)
		if err := g.Run(line); !errors.Is(err, remote.ErrRefused) {
			t.Errorf("member %q (type %c): %v, want refused", h.Name, h.Typeflag, err)
		}
	}
	var found []string
	filepath.Walk(home, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			found = append(found, strings.TrimPrefix(p, home))
		}
		return nil
	})
	if len(found) != 2 {
		t.Errorf("files under the home after refused streams: %q, want only the two plans", found)
	}
}

// shipped is what SavePlans ships for unit name: its plan and first state.
func shipped(t *testing.T, name string) (planB, stateB []byte) {
	t.Helper()
	u := &plan.Unit{Name: name, Repo: "web", Job: "build", RepoPath: "/m/web.git"}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := unit.ShippedState(u, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n'), st
}

// TestGateSavesStatesUnderTheUnitsLock: the gate writes a shipped state
// through internal/unit, under the unit's state lock, so a write of the
// host's own store (here Store.Update, holding that lock) cannot
// interleave with it: the gate waits for the lock, and then leaves the
// state that moved on as it is.
func TestGateSavesStatesUnderTheUnitsLock(t *testing.T) {
	home := t.TempDir()
	m := filepath.Join(home, remote.MirrorsDir, "web.git")
	const name = "u.service"
	planB, stateB := shipped(t, name)
	ship := func() error {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, f := range []struct {
			name string
			body []byte
		}{{"state/" + name + ".json", stateB}, {"units/" + name + ".json", planB}} {
			tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(f.body))})
			tw.Write(f.body)
		}
		tw.Close()
		g := &remote.Gate{Home: home, UID: os.Getuid(), Stdin: &b, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
		return g.Run(remote.SavePlansLine(m))
	}
	for _, d := range []string{layout.PlansDir(m), layout.StatesDir(m)} { // as the gate's preparation leaves them
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := ship(); err != nil {
		t.Fatalf("first ship: %v", err)
	}
	fi, err := os.Stat(layout.Plan(m, name))
	if err != nil {
		t.Fatal(err)
	}
	ino := fmt.Sprintf(":%d ", fi.Sys().(*syscall.Stat_t).Ino)
	store := unit.Open(m)
	done := make(chan error, 1)
	err = store.Update(name, func(st *unit.State) {
		// The state lock is held: ship the unit again (a push's second
		// SavePlans) and see the gate wait for the lock.
		go func() { done <- ship() }()
		returned := false
		waittest.Until(t, 30*time.Second, "the gate to wait for the unit's state lock", func() (bool, string) {
			select {
			case err := <-done:
				returned = true
				return true, fmt.Sprintf("the gate returned (%v)", err)
			default:
			}
			b, err := os.ReadFile("/proc/locks")
			if err != nil {
				t.Fatalf("cannot see the locks: %v", err)
			}
			for line := range strings.Lines(string(b)) {
				if strings.Contains(line, "->") && strings.Contains(line, ino) {
					return true, line
				}
			}
			return false, "no waiter on the plan in /proc/locks"
		})
		if returned {
			t.Fatal("the gate wrote the shipped state while the unit's state lock was held")
		}
		st.Delivery = &unit.Delivery{Status: outcome.Pending, At: time.Unix(1700000001, 0)}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second ship: %v", err)
	}
	st, err := store.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivery == nil || st.Phase != unit.Started {
		t.Errorf("state after the gate: phase %s, delivery %v; want the update made under the lock kept", st.Phase, st.Delivery)
	}
}

// TestGateReadsOnlyHistoryAndLogs: `cat --` reads a mirror's history and
// its unit logs, as layout names them, and nothing else.
func TestGateReadsOnlyHistoryAndLogs(t *testing.T) {
	home := t.TempDir()
	m := filepath.Join(home, remote.MirrorsDir, "web.git")
	for _, d := range []string{layout.LogsDir(m), layout.StatesDir(m)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{layout.History(m), layout.Log(m, "u.service"), layout.State(m, "u.service"), filepath.Join(layout.LogsDir(m), "x.txt")} {
		if err := os.WriteFile(p, []byte("data\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{layout.History(m), true},
		{layout.Log(m, "u.service"), true},
		{layout.State(m, "u.service"), false},
		{filepath.Join(layout.LogsDir(m), "x.txt"), false},
		{layout.LogsDir(m) + "/../history.jsonl", false},
		{layout.LogsDir(m) + "//u.service.log", false},
		{layout.Log(filepath.Join(home, remote.MirrorsDir, "web"), "u.service"), false},
		{filepath.Join(home, "elsewhere.git", layout.DirName, "history.jsonl"), false},
	} {
		var out bytes.Buffer
		g := &remote.Gate{Home: home, UID: os.Getuid(), Stdout: &out, Stderr: &bytes.Buffer{}}
		err := g.Run("cat -- " + job.Quote(tt.path))
		switch {
		case tt.ok && (err != nil || out.String() != "data\n"):
			t.Errorf("cat %s: %v, %q; want it read", tt.path, err, out.String())
		case !tt.ok && !errors.Is(err, remote.ErrRefused):
			t.Errorf("cat %s: %v, %q; want refused", tt.path, err, out.String())
		}
	}
}
