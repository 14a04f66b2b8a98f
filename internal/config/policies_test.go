package config

import (
	"strings"
	"testing"
)

func TestMayHavePolicies(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      bool
	}{
		{"none", "version = 1\n[jobs.a]\ntype = \"command\"\n", false},
		{"broken value, no policy", "version = 1\n[jobs.a]\ntimeout = \"soon\"\n", false},
		{"policy", "version = 1\n[[policy]]\nname = \"x\"\n", true},
		{"escaped key", "version = 1\n[[\"p\\u006flicy\"]]\nname = \"x\"\n", true},
		{"literal key", "version = 1\n[['policy']]\nname = \"x\"\n", true},
		{"dotted inline", "version = 1\npolicy = [{name = \"x\"}]\n", true},
		{"misspelt table", "version = 1\n[[polcy]]\nname = \"x\"\n", true},
		{"not TOML", "version = 1\n[jobs.a\n", true},
		{"word in a string", "version = 1\n[jobs.a]\ndescription = \"policy\"\n", false},
		{"too deep", "x = " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", true},
		{"a key starting like policy", "version = 1\n[[policy0000]]\n", true}, // found by FuzzMayHavePolicies
		{"policy_main", "version = 1\n[[policy_main]]\nname = \"x\"\n", true},
	} {
		if got := MayHavePolicies([]byte(tc.src)); got != tc.want {
			t.Errorf("%s: MayHavePolicies = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Whatever the decoder makes of a file, a file it finds a policy in (or a
// problem in a policy) is one MayHavePolicies says may hold policies.
func FuzzMayHavePolicies(f *testing.F) {
	for _, s := range []string{
		"version = 1\n[[policy]]\nname = \"x\"\nbranches = [\"**\"]\nsecrets = true\n",
		"version = 1\n[[\"p\\u006flicy\"]]\nname = \"x\"\n",
		"version = 1\npolicy = [{ name = \"x\", secrets = \"yes\" }]\n",
		"version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"x\"]\n",
		"version = 1\n[[polcy]]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		may := MayHavePolicies([]byte(src))
		file, diags := Parse(strings.NewReader(src), "f.toml")
		if may {
			return
		}
		if file != nil && len(file.Policies) > 0 {
			t.Fatalf("MayHavePolicies = false, but the decoder found %d policies in %q", len(file.Policies), src)
		}
		for _, d := range diags {
			if strings.HasPrefix(d.Path, "policy") || d.Path == "" && d.Severity == Error && strings.Contains(d.Msg, "invalid TOML") {
				t.Fatalf("MayHavePolicies = false, but the decoder says %q about %q", d.Msg, src)
			}
		}
	})
}
