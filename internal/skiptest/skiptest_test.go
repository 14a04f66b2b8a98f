package skiptest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const testEnv = "HOOKRUN_REQUIRE_SKIPTEST_TEST"

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
		{"yes", true},
		{"true", true},
		{"false", true}, // not "" or "0": misspelt, so it fails rather than skips
	} {
		t.Setenv(testEnv, tc.value)
		if got := Required(testEnv); got != tc.want {
			t.Errorf("%s=%q: Required = %v, want %v", testEnv, tc.value, got, tc.want)
		}
		if err := Forbidden("no part", testEnv); (err != nil) != tc.want {
			t.Errorf("%s=%q: Forbidden = %v, want an error: %v", testEnv, tc.value, err, tc.want)
		}
	}
}

// TestSkipOrFail runs this test binary again: the child skips with the
// reason, or fails with it and the variable that forbade skipping.
func TestSkipOrFail(t *testing.T) {
	if os.Getenv("SKIPTEST_CHILD") == "1" {
		SkipOrFail(t, "no widget", "HOOKRUN_REQUIRE_OTHER", testEnv)
		t.Fatal("SkipOrFail returned")
	}
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"", []string{"--- SKIP: TestSkipOrFail", "no widget (HOOKRUN_REQUIRE_OTHER=1 or " + testEnv + "=1 makes this a failure)"}},
		{"0", []string{"--- SKIP: TestSkipOrFail"}},
		{"1", []string{"--- FAIL: TestSkipOrFail", "no widget (" + testEnv + "=1 forbids skipping)"}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipOrFail$", "-test.v")
		cmd.Env = []string{"SKIPTEST_CHILD=1", testEnv + "=" + tc.value}
		out, _ := cmd.CombinedOutput()
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s=%q: want %q in:\n%s", testEnv, tc.value, w, out)
			}
		}
	}
}
