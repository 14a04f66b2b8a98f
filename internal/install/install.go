// Package install makes a bare repository's post-receive and pre-receive
// hooks run hookrun (files whose "#!" line names it, which fail closed), and undoes it, without
// ever destroying a hook someone wrote.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
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
	if b, err := os.ReadFile(hook); err == nil && ScriptTarget(b) == "" && isDispatcher(b, name) {
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

// Mode says what Install does with a different hook in its way.
type Mode int

const (
	// Keep refuses: nothing is installed while any hook is in the way.
	Keep Mode = iota
	// Replace renames the hook in the way to HOOK.hookrun-backup-TIME
	// (Uninstall restores it).
	Replace
	// Chain moves the hook in the way to hooks/HOOK.d/previous-HOOK, which
	// hookrun's hook runs after hookrun with the same input (Uninstall
	// moves it back).
	Chain
)

// ChainedName is where Chain keeps a hook that was in hookrun's way, in
// hooks/HOOK.d/.
func ChainedName(hook string) string { return "previous-" + hook }

// step is one hook's planned change.
type step struct {
	res     Result
	hook    string // Hooks entry
	write   bool   // write the script at res.Hook
	moveTo  string // move what is at res.Hook here first (backup or chain)
	discard bool   // remove moveTo once every hook is installed (hookrun's own old hook)
	content []byte
}

// Install makes each of Hooks in the repository a script that runs self
// (see Script), one Result per hook. It is all or nothing: when any hook
// is in the way (and mode is Keep) or anything fails, no hook is changed
// and the error says why, for every hook in the way.
func Install(repo, self string, mode Mode) ([]Result, error) {
	if !IsBareRepo(repo) {
		return nil, fmt.Errorf("%s is not a bare git repository (no HEAD, objects and refs)", repo)
	}
	if !filepath.IsAbs(self) {
		return nil, fmt.Errorf("hookrun's path %q is not absolute", self)
	}
	var steps []step
	var problems []error
	for _, h := range Hooks {
		st, err := planHook(repo, h, self, mode)
		if err != nil {
			problems = append(problems, err)
		}
		steps = append(steps, st)
	}
	if len(problems) > 0 {
		return nil, errors.Join(append(problems, errors.New("nothing was installed in "+repo))...)
	}
	var done []step
	for _, st := range steps {
		if err := apply(st); err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				undo(done[i])
			}
			return nil, fmt.Errorf("%s: %v; nothing was installed in %s", st.res.Hook, err, repo)
		}
		done = append(done, st)
	}
	var out []Result
	for _, st := range steps {
		if st.discard {
			os.Remove(st.moveTo)
		}
		out = append(out, st.res)
	}
	return out, nil
}

// planHook decides what installing hook name means, changing nothing.
func planHook(repo, name, self string, mode Mode) (step, error) {
	hook := hookPath(repo, name)
	dispatched := filepath.Base(filepath.Dir(hook)) == name+".d"
	st := step{hook: name, res: Result{Repo: repo, Hook: hook, Action: "installed"}, write: true, content: Script(name, Program(name, self), !dispatched)}
	fi, err := os.Lstat(hook)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return st, err
	}
	if b, err := os.ReadFile(hook); err == nil && bytes.Equal(b, st.content) && fi.Mode().IsRegular() {
		st.write, st.res.Action = false, "already installed"
		return st, nil
	}
	if isOurs(hook, self) {
		// kept aside until both hooks are in, so a failure puts it back
		st.moveTo, st.discard, st.res.Action = hook+".hookrun-prev", true, "updated"
		os.Remove(st.moveTo)
		return st, nil
	}
	what := "a file"
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, _ := os.Readlink(hook)
		what = "a symlink to " + t
	}
	switch mode {
	case Replace:
		st.moveTo = fmt.Sprintf("%s.hookrun-backup-%s", hook, time.Now().Format("20060102-150405"))
		st.res.Backup, st.res.Action = st.moveTo, "replaced"
	case Chain:
		st.moveTo = filepath.Join(repo, "hooks", name+".d", ChainedName(name))
		if _, err := os.Lstat(st.moveTo); err == nil {
			return st, existsError(fmt.Sprintf("cannot chain the %s hook: %s exists already; move one of them away", name, st.moveTo))
		}
		st.res.Backup, st.res.Action = st.moveTo, "installed, chained"
	default:
		return st, existsError(fmt.Sprintf("a different %s hook exists: %s is %s; keep it running after hookrun with --chain, or replace it with --force (it is kept as a backup)", name, hook, what))
	}
	return st, nil
}

