// Package gitx answers the few questions hookrun asks git: where the
// repository is and whether one commit descends from another.
package gitx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RepoPath returns the absolute path of the repository a hook runs in: git
// sets GIT_DIR (often to "."), else it is the working directory.
func RepoPath(getenv func(string) string, cwd string) string {
	dir := getenv("GIT_DIR")
	if dir == "" {
		dir = "."
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cwd, dir)
	}
	return filepath.Clean(dir)
}

// RepoName is the repository's name: its directory name without ".git".
func RepoName(repoPath string) string {
	return strings.TrimSuffix(filepath.Base(repoPath), ".git")
}

// Ancestry asks git whether a ref update was a fast-forward.
type Ancestry struct {
	GitDir string
	Git    string   // git binary; "git" from PATH when empty
	Env    []string // environment; nil: this process's without GIT_* variables
}

// IsAncestor reports whether old is an ancestor of new.
func (a Ancestry) IsAncestor(old, new string) (bool, error) {
	git := a.Git
	if git == "" {
		git = "git"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, git, "--git-dir", a.GitDir, "merge-base", "--is-ancestor", old, new)
	env := a.Env
	if env == nil {
		env = CleanEnv(os.Environ())
	}
	cmd.Env = append(env[:len(env):len(env)], "GIT_DIR="+a.GitDir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, fmt.Errorf("git merge-base --is-ancestor %.7s %.7s: %v: %s", old, new, err, strings.TrimSpace(stderr.String()))
}

// CleanEnv drops GIT_* variables: a hook's GIT_DIR=. would make any git
// command (and gitmal) run by a job read the wrong repository.
func CleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_") {
			out = append(out, kv)
		}
	}
	return out
}

// RevParse returns the object name rev resolves to in the repository, or an
// error when it does not resolve.
func RevParse(gitDir, rev string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	cmd.Env = CleanEnv(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s does not resolve in %s", rev, gitDir)
	}
	return strings.TrimSpace(string(out)), nil
}

// RefObject returns the object name ref points to, not peeled: for an
// annotated tag, the tag object, as git sends it to hooks.
func RefObject(gitDir, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref)
	cmd.Env = CleanEnv(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s is not in %s", ref, gitDir)
	}
	return strings.TrimSpace(string(out)), nil
}

// Blob returns the content of blob sha (40 or 64 hex digits) in the
// repository, at most limit bytes; a larger blob is an error.
func Blob(gitDir, sha string, limit int64) ([]byte, error) {
	if len(sha) != 40 && len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%q is not an object name", sha)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "cat-file", "blob", sha)
	cmd.Env = CleanEnv(os.Environ())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	b, rerr := io.ReadAll(io.LimitReader(out, limit+1))
	if int64(len(b)) > limit {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("blob %s is larger than %d bytes", sha, limit)
	}
	if err := cmd.Wait(); err != nil || rerr != nil {
		return nil, fmt.Errorf("blob %s is not in %s", sha, gitDir)
	}
	return b, nil
}

// IsRepository reports whether dir is a git repository (bare, or with a
// .git directory), without running git.
func IsRepository(dir string) bool {
	for _, p := range []string{filepath.Join(dir, "HEAD"), filepath.Join(dir, ".git", "HEAD")} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// SymbolicHEAD is the ref HEAD names in the repository, e.g. refs/heads/main.
func SymbolicHEAD(gitDir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "symbolic-ref", "--quiet", "HEAD")
	cmd.Env = CleanEnv(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("HEAD of %s names no branch", gitDir)
	}
	return strings.TrimSpace(string(out)), nil
}

// isGitDir reports whether dir is a git directory as git tells one: a HEAD
// file, and objects/ and refs/ (or a commondir file, in a linked
// worktree's git directory).
func isGitDir(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil || !st.Mode().IsRegular() {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "commondir")); err == nil {
		return true
	}
	for _, d := range []string{"objects", "refs"} {
		if st, err := os.Stat(filepath.Join(dir, d)); err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}

