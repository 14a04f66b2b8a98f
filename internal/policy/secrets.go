package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hookrun/hookrun/internal/secrets"
)

// secretScan is what secrets = true needs for one push: the rules (gitleaks'
// default set, or the operator's secrets_config) and the fingerprints let
// through (the pushed trees' .gitleaksignore and the operator's
// secrets_ignore). It is loaded when the first blob is to be scanned.
type secretScan struct {
	push    Push
	tips    []string
	cfg     *secrets.Config
	ignore  secrets.Ignore
	loaded  bool
	pending []pendingFinding
}

// pendingFinding waits for flush, which drops it if its line was already
// in the file before the commit: as gitleaks git, which scans the lines a
// commit adds, a secret already there (and accepted then) is not judged
// again when another line of its file changes.
type pendingFinding struct {
	f      secrets.Finding
	parent string // the commit's first parent, "" for a root commit
	report func(what string)
}

// CheckSecretsFiles loads the operator's gitleaks config and fingerprint
// file as a push would (either path may be ""), for hookrun validate: a
// file that does not load refuses every push a secrets policy applies to.
func CheckSecretsFiles(configPath, ignorePath string) []error {
	var errs []error
	if configPath != "" {
		if _, err := secrets.Load(configPath); err != nil {
			errs = append(errs, fmt.Errorf("secrets_config: %v; pushes that a secrets policy applies to are refused until it loads", err))
		}
	}
	if ignorePath != "" {
		f, err := os.Open(ignorePath)
		if err == nil {
			_, err = secrets.ReadIgnore(nil, f, ignorePath)
			f.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("secrets_ignore: %v; pushes that a secrets policy applies to are refused until it can be read", err))
		}
	}
	return errs
}

// load reads the rules and fingerprints, once.
func (s *secretScan) load(ctx context.Context, git Git) error {
	if s.loaded {
		return nil
	}
	s.loaded = true
	s.cfg = secrets.Default()
	if p := s.push.SecretsConfig; p != "" {
		c, err := secrets.Load(p)
		if err != nil {
			return fmt.Errorf("secrets_config: %v; fix the file or remove secrets_config", err)
		}
		s.cfg = c
	}
	if p := s.push.SecretsIgnore; p != "" {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("secrets_ignore: %v; create the file or remove secrets_ignore", err)
		}
		defer f.Close()
		if s.ignore, err = secrets.ReadIgnore(s.ignore, f, p); err != nil {
			return fmt.Errorf("secrets_ignore: %v", err)
		}
	}
	if len(s.tips) == 0 {
		return nil
	}
	names := make([]string, len(s.tips))
	for i, t := range s.tips {
		names[i] = t + ":" + IgnoreFile
	}
	return git.ReadFiles(ctx, names, secrets.MaxIgnoreSize, func(name string, body []byte) error {
		var err error
		s.ignore, err = secrets.ReadIgnore(s.ignore, bytes.NewReader(body), printable(name))
		return err
	})
}

// IgnoreFile is the fingerprint file read at the root of each pushed tree,
// as gitleaks reads it at the root of a repository.
const IgnoreFile = ".gitleaksignore"

// blob scans one blob's content, the file path as commit (whose first
// parent is parent) has it; flush then calls report with the line to show
// for each finding not let through.
func (s *secretScan) blob(r io.Reader, path, commit, parent string, report func(what string)) error {
	return s.cfg.Scan(r, path, commit, func(f secrets.Finding) {
		if !s.ignore.Has(f) {
			s.pending = append(s.pending, pendingFinding{f, parent, report})
		}
	})
}

// maxParentSize bounds the earlier version of a file read to see whether
// a finding's line was already there; past it, the finding stands.
const maxParentSize = 16 << 20

