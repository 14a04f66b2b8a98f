package resolve

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// fakeChanges answers from a table by ref name and counts the questions.
type fakeChanges struct {
	files map[string][]string
	calls int
	asked []string
	err   error
}

func (f *fakeChanges) Files(ups []match.RefUpdate) ([][]string, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]string, len(ups))
	for i, u := range ups {
		f.asked = append(f.asked, u.Name)
		out[i] = f.files[u.Name]
	}
	return out, nil
}

const pathsConfig = `version = 1
[jobs.docs]
type = "command"
command = ["make", "docs"]
[jobs.build]
type = "command"
command = ["make", "build"]
[jobs.site]
type = "command"
command = ["make", "site"]
per = "push"
[jobs.plain]
type = "command"
command = ["true"]
[[rules]]
branches = ["main", "feature/*"]
paths = ["docs/**", "*.md"]
jobs = ["docs"]
[[rules]]
branches = ["main", "feature/*"]
paths = ["src/**", "!src/**/*_test.go", "go.mod"]
jobs = ["build"]
[[rules]]
branches = ["main"]
paths = ["web/**"]
jobs = ["site"]
[[rules]]
branches = ["release"]
jobs = ["site"]
[[rules]]
branches = ["plain"]
jobs = ["plain"]
`

func jobsOf(p *plan.Push) []string {
	var out []string
	for _, u := range p.Units {
		out = append(out, u.Job+":"+strings.Join(refNames(u), ","))
	}
	return out
}

func refNames(u *plan.Unit) []string {
	var out []string
	for _, r := range u.Refs {
		out = append(out, strings.TrimPrefix(r.Ref, "refs/heads/"))
	}
	return out
}

func TestPaths(t *testing.T) {
	c := load(t, pathsConfig)
	up := func(name string) match.RefUpdate { return match.RefUpdate{Old: a, New: b, Name: "refs/heads/" + name} }
	for _, tt := range []struct {
		name  string
		files map[string][]string
		ups   []match.RefUpdate
		want  []string
		calls int
	}{
		{"docs only", map[string][]string{"refs/heads/main": {"docs/index.md"}}, []match.RefUpdate{up("main")}, []string{"docs:main"}, 1},
		{"both", map[string][]string{"refs/heads/main": {"README.md", "src/a.go"}}, []match.RefUpdate{up("main")}, []string{"docs:main", "build:main"}, 1},
		{"tests excluded", map[string][]string{"refs/heads/main": {"src/a_test.go", "src/x/b_test.go"}}, []match.RefUpdate{up("main")}, nil, 1},
		{"nothing changed", nil, []match.RefUpdate{up("main")}, nil, 1},
		{"no rule with paths selects the ref", nil, []match.RefUpdate{up("plain"), up("release"), up("other")}, []string{"plain:plain", "site:release"}, 0},
		{"many refs, one question", map[string][]string{"refs/heads/feature/a": {"docs/a.md"}, "refs/heads/feature/b": {"go.mod"}},
			[]match.RefUpdate{up("feature/a"), up("feature/b"), up("feature/c"), up("plain")}, []string{"docs:feature/a", "build:feature/b", "plain:plain"}, 1},
		// site is per push: web/ on main selects it, and release joins it.
		{"per push", map[string][]string{"refs/heads/main": {"web/x.html"}, "refs/heads/release": {"CHANGES"}},
			[]match.RefUpdate{up("main"), up("release")}, []string{"site:main,release"}, 2},
		{"delete", nil, []match.RefUpdate{{Old: a, New: zero, Name: "refs/heads/main"}}, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch := &fakeChanges{files: tt.files}
			p := push(tt.ups...)
			p.Changes = ch
			got, err := Resolve(c, p)
			if err != nil {
				t.Fatal(err)
			}
			if j := jobsOf(got); !slices.Equal(j, tt.want) {
				t.Errorf("units %q, want %q", j, tt.want)
			}
			if ch.calls != tt.calls {
				t.Errorf("%d questions about changed files (refs %q), want %d", ch.calls, ch.asked, tt.calls)
			}
			if len(ch.asked) != len(slices.Compact(slices.Sorted(slices.Values(ch.asked)))) {
				t.Errorf("a ref asked about twice: %q", ch.asked)
			}
		})
	}
}

