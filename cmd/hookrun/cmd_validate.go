package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/validate"
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
	res := validate.Check(files, base, strict)
	switch format {
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	case "github":
		res.WriteGitHub(a.stdout)
	default:
		res.WriteText(a.stdout)
		fmt.Fprintf(a.stderr, "hookrun: %s\n", res.Summary())
	}
	unread := res.Unread()
	for i, err := range unread {
		if fe := (*validate.FileError)(nil); errors.As(err, &fe) {
			unread[i] = &fileError{path: fe.Path, err: fe.Err} // exit 2
		}
	}
	switch {
	case len(unread) > 0:
		return errors.Join(unread...) // exit 2
	case !res.Valid:
		return errReported
	}
	return nil
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
