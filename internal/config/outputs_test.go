package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/outcome"
)

func TestOutputKeys(t *testing.T) {
	ok := `version = 1
[site]
dir = "/srv/www/hookrun"
url = "https://git.example.com/hookrun"
logs = true
[forge]
type = "forgejo"
url = "https://git.example.com"
token_file = "/etc/hookrun/gitea.token"
repo = "ana/site"
[notify]
log_lines = 20
[jobs.build]
type = "command"
command = ["make"]
priority = 5
[[webhook]]
url = "https://hooks.example.com/hookrun"
secret_file = "/etc/hookrun/webhook.secret"
on = ["failure", "lost", "not-started"]
`
	f, ds := Parse(strings.NewReader(ok), "hooks.toml")
	// The outputs are wired: a valid set says nothing.
	if len(ds) != 0 {
		t.Fatalf("diagnostics (want none):\n%s", ds)
	}
	c, ds := Merge(nil, f)
	if ds.HasErrors() {
		t.Fatalf("merge: %s", ds)
	}
	if c.Site.Dir != "/srv/www/hookrun" || !c.Site.Logs || c.Forge.Type != "forgejo" || c.Forge.Repo != "ana/site" ||
		len(c.Webhooks) != 1 || c.Webhooks[0].On[2].Kind() != outcome.NotStarted || *f.Notify.LogLines != 20 || *c.Jobs["build"].Priority != 5 {
		t.Errorf("decoded: site %+v forge %+v webhooks %+v", c.Site, c.Forge, c.Webhooks)
	}

	for _, tc := range []struct{ toml, want string }{
		{"[site]\ndir = \"www\"", `site.dir: "www" must be an absolute path`},
		{"[site]\nurl = \"https://x.example\"", "site: no dir"},
		{"[site]\ndir = \"/w\"\nurl = \"ftp://x\"", `site.url: "ftp://x" is not an http or https URL`},
		{"[site]\ndir = \"/w\"\nlog = true", "log"},
		{"[forge]\nurl = \"https://g.example\"", "forge: no token_file"},
		{"[forge]\ntype = \"gitlab\"", `"gitlab" is not one of`},
		{"[forge]\nurl = \"https://u:p@g.example\"\ntoken_file = \"/t\"", "carries credentials"},
		{"[forge]\nurl = \"https://g.example\"\ntoken_file = \"/t\"\nrepo = \"site\"", `forge.repo: "site" is not owner/name`},
		{"[[webhook]]\nsecret_file = \"/s\"", "webhook[1]: missing url"},
		{"[[webhook]]\nurl = \"https://h.example\"", "webhook[1]: no secret_file: deliveries are not signed"},
		{"[[webhook]]\nurl = \"https://h.example\"\nsecret_file = \"/s\"\non = [\"lsot\"]", `(did you mean "lost"?)`},
		{"[notify]\nlog_lines = 1000", "notify.log_lines: 1000 is out of range"},
		{"[jobs.b]\ntype = \"command\"\ncommand = [\"x\"]\npriority = 6", "priority 6 is out of range: ntfy takes 1 (min) to 5 (max)"},
		{"[defaults]\npriority = \"high\"", "want an integer from 1 (min) to 5 (max)"},
	} {
		_, ds := Parse(strings.NewReader("version = 1\n"+tc.toml+"\n"), "hooks.toml")
		if !strings.Contains(ds.Error(), tc.want) {
			t.Errorf("%s\n  diagnostics %q\n  want %q", tc.toml, ds.Error(), tc.want)
		}
	}
}

// TestOutputOutcomesAreOutcomes keeps the config's outcome names equal to
// internal/outcome's.
func TestOutputOutcomesAreOutcomes(t *testing.T) {
	var names []string
	for _, k := range outcome.Kinds() {
		names = append(names, k.String())
	}
	if got := OutputOutcome(0).values(); !slices.Equal(got, names) {
		t.Errorf("OutputOutcome values %v, outcome.Kinds %v", got, names)
	}
}
