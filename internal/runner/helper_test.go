package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/waittest"
)

// The test binary doubles as the program units run (in place of hookrun):
// when HOOKRUN_TEST_HELPER_OUT is set — it reaches units only through
// plan.Unit.Env, which a unit's program finds in its plan as hookrun exec
// does (applyPlanEnv; the exec runner also passes it in the environment) —
// TestMain records what the program saw in
// $HOOKRUN_TEST_HELPER_OUT/<HOOKRUN_UNIT>.<argv[1]>.json and, for "exec",
// sleeps HOOKRUN_TEST_HELPER_SLEEP and exits HOOKRUN_TEST_HELPER_EXIT.
const (
	helperOutEnv   = "HOOKRUN_TEST_HELPER_OUT"
	helperSleepEnv = "HOOKRUN_TEST_HELPER_SLEEP"
	helperExitEnv  = "HOOKRUN_TEST_HELPER_EXIT"
)

// helperRecord is what the helper program writes.
type helperRecord struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	PID  int      `json:"pid"`
	SID  int      `json:"sid"`
}

func (r helperRecord) getenv(key string) (string, bool) {
	for _, kv := range r.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

func TestMain(m *testing.M) {
	unitProgram := len(os.Args) == 3 && (os.Args[1] == "exec" || os.Args[1] == "notify")
	if unitProgram {
		applyPlanEnv(os.Args[2])
	}
	if out := os.Getenv(helperOutEnv); out != "" {
		os.Exit(helper(out))
	}
	if unitProgram {
		os.Exit(93) // a unit's program without its plan: never the tests
	}
	os.Exit(m.Run())
}

// applyPlanEnv sets the environment of the plan at path (encoded as
// Properties passes it), if there is one.
func applyPlanEnv(path string) {
	u, err := plan.Load(plan.DecodeString(path))
	if err != nil {
		return
	}
	for _, kv := range u.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
}

// writePlan saves u at path, for the helper to find.
func writePlan(t *testing.T, u *plan.Unit, path string) {
	t.Helper()
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func helper(out string) int {
	dir, _ := os.Getwd()
	sid, _ := getsid()
	rec := helperRecord{Args: os.Args, Env: os.Environ(), Dir: dir, PID: os.Getpid(), SID: sid}
	b, _ := json.Marshal(rec)
	verb := "none"
	if len(os.Args) > 1 {
		verb = os.Args[1]
	}
	path := filepath.Join(out, os.Getenv("HOOKRUN_UNIT")+"."+verb+".json")
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return 90
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return 91
	}
	if verb != "exec" {
		return 0
	}
	if d, err := time.ParseDuration(os.Getenv(helperSleepEnv)); err == nil {
		time.Sleep(d)
	}
	code, _ := strconv.Atoi(os.Getenv(helperExitEnv))
	return code
}

func getsid() (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

// waitRecord waits up to timeout for the helper's record of unit and verb.
func waitRecord(t *testing.T, out, unit, verb string, timeout time.Duration) helperRecord {
	t.Helper()
	path := filepath.Join(out, unit+"."+verb+".json")
	var rec helperRecord
	waittest.Until(t, timeout, fmt.Sprintf("the %s record of %s", verb, unit), func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return true, ""
	})
	return rec
}

// testBinary is the absolute path of this test binary (the helper program).
func testBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}
