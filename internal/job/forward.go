package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/hookrun/hookrun/internal/plan"
)

// BuildRef is the ref of the build host's repository that a forward-build
// pushes the revision to.
const BuildRef = "refs/hookrun/build"

const (
	sshHint = "install an OpenSSH client (apt-get install openssh-client)"
	gitHint = "install git (apt-get install git)"
)

// runForwardBuild builds exactly the pushed revision on another host:
//
//  1. s.Rev is resolved to a full commit name in the repository.
//  2. ssh [SSHOptions...] -o BatchMode=yes -o ConnectTimeout=30 -- HOST 'git init -q -- PATH'
//     makes sure a repository exists at PATH (idempotent; an existing one is
//     kept with its untracked files, so builds can be incremental).
//  3. git -C REPO push --force HOST:PATH COMMIT:refs/hookrun/build, with
//     GIT_SSH_COMMAND set to the same ssh command.
//  4. ssh ... -- HOST 'cd PATH && git checkout --force --detach COMMIT && COMMAND...'
//     so the command runs on that commit, whatever the build host's
//     branches say.
//
// Every element spliced into a remote command line (path, commit, each
// command word) or into GIT_SSH_COMMAND (each ssh option) is quoted with
// Quote. The remote login shell must be POSIX (sh, bash, dash, zsh). PATH
// is relative to the remote user's home directory unless absolute; a
// leading "~/" means the same. The step fails with the remote command's
// exit status; ssh's own failures are status 255.
//
// Steps 2 to 4 run under a lock for host:path (lockBuildDir): builds into the
// same remote directory never overlap; a later one waits its turn.
func runForwardBuild(ctx context.Context, u *plan.Unit, s *plan.Step, stdout, stderr io.Writer) error {
	host, path, err := checkForward(s)
	if err != nil {
		return err
	}
	if u.RepoPath == "" {
		return errors.New("forward-build: the plan has no repository path")
	}

	// 1. The commit, in full.
	var out bytes.Buffer
	p := newProc(u, s, []string{"git", "-C", u.RepoPath, "rev-parse", "--verify", "--quiet", s.Rev + "^{commit}"}, &out, stderr)
	p.hint = gitHint
	if err := run(ctx, p); err != nil {
		return annotate(err, fmt.Sprintf("revision %s is not a commit in %s", s.Rev, u.RepoPath))
	}
	commit := strings.TrimSpace(out.String())
	if !isHex(commit) {
		return fmt.Errorf("revision %s resolved to %q, not a commit name", s.Rev, commit)
	}

	// ssh uses the first value it gets for an option: the job's own
	// options come first, so they can override these defaults.
	sshCmd := append(append([]string{"ssh"}, s.SSHOptions...), "-o", "BatchMode=yes", "-o", "ConnectTimeout=30")
	remote := func(line string) []string {
		return append(append(append([]string(nil), sshCmd...), "--", host), line)
	}

	// One build at a time in host:path, from here to the end.
	release, err := lockBuildDir(ctx, u, host, path, stderr)
	if err != nil {
		return err
	}
	defer release()

	// 2. A repository at PATH.
	fmt.Fprintf(stderr, "hookrun: forward-build: preparing %s:%s\n", host, path)
	p = newProc(u, s, remote("git init -q -- "+Quote(path)), stdout, stderr)
	p.hint = sshHint
	if err := run(ctx, p); err != nil {
		return annotate(err, fmt.Sprintf("preparing %s:%s over ssh (check the host, its keys, ssh_options, and that git is installed there)", host, path))
	}

	// 3. The commit, pushed there.
	fmt.Fprintf(stderr, "hookrun: forward-build: pushing %s to %s:%s\n", commit, host, path)
	p = newProc(u, s, []string{"git", "-C", u.RepoPath, "push", "--quiet", "--force", host + ":" + path, commit + ":" + BuildRef}, stdout, stderr)
	p.env = dedupEnv(append(p.env, "GIT_SSH_COMMAND="+QuoteArgs(sshCmd), "GIT_TERMINAL_PROMPT=0"))
	p.hint = gitHint
	if err := run(ctx, p); err != nil {
		return annotate(err, fmt.Sprintf("pushing %s to %s:%s", commit, host, path))
	}

	// 4. Checkout and command.
	line := "cd " + Quote(path) + " && git -c advice.detachedHead=false checkout -q --force --detach " + Quote(commit)
	if len(s.Command) > 0 {
		line += " && " + QuoteArgs(s.Command)
		fmt.Fprintf(stderr, "hookrun: forward-build: running %s on %s\n", QuoteArgs(s.Command), host)
	}
	p = newProc(u, s, remote(line), stdout, stderr)
	p.hint = sshHint
	if err := run(ctx, p); err != nil {
		return annotate(err, "on "+host)
	}
	return nil
}

// checkForward validates a forward-build step and returns its ssh
// destination and remote path.
func checkForward(s *plan.Step) (host, path string, err error) {
	host, path = s.Host, s.Path
	switch {
	case host == "":
		return "", "", errors.New("forward-build: no host in the plan")
	case strings.HasPrefix(host, "-"):
		return "", "", fmt.Errorf("forward-build: host %q starts with '-': refusing it (it would be read as an ssh option)", host)
	case strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "", "", fmt.Errorf("forward-build: host %q contains white space or control characters", host)
	case strings.ContainsAny(host, "/:"):
		return "", "", fmt.Errorf("forward-build: host %q contains '/' or ':'; name a host (user@host), and put a port or an IPv6 address in ~/.ssh/config or ssh_options", host)
	}
	if p, ok := strings.CutPrefix(path, "~/"); ok {
		path = p
	}
	switch {
	case path == "" || path == "~":
		return "", "", errors.New("forward-build: no remote path in the plan")
	case strings.ContainsRune(path, 0):
		return "", "", fmt.Errorf("forward-build: remote path %q contains a NUL byte", path)
	case strings.HasPrefix(path, "-"):
		return "", "", fmt.Errorf("forward-build: remote path %q starts with '-'; write ./%s", path, path)
	}
	switch {
	case s.Rev == "":
		return "", "", errors.New("forward-build: no revision in the plan")
	case strings.HasPrefix(s.Rev, "-") || strings.ContainsFunc(s.Rev, unicode.IsSpace):
		return "", "", fmt.Errorf("forward-build: revision %q is not a revision", s.Rev)
	}
	for _, a := range append(append([]string(nil), s.SSHOptions...), s.Command...) {
		if strings.ContainsRune(a, 0) {
			return "", "", fmt.Errorf("forward-build: argument %q contains a NUL byte", a)
		}
	}
	return host, path, nil
}

// annotate prefixes the cause of an *ExitError (or err) with what was
// being done.
func annotate(err error, what string) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.notStarted {
			return err // already says which program is missing
		}
		return &ExitError{Step: ee.Step, Code: ee.Code, Err: fmt.Errorf("%s: %w", what, ee.Err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isHex reports whether s is a full SHA-1 or SHA-256 object name.
func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
