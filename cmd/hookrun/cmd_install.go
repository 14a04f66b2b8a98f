package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/install"
)

func cmdInstall() *command {
	return withOptions(&command{
		name:    "install",
		summary: "make repositories' hooks/post-receive and hooks/pre-receive run this hookrun",
		usage:   "[--force | --chain] [--no-timer] REPO... | --all DIR [--depth N]",
		help: `Writes REPO/hooks/post-receive (which starts jobs) and REPO/hooks/pre-receive
(which checks [[policy]] tables) as files whose "#!" line names this binary
by its absolute path (no shell runs); post-receive names hookrun-hook instead
when it sits beside this binary (a small program, quicker to start on every
push, which runs this hookrun for the rest). If the binary is later gone or moved,
git cannot start the hooks: it refuses every push, and says post-receive
could not run (git would silently skip a dangling symlink); 'hookrun status
REPO' and 'hookrun validate REPO' report it. A repository gets both hooks or neither: when a different hook is in the
way, nothing is installed unless --force (the hook is kept as
HOOK.hookrun-backup-TIME and restored by uninstall) or --chain (the hook is
moved to hooks/HOOK.d/previous-HOOK and runs after hookrun with the same
input, as every executable in hooks/HOOK.d/ does; a pre-receive refusal by
any refuses the push). Where a hook is a Gitea/Forgejo dispatcher, hookrun
goes into hooks/HOOK.d/ instead. install also turns on the repository's
core.logAllRefUpdates (git logs every ref update), so 'hookrun plan --ref'
knows what a ref's last push did, and adds the repository to the index
'hookrun status' reads from anywhere. --all installs into every bare repository
under DIR, at most --depth levels below it, and ends with a summary: how
many were installed, already installed, failed, and which directories were
skipped and why.

It also writes and enables this user's systemd timer hookrun-reconcile.timer
(in $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user), which runs
'hookrun reconcile' every 2 minutes and at boot: units whose reporter died
(a killed hook, a stopped manager, a reboot) still end in a recorded,
notified outcome. Where the user manager cannot be reached it says how to
enable it. --no-timer leaves the timer to a system configuration that
declares it (NixOS's services.hookrun does).`,
		exits: []exitDoc{{"0", "every repository done"}, {"1", "some repository failed (each is reported)"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *installOptions) {
		o.installing = true
		fs.BoolVar(&o.force, "force", false, "replace a different existing hook (keeping a backup)")
		fs.BoolVar(&o.chain, "chain", false, "keep a different existing hook running after hookrun (moved to hooks/HOOK.d/)")
		fs.StringVar(&o.all, "all", "", "install into every bare repository under `DIR`")
		fs.IntVar(&o.depth, "depth", install.DefaultDepth, "with --all, look at most `n` directory levels below DIR")
		fs.BoolVar(&o.noTimer, "no-timer", false, "do not write or enable the reconcile timer (a system configuration declares it)")
	}, runInstall)
}

// installOptions are the flags of install and uninstall.
type installOptions struct {
	installing   bool // install, not uninstall
	force, chain bool
	all          string
	depth        int
	noTimer      bool
}

func cmdUninstall() *command {
	return withOptions(&command{
		name:    "uninstall",
		summary: "remove hookrun's hooks (restoring any backed-up or chained hook)",
		usage:   "REPO... | --all DIR [--depth N]",
		exits:   []exitDoc{{"0", "every repository done"}, {"1", "some repository failed (each is reported)"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *installOptions) {
		fs.StringVar(&o.all, "all", "", "uninstall from every bare repository under `DIR`")
		fs.IntVar(&o.depth, "depth", install.DefaultDepth, "with --all, look at most `n` directory levels below DIR")
	}, runInstall)
}

func runInstall(a *app, fs *pflag.FlagSet, o *installOptions) error {
	installing, all := o.installing, o.all
	mode := install.Keep
	if installing {
		force, chain := o.force, o.chain
		switch {
		case force && chain:
			return usagef("give --force or --chain, not both")
		case force:
			mode = install.Replace
		case chain:
			mode = install.Chain
		}
	}
	repos := fs.Args()
	var skipped []install.Skipped
	switch {
	case all != "" && len(repos) > 0:
		return usagef("give REPO arguments or --all DIR, not both")
	case all != "":
		depth := o.depth
		if depth < 1 {
			return usagef("--depth must be at least 1, not %d", depth)
		}
		var err error
		if repos, skipped, err = install.FindRepos(all, depth); err != nil {
			return unreadable(err)
		}
		if len(repos) == 0 {
			for _, s := range skipped {
				fmt.Fprintf(a.stdout, "%s: skipped: %s\n", s.Dir, s.Why)
			}
			return fmt.Errorf("no bare repositories under %s (searched %s deep; see --depth)", all, plural(depth, "level"))
		}
	case len(repos) == 0:
		return usagef("name at least one repository")
	}
	if a.self == "" {
		return errors.New("cannot tell where this hookrun binary is")
	}
	b := &install.Batch{Self: a.self, Installing: installing, Mode: mode, Out: a.stdout, Log: a.stderr,
		Installed: func(r string) string {
			// status, from anywhere, looks at it (and at its hooks)
			a.indexRepo(r)
			// plan --ref reads what a ref's last push did from its reflog
			if err := gitx.KeepReflogs(r); err != nil {
				return fmt.Sprintf("%v; 'hookrun plan --ref' will guess what a ref's last push did", err)
			}
			return ""
		}}
	failed, tally := b.Run(repos)
	if all != "" {
		for _, s := range skipped {
			fmt.Fprintf(a.stdout, "%s: skipped: %s\n", s.Dir, s.Why)
		}
		fmt.Fprintln(a.stdout, tally.Summary(all, len(repos), skipped))
	}
	if noTimer := o.noTimer; installing && failed < len(repos) && !noTimer {
		// The reconcile timer: units whose reporter died are still recorded.
		switch note, err := install.ScheduleReconcile(a.getenv, a.self); {
		case err != nil:
			a.warnf("%v; hookrun reconcile is not scheduled", err)
		case note != "":
			a.infof("%s", note)
		}
	}
	if failed > 0 {
		return errReported
	}
	return nil
}
