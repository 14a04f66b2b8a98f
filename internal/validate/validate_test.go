package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/config"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheck: every file is checked, an unreadable one is kept apart for
// the caller to say, and the summary counts what was found.
func TestCheck(t *testing.T) {
	bad := write(t, "hooks.toml", "[jobs.build]\ncommand = [\"make\"]\nbogus_key = 1\n")
	gone := filepath.Join(t.TempDir(), "gone.toml")
	res := Check([]string{bad, gone}, config.Source{}, false)
	if res.Valid || res.Errors < 2 {
		t.Fatalf("Check = %+v; want invalid with at least 2 errors", res)
	}
	if len(res.Unread()) != 1 {
		t.Fatalf("Unread() = %v; want the missing file", res.Unread())
	}
	fe, ok := res.Unread()[0].(*FileError)
	if !ok || fe.Path != gone || !strings.HasPrefix(fe.Error(), "cannot read "+gone+": ") {
		t.Errorf("Unread()[0] = %#v", res.Unread()[0])
	}
	var text strings.Builder
	res.WriteText(&text)
	if strings.Contains(text.String(), "cannot read") {
		t.Errorf("the unreadable file is said by the caller, not in the text:\n%s", text.String())
	}
	if !strings.Contains(text.String(), "bogus_key") {
		t.Errorf("the unknown key is not reported:\n%s", text.String())
	}
	if want := bad + ", " + gone + ": invalid ("; !strings.HasPrefix(res.Summary(), want) {
		t.Errorf("Summary() = %q; want prefix %q", res.Summary(), want)
	}
	var gh strings.Builder
	res.WriteGitHub(&gh)
	if !strings.Contains(gh.String(), "::error file="+bad) {
		t.Errorf("GitHub annotations:\n%s", gh.String())
	}
}

func TestGitHubEscapes(t *testing.T) {
	if got := ghEscape("50%\nnext"); got != "50%25%0Anext" {
		t.Errorf("ghEscape = %q", got)
	}
	if got := ghEscapeProp("a:b,c"); got != "a%3Ab%2Cc" {
		t.Errorf("ghEscapeProp = %q", got)
	}
}
