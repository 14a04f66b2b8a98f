package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/ntfyconf"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdValidate() *command {
	return withOptions(&command{
		name:    "validate",
		summary: "check hooks.toml files (and the global config) for errors",
		usage:   "[--format text|json|github] [--strict] [FILE|REPO...]",
		help: `With no FILE, checks ./hooks.toml, else $GIT_DIR/hooks.toml. A bare
repository REPO stands for REPO/hooks.toml; the hooks of REPO, or of the
repository a hooks.toml is in, are checked too: a hook that runs a hookrun
binary that is gone is an error. A repository
file is checked layered on the global config (--config, $HOOKRUN_CONFIG or
/etc/hookrun/hookrun.toml, when present), as the hook would load it; the
global file itself is checked on its own. Every problem is reported, not only
the first, for every file, even when one of them cannot be read.

Beyond what the hook would reject, validate warns about what would fail or
surprise at push time on this machine: a script, gitmal or absolute command
that is missing or not executable, a token_file that is missing, unreadable
or readable by others, a job no rule starts, durations like "1h30" (1h30s)
and sizes without a unit. --strict makes every warning an error.`,
		exits: []exitDoc{{"0", "valid (warnings allowed, unless --strict)"}, {"1", "invalid: at least one error (or warning, with --strict)"}, {"2", "usage error or unreadable file"}},
	}, func(fs *pflag.FlagSet, o *validateOptions) {
		fs.StringVar(&o.format, "format", "text", "output `format`: text, json or github (workflow annotations)")
		o.config.define(fs)
		fs.BoolVar(&o.strict, "strict", false, "treat warnings as errors (for CI)")
		o.config.defineInsecure(fs, insecureValidateUsage)
	}, runValidate)
}

type validateOptions struct {
	format string
	config configFlags
	strict bool
}

type validateResult struct {
	Valid       bool                `json:"valid"`
	Files       []string            `json:"files"`
	Errors      int                 `json:"errors"`
	Warnings    int                 `json:"warnings"`
	Diagnostics []config.Diagnostic `json:"diagnostics"`
}

