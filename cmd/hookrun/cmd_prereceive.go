package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/checkjob"
	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/policy"
)

func cmdPreReceive() *command {
	return withOptions(&command{
		name:    "pre-receive",
		summary: "the git hook: refuse a push that breaks a [[policy]], before any ref moves",
		usage:   "< ref-lines",
		help: `Run by git through hooks/pre-receive (a file whose "#!" line names hookrun; see
'hookrun install').
Reads "<old> <new> <refname>" lines, loads the global config and
$GIT_DIR/hooks.toml, and checks the [[policy]] tables that apply to the
pushed refs against every object the push brings to the refs a policy
selects (those none of its refs reached before). Any violation refuses the whole push, one line each; nothing
moves. An invalid config or malformed input refuses the push too. When no
policy applies, no git command runs and no connection to systemd opens.`,
		exits: []exitDoc{{"0", "no policy refuses the push, or none applies"}, {"1", "the push is refused: a policy violation, a failed check job, malformed input, or a config with policies that is invalid or unsafe"}, {"2", "usage error"}},
	}, defineHook, runPreReceive)
}

// policyTimeout bounds the git reads of one push's policy checks.
const policyTimeout = 5 * time.Minute

func runPreReceive(a *app, fs *pflag.FlagSet, o *configFlags) error {
	in, err := readHookInput(a, o, "pre-receive", "the push is refused (policies cannot be checked)", noPolicies)
	if in == nil || err != nil {
		return err
	}
	c, repoPath, ups := in.config, in.repoPath, in.updates
	// Policies limited to pushers, or waived for some, apply by who
	// pushed, as the server says (an unknown pusher is named in no list).
	pusher := match.PusherFromEnv(a.getenv)
	pols := policy.ForPusher(c.Policies, pusher)
	if len(pols) == 0 || !policy.Applies(pols, ups) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	git := &policy.Repo{GitDir: repoPath, Env: policy.QuarantineEnv(os.Environ(), a.getenv)}
	res, err := policy.Evaluate(ctx, pols, policy.Push{Updates: ups, Cert: quarantinedCert(a, repoPath, pols, git, ups), SecretsConfig: c.SecretsConfig, SecretsIgnore: c.SecretsIgnore}, git)
	if err != nil {
		return fmt.Errorf("checking policies: %v; the push is refused", err)
	}
	if !res.OK() {
		reportViolations(a, res)
		a.hintf("the push is refused (%s); no ref was changed", plural(len(res.Violations)+omitted(res), "policy violation"))
		return errReported
	}
	if len(res.Checks) > 0 {
		return runChecks(ctx, a, in.source, c, repoPath, pusher, res.Checks)
	}
	return nil
}

// noPolicies reports whether none of the config files, broken or not, may
// hold policies (config.Source.MayHavePolicies): then a broken config does
// not block pushes (the post-receive hook reports it), while a broken file
// that may hold a policy refuses them, as an unchecked policy must not let
// a push through.
func noPolicies(src config.Source) bool { return !src.MayHavePolicies() }

// quarantinedCert is the push certificate, verified (when a policy needs
// it) through the quarantine environment: in pre-receive, receive-pack has
// written the certificate blob among the pushed objects.
func quarantinedCert(a *app, repoPath string, pols []*config.Policy, git *policy.Repo, ups []match.RefUpdate) match.PushCert {
	need := slices.ContainsFunc(pols, func(p *config.Policy) bool { return p.SignedPush })
	return pushCert(a, repoPath, need, git.Env, ups)
}

func reportViolations(a *app, res *policy.Result) {
	for _, v := range res.Violations {
		fmt.Fprintf(a.stderr, "hookrun: refused: %s\n", v)
	}
	for name, n := range res.Omitted {
		fmt.Fprintf(a.stderr, "hookrun: refused: policy %s: %d more violations not shown\n", name, n)
	}
}

func omitted(res *policy.Result) int {
	n := 0
	for _, k := range res.Omitted {
		n += k
	}
	return n
}

// runChecks runs the check jobs the push needs, one after another, each
// isolated in a transient unit (internal/checkjob). Any failure refuses
// the push.
func runChecks(ctx context.Context, a *app, src config.Source, c *config.Config, repoPath string, pusher match.Pusher, checks []policy.CheckRun) error {
	global := src.Global
	r := &checkjob.Runner{Config: c, RepoPath: repoPath, Self: a.self, Getenv: a.getenv, Now: a.now, Out: a.stderr, Pusher: pusher}
	if filepath.IsAbs(global) {
		r.ReadOnly = []string{"-" + global}
	}
	if failed := r.Run(ctx, checks); failed > 0 {
		a.hintf("the push is refused (%s); no ref was changed", plural(failed, "failed check"))
		return errReported
	}
	return nil
}
