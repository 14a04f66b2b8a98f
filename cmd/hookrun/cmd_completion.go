package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/clidoc"
)

func cmdCompletion() *command {
	return &command{
		name:    "completion",
		summary: "print a shell completion script (bash, zsh or fish)",
		usage:   "bash|zsh|fish",
		help: `Prints a script completing hookrun's commands and their flags, generated
from the same command table as help. Install it with, for example:

  hookrun completion bash > /etc/bash_completion.d/hookrun
  hookrun completion zsh > "${fpath[1]}/_hookrun"
  hookrun completion fish > ~/.config/fish/completions/hookrun.fish`,
		exits: []exitDoc{{"0", "script printed"}, {"2", "usage error (no or an unknown shell)"}},
		run:   runCompletion,
	}
}

func runCompletion(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return usagef("name one shell: bash, zsh or fish")
	}
	cmds := a.docs()
	switch fs.Arg(0) {
	case "bash":
		clidoc.Bash(a.stdout, cmds)
	case "zsh":
		clidoc.Zsh(a.stdout, cmds)
	case "fish":
		clidoc.Fish(a.stdout, cmds)
	default:
		return usagef("no completion for %q: bash, zsh or fish", fs.Arg(0))
	}
	return nil
}