func runValidate(a *app, fs *pflag.FlagSet, o *validateOptions) error {
	format, strict := o.format, o.strict
	if format != "text" && format != "json" && format != "github" {
		return usagef("--format must be text, json or github, not %q", format)
	}
	base := o.config.source(a, "") // each file named is a repository's, unless it is the global one
	files := fs.Args()
	if len(files) == 0 {
		f, err := defaultConfigFile(a)
		if err != nil {
			return err
		}
		files = []string{f}
	}
	res := validateResult{Diagnostics: []config.Diagnostic{}}
	var unread []error // files that cannot be read; the others are still checked
	var configs []string
	inspected := map[string]bool{}
	// inspect reports whether repo's hooks run a hookrun that is gone
	inspect := func(repo string) {
		if abs, err := filepath.Abs(repo); err == nil && !inspected[abs] {
			inspected[abs] = true
			for _, h := range install.Inspect(repo) {
				if p := h.Problem(); p != "" {
					res.Diagnostics = append(res.Diagnostics, config.Diagnostic{File: h.Path, Severity: config.Error, Msg: p})
				}
			}
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || !st.IsDir() || !install.IsBareRepo(f) {
			if filepath.Base(f) == config.RepoFileName && install.IsBareRepo(filepath.Dir(f)) {
				inspect(filepath.Dir(f)) // a repository's own config: its hooks too
			}
			configs = append(configs, f)
			continue
		}
		// REPO: whether its hooks run hookrun, and its hooks.toml if any
		inspect(f)
		if cf := config.RepoFile(f); exists(cf) {
			configs = append(configs, cf)
		} else {
			res.Files = append(res.Files, f)
		}
	}
	for _, f := range configs {
		res.Files = append(res.Files, f)
		var diags config.Diagnostics
		var c *config.Config
		var err error
		if _, err = os.Stat(f); err == nil {
			src := base
			src.Repo = f
			if sameFile(f, base.Global) {
				src = config.Source{Global: f, GlobalExplicit: true}
			}
			c, diags, err = src.LoadMerged()
		}
		if err != nil {
			err = unreadable(err)
			unread = append(unread, err)
			res.Diagnostics = append(res.Diagnostics, config.Diagnostic{File: f, Severity: config.Error, Msg: err.Error()})
			continue
		}
		diags = append(diags, safetyDiags(base, f)...)
		diags = append(diags, limitDiags(c, f)...)
		diags = append(diags, secretsDiags(c, f)...)
		if c != nil {
			diags = append(diags, config.CheckHost(c)...)
		}
		diags.Sort()
		res.Diagnostics = append(res.Diagnostics, diags...)
	}
	for i, d := range res.Diagnostics {
		// Every format shows the same redacted text: no password in a URL
		// is ever echoed, whichever check quoted it.
		res.Diagnostics[i].Msg = ntfyconf.RedactURLs(d.Msg)
		if strict && d.Severity == config.Warning {
			res.Diagnostics[i].Severity = config.Error
			res.Diagnostics[i].Msg += " (an error with --strict)"
		}
		if res.Diagnostics[i].Severity == config.Error {
			res.Errors++
		} else {
			res.Warnings++
		}
	}
	res.Valid = res.Errors == 0
	switch format {
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	case "github":
		for _, d := range res.Diagnostics {
			fmt.Fprintf(a.stdout, "::%s file=%s,line=%d,col=%d::%s\n", d.Severity, ghEscapeProp(d.File), max(d.Line, 1), max(d.Col, 1), ghEscape(d.Msg))
		}
	default:
		for _, d := range res.Diagnostics {
			if d.Line == 0 && slices.ContainsFunc(unread, func(e error) bool { return e.Error() == d.Msg }) {
				continue // said on stderr, below
			}
			fmt.Fprintln(a.stdout, d.String())
		}
		status := "valid"
		if !res.Valid {
			status = "invalid"
		}
		fmt.Fprintf(a.stderr, "hookrun: %s: %s (%s, %s)\n", strings.Join(res.Files, ", "), status, plural(res.Errors, "error"), plural(res.Warnings, "warning"))
	}
	switch {
	case len(unread) > 0:
		return errors.Join(unread...) // exit 2
	case !res.Valid:
		return errReported
	}
	return nil
}

// GitHub workflow commands need %, CR and LF escaped (and , : in properties).
func ghEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// defaultConfigFile is ./hooks.toml, else $GIT_DIR/hooks.toml.
func defaultConfigFile(a *app) (string, error) {
	if _, err := os.Stat(config.RepoFileName); err == nil {
		return config.RepoFileName, nil
	}
	if gd := a.getenv("GIT_DIR"); gd != "" {
		return config.RepoFile(gd), nil
	}
	return "", &usageError{msg: "no hooks.toml here and GIT_DIR is not set", hint: "name the file: hookrun validate PATH"}
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// safetyDiags applies the hook's ownership check, so validate refuses what
// the hook would refuse.
func safetyDiags(src config.Source, file string) []config.Diagnostic {
	err := config.CheckOwnership(file)
	if err == nil {
		return nil
	}
	sev := config.Error
	msg := err.Error() + "; the hook refuses it (fix: chmod go-w, chown; or --insecure-config / HOOKRUN_INSECURE_CONFIG=1)"
	if src.Insecure {
		sev = config.Warning
		msg = err.Error() + "; accepted because of --insecure-config/HOOKRUN_INSECURE_CONFIG=1"
	}
	return []config.Diagnostic{{File: file, Severity: sev, Msg: msg}}
}

// limitDiags warns about limits a user manager on this machine cannot apply
// because the cgroup controller they need is not delegated to it. It says
// nothing where that cannot be told (another machine, cgroup v1).
// secretsDiags reports a secrets_config or secrets_ignore file that a push
// could not load.
func secretsDiags(c *config.Config, file string) []config.Diagnostic {
	if c == nil || !slices.ContainsFunc(c.Policies, func(p *config.Policy) bool { return p.Secrets }) {
		return nil
	}
	var out []config.Diagnostic
	for _, err := range policy.CheckSecretsFiles(c.SecretsConfig, c.SecretsIgnore) {
		out = append(out, config.Diagnostic{File: file, Severity: config.Error, Msg: err.Error()})
	}
	return out
}

func limitDiags(c *config.Config, file string) []config.Diagnostic {
	if c == nil {
		return nil
	}
	have, ok := runner.DelegatedControllers(os.Getuid())
	if !ok {
		return nil
	}
	var out []config.Diagnostic
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		s := c.Effective(c.Jobs[name])
		if s.Manager != plan.ManagerUser {
			continue
		}
		set := map[string]bool{"cpu_quota": s.CPUQuota != 0, "memory_max": s.MemoryMax != 0, "tasks_max": s.TasksMax != 0}
		for _, key := range []string{"cpu_quota", "memory_max", "tasks_max"} {
			ctl := runner.LimitControllers[key]
			if set[key] && !slices.Contains(have, ctl) {
				out = append(out, config.Diagnostic{File: file, Severity: config.Warning, Path: "jobs." + name,
					Msg: fmt.Sprintf("jobs.%s: %s cannot apply: the %q cgroup controller is not delegated to this user's systemd manager (delegated: %s); see docs/setup-user-manager.md", name, key, ctl, strings.Join(have, " "))})
			}
		}
	}
	return out
}
