package job

import (
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

func TestRefLines(t *testing.T) {
	got := string(RefLines([]plan.Ref{
		{Old: "0000000", New: "1a2b3c4", Ref: "refs/heads/main"},
		{Old: "1a2b3c4", New: "0000000", Ref: "refs/tags/caf\xe9"},
	}))
	want := "0000000 1a2b3c4 refs/heads/main\n1a2b3c4 0000000 refs/tags/caf\xe9\n"
	if got != want {
		t.Errorf("RefLines = %q, want %q (byte-exact, one line each)", got, want)
	}
	if len(RefLines(nil)) != 0 {
		t.Errorf("no refs, not an empty file")
	}
}
