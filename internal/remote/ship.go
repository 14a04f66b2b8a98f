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
	"github.com/hookrun/hookrun/internal/plan"
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
	RuntimeDir string // Host.RuntimeDir or /run/user/UID
	Mirror     string // absolute path of the mirror bare repository
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

// Prepare asks h, in one ssh session, for the user's uid and home, and makes
// sure the mirror of repo and its hookrun state directories exist there.
func Prepare(ctx context.Context, h *Host, repo string) (*Site, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	rel := MirrorsDir + "/" + mirrorName(repo)
	// Only constants and the quoted relative path reach the remote shell.
	line := `set -e; id -u; printf '%s\n' "$HOME"; m="$HOME"/` + job.Quote(rel) +
		`; [ -d "$m" ] || git init -q --bare -- "$m" >/dev/null; mkdir -p -- "$m/hookrun/units" "$m/hookrun/logs"`
	argv := h.SSHCommand(line)
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
	s := &Site{Host: h, UID: uid, Home: home, Mirror: path.Join(home, rel), RuntimeDir: h.RuntimeDir}
	if s.RuntimeDir == "" {
		s.RuntimeDir = "/run/user/" + strconv.Itoa(uid)
	}
	return s, nil
}

// PushRefs pushes exactly the given refs' new objects from the local
// repository to the mirror, over the host's ssh: `git push --force DEST:MIRROR
// NEW:REF...`. Deleted refs are left alone (the mirror keeps objects a queued
// job may still need).
func (s *Site) PushRefs(ctx context.Context, localRepo string, refs []plan.Ref) error {
	var specs []string
	seen := map[string]bool{}
	for _, r := range refs {
		if r.New == "" || strings.Trim(r.New, "0") == "" || seen[r.Ref] {
			continue
		}
		if strings.HasPrefix(r.Ref, "-") || strings.ContainsAny(r.Ref, ": \t\n") {
			return fmt.Errorf("host %s: refusing to push ref %q", s.Host.Name, r.Ref)
		}
		seen[r.Ref] = true
		specs = append(specs, "+"+r.New+":"+r.Ref)
	}
	if len(specs) == 0 {
		return nil
	}
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
// (the git server notifies, the token never leaves it) and no host (it runs
// there).
func (s *Site) RemotePlan(u *plan.Unit) *plan.Unit {
	r := *u
	r.Host = nil
	r.Notify = plan.Notify{}
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
func (s *Site) PlanPath(unit string) string { return plan.PlanPath(s.Mirror, unit) }

// LogPath is where a unit's output is kept on the host.
func (s *Site) LogPath(unit string) string { return plan.LogPath(s.Mirror, unit) }

// HistoryPath is the mirror's record of finished units on the host.
func (s *Site) HistoryPath() string { return plan.HistoryPath(s.Mirror) }

// SavePlans writes the remote plans of units into the mirror's units
// directory, all in one ssh session (a tar stream).
func (s *Site) SavePlans(ctx context.Context, units []*plan.Unit) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, u := range units {
		b, err := s.RemotePlan(u).Marshal() // byte-exact refnames and paths, as Load reads them
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if err := tw.WriteHeader(&tar.Header{Name: u.Name + ".json", Mode: 0o600, Size: int64(len(b)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	argv := s.Host.SSHCommand("tar -x -f - -C " + job.Quote(path.Dir(s.PlanPath("x"))))
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