func apply(st step) error {
	if !st.write {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(st.res.Hook), 0o755); err != nil {
		return err
	}
	tmp := st.res.Hook + ".hookrun-tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, st.content, 0o755); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // whatever the umask
		os.Remove(tmp)
		return err
	}
	if st.moveTo != "" {
		if err := os.MkdirAll(filepath.Dir(st.moveTo), 0o755); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(st.res.Hook, st.moveTo); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, st.res.Hook); err != nil {
		os.Remove(tmp)
		if st.moveTo != "" {
			os.Rename(st.moveTo, st.res.Hook)
		}
		return err
	}
	return nil
}

// undo puts back what apply changed: the hook that was there, or none.
func undo(st step) {
	if !st.write {
		return
	}
	if st.moveTo != "" {
		os.Rename(st.moveTo, st.res.Hook)
		os.Remove(filepath.Dir(st.moveTo)) // a hooks/HOOK.d/ chain made, when empty
		return
	}
	os.Remove(st.res.Hook)
}

// HookProgram is the small program a post-receive hook runs when it sits
// beside hookrun (cmd/hookrun-hook): it links only what a push needs, so
// every push pays for a small program's start (docs/PERFORMANCE.md).
const HookProgram = "hookrun-hook"

// Program is what the script for hook runs, for the hookrun at self:
// HookProgram beside it for post-receive when it is there, else self.
func Program(hook, self string) string {
	if hook == "post-receive" {
		if p := filepath.Join(filepath.Dir(self), HookProgram); IsExecutable(p) {
			return p
		}
	}
	return self
}

// HookrunBeside is the hookrun that the HookProgram at program runs: its
// units' `hookrun exec`, and what it hands over.
func HookrunBeside(program string) string {
	return filepath.Join(filepath.Dir(program), "hookrun")
}

// scriptMark starts the second line of every hook script Install writes.
const scriptMark = "# hookrun hook, written by 'hookrun install'"