// flush reports the findings whose lines the commits added: it reads the
// parent's version of each file with a finding (one git cat-file --batch)
// and drops the findings whose whole line was in it already.
func (s *secretScan) flush(ctx context.Context, git Git) error {
	if len(s.pending) == 0 {
		return nil
	}
	before := map[string][]int{} // PARENT:PATH -> pending findings
	var names []string
	for i, p := range s.pending {
		if p.parent == "" || p.f.LineText == "" || strings.ContainsAny(p.f.File, "\n\r") {
			continue
		}
		name := p.parent + ":" + p.f.File
		if _, ok := before[name]; !ok {
			names = append(names, name)
		}
		before[name] = append(before[name], i)
	}
	drop := make([]bool, len(s.pending))
	if len(names) > 0 {
		err := git.ReadFiles(ctx, names, maxParentSize, func(name string, body []byte) error {
			for _, i := range before[name] {
				drop[i] = containsLine(body, s.pending[i].f.LineText)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i, p := range s.pending {
		if !drop[i] {
			p.report(secretText(p.f))
		}
	}
	s.pending = nil
	return nil
}

// containsLine reports whether line (one or more whole lines, without
// their final newline) is among body's lines.
func containsLine(body []byte, line string) bool {
	for off := 0; ; {
		i := bytes.Index(body[off:], []byte(line))
		if i < 0 {
			return false
		}
		at := off + i
		end := at + len(line)
		if (at == 0 || body[at-1] == '\n') && (end == len(body) || body[end] == '\n' || body[end] == '\r') {
			return true
		}
		off = at + 1
	}
}

// secretText is the line shown for a finding: what, where, the value
// redacted, and how to let it through.
func secretText(f secrets.Finding) string {
	kind := RuleKind(f.RuleID)
	where := printable(f.File)
	if f.Line > 0 {
		where += ":" + strconv.Itoa(f.Line)
	}
	val := ""
	if f.Line > 0 {
		val = " " + strconv.Quote(f.Redacted())
	}
	return fmt.Sprintf("%s holds %s%s (gitleaks rule %s); remove it from the history and revoke it, or allow it: gitleaks:allow on the line, or fingerprint %s in %s",
		where, withArticle(kind), val, f.RuleID, printable(f.Fingerprint()), IgnoreFile)
}

var ruleWords = map[string]string{
	"api": "API", "id": "ID", "aws": "AWS", "pat": "PAT", "jwt": "JWT", "gcp": "GCP", "url": "URL",
	"oauth": "OAuth", "github": "GitHub", "gitlab": "GitLab", "digitalocean": "DigitalOcean",
	"openai": "OpenAI", "npm": "npm", "pypi": "PyPI", "sendgrid": "SendGrid", "hashicorp": "HashiCorp",
	"tf": "Terraform", "pkcs12": "PKCS#12", "scim": "SCIM", "cicd": "CI/CD", "ca": "CA", "1password": "1Password",
	"rsa": "RSA", "ssh": "SSH", "pgp": "PGP", "sdk": "SDK", "jfrog": "JFrog", "huggingface": "Hugging Face",
	"planetscale": "PlanetScale", "rubygems": "RubyGems", "launchdarkly": "LaunchDarkly", "hubspot": "HubSpot",
	"mailchimp": "Mailchimp", "messagebird": "MessageBird", "travisci": "Travis CI", "droneci": "Drone CI",
	"flyio": "Fly.io", "intra42": "Intra42", "nytimes": "NYTimes", "gocardless": "GoCardless", "rrt": "RRT",
	"ptt": "PTT", "ad": "AD", "v2": "v2", "privateai": "PrivateAI", "readme": "ReadMe", "rapidapi": "RapidAPI",
	"relic": "Relic",
}

// lowerFirst are the first words of rule ids that are not names.
var lowerFirst = map[string]bool{"private": true, "generic": true, "age": true, "curl": true}

// RuleKind names what a gitleaks rule finds, for people: "aws-access-token"
// is "AWS access token", "slack-bot-token" "Slack bot token".
func RuleKind(id string) string {
	words := strings.Split(id, "-")
	for i, w := range words {
		switch {
		case ruleWords[w] != "":
			words[i] = ruleWords[w]
		case i == 0 && w != "" && !lowerFirst[w]:
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// ReadFiles runs one git cat-file --batch for names of the form REV:PATH,
// calling fn with the content of each that exists, is a blob and is at
// most maxSize bytes.
func (r *Repo) ReadFiles(ctx context.Context, names []string, maxSize int64, fn func(name string, body []byte) error) error {
	return r.pipe(ctx, writeLines(names, ""), func(rd *bufio.Reader) error {
		for _, name := range names {
			hdr, err := rd.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			f := strings.Fields(hdr)
			if len(f) != 3 {
				continue // "NAME missing", "NAME ambiguous"
			}
			n, err := strconv.Atoi(f[2])
			if err != nil || n < 0 {
				return fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(hdr))
			}
			if f[1] != "blob" || int64(n) > maxSize {
				if _, err := io.CopyN(io.Discard, rd, int64(n)+1); err != nil {
					return fmt.Errorf("git cat-file: %v", err)
				}
				continue
			}
			body := make([]byte, n+1)
			if _, err := io.ReadFull(rd, body); err != nil {
				return fmt.Errorf("git cat-file: %v", err)
			}
			if err := fn(name, body[:n]); err != nil {
				return err
			}
		}
		return nil
	}, "cat-file", "--batch")
}
