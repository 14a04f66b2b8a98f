package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
)

// withOptions makes c's flags and run from a typed options struct O:
// define binds each flag to a field of O (fs.StringVar(&o.field, ...)), and
// run gets the O its command line was parsed into. No command reads a flag
// back by its name. Each parse of c's flags (runCommand, and help, man and
// completion, which only list them) starts from a fresh O, so a row of the
// command table, made per app, never carries values from one use to the
// next.
func withOptions[O any](c *command, define func(fs *pflag.FlagSet, o *O), run func(a *app, fs *pflag.FlagSet, o *O) error) *command {
	var o *O
	c.flags = func(fs *pflag.FlagSet) {
		o = new(O)
		define(fs, o)
	}
	c.run = func(a *app, fs *pflag.FlagSet) error { return run(a, fs, o) }
	return c
}

// The flags several commands share are defined here, once.

// Usages of --repo: the usual one, and that of the commands that also
// search every repository hookrun knows.
const (
	repoUsage       = "bare repository `dir` (default: $GIT_DIR, else the current directory)"
	repoSearchUsage = "bare repository `dir` to look in (default: $GIT_DIR, the current directory, then every repository hookrun knows)"
)

// defineRepo defines --repo, bound to p.
func defineRepo(fs *pflag.FlagSet, p *string, usage string) {
	fs.StringVar(p, "repo", "", usage)
}

// configFlags are --config and --insecure-config: which global config a
// command reads, and whether it accepts config files others can write.
type configFlags struct {
	global   string // --config
	insecure bool   // --insecure-config
	file     string // --file: a repository config file other than REPO/hooks.toml
}

// define defines --config.
func (f *configFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.global, "config", "", "global config `file`")
}

// Usages of --insecure-config: for the commands that run what the config
// says, and for validate, which only reports.
const (
	insecureUsage         = "accept config files writable by others (dangerous; also HOOKRUN_INSECURE_CONFIG=1)"
	insecureValidateUsage = "report config files writable by others as warnings, not errors"
)

// defineInsecure defines --insecure-config.
func (f *configFlags) defineInsecure(fs *pflag.FlagSet, usage string) {
	fs.BoolVar(&f.insecure, "insecure-config", false, usage)
}

// defineHook defines the hooks' flags: --config and --insecure-config.
func defineHook(fs *pflag.FlagSet, o *configFlags) {
	o.define(fs)
	o.defineInsecure(fs, insecureUsage)
}

// defineFile defines --file (-f).
func (f *configFlags) defineFile(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "", "repository config `file` (default: REPO/hooks.toml)")
}

// source is where the command's config comes from, for the repository at
// repoPath ("" for none): the one loader, config.Locate.
func (f *configFlags) source(a *app, repoPath string) config.Source {
	return config.Locate(config.Options{GlobalFlag: f.global, Insecure: f.insecure, RepoPath: repoPath, RepoFile: f.file, Getenv: a.getenv})
}
