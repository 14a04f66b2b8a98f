package policy

import (
	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

// ForPusher are the policies of pols that apply to a push by p: those
// without pushers or naming p in it, and not naming p in except_pushers.
// An unknown pusher is named in no list: a policy limited to pushers does
// not apply to it, and except_pushers never waives a policy for it.
func ForPusher(pols []*config.Policy, p match.Pusher) []*config.Policy {
	out := make([]*config.Policy, 0, len(pols))
	for _, pol := range pols {
		if len(pol.Pushers) > 0 && !p.In(pol.Pushers) {
			continue
		}
		if p.In(pol.ExceptPushers) {
			continue
		}
		out = append(out, pol)
	}
	return out
}
