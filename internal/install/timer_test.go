package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReconcileUnits: the timer and service are written once (a second
// call changes nothing), run the binary they were given, quoted for
// systemd, and the timer is wanted by timers.target.
func TestReconcileUnits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "systemd", "user")
	self := "/opt/hook run/100%/hookrun"
	changed, err := WriteReconcileUnits(dir, self)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, %v", changed, err)
	}
	svc, err := os.ReadFile(filepath.Join(dir, ReconcileService))
	if err != nil {
		t.Fatal(err)
	}
	if want := `ExecStart="/opt/hook run/100%%/hookrun" reconcile`; !strings.Contains(string(svc), want) {
		t.Errorf("service:\n%s\nwant %s", svc, want)
	}
	timer, _ := os.ReadFile(filepath.Join(dir, ReconcileTimer))
	for _, want := range []string{"OnUnitActiveSec=" + ReconcileInterval, "Persistent=true", "WantedBy=timers.target"} {
		if !strings.Contains(string(timer), want) {
			t.Errorf("timer lacks %s:\n%s", want, timer)
		}
	}
	if changed, err := WriteReconcileUnits(dir, self); err != nil || changed {
		t.Errorf("second write: changed %v, %v; want nothing to do", changed, err)
	}
	got, err := UserUnitDir(func(k string) string { return map[string]string{"HOME": "/home/git"}[k] })
	if err != nil || got != "/home/git/.config/systemd/user" {
		t.Errorf("UserUnitDir = %q, %v", got, err)
	}
}
