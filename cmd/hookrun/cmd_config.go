package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
)

func cmdConfig() *command {
	return withOptions(&command{
		name:    "config",
		summary: "show the effective layered config and where each value comes from",
		usage:   "[--repo DIR] [--config FILE] [--json]",
		help: `Prints every setting the hook would use for the repository, the global file
layered under REPO/hooks.toml, one per line with the file and line that set
it (like 'git config --show-origin'), and what it overrides. Built-in
defaults show as "default". Rules are numbered as the hook applies them:
the global file's first (unless inherit_rules = false), then the
repository's. Problems in the files are reported on stderr.`,
		exits: []exitDoc{{"0", "shown"}, {"1", "shown, but the config is invalid"}, {"2", "usage error or unreadable file"}},
	}, func(fs *pflag.FlagSet, o *configOptions) {
		defineRepo(fs, &o.repo, repoUsage)
		o.config.define(fs)
		fs.BoolVar(&o.json, "json", false, "print JSON")
	}, runConfig)
}

type configOptions struct {
	repo   string
	config configFlags
	json   bool
}

func runConfig(a *app, fs *pflag.FlagSet, o *configOptions) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (the repository goes in --repo)", fs.Arg(0))
	}
	repoFlag, asJSON := o.repo, o.json
	repoPath := repoDir(a, repoFlag)
	if repoFlag != "" {
		if st, err := os.Stat(repoPath); err != nil {
			return unreadable(err)
		} else if !st.IsDir() {
			return usagef("%s is not a directory", repoPath)
		}
	}
	src := o.config.source(a, repoPath)
	globalPath, repoFile := src.Global, src.Repo
	c, diags, err := src.LoadMerged()
	if err != nil {
		return unreadable(err)
	}
	for _, d := range diags {
		fmt.Fprintln(a.stderr, d.String())
	}
	if err := config.WriteOrigins(a.stdout, c, globalPath, repoFile, asJSON); err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("the config is invalid (see above); the hook would start nothing")
	}
	return nil
}
