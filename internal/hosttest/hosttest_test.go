package hosttest_test

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hookrun/hookrun/internal/hosttest"
)

// TestSecondHost: the host's user logs in over ssh, its manager runs as
// that user and answers systemctl --user there.
func TestSecondHost(t *testing.T) {
	h := hosttest.Start(t)
	if got := strings.TrimSpace(h.Run(t, "id", "-u")); got != strconv.Itoa(h.Account.UID) {
		t.Errorf("id -u over ssh = %q, want %d", got, h.Account.UID)
	}
	if h.Account.UID == os.Getuid() {
		t.Fatalf("the second host's user has the test's own uid %d", h.Account.UID)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(h.Manager.PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nUid:\t" + strconv.Itoa(h.Account.UID) + "\t"; !strings.Contains(string(status), want) {
		t.Errorf("manager %d does not run as uid %d:\n%s", h.Manager.PID, h.Account.UID, status)
	}
	fi, err := os.Stat(h.RuntimeDir)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != h.Account.UID {
		t.Errorf("runtime dir %s is not owned by uid %d", h.RuntimeDir, h.Account.UID)
	}
	out := h.Run(t, "systemctl", "--user", "show", "--property=Version", "--value")
	if strings.TrimSpace(out) == "" {
		t.Errorf("systemctl --user show Version over ssh printed nothing")
	}
}

// TestSecondHostsShareNoAccount: each Start has its own account and home
// (test packages run at once must not share the mirrors there), removed
// when its test ends.
func TestSecondHostsShareNoAccount(t *testing.T) {
	var names []string
	t.Run("two", func(t *testing.T) {
		a, b := hosttest.Start(t), hosttest.Start(t)
		if a.Account.UID == b.Account.UID || a.Account.Home == b.Account.Home {
			t.Fatalf("two hosts share an account: %+v and %+v", a.Account, b.Account)
		}
		names = []string{a.Account.Name, b.Account.Name}
	})
	for _, n := range names {
		if _, err := user.Lookup(n); err == nil {
			t.Errorf("account %s still exists after its test ended", n)
		}
	}
}
