package remote

import (
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// TestRemotePlanReportsNothing: the plan a host runs has neither ntfy's
// settings nor the outputs: the git server reports the outcome, and no
// token, secret or site directory goes to the host.
func TestRemotePlanReportsNothing(t *testing.T) {
	u := &plan.Unit{Name: "u", RepoPath: "/srv/git/r.git", Host: &plan.Host{Name: "b"},
		Notify:  plan.Notify{Server: "https://ntfy.example", Topic: "t", TokenFile: "/etc/hookrun/ntfy.token"},
		Outputs: &plan.Outputs{Site: &plan.Site{Dir: "/srv/www"}, Forge: &plan.Forge{URL: "https://git.example.com", TokenFile: "/etc/hookrun/forge.token"}}}
	r := (&Site{Host: &Host{Name: "b"}, Mirror: "/home/b/mirror.git"}).RemotePlan(u)
	if r.Outputs != nil || r.Notify.Server != "" || r.Notify.TokenFile != "" || r.Host != nil {
		t.Errorf("remote plan keeps what the host must not have: outputs %+v, notify %+v, host %+v", r.Outputs, r.Notify, r.Host)
	}
	if u.Outputs == nil {
		t.Error("RemotePlan changed the unit's own plan")
	}
}
