package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
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

// starterConfig is what init writes; testdata/script/init_config.txtar
// keeps it valid without warnings (validate --strict).
const starterConfig = `# hookrun configuration for this repository (see docs/config.md).
# Check it:    hookrun validate hooks.toml
# Preview:     hookrun plan --ref main
version = 1

# Settings every job inherits.
[defaults]
timeout = "30m"       # the unit is stopped after this long
# memory_max = "1G"
# cpu_quota = "100%"   # one CPU
# concurrency = "queue" # parallel (default), queue, replace or coalesce

# Notifications of every outcome through ntfy.
# [notify]
# server = "https://ntfy.sh"
# topic = "git-builds"
# token_file = "/etc/hookrun/ntfy-token"   # mode 0600, readable by the git user only

[jobs.hello]
type = "command"
command = ["echo", "pushed", "{ref}", "at", "{short}"]   # argv: no shell sees it

# A static site of the repository, built with gitmal.
# [jobs.site]
# type = "gitmal"
# output = "/srv/www/git/{repo}"

# A deploy script, given the branch and the commit.
# [jobs.deploy]
# type = "deploy"
# script = "/etc/git-hooks/deploy.sh"
# args = ["{branch}", "{commit}"]

[[rules]]
name = "main"
branches = ["main"]   # branch names, not refs/heads/main
jobs = ["hello"]

# [[rules]]
# name = "releases"
# tags = ["v*"]
# jobs = ["deploy"]
`

// SchemaPath is where `make install` puts the JSON schema (set with
// -ldflags "-X main.SchemaPath=PREFIX/share/hookrun/hooks.schema.json").
var SchemaPath = ""

// schemaLine is the `#:schema` line (for editors with TOML schema support)
// init writes first: the schema installed beside the hookrun binary
// (PREFIX/share/hookrun for PREFIX/bin/hookrun, whatever PREFIX is), else
// the path the build was made for; without either, a comment saying where
// the schema is.
func schemaLine(self string) string {
	if self != "" {
		p := filepath.Join(filepath.Dir(filepath.Dir(self)), "share", "hookrun", "hooks.schema.json")
		if _, err := os.Stat(p); err == nil {
			return "#:schema " + p + "\n"
		}
	}
	if SchemaPath != "" {
		return "#:schema " + SchemaPath + "\n"
	}
	return "# JSON schema: schema/hooks.schema.json in hookrun's source ('make install' puts it in PREFIX/share/hookrun)\n"
}

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
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if errors.Is(err, os.ErrExist) {
		a.errorf("%s exists; it was left as it is", path)
		a.hintf("check it with 'hookrun validate %s', or replace it with --force", quoteArg(path))
		return errReported
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(schemaLine(a.self) + starterConfig); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	a.infof("wrote %s", path)
	a.hintf("check it with 'hookrun validate %s'; preview a push with 'hookrun plan --repo %s --ref main'", quoteArg(path), quoteArg(dir))
	return nil
}