// GitDir is the git directory dir stands for, without running git: dir
// itself when it is one (a bare repository, or a .git directory), else
// dir/.git (a directory, or a "gitdir: PATH" file as linked worktrees and
// submodules have). ok is false when dir is neither.
func GitDir(dir string) (gitDir string, ok bool) {
	if isGitDir(dir) {
		return dir, true
	}
	dotgit := filepath.Join(dir, ".git")
	if isGitDir(dotgit) {
		return dotgit, true
	}
	if b, err := os.ReadFile(dotgit); err == nil {
		if p, found := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: "); found {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if p = filepath.Clean(p); isGitDir(p) {
				return p, true
			}
		}
	}
	return "", false
}

// DiscoverGitDir finds the repository dir is in, as git does: the first of
// dir and its parents that is, or holds, a git directory (GitDir).
func DiscoverGitDir(dir string) (gitDir string, ok bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if g, ok := GitDir(d); ok {
			return g, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// IsWorkClone reports whether gitDir is the .git of a clone with a work
// tree (core.bare is not true), where pushes do not arrive.
func IsWorkClone(gitDir string) bool {
	if filepath.Base(gitDir) != ".git" {
		return false
	}
	bare, err := gitConfig(gitDir, "core.bare")
	return err != nil || bare != "true"
}

// RemoteURL is the URL of gitDir's remote name ("" when it has none).
func RemoteURL(gitDir, name string) string {
	u, _ := gitConfig(gitDir, "remote."+name+".url")
	return u
}

func gitConfig(gitDir, key string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "config", "--get", key)
	cmd.Env = CleanEnv(os.Environ())
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// LastUpdate is the last update of ref its reflog records (git writes one
// when core.logAllRefUpdates is on: `hookrun install` turns it on), as long
// as the reflog's new object is still the ref's tip; ok is false without
// one. A creation has an all-zero old.
func LastUpdate(gitDir, ref, tip string) (old, new string, ok bool) {
	b, err := os.ReadFile(filepath.Join(gitDir, "logs", filepath.FromSlash(ref)))
	if err != nil {
		return "", "", false
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 || f[1] != tip || len(f[0]) != len(tip) {
		return "", "", false
	}
	return f[0], f[1], true
}

// KeepReflogs turns on core.logAllRefUpdates in gitDir (off by default in a
// bare repository), so every ref update is logged and LastUpdate can tell
// what a ref's last push did.
func KeepReflogs(gitDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir", gitDir, "config", "core.logAllRefUpdates", "true")
	cmd.Env = CleanEnv(os.Environ())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git config core.logAllRefUpdates true in %s: %v: %s", gitDir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Locate is the repository a command means: flag (--repo or REPO,
// relative to cwd; a work clone stands for its .git, as for git), else
// $GIT_DIR's, else the one cwd is in, found as git finds it.
func Locate(flag, cwd string, getenv func(string) string) string {
	if flag != "" {
		if !filepath.IsAbs(flag) {
			flag = filepath.Join(cwd, flag)
		}
		if g, ok := GitDir(flag); ok {
			return g
		}
		return filepath.Clean(flag)
	}
	if getenv("GIT_DIR") == "" {
		if g, ok := DiscoverGitDir(cwd); ok {
			return g
		}
	}
	return RepoPath(getenv, cwd)
}

// WorkCloneError is the error for a work clone where hookrun's records are
// wanted: they are in the repository pushes go to, maybe its origin.
func WorkCloneError(gitDir string) error {
	clone := filepath.Dir(gitDir)
	msg := fmt.Sprintf("%s is a work clone: hookrun runs, and records its runs, in the repository pushes go to", clone)
	if u := RemoteURL(gitDir, "origin"); u != "" {
		return fmt.Errorf("%s (its origin is %s); name that repository, on the server that holds it", msg, u)
	}
	return fmt.Errorf("%s; name that repository, e.g. /srv/git/site.git", msg)
}
