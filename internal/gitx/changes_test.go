package gitx

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
)

// repo is a real git repository for the tests, with helpers that commit.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T, args ...string) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git(append([]string{"init", "-q", "-b", "main"}, args...)...)
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(CleanEnv(os.Environ()), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (name -> content; "" removes) and commits them.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, name)
		if content == "" {
			r.git("rm", "-q", "--", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		r.git("add", "--", name)
	}
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *repo) files(t *testing.T, ups ...match.RefUpdate) [][]string {
	t.Helper()
	got, err := Changes{GitDir: filepath.Join(r.dir, ".git")}.Files(ups)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ups) {
		t.Fatalf("%d answers for %d updates", len(got), len(ups))
	}
	return got
}

func zeros(sha string) string { return strings.Repeat("0", len(sha)) }

func checkFiles(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: files %q, want %q", what, got, want)
	}
}

func TestChangesUpdateForceEmptyRename(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("one", map[string]string{"README.md": "hi\n", "src/a.go": "package a\n"})
	c2 := r.commit("docs", map[string]string{"docs/index.md": "doc\n"})
	c3 := r.commit("empty", nil)
	r.git("mv", "src/a.go", "src/b.go")
	c4 := r.commit("rename", nil)
	r.git("checkout", "-q", "-b", "other", c1)
	c5 := r.commit("rewrite", map[string]string{"src/a.go": "package b\n", "README.md": ""})
	got := r.files(t,
		match.RefUpdate{Old: c1, New: c2, Name: "refs/heads/main"},
		match.RefUpdate{Old: c2, New: c3, Name: "refs/heads/empty"},
		match.RefUpdate{Old: c3, New: c4, Name: "refs/heads/renamed"},
		match.RefUpdate{Old: c4, New: c5, Name: "refs/heads/forced"}, // not a fast-forward
		match.RefUpdate{Old: c1, New: c2, Name: "refs/heads/same-range"},
		match.RefUpdate{Old: c5, New: zeros(c5), Name: "refs/heads/deleted"},
	)
	checkFiles(t, "update", got[0], []string{"docs/index.md"})
	checkFiles(t, "empty commit", got[1], nil)
	checkFiles(t, "rename", got[2], []string{"src/a.go", "src/b.go"})
	checkFiles(t, "force", got[3], []string{"README.md", "docs/index.md", "src/a.go", "src/b.go"})
	checkFiles(t, "same range twice", got[4], []string{"docs/index.md"})
	checkFiles(t, "delete", got[5], nil)
}

func TestChangesCreate(t *testing.T) {
	r := newRepo(t)
	base := r.commit("base", map[string]string{"README.md": "hi\n", "src/a.go": "package a\n"})
	r.git("checkout", "-q", "-b", "feature")
	f1 := r.commit("docs 1", map[string]string{"docs/a.md": "a\n"})
	f2 := r.commit("docs 2", map[string]string{"docs/b.md": "b\n"})
	r.git("checkout", "-q", "-b", "empty", "main")
	e := r.commit("nothing", nil)
	r.git("checkout", "-q", "-b", "merged", "main")
	m1 := r.commit("src", map[string]string{"src/c.go": "package c\n"})
	r.git("merge", "-q", "--no-edit", "feature")
	merge := r.git("rev-parse", "HEAD")
	r.git("tag", "old-tag", base)
	r.git("tag", "-a", "-m", "annotated", "new-tag", f2)
	annotated := r.git("rev-parse", "new-tag")
	_ = f1
	_ = m1

	// Pushed together: feature, empty, merged and the tags are new; the
	// repository had only main before.
	got := r.files(t,
		match.RefUpdate{Old: zeros(f2), New: f2, Name: "refs/heads/feature"},
		match.RefUpdate{Old: zeros(e), New: e, Name: "refs/heads/empty"},
		match.RefUpdate{Old: zeros(merge), New: merge, Name: "refs/heads/merged"},
		match.RefUpdate{Old: zeros(base), New: base, Name: "refs/tags/old-tag"},
		match.RefUpdate{Old: zeros(annotated), New: annotated, Name: "refs/tags/new-tag"},
	)
	checkFiles(t, "new branch with docs commits", got[0], []string{"docs/a.md", "docs/b.md"})
	checkFiles(t, "new branch with an empty commit", got[1], nil)
	// The merge brings its own commit and, since feature was not there
	// before this push either, feature's commits.
	checkFiles(t, "new branch with a merge", got[2], []string{"docs/a.md", "docs/b.md", "src/c.go"})
	checkFiles(t, "tag of an old commit", got[3], nil)
	checkFiles(t, "annotated tag of new commits", got[4], []string{"docs/a.md", "docs/b.md"})

	// Pushed alone, after feature already existed: the merge of an old
	// branch brings only its own commit.
	got = r.files(t, match.RefUpdate{Old: zeros(merge), New: merge, Name: "refs/heads/merged"})
	checkFiles(t, "merge of a branch already pushed", got[0], []string{"src/c.go"})
}

