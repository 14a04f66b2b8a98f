package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/waittest"
)

// gitmalSetup is a site output in a fresh parent directory and a unit
// running the stand-in gitmal into it.
type gitmalSetup struct {
	parent, out, rec string
	u                *plan.Unit
}

func newGitmalSetup(t *testing.T) *gitmalSetup {
	t.Helper()
	tmp := t.TempDir()
	g := &gitmalSetup{
		parent: filepath.Join(tmp, "www", "git"), // does not exist yet
		rec:    filepath.Join(tmp, "rec.json"),
	}
	g.out = filepath.Join(g.parent, "repo")
	repo := filepath.Join(tmp, "repo.git")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	g.u = &plan.Unit{
		Version: plan.Version, Name: "git-site-repo.service", Job: "site", Type: plan.TypeGitmal,
		Repo: "repo", RepoPath: repo,
		Env: []string{testPath(), "HOOKRUN_TEST_RECORD=" + g.rec},
		Steps: []plan.Step{{
			Name: "site", Type: plan.TypeGitmal, Output: g.out,
			Argv: []string{"gitmal", "--theme", "github-dark", "--output", g.out, "--name", "repo", "--minify", repo},
		}},
	}
	return g
}

// build runs the unit with the stand-in writing index.html (content) and
// files.
func (g *gitmalSetup) build(content string, exit int, files ...string) error {
	g.u.Steps[0].Env = []string{
		"HOOKRUN_TEST_CONTENT=" + content,
		"HOOKRUN_TEST_FILES=" + strings.Join(files, ","),
		"HOOKRUN_TEST_EXIT=" + string(rune('0'+exit)),
	}
	return Run(context.Background(), g.u, &bytes.Buffer{}, &bytes.Buffer{})
}

