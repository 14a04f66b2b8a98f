package config

import (
	"strings"
	"testing"
)

func TestPolicyPushers(t *testing.T) {
	const head = "version = 1\n[[policy]]\nname = \"p\"\nbranches = [\"main\"]\nlinear = true\n"
	for _, tc := range []struct{ name, src, want string }{
		{"empty", head + "pushers = []\n", `hooks.toml:6:11: error: policy[1].pushers: empty; name pushers, or leave the key out`},
		{"unknown", head + "except_pushers = [\"ci\", \"(unknown)\"]\n", `hooks.toml:6:25: error: policy[1].except_pushers: "(unknown)" names no pusher (an unknown pusher never matches)`},
		{"blank", head + "pushers = [\"\"]\n", `hooks.toml:6:12: error: policy[1].pushers: "" names no pusher`},
	} {
		_, diags := parse(t, tc.src)
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%s: diagnostics:\n%v\nwant one containing:\n%s", tc.name, diags, tc.want)
		}
	}
	f, diags := parse(t, head+"pushers = [\"ci\"]\nexcept_pushers = [\"release-bot\"]\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p := f.Policies[0]; len(p.Pushers) != 1 || p.Pushers[0] != "ci" || p.ExceptPushers[0] != "release-bot" {
		t.Errorf("decoded %+v", p)
	}
}
