package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResultLine(t *testing.T) {
	for _, tc := range []struct {
		res        Result
		installing bool
		mode       Mode
		want       string
	}{
		{Result{Action: "installed", Hook: "hooks/post-receive"}, true, Keep, "/r: installed (hooks/post-receive)"},
		{Result{Action: "replaced", Backup: "b"}, true, Replace, "/r: replaced; the previous hook is kept as b"},
		{Result{Action: "installed", Backup: "p"}, true, Chain, "/r: installed; the previous hook runs after hookrun as p"},
		{Result{Action: "restored", Backup: "b"}, false, Keep, "/r: restored"},
	} {
		if got := tc.res.Line("/r", tc.installing, tc.mode); got != tc.want {
			t.Errorf("Line = %q, want %q", got, tc.want)
		}
	}
}

func TestTallySummary(t *testing.T) {
	var tl Tally
	tl.Add([]Result{{Action: "installed"}, {Action: "installed"}})
	tl.Add([]Result{{Action: "already installed, hooks/HOOK.d"}})
	tl.Add([]Result{{Action: "installed"}})
	tl.Add(nil)
	tl.Failed()
	got := tl.Summary("/srv/git", 5, []Skipped{{Dir: "x", Why: "y"}})
	want := "/srv/git: 5 repositories: 1 already installed, 2 installed, 1 failed, 1 skipped"
	if got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestWriteStarter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hooks.toml")
	if err := WriteStarter(p, "#:schema /x\n", false); err != nil {
		t.Fatal(err)
	}
	if err := WriteStarter(p, "", false); !errors.Is(err, os.ErrExist) {
		t.Errorf("second WriteStarter without force: %v; want os.ErrExist", err)
	}
	if err := WriteStarter(p, SchemaLine("", ""), true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), "# JSON schema: ") || !strings.Contains(string(b), "[jobs.hello]") {
		t.Errorf("starter written:\n%s", b)
	}
	if got := SchemaLine("", "/usr/share/hookrun/hooks.schema.json"); got != "#:schema /usr/share/hookrun/hooks.schema.json\n" {
		t.Errorf("SchemaLine with a build path = %q", got)
	}
}
