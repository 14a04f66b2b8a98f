package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/install"
)

func cmdInit() *command {
	return withOptions(&command{
		name:    "init",
		summary: "write a commented starter hooks.toml into a repository",
		usage:   "[--force] [DIR]",
		help: `Writes DIR/hooks.toml (default: $GIT_DIR, else the current directory): one
job that echoes each push, one rule starting it for main, and commented
examples of notifications, a gitmal site and a deploy script. It validates
as written. An existing hooks.toml is kept unless --force.`,
		exits: []exitDoc{{"0", "written"}, {"1", "hooks.toml exists (without --force), or cannot be written"}, {"2", "usage error, or DIR does not exist"}},
	}, func(fs *pflag.FlagSet, o *initOptions) {
		fs.BoolVar(&o.force, "force", false, "replace an existing hooks.toml")
	}, runInit)
}

// initOptions are the flags of init.
type initOptions struct {
	force bool
}

// SchemaPath is where `make install` puts the JSON schema (set with
// -ldflags "-X main.SchemaPath=PREFIX/share/hookrun/hooks.schema.json");
// install.SchemaLine names it in the files init writes.
var SchemaPath = ""

func runInit(a *app, fs *pflag.FlagSet, o *initOptions) error {
	if fs.NArg() > 1 {
		return usagef("at most one directory")
	}
	force := o.force
	// DIR, else $GIT_DIR, else here: never a parent (a repository found
	// upwards is not where a new file is meant to go)
	dir := fs.Arg(0)
	if dir == "" {
		cwd, _ := os.Getwd()
		dir = gitx.RepoPath(a.getenv, cwd)
	} else if !filepath.IsAbs(dir) {
		cwd, _ := os.Getwd()
		dir = filepath.Join(cwd, dir)
	}
	if st, err := os.Stat(dir); err != nil {
		return unreadable(err)
	} else if !st.IsDir() {
		return usagef("%s is not a directory", dir)
	}
	path := filepath.Join(dir, config.RepoFileName)
	err := install.WriteStarter(path, install.SchemaLine(a.self, SchemaPath), force)
	if errors.Is(err, os.ErrExist) {
		a.errorf("%s exists; it was left as it is", path)
		a.hintf("check it with 'hookrun validate %s', or replace it with --force", quoteArg(path))
		return errReported
	}
	if err != nil {
		return err
	}
	a.infof("wrote %s", path)
	a.hintf("check it with 'hookrun validate %s'; preview a push with 'hookrun plan --repo %s --ref main'", quoteArg(path), quoteArg(dir))
	return nil
}