// site lists the files of the published site, with index.html's content.
func (g *gitmalSetup) site(t *testing.T) (files []string, index string) {
	t.Helper()
	err := filepath.WalkDir(g.out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(g.out, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(g.out, "index.html"))
	return files, string(b)
}

// noLeftovers fails when a fresh or old directory remains beside the site.
func (g *gitmalSetup) noLeftovers(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(g.parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".hookrun-new-") || strings.Contains(e.Name(), ".hookrun-old-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestGitmalArgvAndEnvironment(t *testing.T) {
	t.Setenv("GIT_DIR", ".") // as in a post-receive hook
	t.Setenv("GIT_PUSH_OPTION_COUNT", "0")
	g := newGitmalSetup(t)
	if err := g.build("v1", 0, "a.html"); err != nil {
		t.Fatal(err)
	}
	r := readRecord(t, g.rec)
	want := slices.Clone(g.u.Steps[0].Argv)
	fresh := r.Args[4]
	want[4] = fresh
	if !slices.Equal(r.Args, want) {
		t.Errorf("gitmal argv\n%q\nwant (with a fresh --output)\n%q", r.Args, want)
	}
	if filepath.Dir(fresh) != g.parent || !strings.HasPrefix(filepath.Base(fresh), "repo.hookrun-new-") {
		t.Errorf("--output %s is not a fresh directory beside %s", fresh, g.out)
	}
	if !r.OutputEmpty {
		t.Error("gitmal's --output was not an empty directory")
	}
	if r.Dir != g.u.RepoPath {
		t.Errorf("gitmal ran in %s, want the repository %s", r.Dir, g.u.RepoPath)
	}
	guard := 0
	for _, kv := range r.Env {
		if strings.HasPrefix(kv, "GIT_") {
			t.Errorf("gitmal's environment has %s", kv)
		}
		if kv == "HOOKRUN_ACTIVE=1" {
			guard++
		}
	}
	if guard != 1 {
		t.Errorf("HOOKRUN_ACTIVE=1 appears %d times in gitmal's environment", guard)
	}
	if files, index := g.site(t); index != "v1" || !slices.Equal(files, []string{"a.html", "index.html"}) {
		t.Errorf("site %q (index %q), want a.html and index.html (v1)", files, index)
	}
	if fi, err := os.Stat(g.out); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("site directory mode %v (%v), want 0755 so a web server can read it", fi.Mode(), err)
	}
	g.noLeftovers(t)
}

func TestGitmalReplacesSite(t *testing.T) {
	for _, exchange := range []bool{true, false} {
		name := "rename-exchange"
		if !exchange {
			name = "two-renames"
		}
		t.Run(name, func(t *testing.T) {
			if !exchange {
				old := renameExchange
				renameExchange = func(a, b string) error { return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: syscall.EINVAL} }
				t.Cleanup(func() { renameExchange = old })
			}
			g := newGitmalSetup(t)
			if err := g.build("v1", 0, "a.html", "deleted/b.html"); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(g.out, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := g.build("v2", 0, "a.html"); err != nil {
				t.Fatal(err)
			}
			files, index := g.site(t)
			if index != "v2" || !slices.Equal(files, []string{"a.html", "index.html"}) {
				t.Errorf("site %q (index %q), want only a.html and index.html (v2): the deleted file's page must disappear", files, index)
			}
			if fi, _ := os.Stat(g.out); fi.Mode().Perm() != 0o750 {
				t.Errorf("site mode %v, want the previous site's 0750", fi.Mode().Perm())
			}
			g.noLeftovers(t)
		})
	}
}

// TestGitmalSwapIsAtomic reads the site continuously while it is rebuilt:
// with RENAME_EXCHANGE a reader never finds it missing or half-written.
func TestGitmalSwapIsAtomic(t *testing.T) {
	g := newGitmalSetup(t)
	if err := g.build("complete", 0, "a.html"); err != nil {
		t.Fatal(err)
	}
	probeA, probeB := filepath.Join(g.parent, "probe-a"), filepath.Join(g.parent, "probe-b")
	os.Mkdir(probeA, 0o755)
	os.Mkdir(probeB, 0o755)
	if err := renameExchange(probeA, probeB); err != nil {
		t.Skipf("this file system has no RENAME_EXCHANGE (%v); the fallback is tested elsewhere", err)
	}
	os.Remove(probeA)
	os.Remove(probeB)

	var stop atomic.Bool
	var bad atomic.Int64
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			b, err := os.ReadFile(filepath.Join(g.out, "index.html"))
			reads.Add(1)
			if err != nil || string(b) != "complete" {
				bad.Add(1)
			}
		}
	}()
	for range 8 {
		if err := g.build("complete", 0, "a.html"); err != nil {
			t.Error(err)
		}
		if err := g.build("complete", 3); err == nil { // dies half-way
			t.Error("a failing gitmal run succeeded")
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d reads found the site missing or half-written", n, reads.Load())
	}
	g.noLeftovers(t)
}

func TestGitmalFailureKeepsSite(t *testing.T) {
	g := newGitmalSetup(t)
	if err := g.build("v1", 0, "a.html"); err != nil {
		t.Fatal(err)
	}
	err := g.build("half-written", 3, "b.html")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || ee.Step != "site" {
		t.Fatalf("Run = %v, want *ExitError{Step: site, Code: 3}", err)
	}
	files, index := g.site(t)
	if index != "v1" || !slices.Equal(files, []string{"a.html", "index.html"}) {
		t.Errorf("after a failed run the site is %q (index %q), want the previous one", files, index)
	}
	g.noLeftovers(t)

	// Failure on the first build: no site at all, nothing left behind.
	g2 := newGitmalSetup(t)
	if err := g2.build("half-written", 2); err == nil {
		t.Fatal("a failing gitmal run succeeded")
	}
	if _, err := os.Stat(g2.out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed first build published %s (%v)", g2.out, err)
	}
	g2.noLeftovers(t)
}