// Script is the hook script Install writes for hook: it runs self (an
// absolute path) as that hook. Unlike a symlink, which git silently skips
// once its target is gone, it fails closed: when self is missing or not
// executable, a pre-receive hook refuses the push and a post-receive hook
// says no job was started. With chain, it then runs every executable in
// hooks/HOOK.d/ in name order with the same input (a pre-receive refusal by
// any stops the push); without hooks/HOOK.d/ it simply execs hookrun. The
// shell sees no pushed data: the ref lines pass through a temporary file.
//
// When self fits a "#!" line (no whitespace, under the
// kernel's 256 bytes), the hook is no shell script at all: its first line
// names self as the interpreter, so the kernel runs hookrun directly with
// the hook's path as its argument (cmd/hookrun's Main knows it by that argument). A shell would
// cost every push about 0.8 ms (docs/PERFORMANCE.md); the "#!" line fails
// closed the same way, since git cannot start a hook whose interpreter is
// missing ("cannot run hooks/pre-receive", the push refused), only without
// hookrun's own words for it (status and validate give those).
func Script(hook, self string, chain bool) []byte {
	var b strings.Builder
	if shebangable(self) {
		fmt.Fprintf(&b, "#!%s\n%s as %s; 'hookrun uninstall' removes it.\n", self, scriptMark, hook)
		if hook == "pre-receive" {
			fmt.Fprintf(&b, "# git runs the hookrun named above with this file's path; when it is missing\n# git cannot start this hook and refuses every push.\n")
		} else {
			fmt.Fprintf(&b, "# git runs the hookrun named above with this file's path; when it is missing\n# git cannot start this hook and says so, and no job starts.\n")
		}
		return []byte(b.String())
	}
	q := "'" + strings.ReplaceAll(self, "'", `'\''`) + "'"
	fmt.Fprintf(&b, "#!/bin/sh\n%s as %s; 'hookrun uninstall' removes it.\n", scriptMark, hook)
	fmt.Fprintf(&b, "# It runs hookrun by its absolute path")
	if chain {
		fmt.Fprintf(&b, ", then each executable in hooks/%s.d/ with the\n# same input (chained hooks, see docs/operations.md)", hook)
	}
	fmt.Fprintf(&b, ".\nhookrun=%s\n", q)
	missing := "no job was started for this push"
	status := "missing=1"
	if hook == "pre-receive" {
		missing = "the push is refused (its policies cannot be checked)"
		status = "exit 1"
	}
	if hook != "pre-receive" {
		fmt.Fprintf(&b, "missing=\n")
	}
	fmt.Fprintf(&b, "if ! [ -x \"$hookrun\" ]; then\n")
	fmt.Fprintf(&b, "\techo \"hookrun: error: $hookrun, which this repository's %s hook runs, is missing or not executable: %s\" >&2\n", hook, missing)
	fmt.Fprintf(&b, "\techo \"hookrun: hint: the server's administrator reinstalls hookrun there, or runs 'hookrun install' again with the new one\" >&2\n")
	fmt.Fprintf(&b, "\t%s\nfi\n", status)
	if !chain {
		if hook != "pre-receive" {
			fmt.Fprintf(&b, "[ -z \"$missing\" ] || exit 1\n")
		}
		fmt.Fprintf(&b, "exec \"$hookrun\" %s \"$@\"\n", hook)
		return []byte(b.String())
	}
	fmt.Fprintf(&b, "chained=\"${0%%/*}/%s.d\"\n", hook)
	fmt.Fprintf(&b, "if ! [ -d \"$chained\" ]; then\n")
	if hook != "pre-receive" {
		fmt.Fprintf(&b, "\t[ -z \"$missing\" ] || exit 1\n")
	}
	fmt.Fprintf(&b, "\texec \"$hookrun\" %s \"$@\"\nfi\n", hook)
	fmt.Fprintf(&b, "input=$(mktemp) || exit 1\ntrap 'rm -f \"$input\"' EXIT\ncat >\"$input\" || exit 1\n")
	if hook == "pre-receive" {
		fmt.Fprintf(&b, "\"$hookrun\" %s \"$@\" <\"$input\" || exit\n", hook)
		fmt.Fprintf(&b, "for h in \"$chained\"/*; do\n\t[ -f \"$h\" ] && [ -x \"$h\" ] || continue\n\t\"$h\" \"$@\" <\"$input\" || exit\ndone\n")
		return []byte(b.String())
	}
	fmt.Fprintf(&b, "status=0\n[ -n \"$missing\" ] && status=1 || \"$hookrun\" %s \"$@\" <\"$input\" || status=$?\n", hook)
	fmt.Fprintf(&b, "for h in \"$chained\"/*; do\n\t[ -f \"$h\" ] && [ -x \"$h\" ] || continue\n\t\"$h\" \"$@\" <\"$input\" || status=$?\ndone\nexit $status\n")
	return []byte(b.String())
}

// ScriptTarget is the hookrun a hook script Install wrote runs, or "" when
// script is not one.
func ScriptTarget(script []byte) string {
	if first, rest, ok := bytes.Cut(script, []byte("\n")); ok && bytes.HasPrefix(first, []byte("#!/")) && !bytes.Equal(first, []byte("#!/bin/sh")) {
		if !bytes.HasPrefix(rest, []byte(scriptMark)) {
			return ""
		}
		return string(first[2:])
	}
	if !bytes.HasPrefix(script, []byte("#!/bin/sh\n"+scriptMark)) {
		return ""
	}
	for _, line := range strings.Split(string(script), "\n") {
		if v, ok := strings.CutPrefix(line, "hookrun='"); ok && strings.HasSuffix(v, "'") {
			return strings.ReplaceAll(strings.TrimSuffix(v, "'"), `'\''`, "'")
		}
	}
	return ""
}

