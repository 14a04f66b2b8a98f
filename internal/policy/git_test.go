package policy

import (
	"context"
	"runtime"
	"slices"
	"testing"
)

// TestChangesSplitIsOneProcessInOrder: a push large enough for Changes to
// split the diff across processes reports exactly what one diff-tree
// reports, in the same order (violations and "first use" of a blob depend
// on it).
func TestChangesSplitIsOneProcessInOrder(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: Changes never splits")
	}
	repo, tip := benchRepo(t, 2*changesSplit+7, 3, 16)
	r := &Repo{GitDir: repo}
	ctx := context.Background()
	commits, err := r.NewCommits(ctx, []string{tip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ commit, path, blob string }
	collect := func(run func(context.Context, []Commit, func(string, Change) error) error) []seen {
		var out []seen
		if err := run(ctx, commits, func(c string, ch Change) error {
			out = append(out, seen{c, string(ch.Path), ch.Blob})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	one, split := collect(r.changes), collect(r.Changes)
	if len(one) != 3*len(commits) {
		t.Fatalf("one diff-tree: %d changes for %d commits, want %d", len(one), len(commits), 3*len(commits))
	}
	if !slices.Equal(one, split) {
		t.Errorf("split Changes differs from one diff-tree: %d vs %d changes", len(split), len(one))
	}
}
