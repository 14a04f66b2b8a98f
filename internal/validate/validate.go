// Package validate checks hooks.toml files, the global config and the hooks
// of their repositories for 'hookrun validate': everything the hook would
// reject, and what would fail or surprise at push time on this machine
// (limits its user manager cannot apply, secrets files a push could not
// load, hooks that run a hookrun binary that is gone, unsafe ownership).
package validate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/ntfyconf"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/runner"
)

// Report is what validate found, as --format json prints it.
type Report struct {
	Valid       bool                `json:"valid"`
	Files       []string            `json:"files"`
	Errors      int                 `json:"errors"`
	Warnings    int                 `json:"warnings"`
	Diagnostics []config.Diagnostic `json:"diagnostics"`

	unread []error
}

// FileError is a file named that cannot be read: "cannot read PATH: REASON".
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("cannot read %s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Unread is the errors of the files that could not be loaded (a *FileError
// for one that cannot be read); the others were checked.
func (r *Report) Unread() []error { return r.unread }

// Check checks each of files: a config file, checked layered on base's
// global config (the global file itself on its own), or a bare repository,
// standing for its hooks.toml (when it has one) and its hooks. A
// repository's own hooks.toml has its hooks checked too. With strict every
// warning is an error. Every message is redacted: no password in a URL is
// ever echoed.
func Check(files []string, base config.Source, strict bool) *Report {
	res := &Report{Diagnostics: []config.Diagnostic{}}
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
			if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
				err = &FileError{Path: pe.Path, Err: pe.Err}
			}
			res.unread = append(res.unread, err)
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
	return res
}

// WriteGitHub writes the diagnostics as GitHub workflow annotations.
func (r *Report) WriteGitHub(w io.Writer) {
	for _, d := range r.Diagnostics {
		fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d::%s\n", d.Severity, ghEscapeProp(d.File), max(d.Line, 1), max(d.Col, 1), ghEscape(d.Msg))
	}
}

// WriteText writes the diagnostics one a line, but those of the files that
// could not be read (the caller says them as errors).
func (r *Report) WriteText(w io.Writer) {
	for _, d := range r.Diagnostics {
		if d.Line == 0 && slices.ContainsFunc(r.unread, func(e error) bool { return e.Error() == d.Msg }) {
			continue
		}
		fmt.Fprintln(w, d.String())
	}
}

// Summary is the files checked and the verdict, for the text format:
// "hooks.toml: valid (0 errors, 1 warning)".
func (r *Report) Summary() string {
	status := "valid"
	if !r.Valid {
		status = "invalid"
	}
	return fmt.Sprintf("%s: %s (%s, %s)", strings.Join(r.Files, ", "), status, plural(r.Errors, "error"), plural(r.Warnings, "warning"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// GitHub workflow commands need %, CR and LF escaped (and , : in properties).
func ghEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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

// limitDiags warns about limits a user manager on this machine cannot apply
// because the cgroup controller they need is not delegated to it. It says
// nothing where that cannot be told (another machine, cgroup v1).
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
