// Package skiptest is the one skip-or-fail rule for tests that need a real
// part of the machine: a systemd user manager (systemdtest), sshd (sshtest),
// a second host (hosttest), a peer program such as gitmal, ntfy or Gitea
// (peertest). When the part is missing the test skips, saying why, unless
// the part's HOOKRUN_REQUIRE_* variable forbids skipping: then the test
// fails, saying why and which variable made it fail.
//
// One truthiness for every variable: set to anything but "" or "0" (CI sets
// "1") forbids skipping. A misspelt value ("yes", "true") therefore fails
// rather than skips: a test never goes quiet by accident.
package skiptest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Required reports whether the environment variable env forbids skipping:
// it is set to anything but "" or "0".
func Required(env string) bool {
	v := os.Getenv(env)
	return v != "" && v != "0"
}

// Forbidden returns nil when none of envs forbids skipping, else an error
// saying that why is a failure because of the variable that forbids it. It
// is the rule for testscript conditions, which fail the script by returning
// an error.
func Forbidden(why string, envs ...string) error {
	for _, env := range envs {
		if Required(env) {
			return fmt.Errorf("%s (%s=%s forbids skipping)", why, env, os.Getenv(env))
		}
	}
	return nil
}

// SkipOrFail skips tb saying why, or fails it when one of envs is Required.
func SkipOrFail(tb testing.TB, why string, envs ...string) {
	tb.Helper()
	if err := Forbidden(why, envs...); err != nil {
		tb.Fatal(err)
	}
	tb.Skipf("%s (%s=1 makes this a failure)", why, strings.Join(envs, "=1 or "))
}