func TestGitmalRemovesLeftovers(t *testing.T) {
	g := newGitmalSetup(t)
	if err := g.build("v1", 0); err != nil {
		t.Fatal(err)
	}
	// What a build killed with SIGKILL leaves behind.
	for _, d := range []string{"repo.hookrun-new-123", "repo.hookrun-old-456"} {
		if err := os.MkdirAll(filepath.Join(g.parent, d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(g.parent, "other.hookrun-new-1") // another site's: not ours to remove
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := g.build("v2", 0); err != nil {
		t.Fatal(err)
	}
	os.Remove(other)
	g.noLeftovers(t)
}

func TestGitmalWaitsForOtherBuild(t *testing.T) {
	g := newGitmalSetup(t)
	if err := os.MkdirAll(g.parent, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(g.parent, ".repo.hookrun-lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	g.u.Steps[0].Env = []string{"HOOKRUN_TEST_CONTENT=v1"}
	go func() { done <- Run(context.Background(), g.u, &bytes.Buffer{}, stderr) }()
	// Wait (with a deadline, no fixed sleep) until Run says it waits; it
	// must not have returned or started gitmal while we hold the lock.
	waiting := "hookrun: waiting for another build of " + g.out
	waittest.Until(t, 30*time.Second, "Run to say it waits for the lock", func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("Run did not wait for the lock (it returned %v); stderr %q", err, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), waiting), fmt.Sprintf("stderr %q", stderr.String())
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned while the lock was held: %v", err)
	default:
	}
	if _, err := os.Stat(g.rec); err == nil {
		t.Fatal("gitmal ran while another build held the site's lock")
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.rec); err != nil {
		t.Fatalf("gitmal did not run once the lock was free: %v", err)
	}

	// Cancelled while waiting.
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := Run(ctx, g.u, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want DeadlineExceeded", err)
	}
}

func TestGitmalPlanChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(g *gitmalSetup, s *plan.Step)
		msg  string
	}{
		{"preview themes", func(g *gitmalSetup, s *plan.Step) {
			s.Argv = append(s.Argv[:1:1], append([]string{"--preview-themes"}, s.Argv[1:]...)...)
		}, "refusing to run gitmal with --preview-themes"},
		{"preview themes with value", func(g *gitmalSetup, s *plan.Step) {
			s.Argv = append(s.Argv, "--preview-themes=true")
		}, "refusing to run gitmal with --preview-themes"},
		{"other output", func(g *gitmalSetup, s *plan.Step) { s.Argv[4] = "/srv/elsewhere" },
			`gitmal --output "/srv/elsewhere" is not the step's output`},
		{"no output", func(g *gitmalSetup, s *plan.Step) { s.Output = "" }, "gitmal step has no output directory"},
		{"output is a file", func(g *gitmalSetup, s *plan.Step) {
			os.MkdirAll(g.parent, 0o755)
			os.WriteFile(g.out, []byte("x"), 0o644)
		}, "exists and is not a directory"},
		{"output is a symlink", func(g *gitmalSetup, s *plan.Step) {
			os.MkdirAll(g.parent, 0o755)
			os.Symlink(g.parent, g.out)
		}, "exists and is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGitmalSetup(t)
			tc.edit(g, &g.u.Steps[0])
			err := Run(context.Background(), g.u, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Run = %v, want an error saying %q", err, tc.msg)
			}
			if _, err := os.Stat(g.rec); err == nil {
				t.Error("gitmal ran anyway")
			}
		})
	}
}

func TestWithOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		want []string
	}{
		{"separate", []string{"gitmal", "--output", "/s/r", "."}, []string{"gitmal", "--output", "/F", "."}},
		{"equals", []string{"gitmal", "--output=/s/r/", "."}, []string{"gitmal", "--output=/F", "."}},
		{"absent", []string{"gitmal", "--theme", "vim", "."}, []string{"gitmal", "--output", "/F", "--theme", "vim", "."}},
		{"value of another flag", []string{"gitmal", "--name", "--output", "--output", "/s/r", "."},
			[]string{"gitmal", "--name", "--output", "--output", "/F", "."}},
		{"after --", []string{"gitmal", "--output", "/s/r", "--", "--output"}, []string{"gitmal", "--output", "/F", "--", "--output"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withOutput(tc.argv, "/s/r", "/s/r", "/F")
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("withOutput(%q) = %q, %v; want %q", tc.argv, got, err, tc.want)
			}
		})
	}
	if _, err := withOutput([]string{"gitmal", "--output"}, "/s/r", "/s/r", "/F"); err == nil {
		t.Error("withOutput accepted --output without a value")
	}
}

