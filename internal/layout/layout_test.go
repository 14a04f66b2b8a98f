package layout

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryEntryDocumented: every path this package builds is in its
// package comment's table and in docs/operations.md's, so the tables stay
// the whole layout.
func TestEveryEntryDocumented(t *testing.T) {
	const repo, unit, host = "/R", "UNIT", "HOST"
	paths := map[string]string{
		"Plan": Plan(repo, unit), "PlansDir": PlansDir(repo) + "/",
		"State": State(repo, unit), "StatesDir": StatesDir(repo) + "/",
		"PrunedStamp": PrunedStamp(repo), "ReconciledStamp": ReconciledStamp(repo),
		"Log": Log(repo, unit), "LogsDir": LogsDir(repo) + "/",
		"History": History(repo), "Seq": Seq(repo), "LaunchLock": LaunchLock(repo),
		"Reconciled": Reconciled(repo), "Outbox": Outbox(repo) + "/",
		"Digests": Digests(Dir(repo)) + "/", "HostSite": HostSite(repo, host), "Locks": Locks(repo) + "/",
	}
	f, err := parser.ParseFile(token.NewFileSet(), "layout.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	pkgDoc := f.Doc.Text()
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for fn, p := range paths {
		rel, ok := strings.CutPrefix(p, Dir(repo)+"/")
		if !ok {
			t.Errorf("%s = %s, not under %s", fn, p, Dir(repo))
			continue
		}
		for doc, text := range map[string]string{"the package comment": pkgDoc, "docs/operations.md": string(ops)} {
			if !strings.Contains(text, rel) && !strings.Contains(text, "\n  "+rel) {
				t.Errorf("%s (%s) is not in %s's table", fn, rel, doc)
			}
		}
	}
	if got := RuntimeLocks("/run/user/1"); got != filepath.Join("/run/user/1", DirName, "locks") || !strings.Contains(pkgDoc, "$XDG_RUNTIME_DIR/hookrun/locks/") {
		t.Errorf("RuntimeLocks = %s, or it is not documented", got)
	}
	if got := Unrecorded("/run/user/1", "1"); got != "/run/user/1/hookrun-unrecorded-1" || !strings.Contains(pkgDoc, "hookrun-unrecorded-UID/") {
		t.Errorf("Unrecorded = %s, or it is not documented", got)
	}
}
