package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/checkjob"
	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
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

func runPreReceive(a *app, fs *pflag.FlagSet, o *configFlags) error {
	in, err := readHookInput(a, o, "pre-receive", "the push is refused (policies cannot be checked)", noPolicies)
	if in == nil || err != nil {
		return err
	}
	g := &checkjob.Gate{
		Config: in.Config, Global: in.Source.Global, RepoPath: in.RepoPath, Updates: in.Updates,
		Pusher: match.PusherFromEnv(a.getenv), Environ: os.Environ(), Getenv: a.getenv,
		Cert: func(need bool, env []string) match.PushCert { return pushCert(a, in.RepoPath, need, env, in.Updates) },
		Self: a.self, Now: a.now, Out: a.stderr,
	}
	refused, err := g.Judge(context.Background())
	if err != nil {
		return fmt.Errorf("%v; the push is refused", err)
	}
	if refused != "" {
		a.hintf("the push is refused (%s); no ref was changed", refused)
		return errReported
	}
	return nil
}

// noPolicies reports whether none of the config files, broken or not, may
// hold policies (config.Source.MayHavePolicies): then a broken config does
// not block pushes (the post-receive hook reports it), while a broken file
// that may hold a policy refuses them, as an unchecked policy must not let
// a push through.
func noPolicies(src config.Source) bool { return !src.MayHavePolicies() }