// TestRealGitmal generates the site of a real bare repository with the real
// gitmal (HOOKRUN_TEST_GITMAL, else gitmal on PATH; see internal/peertest).
func TestRealGitmal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := peertest.Gitmal(t)

	t.Setenv("GIT_DIR", ".") // as in a post-receive hook; must not reach gitmal
	src := newSourceRepo(t)
	src.commit(t, "first", map[string]string{"README.md": "# hello\n", "keep.txt": "keep\n", "gone.txt": "soon gone\n"})

	out := filepath.Join(t.TempDir(), "www", "repo")
	u := &plan.Unit{
		Version: plan.Version, Name: "git-site-repo.service", Job: "site", Type: plan.TypeGitmal,
		Repo: "repo", RepoPath: src.bare, Env: []string{"PATH=" + os.Getenv("PATH")},
		Steps: []plan.Step{{
			Name: "site", Type: plan.TypeGitmal, Output: out,
			Argv: []string{bin, "--theme", "github-dark", "--output", out, "--name", "repo", src.bare},
		}},
	}
	pages := func() []string {
		var ps []string
		filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				ps = append(ps, p)
			}
			return nil
		})
		return ps
	}
	mentions := func(ps []string, name string) bool {
		return slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(filepath.Base(p), name) })
	}
	var stderr bytes.Buffer
	if err := Run(context.Background(), u, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	ps := pages()
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		t.Fatalf("no index.html in the site (%v); files: %q", err, ps)
	}
	if !mentions(ps, "gone.txt") || !mentions(ps, "keep.txt") {
		t.Fatalf("the site has no pages for gone.txt and keep.txt: %q", ps)
	}

	src.commit(t, "remove gone.txt", map[string]string{"gone.txt": ""})
	stderr.Reset()
	if err := Run(context.Background(), u, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	ps = pages()
	if mentions(ps, "gone.txt") {
		t.Errorf("the page of the deleted gone.txt is still there: %q", ps)
	}
	if !mentions(ps, "keep.txt") {
		t.Errorf("keep.txt's page is missing: %q", ps)
	}

	// gitmal fails on an invalid theme: the site stays.
	u.Steps[0].Argv[2] = "github-light"
	if err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("gitmal accepted the theme github-light")
	}
	if !mentions(pages(), "keep.txt") {
		t.Error("a failed gitmal run damaged the site")
	}
}

func TestGitmalLastLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"No default branch found. Specify one using --default-branch flag.\n", "No default branch found. Specify one using --default-branch flag."},
		{"Default branch \"x\" not found.\nSpecify a valid branch using --default-branch flag.\n", "Default branch \"x\" not found. Specify a valid branch using --default-branch flag."},
		{"[1/3] blobs\r[2/3] blobs\r[3/3] blobs\rfatal: broken\n\n", "[3/3] blobs fatal: broken"},
		{"no newline at the end", "no newline at the end"},
		{strings.Repeat("x", 1000) + "\n", strings.Repeat("x", maxDetailBytes)},
		{"bell\a\n", `"bell\a"`},
	} {
		l := &lastLines{}
		for _, c := range []byte(tc.in) { // byte by byte: lines may span writes
			l.Write([]byte{c})
		}
		if got := l.String(); got != tc.want {
			t.Errorf("lastLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGitmalFailureDetail(t *testing.T) {
	g := newGitmalSetup(t)
	err := g.build("v1", 3)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || ee.Detail != "gitmal: gitmal: dying half-way" {
		t.Fatalf("Run = %#v, want exit 3 with gitmal's last line as the detail", err)
	}
	if !strings.Contains(err.Error(), "(gitmal: gitmal: dying half-way)") {
		t.Errorf("error %q does not carry the detail", err)
	}
}

func TestRedraws(t *testing.T) {
	for in, want := range map[string]string{
		"plain\nlines\n":                        "plain\nlines\n",
		"[#   ] 10%\r[##  ] 50%\r[####] 100%\n": "[####] 100%\n",
		"crlf\r\nline\r\n":                      "crlf\nline\n",
		"bar 1\rbar 2\rdone":                    "done",
		"bar 1\rbar 2\r":                        "",
		"a\n\rb\r\rc\nend":                      "a\nc\nend",
	} {
		var out strings.Builder
		r := &redraws{w: &out}
		// byte by byte and whole give the same
		for i := range len(in) {
			r.Write([]byte{in[i]})
		}
		r.flush()
		if out.String() != want {
			t.Errorf("redraws(%q) = %q, want %q", in, out.String(), want)
		}
	}
}
