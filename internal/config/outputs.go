package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/hookrun/hookrun/internal/outcome"
)

// Site is the [site] table: the static status site hookrun writes.
type Site struct {
	Dir  string `toml:"dir" doc:"directory hookrun writes the status site into (absolute); a static web server serves it"`
	URL  string `toml:"url" doc:"how people reach dir, e.g. https://git.example.com/hookrun; links in feeds, forge statuses and notifications point there"`
	Logs bool   `toml:"logs" doc:"put each job's output on its run page (default false: output can hold what should not leave the server)"`

	Defined keySet `toml:"-"`
}

// Forge is the [forge] table: commit statuses on Gitea or Forgejo.
type Forge struct {
	Type      ForgeType `toml:"type" doc:"gitea (default) or forgejo: the same API"`
	URL       string    `toml:"url" doc:"the forge's base URL, e.g. https://git.example.com"`
	TokenFile string    `toml:"token_file" doc:"file holding an access token that may write the repository's commit statuses (never write the token inline)"`
	Repo      string    `toml:"repo" doc:"owner/name of the repository on the forge (default: from the forge's hook environment, GITEA_REPO_USER_NAME and GITEA_REPO_NAME)"`

	Defined keySet `toml:"-"`
}

// Webhook is one [[webhook]].
type Webhook struct {
	URL        string          `toml:"url" required:"*" doc:"http or https URL each outcome is POSTed to as JSON"`
	SecretFile string          `toml:"secret_file" doc:"file holding the shared secret; deliveries are signed with X-Hookrun-Signature-256 (HMAC-SHA256, GitHub's scheme)"`
	On         []OutputOutcome `toml:"on" doc:"outcomes to post (default: all)"`

	Index   int    `toml:"-"` // 1-based, in the file it came from
	File    string `toml:"-"`
	Defined keySet `toml:"-"`
}

// ForgeType is the kind of forge.
type ForgeType string

func (ForgeType) values() []string { return []string{"gitea", "forgejo"} }
func (t *ForgeType) decodeTOML(v any) error {
	return decodeEnum(v, t.values(), func(s string) { *t = ForgeType(s) })
}
func (t ForgeType) schema() map[string]any { return enumSchema(t.values()) }

// OutputOutcome is an outcome an output may be limited to: every
// outcome.Kind (Kind converts it, checked by the compiler).
type OutputOutcome outcome.Kind

// Kind is o as every other package has it.
func (o OutputOutcome) Kind() outcome.Kind { return outcome.Kind(o) }

func (OutputOutcome) values() []string {
	var out []string
	for _, k := range outcome.Kinds() {
		out = append(out, k.String())
	}
	return out
}
func (o *OutputOutcome) decodeTOML(v any) error {
	return decodeKind(v, o.values(), (*outcome.Kind)(o))
}
func (o OutputOutcome) schema() map[string]any       { return enumSchema(o.values()) }
func (o OutputOutcome) MarshalText() ([]byte, error) { return outcome.Kind(o).MarshalText() }

// Priority is an ntfy priority: 1 (min) to 5 (max).
type Priority int

func (p *Priority) decodeTOML(v any) error {
	i, ok := v.(int64)
	if !ok {
		return fmt.Errorf("want an integer from 1 (min) to 5 (max), got %s", tomlType(v))
	}
	if i < 1 || i > 5 {
		return fmt.Errorf("priority %d is out of range: ntfy takes 1 (min) to 5 (max)", i)
	}
	*p = Priority(i)
	return nil
}

func (Priority) schema() map[string]any {
	return map[string]any{"type": "integer", "minimum": 1, "maximum": 5}
}

// MaxLogLines bounds [notify] log_lines: a notification is a short message.
const MaxLogLines = 200

func (d *decoder) checkOutputs(f *File) {
	s := &f.Site
	if s.Defined["dir"] && !filepath.IsAbs(s.Dir) {
		d.errorf("site.dir", "site.dir: %q must be an absolute path such as \"/srv/www/hookrun\"", s.Dir)
	}
	if s.Defined["url"] {
		if err := checkHTTPURL(s.URL); err != nil {
			d.errorf("site.url", "site.url: %v", err)
		}
	}
	if len(s.Defined) > 0 && !s.Defined["dir"] {
		d.report(Error, "site", false, "site: no dir: set dir = \"/srv/www/hookrun\" (where hookrun writes the site), or remove [site]")
	}

	g := &f.Forge
	if g.Defined["url"] {
		if err := checkHTTPURL(g.URL); err != nil {
			d.errorf("forge.url", "forge.url: %v", err)
		}
	}
	if g.Defined["token_file"] && !filepath.IsAbs(g.TokenFile) {
		d.errorf("forge.token_file", "forge.token_file: %q must be an absolute path", g.TokenFile)
	}
	if g.Defined["repo"] {
		owner, name, ok := strings.Cut(g.Repo, "/")
		if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.Contains(owner, " ") {
			d.errorf("forge.repo", "forge.repo: %q is not owner/name, e.g. \"ana/site\"", g.Repo)
		}
	}
	if len(g.Defined) > 0 {
		for _, k := range []string{"url", "token_file"} {
			if !g.Defined[k] {
				d.report(Error, "forge", false, "forge: no %s: commit statuses need url and token_file, or remove [forge]", k)
			}
		}
	}

	for i, w := range f.Webhooks {
		w.Index, w.File = i+1, f.Name
		path := index("webhook", i)
		if !w.Defined["url"] {
			d.report(Error, path, false, "%s: missing url: set the http or https URL outcomes are POSTed to", path)
		} else {
			if err := checkHTTPURL(w.URL); err != nil {
				d.errorf(joinKey(path, "url"), "%s.url: %v", path, err)
			}
		}
		if w.Defined["secret_file"] && !filepath.IsAbs(w.SecretFile) {
			d.errorf(joinKey(path, "secret_file"), "%s.secret_file: %q must be an absolute path", path, w.SecretFile)
		}
		if !w.Defined["secret_file"] {
			d.report(Warning, path, false, "%s: no secret_file: deliveries are not signed, so a receiver cannot tell them from forgeries", path)
		}
	}

	if n := f.Notify.LogLines; n != nil && (*n < 0 || *n > MaxLogLines) {
		d.errorf("notify.log_lines", "notify.log_lines: %d is out of range: want 0 (off) to %d lines", *n, MaxLogLines)
	}
}

// checkHTTPURL accepts absolute http and https URLs without credentials.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http or https URL such as \"https://git.example.com\"", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials: put secrets in a file (token_file, secret_file)", u.Redacted())
	}
	return nil
}
