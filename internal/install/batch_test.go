package install

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestBatchGoesOnPastAFailure(t *testing.T) {
	good := bareRepo(t)
	missing := filepath.Join(t.TempDir(), "gone.git")
	var out, log bytes.Buffer
	var installed []string
	b := &Batch{Self: "/usr/local/bin/hookrun", Installing: true, Out: &out, Log: &log,
		Installed: func(r string) string { installed = append(installed, r); return "" }}
	failed, tally := b.Run([]string{missing, good})
	if failed != 1 {
		t.Errorf("failed = %d, want 1 (log %q)", failed, log.String())
	}
	if len(installed) != 1 || installed[0] != good {
		t.Errorf("Installed called for %v, want only %s", installed, good)
	}
	if !strings.Contains(log.String(), "hookrun: error: ") || !strings.Contains(out.String(), good) {
		t.Errorf("out %q, log %q", out.String(), log.String())
	}
	if s := tally.Summary("/srv", 2, nil); !strings.Contains(s, "1") {
		t.Errorf("summary %q", s)
	}
	if len(Inspect(good)) == 0 {
		t.Error("no hooks installed in the good repository")
	}
}
