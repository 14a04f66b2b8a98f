package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gitleaks.toml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const internalRule = `
[[rules]]
id = "acme-internal-token"
description = "ACME internal token"
regex = '''acme_[a-z0-9]{24}'''
keywords = ["acme_"]
`

func TestLoad(t *testing.T) {
	acme := "acme_" + "k3v9x2m7q4w8e1r5t6y0u2i4" // real format, invented
	content := "A=" + acme + "\nG=" + ghp + "\n"
	tests := []struct {
		name, src string
		want      []string // rule ids found in content
	}{
		{"replace", internalRule, []string{"acme-internal-token"}},
		{"extend default", "[extend]\nuseDefault = true\n" + internalRule, []string{"acme-internal-token", "github-pat"}},
		{"disable a default rule", "[extend]\nuseDefault = true\ndisabledRules = [\"github-pat\"]\n" + internalRule, []string{"acme-internal-token"}},
		{"rule allowlist", internalRule + "[[rules.allowlists]]\nregexes = ['''k3v9''']\n", nil},
		{"global allowlist, stopword", internalRule + "[[allowlists]]\nstopwords = [\"x2m7\"]\n", nil},
		{"targeted allowlist", "[extend]\nuseDefault = true\n" + internalRule + "[[allowlists]]\ntargetRules = [\"github-pat\"]\nregexTarget = \"line\"\nregexes = ['''^G=''']\n", []string{"acme-internal-token"}},
		{"AND allowlist not met", internalRule + "[[rules.allowlists]]\ncondition = \"AND\"\npaths = ['''other''']\nregexes = ['''k3v9''']\n", []string{"acme-internal-token"}},
		{"path allowlist", internalRule + "[[allowlists]]\npaths = ['''\\.env$''']\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := c.Scan(strings.NewReader(content), "app.env", "", func(f Finding) { got = append(got, f.RuleID) }); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"bad toml", "[[rules]\n", "toml"},
		{"bad regex", "[[rules]]\nid = \"x\"\nregex = '''a(b'''\n", "rule x: regex"},
		{"no id", "[[rules]]\nregex = '''a'''\n", "id is missing"},
		{"no regex nor path", "[[rules]]\nid = \"x\"\n", "both regex and path are empty"},
		{"secret group", "[[rules]]\nid = \"x\"\nregex = '''a(b)'''\nsecretGroup = 2\n", "secretGroup 2"},
		{"empty allowlist", "[[allowlists]]\ndescription = \"x\"\n", "at least one check"},
		{"unknown target", "[[allowlists]]\ntargetRules = [\"nope\"]\nstopwords = [\"a\"]\n", "'nope' does not exist"},
		{"extend both", "[extend]\nuseDefault = true\npath = \"/x\"\n", "both useDefault and path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.src)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("Load = %v, want an error naming %s with %q", err, p, tt.want)
			}
		})
	}
	if _, err := Load("/nonexistent/gitleaks.toml"); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

func TestPathNeeds(t *testing.T) {
	r := Default().Rules
	for _, rule := range r {
		if rule.ID != "pkcs12-file" {
			continue
		}
		if len(rule.pathNeeds) == 0 {
			t.Errorf("pkcs12-file: no literal found in %s", rule.Path)
		}
		for p, want := range map[string]bool{"a/b.p12": true, "C.PFX": true, "a.txt": false, "x.p12/y": false, ".p12": false} {
			if got := rule.pathMatches(p); got != want || got != rule.Path.MatchString(p) {
				t.Errorf("pathMatches(%s) = %v, want %v", p, got, want)
			}
		}
	}
}

func TestMaxWidth(t *testing.T) {
	for src, want := range map[string]int{
		`abc`:               3,
		`a[0-9]{16}`:        17,
		`(?:ab|cde)x?`:      4,
		`a+`:                0,
		`[\s\S]{64,}?KEY`:   0,
		`\bA[A-Z2-7]{16}\b`: 17,
	} {
		if got := maxWidth(src); got != want {
			t.Errorf("maxWidth(%s) = %d, want %d", src, got, want)
		}
	}
}

// TestDefaultRulesCompile: the embedded rules, compiled lazily in use,
// all compile, with valid secret groups.
func TestDefaultRulesCompile(t *testing.T) {
	c := Default()
	if len(c.Rules) < 200 {
		t.Fatalf("%d rules", len(c.Rules))
	}
	for _, r := range c.Rules {
		if r.Regex == "" {
			continue
		}
		p := r.prog()
		if p.err != nil {
			t.Errorf("%s: %v", r.ID, p.err)
		} else if r.SecretGroup > p.re.NumSubexp() {
			t.Errorf("%s: secretGroup %d of %d", r.ID, r.SecretGroup, p.re.NumSubexp())
		}
	}
}
