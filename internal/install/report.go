package install

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Line is res as install and uninstall print it for repo: what happened to
// the hook, and where a hook that was in the way went (mode: how install
// treated it; uninstalling, it is Keep).
func (res Result) Line(repo string, installing bool, mode Mode) string {
	line := fmt.Sprintf("%s: %s", repo, res.Action)
	if res.Hook != "" {
		line += " (" + res.Hook + ")"
	}
	switch {
	case res.Backup != "" && installing && mode == Chain:
		line += "; the previous hook runs after hookrun as " + res.Backup
	case res.Backup != "" && installing:
		line += "; the previous hook is kept as " + res.Backup
	}
	return line
}

// Tally counts what happened to the repositories of an --all run.
type Tally struct {
	counts map[string]int // by what happened to post-receive
	failed int
}

// Failed counts a repository that failed.
func (t *Tally) Failed() { t.failed++ }

// Add counts a repository by the results of its hooks.
func (t *Tally) Add(results []Result) {
	if len(results) == 0 {
		return
	}
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	// The summary counts repositories, by what happened to post-receive.
	action := results[0].Action
	if i := strings.IndexAny(action, ",;"); i >= 0 {
		action = action[:i]
	}
	t.counts[action]++
}

// Summary is the last line of an --all run over the repos found under dir:
// "DIR: 3 repositories: 2 installed, 1 already installed, 0 skipped".
func (t *Tally) Summary(dir string, repos int, skipped []Skipped) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(t.counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", t.counts[k], k))
	}
	if t.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", t.failed))
	}
	parts = append(parts, fmt.Sprintf("%d skipped", len(skipped)))
	return fmt.Sprintf("%s: %d repositories: %s", dir, repos, strings.Join(parts, ", "))
}

// ScheduleReconcile writes the reconcile timer and service of this user
// (the user whose environment getenv reads; self is the hookrun binary) and
// enables them in its user manager, so units whose reporter died are
// recorded and notified (hookrun reconcile). A manager that cannot be
// reached now is not an error: the files are there, and note says how to
// enable them. note is empty when nothing changed; err means the timer is
// not scheduled.
func ScheduleReconcile(getenv func(string) string, self string) (note string, err error) {
	dir, err := UserUnitDir(getenv)
	if err != nil {
		return "", err
	}
	changed, err := WriteReconcileUnits(dir, self)
	if err != nil {
		return "", err
	}
	enable := []string{"--user", "enable", "--now", ReconcileTimer}
	systemctl, err := exec.LookPath("systemctl")
	if err == nil {
		if out, rerr := exec.Command(systemctl, "--user", "daemon-reload").CombinedOutput(); rerr != nil {
			err = rerr
			if s := strings.TrimSpace(string(out)); s != "" {
				err = execError(s)
			}
		} else if out, rerr := exec.Command(systemctl, enable...).CombinedOutput(); rerr != nil {
			err = rerr
			if s := strings.TrimSpace(string(out)); s != "" {
				err = execError(s)
			}
		}
	}
	timer := filepath.Join(dir, ReconcileTimer)
	switch {
	case err != nil:
		return fmt.Sprintf("reconcile timer written to %s but not enabled (%v): as this user, with its manager running, run: systemctl --user enable --now %s", timer, err, ReconcileTimer), nil
	case changed:
		return fmt.Sprintf("reconcile timer %s enabled: hookrun reconcile runs every %s and at boot", timer, ReconcileInterval), nil
	}
	return "", nil
}

// execError is what a command said on failing, as its error.
type execError string

func (e execError) Error() string { return string(e) }