// shebangable reports whether path can be a "#!" line's interpreter with
// no argument: absolute, no whitespace (the kernel splits the line there),
// and short enough for Linux's 256-byte line.
func shebangable(path string) bool {
	return filepath.IsAbs(path) && len(path) < 240 && !strings.ContainsAny(path, " \t\n\r\v\f")
}

// isOurs reports a hook hookrun installed: a script Install wrote (for any
// hookrun), a symlink to self or to any binary named hookrun (as older
// versions installed).
func isOurs(hook, self string) bool {
	if b, err := os.ReadFile(hook); err == nil && ScriptTarget(b) != "" {
		return true
	}
	return isHookrunLink(hook, self)
}

// State is how a repository's hook stands, for status and validate.
type State struct {
	Hook    string // Hooks entry
	Path    string // the file git runs (hooks/HOOK or hooks/HOOK.d/hookrun-HOOK); "" when not installed
	Hookrun string // the hookrun it runs
	Symlink bool   // an older install's symlink (git skips it once dangling)
	Missing bool   // Hookrun does not exist or is not executable
}

// Problem says what is wrong with the hook, for the operator, or "".
func (s State) Problem() string {
	if s.Path == "" || !s.Missing {
		return ""
	}
	switch {
	case s.Symlink && s.Hook == "pre-receive":
		return fmt.Sprintf("%s is a dangling symlink to %s: git skips it silently, so no policy is checked and every push is accepted; run 'hookrun install' again with the hookrun to use", s.Path, s.Hookrun)
	case s.Symlink:
		return fmt.Sprintf("%s is a dangling symlink to %s: git skips it silently, so no job starts; run 'hookrun install' again with the hookrun to use", s.Path, s.Hookrun)
	case s.Hook == "pre-receive":
		return fmt.Sprintf("%s runs %s, which is missing or not executable: every push is refused; reinstall hookrun there, or run 'hookrun install' again with the new one", s.Path, s.Hookrun)
	case filepath.Base(s.Hookrun) == HookProgram && IsExecutable(s.Hookrun):
		return fmt.Sprintf("%s runs %s, whose hookrun (%s) is missing or not executable: no job starts; install hookrun beside it, or run 'hookrun install' again with the new one", s.Path, s.Hookrun, HookrunBeside(s.Hookrun))
	}
	return fmt.Sprintf("%s runs %s, which is missing or not executable: no job starts; reinstall hookrun there, or run 'hookrun install' again with the new one", s.Path, s.Hookrun)
}

// Inspect reports each of Hooks in the repository that hookrun installed:
// where, which hookrun it runs and whether that is missing.
func Inspect(repo string) []State {
	var out []State
	for _, h := range Hooks {
		st := State{Hook: h}
		for _, p := range []string{filepath.Join(repo, "hooks", h+".d", DispatchedName(h)), filepath.Join(repo, "hooks", h)} {
			if t, err := os.Readlink(p); err == nil && filepath.Base(t) == "hookrun" {
				if !filepath.IsAbs(t) {
					t = filepath.Join(filepath.Dir(p), t)
				}
				st.Path, st.Hookrun, st.Symlink = p, t, true
			} else if b, err := os.ReadFile(p); err == nil && ScriptTarget(b) != "" {
				st.Path, st.Hookrun = p, ScriptTarget(b)
			} else {
				continue
			}
			st.Missing = !IsExecutable(st.Hookrun) || filepath.Base(st.Hookrun) == HookProgram && !IsExecutable(HookrunBeside(st.Hookrun))
			break
		}
		out = append(out, st)
	}
	return out
}

// IsExecutable reports whether path is a file that can be run.
func IsExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
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

