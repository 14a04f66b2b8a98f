package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// RepoFileName is the name of a repository's config file, in $GIT_DIR.
const RepoFileName = "hooks.toml"

// RepoFile is the config file of the repository at repoPath.
func RepoFile(repoPath string) string { return filepath.Join(repoPath, RepoFileName) }

// InsecureEnv, set to 1, accepts config files others could write, as
// --insecure-config does.
const InsecureEnv = "HOOKRUN_INSECURE_CONFIG"

// Source is where a command's config comes from: the global file layered
// under a repository's. Every command finds its files with Locate and reads
// them with Load (or LoadMerged); the hooks and run check them first with
// Check, and the hooks fail closed on a broken file that MayHavePolicies.
type Source struct {
	Global         string // the global file
	GlobalExplicit bool   // named (--config or $HOOKRUN_CONFIG): it must exist
	Repo           string // the repository's file ("": none)
	RepoExplicit   bool   // named (--file): it must exist
	Insecure       bool   // --insecure-config or HOOKRUN_INSECURE_CONFIG=1
}

// Options are what chooses a command's config files.
type Options struct {
	GlobalFlag string // --config ("": $HOOKRUN_CONFIG, else DefaultGlobalPath)
	Insecure   bool   // --insecure-config
	RepoPath   string // the repository, whose file is RepoFile(RepoPath) ("": none)
	RepoFile   string // --file: another repository file, which must exist
	// Getenv reads $HOOKRUN_CONFIG and $HOOKRUN_INSECURE_CONFIG (nil:
	// neither is set).
	Getenv func(string) string
}

// Locate is the Source o chooses.
func Locate(o Options) Source {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	s := Source{Insecure: o.Insecure || getenv(InsecureEnv) == "1"}
	s.Global, s.GlobalExplicit = globalPath(o.GlobalFlag, getenv)
	switch {
	case o.RepoFile != "":
		s.Repo, s.RepoExplicit = o.RepoFile, true
	case o.RepoPath != "":
		s.Repo = RepoFile(o.RepoPath)
	}
	return s
}

// GlobalOnly is s without the repository's file.
func (s Source) GlobalOnly() Source {
	s.Repo, s.RepoExplicit = "", false
	return s
}

// Files are the paths of s's files, the global one first.
func (s Source) Files() []string {
	var out []string
	for _, p := range []string{s.Global, s.Repo} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Unsafe is the ownership problem (CheckOwnership) of each of s's files
// that others could write.
func (s Source) Unsafe() []error {
	var out []error
	for _, p := range s.Files() {
		if err := CheckOwnership(p); err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Check is the safety check of a command that runs what the config says:
// the problem of the first file others could write (ErrUnsafeFile), unless
// s is Insecure; then accepted lists every such problem, to warn about.
func (s Source) Check() (accepted []error, err error) {
	unsafe := s.Unsafe()
	if len(unsafe) > 0 && !s.Insecure {
		return nil, unsafe[0]
	}
	return unsafe, nil
}

// MayHavePolicies reports whether any of s's files, broken or not, holds
// or may hold [[policy]] tables (MayHavePolicies; a file that exists but
// cannot be read may hold anything). A hook refuses a push when such a
// file is broken: an unchecked policy must never let a push through.
func (s Source) MayHavePolicies() bool {
	for _, p := range s.Files() {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil || MayHavePolicies(b) {
			return true
		}
	}
	return false
}

// Load reads s's files (the global one optional unless named, the
// repository's optional unless named), merges them and returns every
// diagnostic. The Config is nil when the diagnostics hold errors. It does
// not check ownership: call Check for that.
func (s Source) Load() (*Config, Diagnostics, error) {
	c, all, err := s.LoadMerged()
	if err != nil || all.HasErrors() {
		return nil, all, err
	}
	return c, all, nil
}

// LoadMerged is Load, but also returns the merged config when it has
// errors (with the broken parts left out), for checks that report still
// more problems in the same run (validate).
func (s Source) LoadMerged() (*Config, Diagnostics, error) {
	if s.RepoExplicit {
		if _, err := os.Stat(s.Repo); err != nil {
			return nil, nil, err // named, so it must exist
		}
	}
	return loadMerged(s.Global, s.GlobalExplicit, s.Repo)
}
