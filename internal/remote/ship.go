package remote

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

// MirrorsDir is where, under the remote user's home, the mirror bare
// repositories live: one per repository, MirrorsDir/REPO.git.
const MirrorsDir = ".local/share/hookrun/mirrors"

// Site is what one push learned about a host: who the ssh user is there
// and where the repository's mirror is.
type Site struct {
	Host       *Host
	UID        int
	Home       string
	RuntimeDir string   // Host.RuntimeDir or /run/user/UID
	Mirror     string   // absolute path of the mirror bare repository
	Refs       []string // the mirror's refs when Prepare looked
}

// pushable reports whether ref can be named in a refspec on git push's
// command line.
func pushable(ref string) bool {
	return ref != "" && !strings.HasPrefix(ref, "-") && !strings.ContainsAny(ref, ": \t\n")
}

// missingRefs are those of refs that the repository at repoPath does not
// have (one `git for-each-ref`).
func missingRefs(ctx context.Context, repoPath string, refs []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", repoPath, "for-each-ref", "--format=%(refname)")
	cmd.Env = gitx.CleanEnv(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the refs of %s: %v", repoPath, err)
	}
	have := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		have[strings.TrimSuffix(line, "\n")] = true
	}
	var gone []string
	for _, r := range refs {
		if r != "" && !have[r] {
			gone = append(gone, r)
		}
	}
	return gone, nil
}

// mirrorName turns a repository name (which may hold '/', as in
// "group/web") into one path element.
func mirrorName(repo string) string {
	r := strings.NewReplacer("/", "%2F", "%", "%25")
	name := r.Replace(strings.TrimSuffix(repo, ".git"))
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, "-") {
		name = "_" + name
	}
	return name + ".git"
}

// The preparation line runs in the ssh user's shell on the host, with
// only these constants and the quoted path of the mirror (relative to
// $HOME) in it: the user's uid and home, the mirror made if missing with
// its hookrun directories, then the mirror's refs, one a line.
const (
	preparePrefix = `set -e; id -u; printf '%s\n' "$HOME"; m="$HOME"/`
	prepareSuffix = `; [ -d "$m" ] || git init -q --bare -- "$m" >/dev/null; mkdir -p -- "$m/hookrun/units" "$m/hookrun/state" "$m/hookrun/logs"; git -C "$m" for-each-ref --format='%(refname)'`
)

// PrepareLine is the command line Prepare runs on the host for the mirror
// at rel (MirrorsDir/NAME.git, relative to the home directory).
func PrepareLine(rel string) string { return preparePrefix + job.Quote(rel) + prepareSuffix }

// Prepare asks h, in one ssh session, for the user's uid and home, makes
// sure the mirror of repo and its hookrun state directories exist there,
// and learns the refs the mirror has.
func Prepare(ctx context.Context, h *Host, repo string) (*Site, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	rel := MirrorsDir + "/" + mirrorName(repo)
	argv := h.SSHCommand(PrepareLine(rel))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return nil, h.sshError("preparing the mirror of "+repo, err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("host %s: unexpected answer while preparing: %q", h.Name, stdout.String())
	}
	uid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	home := lines[1]
	if err != nil || !path.IsAbs(home) {
		return nil, fmt.Errorf("host %s: `id -u` and $HOME gave %q and %q, not a uid and an absolute path", h.Name, lines[0], home)
	}
	s := &Site{Host: h, UID: uid, Home: home, Mirror: path.Join(home, rel), RuntimeDir: h.RuntimeDir, Refs: lines[2:]}
	if s.RuntimeDir == "" {
		s.RuntimeDir = "/run/user/" + strconv.Itoa(uid)
	}
	return s, nil
}

// PushRefs pushes exactly the given refs' new objects from the local
// repository to the mirror, over the host's ssh: `git push --force DEST:MIRROR
// NEW:REF...`.
func (s *Site) PushRefs(ctx context.Context, localRepo string, refs []plan.Ref) error {
	var specs []string
	seen := map[string]bool{}
	for _, r := range refs {
		if r.New == "" || strings.Trim(r.New, "0") == "" || seen[r.Ref] {
			continue
		}
		if !pushable(r.Ref) {
			return fmt.Errorf("host %s: refusing to push ref %q", s.Host.Name, r.Ref)
		}
		seen[r.Ref] = true
		specs = append(specs, "+"+r.New+":"+r.Ref)
	}
	if len(specs) == 0 {
		return nil
	}
	return s.push(ctx, localRepo, specs)
}

