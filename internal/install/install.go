// Package install links a bare repository's post-receive and pre-receive
// hooks to hookrun, and undoes it, without ever destroying a hook someone
// wrote.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Hooks are the hooks hookrun is linked as: post-receive starts jobs,
// pre-receive checks policies.
var Hooks = []string{"post-receive", "pre-receive"}

// DispatchedName is hookrun's file in a hooks/HOOK.d/ directory. The name
// tells hookrun which hook it runs as whatever path it is called by.
func DispatchedName(hook string) string { return "hookrun-" + hook }

// ErrExists is returned when a different hook is in the way.
var ErrExists = errors.New("a different hook exists")

type existsError string

func (e existsError) Error() string        { return string(e) }
func (e existsError) Is(target error) bool { return target == ErrExists }

// Result says what Install or Uninstall did, for the person running it.
type Result struct {
	Repo   string
	Hook   string // path of the symlink
	Action string // "installed", "already installed", "replaced", "removed", "restored", "not installed"
	Backup string // where a replaced hook was kept
	Err    error  // why this hook was not installed or removed
}

// IsBareRepo reports whether dir looks like a bare git repository.
func IsBareRepo(dir string) bool {
	for _, p := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return false
		}
	}
	return true
}

// hookPath picks where the hook goes: hooks/HOOK, or
// hooks/HOOK.d/hookrun-HOOK when hooks/HOOK is a Gitea/Forgejo dispatcher
// that runs every file in HOOK.d.
func hookPath(repo, name string) string {
	hook := filepath.Join(repo, "hooks", name)
	if b, err := os.ReadFile(hook); err == nil && isDispatcher(b, name) {
		return filepath.Join(repo, "hooks", name+".d", DispatchedName(name))
	}
	return hook
}

// isDispatcher recognises Gitea's and Forgejo's generated hook, which runs
// every program in hooks/${hookname}.d/.
func isDispatcher(script []byte, name string) bool {
	if bytes.HasPrefix(script, []byte("\x7fELF")) {
		return false
	}
	return bytes.Contains(script, []byte(name+".d/")) || bytes.Contains(script, []byte("${hookname}.d/"))
}

// Install links each of Hooks in the repository to self, one Result per
// hook. A hook that cannot be installed is reported in its Result's Err
// while the others still are.
func Install(repo, self string, force bool) ([]Result, error) {
	if !IsBareRepo(repo) {
		return nil, fmt.Errorf("%s is not a bare git repository (no HEAD, objects and refs)", repo)
	}
	var out []Result
	for _, h := range Hooks {
		res, err := installHook(repo, h, self, force)
		res.Err = err
		out = append(out, res)
	}
	return out, nil
}

// installHook makes the repository's hook a symlink to self. An existing
// different hook is kept: without force it is an error, with force it is
// renamed to a backup first.
func installHook(repo, name, self string, force bool) (Result, error) {
	hook := hookPath(repo, name)
	res := Result{Repo: repo, Hook: hook, Action: "installed"}
	if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
		return res, err
	}
	fi, err := os.Lstat(hook)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return res, err
	case pointsTo(hook, self):
		res.Action = "already installed"
		return res, nil
	case !force:
		what := "a file"
		if fi.Mode()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(hook)
			what = "a symlink to " + t
		}
		return res, existsError(fmt.Sprintf("a different %s hook exists: %s is %s; keep it, or replace it with --force (it is kept as a backup)", name, hook, what))
	default:
		res.Backup = fmt.Sprintf("%s.hookrun-backup-%s", hook, time.Now().Format("20060102-150405"))
		if err := os.Rename(hook, res.Backup); err != nil {
			return res, err
		}
		res.Action = "replaced"
	}
	tmp := hook + ".hookrun-tmp"
	os.Remove(tmp)
	if err := os.Symlink(self, tmp); err != nil {
		return res, err
	}
	return res, os.Rename(tmp, hook)
}

func pointsTo(link, target string) bool {
	t, err := os.Readlink(link)
	if err != nil {
		return false
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(link), t)
	}
	a, err1 := os.Stat(t)
	b, err2 := os.Stat(target)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// isHookrunLink reports a symlink to self or to any binary named hookrun.
func isHookrunLink(link, self string) bool {
	t, err := os.Readlink(link)
	return err == nil && (pointsTo(link, self) || filepath.Base(t) == "hookrun")
}

// Uninstall removes hookrun's links for each of Hooks and restores the
// newest backup of each, one Result per hook.
func Uninstall(repo, self string) []Result {
	var out []Result
	for _, h := range Hooks {
		res, err := uninstallHook(repo, h, self)
		res.Err = err
		out = append(out, res)
	}
	return out
}

func uninstallHook(repo, name, self string) (Result, error) {
	res := Result{Repo: repo, Action: "not installed"}
	for _, hook := range []string{filepath.Join(repo, "hooks", name+".d", DispatchedName(name)), filepath.Join(repo, "hooks", name)} {
		if !isHookrunLink(hook, self) {
			continue
		}
		res.Hook = hook
		if err := os.Remove(hook); err != nil {
			return res, err
		}
		res.Action = "removed"
		backups, _ := filepath.Glob(hook + ".hookrun-backup-*")
		if len(backups) > 0 {
			sort.Strings(backups)
			res.Backup = backups[len(backups)-1]
			if err := os.Rename(res.Backup, hook); err != nil {
				return res, err
			}
			res.Action = "removed, restored " + filepath.Base(res.Backup)
		}
		return res, nil
	}
	return res, nil
}

// DefaultDepth is how deep FindRepos looks by default: /srv/git/x.git and
// Gitea's owner/x.git are one and two levels below the root.
const DefaultDepth = 3

// Skipped is a directory FindRepos did not search, and why.
type Skipped struct {
	Dir, Why string
}

// FindRepos lists the bare repositories under dir, at most depth levels
// below it, and the directories it did not search: those at the depth limit
// (which might hold repositories) and those it could not read.
func FindRepos(dir string, depth int) (repos []string, skipped []Skipped, err error) {
	base := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			skipped = append(skipped, Skipped{p, err.Error()})
			return filepath.SkipDir
		}
		if !d.IsDir() {
			return nil
		}
		if IsBareRepo(p) {
			repos = append(repos, p)
			return filepath.SkipDir
		}
		if strings.Count(filepath.Clean(p), string(filepath.Separator))-base >= depth {
			if hasSubdirs(p) {
				skipped = append(skipped, Skipped{p, fmt.Sprintf("deeper than --depth %d", depth)})
			}
			return filepath.SkipDir
		}
		return nil
	})
	return repos, skipped, err
}

func hasSubdirs(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			return true
		}
	}
	return false
}
