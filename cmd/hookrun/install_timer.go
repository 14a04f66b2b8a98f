package main

import (
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hookrun/hookrun/internal/install"
)

// setupReconcileTimer writes the reconcile timer and service of this user
// (internal/install) and enables them in its user manager, so units whose
// reporter died are recorded and notified (hookrun reconcile). A manager
// that cannot be reached now is not an error: the files are there, and the
// line printed says how to enable them.
func (a *app) setupReconcileTimer() {
	dir, err := install.UserUnitDir(a.getenv)
	if err != nil {
		a.warnf("%v; hookrun reconcile is not scheduled", err)
		return
	}
	changed, err := install.WriteReconcileUnits(dir, a.self)
	if err != nil {
		a.warnf("%v; hookrun reconcile is not scheduled", err)
		return
	}
	enable := []string{"--user", "enable", "--now", install.ReconcileTimer}
	systemctl, err := exec.LookPath("systemctl")
	if err == nil {
		if out, rerr := exec.Command(systemctl, "--user", "daemon-reload").CombinedOutput(); rerr != nil {
			err = rerr
			if s := strings.TrimSpace(string(out)); s != "" {
				err = &execError{s}
			}
		} else if out, rerr := exec.Command(systemctl, enable...).CombinedOutput(); rerr != nil {
			err = rerr
			if s := strings.TrimSpace(string(out)); s != "" {
				err = &execError{s}
			}
		}
	}
	timer := filepath.Join(dir, install.ReconcileTimer)
	switch {
	case err != nil:
		a.infof("reconcile timer written to %s but not enabled (%v): as this user, with its manager running, run: systemctl --user enable --now %s", timer, err, install.ReconcileTimer)
	case changed:
		a.infof("reconcile timer %s enabled: hookrun reconcile runs every %s and at boot", timer, install.ReconcileInterval)
	}
}

type execError struct{ s string }

func (e *execError) Error() string { return e.s }
