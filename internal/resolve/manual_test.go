package resolve

import (
	"testing"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

func TestManual(t *testing.T) {
	c := load(t, `version = 1
[defaults]
timeout = "5m"
[jobs.deploy]
type = "command"
command = ["deploy", "{branch}", "{event}", "{commit}"]
concurrency = "queue"
[[rules]]
tags = ["v*"]
jobs = ["deploy"]
`)
	u, err := Manual(c, push(), "deploy", match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Steps[0].Argv; len(got) != 4 || got[1] != "main" || got[2] != "manual" || got[3] != b {
		t.Errorf("argv = %q: the rule (tags only) does not decide; want main, manual, the commit", got)
	}
	if env(u.Env, "HOOKRUN_EVENT") != "manual" || u.Limits.Timeout.Minutes() != 5 || u.Concurrency != plan.Queue {
		t.Errorf("env HOOKRUN_EVENT=%s, timeout %v, concurrency %s: want a push's settings", env(u.Env, "HOOKRUN_EVENT"), u.Limits.Timeout, u.Concurrency)
	}
	if _, err := Manual(c, push(), "deplyo", match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}); err == nil {
		t.Error("an unknown job: no error")
	}
}