func TestPathsChangedFilesList(t *testing.T) {
	c := load(t, pathsConfig)
	ch := &fakeChanges{files: map[string][]string{
		"refs/heads/main":    {"docs/a\nb.md", "web/caf\xe9.html", "x"},
		"refs/heads/release": {"docs/a\nb.md", "r"},
		"refs/heads/plain":   {"never asked"},
	}}
	p := push(match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}, match.RefUpdate{Old: a, New: b, Name: "refs/heads/release"},
		match.RefUpdate{Old: a, New: b, Name: "refs/heads/plain"})
	p.Changes = ch
	got, err := Resolve(c, p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docs":  "docs/a\nb.md\x00web/caf\xe9.html\x00x\x00",
		"site":  "docs/a\nb.md\x00r\x00web/caf\xe9.html\x00x\x00", // union across refs, sorted
		"plain": "",                                               // no paths rule: no list
	}
	for _, u := range got.Units {
		if w, ok := want[u.Job]; !ok || !bytes.Equal(u.ChangedFiles, []byte(w)) || (w == "") != (u.ChangedFiles == nil) {
			t.Errorf("%s: changed files %q, want %q", u.Job, u.ChangedFiles, w)
		}
	}
	if slices.Contains(ch.asked, "refs/heads/plain") {
		t.Error("asked about a ref no paths rule selects")
	}
}

func TestPathsExplain(t *testing.T) {
	c := load(t, pathsConfig)
	ch := &fakeChanges{files: map[string][]string{"refs/heads/main": {"docs/a.md", "src/a_test.go"}}}
	p := push(match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}, match.RefUpdate{Old: a, New: b, Name: "refs/heads/feature/x"})
	p.Changes, p.Explain = ch, true
	got, err := Resolve(c, p)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range got.Matches {
		lines = append(lines, fmt.Sprintf("%s %s %v %q %s", m.Ref, m.Rule, m.Match, m.File, m.Reason))
	}
	want := []string{
		`refs/heads/main hooks.toml rules[1] true "docs/a.md" ref and event match; changed file "docs/a.md" matches paths`,
		`refs/heads/main hooks.toml rules[2] false "" ref and event match, but none of its 2 changed files matches paths`,
		`refs/heads/main hooks.toml rules[3] false "" ref and event match, but none of its 2 changed files matches paths`,
		`refs/heads/main hooks.toml rules[4] false "" ref not selected by branches/tags`,
		`refs/heads/main hooks.toml rules[5] false "" ref not selected by branches/tags`,
		`refs/heads/feature/x hooks.toml rules[1] false "" ref and event match, but the push changed no file in the ref`,
		`refs/heads/feature/x hooks.toml rules[2] false "" ref and event match, but the push changed no file in the ref`,
		`refs/heads/feature/x hooks.toml rules[3] false "" ref not selected by branches/tags`,
		`refs/heads/feature/x hooks.toml rules[4] false "" ref not selected by branches/tags`,
		`refs/heads/feature/x hooks.toml rules[5] false "" ref not selected by branches/tags`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range got.Matches {
		if !m.Match && len(m.Jobs) > 0 {
			t.Errorf("%s %s: no match but jobs %q", m.Ref, m.Rule, m.Jobs)
		}
	}
}

func TestPathsGitError(t *testing.T) {
	c := load(t, pathsConfig)
	p := push(match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"})
	p.Changes = &fakeChanges{err: errors.New("git diff-tree: boom")}
	if _, err := Resolve(c, p); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v, want the git error", err)
	}
}
