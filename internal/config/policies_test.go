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
	} {
		if got := MayHavePolicies([]byte(tc.src)); got != tc.want {
			t.Errorf("%s: MayHavePolicies = %v, want %v", tc.name, got, tc.want)
		}
	}
}