// Uninstall removes hookrun's hooks (scripts, and older versions'
// symlinks) for each of Hooks, restoring the newest backup of each or the
// hook --chain moved aside, one Result per hook.
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
		if !isOurs(hook, self) {
			continue
		}
		res.Hook = hook
		if err := os.Remove(hook); err != nil {
			return res, err
		}
		res.Action = "removed"
		backups, _ := filepath.Glob(hook + ".hookrun-backup-*")
		chained := filepath.Join(repo, "hooks", name+".d", ChainedName(name))
		switch {
		case len(backups) > 0:
			sort.Strings(backups)
			res.Backup = backups[len(backups)-1]
			if err := os.Rename(res.Backup, hook); err != nil {
				return res, err
			}
			res.Action = "removed, restored " + filepath.Base(res.Backup)
		case hook == filepath.Join(repo, "hooks", name) && exists(chained):
			res.Backup = chained
			if err := os.Rename(chained, hook); err != nil {
				return res, err
			}
			os.Remove(filepath.Dir(chained)) // only when empty
			res.Action = "removed, restored " + filepath.Join(name+".d", ChainedName(name))
		}
		if hook == filepath.Join(repo, "hooks", name) {
			if left, _ := os.ReadDir(filepath.Join(repo, "hooks", name+".d")); len(left) > 0 {
				res.Action += fmt.Sprintf("; hooks/%s.d/ still holds %d, which only hookrun's hook ran", name, len(left))
			}
		}
		return res, nil
	}
	return res, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
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

// ChainDir is the hooks/HOOK.d/ directory beside the hook file at
// hookPath, whose executables run after hookrun's hook with the same input
// (see RunChain), or "" when there is none or hookPath is itself in such a
// directory (a dispatcher such as Gitea's runs the others).
func ChainDir(hookPath string) string {
	if strings.HasSuffix(filepath.Dir(hookPath), ".d") {
		return ""
	}
	dir := hookPath + ".d"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return ""
	}
	return dir
}

// RunHook runs a hook at path (run, given the hook's input) and then the
// hooks chained after it in path.d/ (ChainDir) with the same input: all of
// them for post-receive; for pre-receive only when run accepted (0), and
// the first refusal refuses the push. It returns the hook's exit status.
func RunHook(hook, path string, args []string, stdin io.Reader, stdout, stderr io.Writer, run func(stdin io.Reader) int) int {
	chain := ChainDir(path)
	if chain == "" {
		return run(stdin)
	}
	input, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "hookrun: error: reading the hook's input: %v\n", err)
		return 1
	}
	code := run(bytes.NewReader(input))
	if code != 0 && hook == "pre-receive" {
		return code
	}
	err = RunChain(chain, args, input, stdout, stderr, hook == "pre-receive")
	var ee *exec.ExitError
	switch {
	case err == nil:
		return code
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode() // the chained hook said why
	}
	fmt.Fprintf(stderr, "hookrun: error: %v\n", err)
	return 1
}

// RunChain runs every executable regular file in dir, in name order, with
// args and input on its standard input, as git runs a hook. With
// stopOnFailure (pre-receive: any refusal refuses the push) the first
// failure ends it; otherwise every hook runs. It returns the first
// failure: an *exec.ExitError carries the hook's exit status.
func RunChain(dir string, args []string, input []byte, stdout, stderr io.Writer, stopOnFailure bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var first error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		cmd := exec.Command(p, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), stdout, stderr
		if err := cmd.Run(); err != nil {
			if first == nil {
				first = fmt.Errorf("chained hook %s: %w", p, err)
			}
			if stopOnFailure {
				break
			}
		}
	}
	return first
}

// HookName is the hook argv0 names (hooks/pre-receive,
// hooks/post-receive.d/hookrun-post-receive, ...), or "" when hookrun was
// run as a command.
func HookName(argv0 string) string {
	base, dir := filepath.Base(argv0), filepath.Base(filepath.Dir(argv0))
	for _, h := range Hooks {
		if base == h || base == DispatchedName(h) || dir == h+".d" {
			return h
		}
	}
	return ""
}

// SelfPath is the hookrun binary that units run and hooks link to. It keeps
// the path hookrun was called by (e.g. /usr/local/bin/hookrun, itself maybe a
// symlink to a versioned install), so upgrading that symlink upgrades every
// hook and unit; os.Executable would pin the resolved file.
func SelfPath(argv0 string, asHook bool) string {
	p := argv0
	if asHook {
		t, err := os.Readlink(argv0)
		if err != nil {
			return executable()
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(argv0), t)
		}
		p = t
	} else if !strings.Contains(argv0, "/") {
		lp, err := exec.LookPath(argv0)
		if err != nil {
			return executable()
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return executable()
	}
	return abs
}

func executable() string {
	exe, _ := os.Executable()
	return exe
}
