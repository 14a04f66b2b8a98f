package checkjob

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/policy"
)

// PolicyTimeout bounds the git reads of one push's policy checks.
const PolicyTimeout = 5 * time.Minute

// Gate is the pre-receive decision on one push: the [[policy]] tables that
// apply to its pusher, judged on the objects it brings (read through git's
// quarantine), then the check jobs they ask for, each isolated in a
// transient unit.
type Gate struct {
	Config   *config.Config
	Global   string // the global config file, which checks see read-only
	RepoPath string // the repository's absolute path
	Updates  []match.RefUpdate
	// Policies limited to pushers, or waived for some, apply by who
	// pushed, as the server says (an unknown pusher is named in no list).
	Pusher  match.Pusher
	Environ []string // this process's environment (os.Environ)
	Getenv  func(string) string
	// Cert is the push certificate, verified when need is true, reading
	// git objects with env (in pre-receive, receive-pack has written the
	// certificate blob among the quarantined objects).
	Cert func(need bool, env []string) match.PushCert
	Self string // the hookrun binary, for check-exec
	Now  func() time.Time
	// Out receives each refusal, one "hookrun: refused: " line each, and
	// the checks' output: the pusher reads it.
	Out io.Writer
}

// Judge decides: refused is empty when the push may proceed, else what
// refuses it ("2 policy violations", "1 failed check"), each refusal
// already written to Out. An error (a policy that could not be checked)
// refuses the push too.
func (g *Gate) Judge(ctx context.Context) (refused string, err error) {
	pols := policy.ForPusher(g.Config.Policies, g.Pusher)
	if len(pols) == 0 || !policy.Applies(pols, g.Updates) {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, PolicyTimeout)
	defer cancel()
	git := &policy.Repo{GitDir: g.RepoPath, Env: policy.QuarantineEnv(g.Environ, g.Getenv)}
	needCert := slices.ContainsFunc(pols, func(p *config.Policy) bool { return p.SignedPush })
	c := g.Config
	res, err := policy.Evaluate(ctx, pols, policy.Push{Updates: g.Updates, Cert: g.Cert(needCert, git.Env), SecretsConfig: c.SecretsConfig, SecretsIgnore: c.SecretsIgnore}, git)
	if err != nil {
		return "", fmt.Errorf("checking policies: %v", err)
	}
	if !res.OK() {
		n := len(res.Violations)
		for _, v := range res.Violations {
			fmt.Fprintf(g.Out, "hookrun: refused: %s\n", v)
		}
		for _, name := range slices.Sorted(maps.Keys(res.Omitted)) {
			fmt.Fprintf(g.Out, "hookrun: refused: policy %s: %d more violations not shown\n", name, res.Omitted[name])
			n += res.Omitted[name]
		}
		return count(n, "policy violation"), nil
	}
	if len(res.Checks) == 0 {
		return "", nil
	}
	r := &Runner{Config: c, RepoPath: g.RepoPath, Self: g.Self, Getenv: g.Getenv, Now: g.Now, Out: g.Out, Pusher: g.Pusher}
	if filepath.IsAbs(g.Global) {
		r.ReadOnly = []string{"-" + g.Global}
	}
	if failed := r.Run(ctx, res.Checks); failed > 0 {
		return count(failed, "failed check"), nil
	}
	return "", nil
}

// count is "1 failed check", "2 failed checks".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
