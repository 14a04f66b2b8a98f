package config

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// Policy is one [[policy]] entry: what a push must satisfy before any ref
// moves. The keys after message are the checks; a policy with none of them
// only selects refs, which is reported.
type Policy struct {
	Name     string   `toml:"name" required:"*" doc:"name shown to the pusher on refusal; unique across the global and repo files"`
	Branches []string `toml:"branches" doc:"globs on branch names; ! excludes"`
	Tags     []string `toml:"tags" doc:"globs on tag names; ! excludes"`
	Refs     []string `toml:"refs" doc:"globs on full ref names, any namespace (refs/** for every ref); ! excludes"`
	Message  string   `toml:"message" doc:"shown to the pusher after each violation, e.g. how to fix it"`
	Final    bool     `toml:"final" doc:"global file only: repositories cannot switch this policy off"`

	Deny              []Event  `toml:"deny" doc:"ref events refused: create, update, force, delete"`
	RefName           *Regexp  `toml:"ref_name" doc:"RE2 regexp every created branch or tag name (without refs/heads/ or refs/tags/) must match"`
	CommitMessage     *Regexp  `toml:"commit_message" doc:"RE2 regexp every new commit's message must match"`
	CommitMessageDeny *Regexp  `toml:"commit_message_deny" doc:"RE2 regexp no new commit's message may match"`
	AuthorEmail       *Regexp  `toml:"author_email" doc:"RE2 regexp every new commit's author email must match"`
	CommitterEmail    *Regexp  `toml:"committer_email" doc:"RE2 regexp every new commit's committer email must match"`
	SignedOff         bool     `toml:"signed_off" doc:"every new commit has a Signed-off-by: trailer of its author (DCO)"`
	Linear            bool     `toml:"linear" doc:"no merge commits among the new commits"`
	SignedCommits     bool     `toml:"signed_commits" doc:"every new commit carries a good signature (git verify-commit); with signers, by one of them"`
	SignedPush        bool     `toml:"signed_push" doc:"the push carries a push certificate git verified, with a fresh nonce; with signers, by one of them"`
	Signers           []string `toml:"signers" doc:"with signed_commits or signed_push: allowed signer names (\"Name <email>\") or key fingerprints"`
	MaxFileSize       Size     `toml:"max_file_size" doc:"largest file a new commit may add or change, e.g. \"10M\""`
	FileNamesDeny     []Regexp `toml:"file_names_deny" doc:"RE2 regexps on paths a new commit may not add or change"`
	MaxPathLength     Count    `toml:"max_path_length" doc:"longest path (in bytes) a new commit may add or change"`
	Secrets           bool     `toml:"secrets" doc:"refuse new files holding credentials (private keys, common token formats; see docs/policy.md)"`
	Check             string   `toml:"check" doc:"job (type command) run synchronously in a transient unit; exit 0 accepts the push"`

	Pushers       []string `toml:"pushers" doc:"the policy applies only to pushes by these pushers (names or Gitea emails, exact); an unknown pusher is none of them"`
	ExceptPushers []string `toml:"except_pushers" doc:"the policy does not apply to pushes by these pushers (names or Gitea emails, exact); an unknown pusher is never excepted"`

	Index    int             `toml:"-"` // 1-based, in the file it came from
	File     string          `toml:"-"`
	Selector match.Selector  `toml:"-"`
	RefGlobs *match.Patterns `toml:"-"` // Refs compiled
	Defined  keySet          `toml:"-"`
}

// Selects reports whether the policy applies to the ref with the full name
// ref: branches and tags by their short names, refs by the full one.
func (p *Policy) Selects(ref string) bool {
	kind, short := match.RefUpdate{Name: ref}.Short()
	return p.Selector.MatchName(kind, short) || p.RefGlobs.Match(ref)
}

// policyChecks are the keys that check something; a policy needs one.
var policyChecks = []string{"deny", "ref_name", "commit_message", "commit_message_deny", "author_email", "committer_email",
	"signed_off", "linear", "signed_commits", "signed_push", "max_file_size", "file_names_deny", "max_path_length", "secrets", "check"}

