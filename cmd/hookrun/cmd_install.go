package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/install"
)

func cmdInstall() *command {
	return &command{
		name:    "install",
		summary: "link repositories' hooks/post-receive to this hookrun",
		usage:   "[--force] REPO... | --all DIR",
		help: `Makes REPO/hooks/post-receive a symlink to this binary. A different existing
hook is never overwritten without --force; with --force it is kept as
post-receive.hookrun-backup-TIME. Where post-receive is a Gitea/Forgejo
dispatcher, hookrun goes into hooks/post-receive.d/ instead. --all installs
into every bare repository under DIR (up to three levels deep).`,
		exits: []exitDoc{{"0", "every repository done"}, {"1", "some repository failed (each is reported)"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.Bool("force", false, "replace a different existing hook (keeping a backup)")
			fs.String("all", "", "install into every bare repository under `DIR`")
		},
		run: func(a *app, fs *pflag.FlagSet) error { return runInstall(a, fs, true) },
	}
}

func cmdUninstall() *command {
	return &command{
		name:    "uninstall",
		summary: "remove hookrun's hook links (restoring any backed-up hook)",
		usage:   "REPO... | --all DIR",
		exits:   []exitDoc{{"0", "every repository done"}, {"1", "some repository failed (each is reported)"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("all", "", "uninstall from every bare repository under `DIR`")
		},
		run: func(a *app, fs *pflag.FlagSet) error { return runInstall(a, fs, false) },
	}
}

func runInstall(a *app, fs *pflag.FlagSet, installing bool) error {
	all, _ := fs.GetString("all")
	force := false
	if installing {
		force, _ = fs.GetBool("force")
	}
	repos := fs.Args()
	switch {
	case all != "" && len(repos) > 0:
		return usagef("give REPO arguments or --all DIR, not both")
	case all != "":
		var err error
		if repos, err = install.FindRepos(all); err != nil {
			return err
		}
		if len(repos) == 0 {
			return fmt.Errorf("no bare repositories under %s", all)
		}
	case len(repos) == 0:
		return usagef("name at least one repository")
	}
	if a.self == "" {
		return errors.New("cannot tell where this hookrun binary is")
	}
	failed := 0
	for _, r := range repos {
		r, _ = filepath.Abs(r)
		var res install.Result
		var err error
		if installing {
			res, err = install.Install(r, a.self, force)
		} else {
			res, err = install.Uninstall(r, a.self)
		}
		if err != nil {
			failed++
			a.errorf("%v", err)
			continue
		}
		line := fmt.Sprintf("%s: %s", r, res.Action)
		if res.Hook != "" {
			line += " (" + res.Hook + ")"
		}
		if res.Backup != "" && installing {
			line += "; the previous hook is kept as " + res.Backup
		}
		fmt.Fprintln(a.stdout, line)
	}
	if failed > 0 {
		return errReported
	}
	return nil
}
