package install

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookrun/hookrun/internal/atomicfile"
)

// The reconcile timer: a systemd user timer of the git user that runs
// `hookrun reconcile` every ReconcileInterval and at boot, so every unit a
// push meant to start ends in a recorded, notified outcome whatever died
// (the hook, the manager, the machine). Its units are named
// ReconcileTimer and ReconcileService (a NixOS module enables the same).
const (
	ReconcileTimer    = "hookrun-reconcile.timer"
	ReconcileService  = "hookrun-reconcile.service"
	ReconcileInterval = "2min"
)

// UserUnitDir is where the user's own systemd units go:
// $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user.
func UserUnitDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "systemd", "user"), nil
	}
	home := getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("neither XDG_CONFIG_HOME nor HOME is an absolute path: cannot tell where the user's systemd units go")
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

// ReconcileUnits are the contents of the service and the timer that run
// self reconcile.
func ReconcileUnits(self string) (service, timer string) {
	service = `[Unit]
Description=hookrun: record and notify the outcome of units nothing else will
Documentation=man:hookrun-reconcile(1)

[Service]
Type=oneshot
ExecStart=` + systemdQuote(self) + ` reconcile
`
	timer = `[Unit]
Description=hookrun: reconcile units every ` + ReconcileInterval + ` and at boot

[Timer]
OnStartupSec=1min
OnUnitActiveSec=` + ReconcileInterval + `
AccuracySec=10s
Persistent=true

[Install]
WantedBy=timers.target
`
	return service, timer
}

// systemdQuote quotes an ExecStart= word: inside double quotes, with
// backslash, double quote, percent (a specifier) and dollar (a variable)
// escaped.
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`, `$`, `$$`)
	return `"` + r.Replace(s) + `"`
}

// WriteReconcileUnits writes the reconcile service and timer for self into
// dir (UserUnitDir), leaving files already holding the same alone. changed
// says whether any was written.
func WriteReconcileUnits(dir, self string) (changed bool, err error) {
	service, timer := ReconcileUnits(self)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("reconcile timer: %w", err)
	}
	for name, content := range map[string]string{ReconcileService: service, ReconcileTimer: timer} {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, []byte(content)) {
			continue
		}
		if err := atomicfile.Write(path, []byte(content), 0o644); err != nil {
			return changed, fmt.Errorf("reconcile timer: %w", err)
		}
		changed = true
	}
	return changed, nil
}