// Label names the policy for people: `policy "no-force" (hooks.toml policy[2])`.
func (p *Policy) Label() string {
	return fmt.Sprintf("%s policy[%d]", baseName(p.File), p.Index)
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// Regexp is an RE2 regular expression (Go's regexp syntax), compiled when
// the config is read so a bad one is reported with its position.
type Regexp struct {
	*regexp.Regexp
}

func (r *Regexp) decodeTOML(v any) error {
	s, err := wantString(v)
	if err != nil {
		return err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		msg := err.Error()
		var e *syntax.Error
		if errors.As(err, &e) {
			msg = fmt.Sprintf("%s: %q", e.Code, e.Expr)
		}
		return fmt.Errorf("invalid RE2 regexp %q: %s (see https://github.com/google/re2/wiki/Syntax)", s, msg)
	}
	r.Regexp = re
	return nil
}

func (Regexp) schema() map[string]any {
	return map[string]any{"type": "string", "format": "regex", "description": "RE2 regular expression (Go regexp syntax)"}
}

func (d *decoder) checkPolicy(path string, p *Policy) {
	if !p.Defined["name"] {
		d.report(Error, path, false, "%s: missing name: policies are named for the pusher, e.g. name = \"no-force-push\"", path)
	} else if !validJobName(p.Name) {
		d.errorf(joinKey(path, "name"), "%s.name: %q may only use letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)", path, p.Name)
	}
	p.Selector.Branches = d.compileGlobs(path, "branches", p.Branches)
	p.Selector.Tags = d.compileGlobs(path, "tags", p.Tags)
	p.RefGlobs = d.compileGlobs(path, "refs", p.Refs)
	p.Selector.Events = slices.Clone(match.Events)
	for i, r := range p.Refs {
		if g := strings.TrimPrefix(r, "!"); g != "" && !strings.HasPrefix(g, "refs/") && !strings.ContainsAny(g[:1], "*?[{\\") {
			d.errorf(index(joinKey(path, "refs"), i), "%s.refs: %q matches no ref: refs are full names, e.g. \"refs/**\" or \"refs/custom/*\"", path, r)
		}
	}
	if !p.Defined["branches"] && !p.Defined["tags"] && !p.Defined["refs"] {
		d.report(Warning, path, false, "%s applies to nothing: it has neither branches, tags nor refs (use branches = [\"**\"] for every branch, refs = [\"refs/**\"] for every ref)", path)
	}
	if !slices.ContainsFunc(policyChecks, func(k string) bool { return p.Defined[k] }) {
		d.report(Warning, path, false, "%s checks nothing: set one of %s", path, strings.Join(policyChecks, ", "))
	}
	if len(p.Signers) > 0 && !p.SignedCommits && !p.SignedPush {
		d.errorf(joinKey(path, "signers"), "%s.signers: has no effect without signed_commits = true or signed_push = true", path)
	}
	if p.Defined["deny"] && len(p.Deny) == 0 {
		d.errorf(joinKey(path, "deny"), "%s.deny: empty; name events to refuse: create, update, force, delete", path)
	}
	for _, k := range []struct {
		key  string
		list []string
	}{{"pushers", p.Pushers}, {"except_pushers", p.ExceptPushers}} {
		if p.Defined[k.key] && len(k.list) == 0 {
			d.errorf(joinKey(path, k.key), "%s.%s: empty; name pushers, or leave the key out", path, k.key)
		}
		for i, v := range k.list {
			if v == "" || v == match.Unknown {
				d.errorf(index(joinKey(path, k.key), i), "%s.%s: %q names no pusher (an unknown pusher never matches)", path, k.key, v)
			}
		}
	}
	if p.Defined["check"] && !validJobName(p.Check) {
		d.errorf(joinKey(path, "check"), "%s.check: %q is not a job name", path, p.Check)
	}
}

// compileGlobs compiles a rule's or policy's branches or tags, placing
// each bad glob.
func (d *decoder) compileGlobs(path, key string, pats []string) *match.Patterns {
	if p, err := match.CompilePatterns(pats); err == nil {
		if len(pats) > 0 && p.Empty() {
			d.report(Warning, joinKey(path, key), false, "%s.%s: only exclusions (!...) match nothing; add a pattern to include", path, key)
		}
		return p
	}
	var ok []string
	for i, p := range pats {
		if _, err := match.CompilePatterns([]string{p}); err != nil {
			d.errorf(index(joinKey(path, key), i), "%s.%s: %v", path, key, err)
			continue
		}
		ok = append(ok, p)
	}
	if len(ok) > 0 && !slices.ContainsFunc(ok, func(p string) bool { return !strings.HasPrefix(p, "!") }) {
		d.report(Warning, joinKey(path, key), false, "%s.%s: only exclusions (!...) match nothing; add a pattern to include", path, key)
	}
	p, _ := match.CompilePatterns(ok)
	return p
}

// mergePolicies picks the policies that apply: the global file's (all of
// them when the repository says nothing; only final ones with
// inherit_policies = false; not those in disable_policies unless final),
// then the repository's. Names are unique across both files.
func (c *Config) mergePolicies(global, repo *File) Diagnostics {
	var diags Diagnostics
	at := func(f *File, sev Severity, path, format string, args ...any) {
		diags = append(diags, diagAt(f, sev, path, fmt.Sprintf(format, args...)))
	}
	byName := map[string]*Policy{}
	var globalNames []string
	if global != nil {
		for _, p := range global.Policies {
			byName[p.Name] = p
			globalNames = append(globalNames, p.Name)
		}
		for _, k := range []string{"inherit_policies", "disable_policies"} {
			if global.Defined[k] && repo != nil {
				at(global, Warning, k, "%s is for a repository's hooks.toml; in the global file it does nothing", k)
			}
		}
	}
	inherit := repo == nil || repo.InheritPolicies == nil || *repo.InheritPolicies
	disabled := map[string]bool{}
	if repo != nil {
		for i, n := range repo.DisablePolicies {
			pp := index("disable_policies", i)
			gp, ok := byName[n]
			switch {
			case !ok:
				hint := "; the global file defines none"
				if m := nearest(n, globalNames); m != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", m)
				} else if len(globalNames) > 0 {
					hint = "; global policies: " + strings.Join(globalNames, ", ")
				}
				at(repo, Error, pp, "%s: no global policy named %q%s", pp, n, hint)
			case gp.Final:
				at(repo, Error, pp, "%s: policy %q is final in %s: a repository cannot switch it off (ask the server's administrator)", pp, n, global.Name)
			default:
				disabled[n] = true
			}
		}
	}
	if global != nil {
		for _, p := range global.Policies {
			if p.Final || (inherit && !disabled[p.Name]) {
				c.Policies = append(c.Policies, p)
			}
		}
	}
	if repo != nil {
		for _, p := range repo.Policies {
			if gp, ok := byName[p.Name]; ok && global != nil && gp != p {
				at(repo, Error, fmt.Sprintf("policy[%d].name", p.Index), "policy[%d].name: %q is already a policy in %s; policy names are unique (to replace that one, disable it with disable_policies and pick another name)", p.Index, p.Name, global.Name)
				continue
			}
			if p.Final && global != nil {
				at(repo, Warning, fmt.Sprintf("policy[%d].final", p.Index), "policy[%d].final: only means something in the global file; a repository's own policies always apply", p.Index)
			}
			c.Policies = append(c.Policies, p)
		}
	}
	for _, p := range c.Policies {
		f := repo
		if global != nil && p.File == global.Name && (repo == nil || p.File != repo.Name) {
			f = global
		}
		if p.Check == "" {
			continue
		}
		cp := fmt.Sprintf("policy[%d].check", p.Index)
		j, ok := c.Jobs[p.Check]
		switch {
		case !ok:
			names := make([]string, 0, len(c.Jobs))
			for n := range c.Jobs {
				names = append(names, n)
			}
			slices.Sort(names)
			at(f, Error, cp, "%s: no job named %q%s", cp, p.Check, didYouMean(p.Check, names))
		case j.Type != plan.TypeCommand:
			at(f, Error, cp, "%s: job %q is a %s job; a check runs a type \"command\" job", cp, p.Check, j.Type)
		}
	}
	return diags
}

// CheckTimeout is how long a check job may run when it sets no timeout.
const CheckTimeout = 10 * time.Second