// DeleteGone deletes the mirror's refs (s.Refs, as Prepare found them)
// that the local repository no longer has, in one `git push`: deleted
// branches and tags go from the mirror too. Their objects stay until the
// mirror's own `git gc --auto` prunes them (two weeks after they became
// unreachable, git's gc.pruneExpire), so a job still queued there for a
// deleted ref finds its commit. It is tidying: a ref a concurrent push
// deleted first fails it, and the next push tries again.
func (s *Site) DeleteGone(ctx context.Context, localRepo string) error {
	if len(s.Refs) == 0 {
		return nil
	}
	gone, err := missingRefs(ctx, localRepo, s.Refs)
	if err != nil {
		return fmt.Errorf("host %s: %v", s.Host.Name, err)
	}
	var specs []string
	for _, ref := range gone {
		if pushable(ref) {
			specs = append(specs, ":"+ref)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	return s.push(ctx, localRepo, specs)
}

// push runs `git push --force` of specs from localRepo to the mirror.
func (s *Site) push(ctx context.Context, localRepo string, specs []string) error {
	args := append([]string{"-C", localRepo, "push", "--quiet", "--no-verify", s.Host.SSH + ":" + s.Mirror}, specs...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(gitx.CleanEnv(os.Environ()), "GIT_SSH_COMMAND="+job.QuoteArgs(s.Host.SSHBase()), "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("host %s: pushing %d ref(s) to %s:%s: %v: %s", s.Host.Name, len(specs), s.Host.SSH, s.Mirror, err, lastLine(stderr.String()))
	}
	return nil
}

// RemotePlan is the plan u runs with on the host: the same job, limits,
// sandbox and environment, against the mirror; no notification settings
// and no outputs (the git server reports the outcome, its tokens and
// secrets never leave it) and no host (it runs there).
func (s *Site) RemotePlan(u *plan.Unit) *plan.Unit {
	r := *u
	r.Host = nil
	r.Notify = plan.Notify{}
	r.Outputs = nil
	r.RepoPath = s.Mirror
	r.Runner = "systemd"
	r.Manager = "user"
	r.User, r.Group = "", ""
	local := u.RepoPath
	r.Env = make([]string, len(u.Env))
	for i, kv := range u.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "HOOKRUN_REPO_PATH" {
			kv = k + "=" + s.Mirror
		} else if ok && v == local {
			kv = k + "=" + s.Mirror
		}
		r.Env[i] = kv
	}
	if r.Dir == local {
		r.Dir = ""
	}
	return &r
}

// PlanPath is where a unit's plan is saved on the host.
func (s *Site) PlanPath(unit string) string { return layout.Plan(s.Mirror, unit) }

// OutcomeLine is the line hookrun writes at the end of a unit's log (after
// "hookrun: "), saying how it ended: "UNIT JOB: KIND after DURATION",
// then the reason when there is one.
func OutcomeLine(unit, job, kind, duration, reason string) string {
	line := unit + " " + job + ": " + kind + " after " + duration
	if reason != "" {
		line += " " + reason
	}
	return line
}

// WithoutOutcomeLine is a unit's log as written on its host, less the
// outcome line the host's hookrun wrote (see OutcomeLine): copied into the
// local log, whose own end says the outcome, it would show it twice.
func WithoutOutcomeLine(log []byte, unit, job string) []byte {
	prefix := []byte("hookrun: " + unit + " " + job + ": ")
	var out []byte
	for line := range bytes.Lines(log) {
		if !bytes.HasPrefix(line, prefix) {
			out = append(out, line...)
		}
	}
	return out
}

// LogPath is where a unit's output is kept on the host.
func (s *Site) LogPath(unit string) string { return layout.Log(s.Mirror, unit) }

// HistoryPath is the mirror's record of finished units on the host.
func (s *Site) HistoryPath() string { return layout.History(s.Mirror) }

// SavePlansLine is the command line SavePlans runs on the host: tar
// reading the stream into the mirror's hookrun directory.
func SavePlansLine(mirror string) string {
	return "tar -x -f - -C " + job.Quote(layout.Dir(mirror))
}

// SavePlans writes the remote plans of units into the mirror's units
// directory, and beside them each one's first state (internal/unit: handed
// over, its queue number), all in one ssh session (a tar stream into
// MIRROR/hookrun). The states are there before any of the units starts, so
// the host's queue knows a unit from the moment its push shipped it, not
// only once its `hookrun exec` took it over. now stamps them.
func (s *Site) SavePlans(ctx context.Context, units []*plan.Unit, now time.Time) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	for _, u := range units {
		r := s.RemotePlan(u)
		b, err := r.Marshal() // byte-exact refnames and paths, as Load reads them
		if err != nil {
			return err
		}
		st, err := unit.ShippedState(r, now)
		if err != nil {
			return err
		}
		if err := add("state/"+u.Name+".json", st); err != nil {
			return err
		}
		if err := add("units/"+u.Name+".json", append(b, '\n')); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	argv := s.Host.SSHCommand(SavePlansLine(s.Mirror))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = &buf
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return s.Host.sshError("saving plans", err, stderr.String())
	}
	return nil
}