func TestChangesFirstPush(t *testing.T) {
	r := newRepo(t)
	c := r.commit("root", map[string]string{"a": "1\n", "d/b": "2\n"})
	got := r.files(t, match.RefUpdate{Old: zeros(c), New: c, Name: "refs/heads/main"})
	checkFiles(t, "first push", got[0], []string{"a", "d/b"})
}

func TestChangesBytes(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("one", map[string]string{"a": "1\n"})
	weird := []string{"docs/new\nline.md", "docs/caf\xe9.md", "docs/sp ace \"q\"\t.md", "docs/\\back"}
	files := map[string]string{}
	for _, w := range weird {
		files[w] = "x\n"
	}
	c2 := r.commit("weird", files)
	got := r.files(t, match.RefUpdate{Old: c1, New: c2, Name: "refs/heads/main"})
	want := slices.Sorted(slices.Values(weird))
	checkFiles(t, "names as bytes", got[0], want)
}

func TestChangesSHA256(t *testing.T) {
	r := newRepo(t, "--object-format=sha256")
	c1 := r.commit("one", map[string]string{"a": "1\n"})
	if len(c1) != 64 {
		t.Fatalf("object name %q is not SHA-256", c1)
	}
	c2 := r.commit("two", map[string]string{"docs/x.md": "x\n"})
	r.git("checkout", "-q", "-b", "feature")
	c3 := r.commit("three", map[string]string{"src/y.go": "y\n"})
	got := r.files(t,
		match.RefUpdate{Old: c1, New: c2, Name: "refs/heads/main"},
		match.RefUpdate{Old: zeros(c3), New: c3, Name: "refs/heads/feature"},
	)
	checkFiles(t, "sha256 update", got[0], []string{"docs/x.md"})
	// c2 is new too: before this push main was at c1.
	checkFiles(t, "sha256 create", got[1], []string{"docs/x.md", "src/y.go"})
}

func TestChangesUnpeelable(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit("one", map[string]string{"a": "1\n"})
	blob := r.git("rev-parse", "HEAD:a")
	missing := strings.Repeat("e", 40)
	got := r.files(t,
		match.RefUpdate{Old: c1, New: blob, Name: "refs/tags/blob"},
		match.RefUpdate{Old: zeros(blob), New: blob, Name: "refs/tags/new-blob"},
		match.RefUpdate{Old: missing, New: c1, Name: "refs/heads/gone"},
	)
	for i, g := range got {
		checkFiles(t, fmt.Sprint("unpeelable ", i), g, nil)
	}
	// Alone, an update takes one diff-tree; when that fails, the batch
	// still answers.
	got = r.files(t, match.RefUpdate{Old: c1, New: blob, Name: "refs/tags/blob"})
	checkFiles(t, "unpeelable alone", got[0], nil)
}

