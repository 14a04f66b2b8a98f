package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/remote"
)

func cmdSSHGate() *command {
	return withOptions(&command{
		name:    "ssh-gate",
		summary: "on a build host: the forced command of the git server's ssh key",
		usage:   "[--runtime-dir DIR]",
		help: `Put it in the build host's authorized_keys as the forced command of the git
server's key (see docs/remote-hosts.md):

    restrict,command="/usr/local/bin/hookrun ssh-gate" ssh-ed25519 AAAA... git@gitserver

It reads the command line ssh was asked to run ($SSH_ORIGINAL_COMMAND) and
runs it only if it is one hookrun sends to a host: preparing a mirror,
git-receive-pack into a mirror, saving plans, the bridge to this user's own
systemd manager, reading a mirror's history or a unit's log. Anything else
(a shell, 'id', another path) is refused. No shell sees the line: it is
split into words and each is checked; the gate does the work itself or runs
the program with an argument vector. Set --runtime-dir when the host's
[hosts.NAME] entry sets runtime_dir.`,
		exits: []exitDoc{{"0", "the command ran and succeeded"}, {"1", "refused, or the command failed"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *sshGateOptions) {
		fs.StringVar(&o.runtimeDir, "runtime-dir", "", "the user manager's runtime `dir` the bridge may reach (default /run/user/UID)")
	}, runSSHGate)
}

// sshGateOptions are the flags of ssh-gate.
type sshGateOptions struct {
	runtimeDir string
}

func runSSHGate(a *app, fs *pflag.FlagSet, o *sshGateOptions) error {
	if fs.NArg() != 0 {
		return usagef("ssh-gate takes no arguments: the command is in $SSH_ORIGINAL_COMMAND")
	}
	line := a.getenv("SSH_ORIGINAL_COMMAND")
	if line == "" {
		return fmt.Errorf("ssh-gate: no command (an interactive login): this key runs only hookrun's commands")
	}
	home := a.getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("ssh-gate: no home directory: %v", err)
		}
		home = h
	}
	rt := o.runtimeDir
	g := &remote.Gate{Home: home, UID: os.Getuid(), RuntimeDir: rt, Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr}
	err := g.Run(line)
	if errors.Is(err, remote.ErrRefused) {
		return fmt.Errorf("ssh-gate: %q %v; this key runs only hookrun's commands", line, err)
	}
	if err != nil {
		return fmt.Errorf("ssh-gate: %v", err)
	}
	return nil
}
