package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/checkjob"
)

func cmdCheckExec() *command {
	return withOptions(&command{
		name:    "check-exec",
		summary: "internal: verify a check job's isolation, then run it (its unit's ExecStart)",
		usage:   "--repo DIR [--socket PATH]... -- PROGRAM [ARG]...",
		help: `Run by pre-receive as the ExecStart of a check job's unit. Verifies inside
the unit that the repository is read-only, that no manager or bus socket
is reachable and that the unit holds no capabilities, then replaces itself
with the check's program. When the isolation does not hold it runs
nothing and exits 121: the push is refused with the reason.`,
		hidden: true,
		exits:  []exitDoc{{"0", "the check accepted the push (its own status)"}, {"N", "the check's own exit status"}, {"121", "the isolation does not hold; the check did not run"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *checkExecOptions) {
		defineRepo(fs, &o.repo, "the repository `dir`, which must be read-only")
		fs.StringArrayVar(&o.sockets, "socket", nil, "a socket `path` that must not be reachable")
	}, runCheckExec)
}

type checkExecOptions struct {
	repo    string
	sockets []string
}

func runCheckExec(a *app, fs *pflag.FlagSet, o *checkExecOptions) error {
	repo, sockets := o.repo, o.sockets
	argv := fs.Args()
	if repo == "" || len(argv) == 0 {
		return usagef("want --repo and the check's program")
	}
	if err := checkjob.Verify(repo, sockets, a.getenv); err != nil {
		a.errorf("the check cannot run isolated: %v", err)
		a.hintf("check jobs need a systemd that applies PrivateUsers=, ReadOnlyPaths=, TemporaryFileSystem= and BindReadOnlyPaths= (see docs/policy.md, \"Check jobs\"); the push is refused")
		return &jobStatus{code: checkjob.ExitNotIsolated}
	}
	err := unix.Exec(argv[0], argv, os.Environ())
	return fmt.Errorf("cannot run the check %s: %v", argv[0], err)
}
