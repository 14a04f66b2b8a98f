package policy

import (
	"slices"
	"testing"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

func TestForPusher(t *testing.T) {
	all := &config.Policy{Name: "all"}
	only := &config.Policy{Name: "only-ci", Pushers: []string{"ci"}}
	waived := &config.Policy{Name: "not-release", ExceptPushers: []string{"release", "rel@example.com"}}
	pols := []*config.Policy{all, only, waived}
	names := func(ps []*config.Policy) []string {
		var n []string
		for _, p := range ps {
			n = append(n, p.Name)
		}
		return n
	}
	for _, tc := range []struct {
		p    match.Pusher
		want []string
	}{
		{match.Pusher{}, []string{"all", "not-release"}},
		{match.Pusher{Name: "ci"}, []string{"all", "only-ci", "not-release"}},
		{match.Pusher{Name: "release"}, []string{"all"}},
		{match.Pusher{Name: "someone", Email: "rel@example.com"}, []string{"all"}},
		{match.Pusher{Name: "alice"}, []string{"all", "not-release"}},
	} {
		if got := names(ForPusher(pols, tc.p)); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}
