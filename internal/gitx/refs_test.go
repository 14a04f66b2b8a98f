package gitx

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRefNames: the refs a person types become refnames and updates the way
// plan, check and run take them, read from a real repository.
func TestRefNames(t *testing.T) {
	r := newRepo(t)
	first := r.commit("one", map[string]string{"a": "1"})
	second := r.commit("two", map[string]string{"a": "2"})
	r.git("tag", "v1")
	r.git("tag", "both")
	r.git("branch", "both")
	gitDir := filepath.Join(r.dir, ".git")

	for _, tc := range []struct{ in, want, err string }{
		{"main", "refs/heads/main", ""},
		{"v1", "refs/tags/v1", ""},
		{"refs/notes/x", "refs/notes/x", ""},
		{"new", "refs/heads/new", ""},
		{"both", "", "both is both a branch and a tag"},
	} {
		got, err := FullRefName(gitDir, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FullRefName(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FullRefName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}

	if old, ok := TipParent(gitDir, "refs/heads/main", second); old != first || !ok {
		t.Errorf("TipParent(main) = %s, %v; want %s", old, ok, first)
	}
	if old, ok := TipParent(gitDir, "refs/tags/v1", second); old != ZeroID(second) || ok {
		t.Errorf("TipParent(tag) = %s, %v; want a creation", old, ok)
	}

	u, err := ExistingUpdate(gitDir, "main", "", "")
	if err != nil || u.Old != first || u.New != second || u.Name != "refs/heads/main" {
		t.Errorf("ExistingUpdate(main) = %+v, %v", u, err)
	}
	if u, err := ExistingUpdate(gitDir, "main", "0", ""); err != nil || !u.IsCreate() {
		t.Errorf("ExistingUpdate(main, --old 0) = %+v, %v; want a creation", u, err)
	}
	if _, err := ExistingUpdate(gitDir, "gone", "", ""); err == nil || !strings.Contains(err.Error(), "refs/heads/gone is not in") {
		t.Errorf("ExistingUpdate(gone): %v", err)
	}

	if u, err := TipUpdate(gitDir, "refs/heads/main"); err != nil || u.Old != first || u.New != second {
		t.Errorf("TipUpdate(main) = %+v, %v", u, err)
	}
	if u, err := TipUpdate(gitDir, "refs/tags/v1"); err != nil || !u.IsCreate() || u.New != second {
		t.Errorf("TipUpdate(v1) = %+v, %v; want the tag's creation", u, err)
	}
	if _, err := TipUpdate(gitDir, "refs/heads/gone"); err == nil || !strings.Contains(err.Error(), "has no refs/heads/gone") {
		t.Errorf("TipUpdate(gone): %v", err)
	}

	var said []string
	info := func(s string) { said = append(said, s) }
	u, real, err := SimulatedUpdate(gitDir, "gone", "", "", info)
	if err != nil || real || u.Old != placeholderOld || u.New != placeholderNew {
		t.Errorf("SimulatedUpdate(gone) = %+v, %v, %v", u, real, err)
	}
	u, real, err = SimulatedUpdate(gitDir, "main", "", "", info)
	if err != nil || !real || u.Old != first || u.New != second {
		t.Errorf("SimulatedUpdate(main) = %+v, %v, %v", u, real, err)
	}
	// A work repository logs ref updates: main's last one is read, not guessed.
	if len(said) != 1 || !strings.Contains(said[0], "placeholder") {
		t.Errorf("SimulatedUpdate said %q", said)
	}
}