// TestChangesBounded pushes 1,000 refs through a git that counts its runs.
func TestChangesBounded(t *testing.T) {
	r := newRepo(t)
	base := r.commit("base", map[string]string{"a": "1\n"})
	tip := r.commit("docs", map[string]string{"docs/x.md": "x\n"})
	// The refs after the push: main stayed at base, the rest moved to tip.
	var refs strings.Builder
	refs.WriteString("update refs/heads/main " + base + "\n")
	for i := range 500 {
		fmt.Fprintf(&refs, "create refs/heads/u%d %s\ncreate refs/heads/c%d %s\n", i, tip, i, tip)
	}
	cmd := exec.Command("git", "update-ref", "--stdin")
	cmd.Dir, cmd.Stdin = r.dir, strings.NewReader(refs.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-ref: %v\n%s", err, out)
	}
	var ups []match.RefUpdate
	for i := range 500 {
		ups = append(ups, match.RefUpdate{Old: base, New: tip, Name: fmt.Sprintf("refs/heads/u%d", i)})
		ups = append(ups, match.RefUpdate{Old: zeros(tip), New: tip, Name: fmt.Sprintf("refs/heads/c%d", i)})
	}
	log := filepath.Join(t.TempDir(), "runs")
	wrapper := filepath.Join(t.TempDir(), "git")
	gitPath, _ := exec.LookPath("git")
	script := "#!/bin/sh\necho run >> " + log + "\nexec " + gitPath + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Changes{GitDir: filepath.Join(r.dir, ".git"), Git: wrapper}.Files(ups)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if !slices.Equal(g, []string{"docs/x.md"}) {
			t.Fatalf("ref %s: files %q", ups[i].Name, g)
		}
	}
	b, _ := os.ReadFile(log)
	if n := strings.Count(string(b), "run"); n > 5 {
		t.Errorf("%d git processes for 1,000 refs, want at most 5", n)
	}

	// One update: one git process.
	os.Remove(log)
	got, err = Changes{GitDir: filepath.Join(r.dir, ".git"), Git: wrapper}.Files(ups[:1])
	if err != nil || !slices.Equal(got[0], []string{"docs/x.md"}) {
		t.Fatalf("one update: %q, %v", got, err)
	}
	b, _ = os.ReadFile(log)
	if n := strings.Count(string(b), "run"); n != 1 {
		t.Errorf("%d git processes for one update, want 1", n)
	}
}

func TestParseDiffTree(t *testing.T) {
	for _, bad := range []string{":100644 100644 a b M", ":x\x00path", "h\x00:100644"} {
		if _, err := parseDiffTree([]byte(bad)); err == nil {
			t.Errorf("parseDiffTree(%q) accepted it", bad)
		}
	}
	// A path that looks like a header stays a path.
	got, err := parseDiffTree([]byte("t1 t2\n:000000 100644 0 1 A\x00t3 t4\n\x00:000000 100644 0 1 A\x00x\x00t5 t6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].header != "t1 t2" || !slices.Equal(got[0].files, []string{"t3 t4\n", "x"}) || got[1].header != "t5 t6" || got[1].files != nil {
		t.Errorf("parseDiffTree = %+v", got)
	}
}

// FuzzParseDiffTree feeds parseDiffTree arbitrary bytes: it must never
// panic, and every path it returns must have come from a record.
func FuzzParseDiffTree(f *testing.F) {
	f.Add([]byte("t1 t2\n:000000 100644 0 1 A\x00docs/a.md\x00t3 t4\n"))
	f.Add([]byte("c1\x00::100644 100644 100644 a b c MM\x00x\x00c2\x00"))
	f.Add([]byte(":x"))
	f.Add([]byte("h\x00:r\x00new\nline\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		blocks, err := parseDiffTree(b)
		if err != nil {
			return
		}
		n := 0
		for _, bl := range blocks {
			n += len(bl.files)
		}
		if records := bytes.Count(b, []byte{':'}); n > records {
			t.Errorf("%d paths from at most %d records", n, records)
		}
	})
}
