package unit

import (
	"fmt"
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// BenchmarkSave is what a hook does per unit before its start call (Save,
// unsynced, as the hook saves) and after it (Started).
func BenchmarkSave(b *testing.B) {
	repo := b.TempDir()
	s := &Store{RepoPath: repo, NoSync: true}
	units := make([]*plan.Unit, b.N)
	for i := range units {
		units[i] = testUnit(repo, "site", plan.Parallel)
		units[i].Name = fmt.Sprintf("git-site-web-20261201-080000-%08x.service", i)
	}
	b.ResetTimer()
	for i := range b.N {
		sv, err := s.Save(units[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := sv.Started(plan.RunnerSystemd); err != nil {
			b.Fatal(err)
		}
	}
}
