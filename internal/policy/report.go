package policy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

// Report is what 'hookrun plan' and 'hookrun check' say about policies:
// which apply to which ref and, for real object names, what they refuse,
// judged against the commits already in the repository (those between each
// update's old and new; all of new's history for a creation).
type Report struct {
	Decisions  []Decision     `json:"decisions"`
	Evaluated  bool           `json:"evaluated"` // false: placeholder object names, nothing read
	Violations []Violation    `json:"violations,omitempty"`
	Omitted    map[string]int `json:"omitted,omitempty"`
	Checks     []string       `json:"checks,omitempty"` // "policy: job", not run
	Commits    int            `json:"commits"`
}

// Judge evaluates c's policies that apply to pusher on ups against the
// repository at repoPath. With real false (placeholder object names) it only
// says which policies apply. Check jobs are listed, not run.
func Judge(repoPath string, c *config.Config, ups []match.RefUpdate, real bool, cert match.PushCert, pusher match.Pusher) (*Report, error) {
	pols := ForPusher(c.Policies, pusher)
	rep := &Report{Decisions: Decisions(pols, ups)}
	if !real || !Applies(pols, ups) {
		return rep, nil
	}
	exclude := []string{}
	for _, u := range ups {
		if !u.IsCreate() {
			exclude = append(exclude, u.Old)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Evaluate(ctx, pols, Push{Updates: ups, Cert: cert, Exclude: exclude, SecretsConfig: c.SecretsConfig, SecretsIgnore: c.SecretsIgnore}, &Repo{GitDir: repoPath})
	if err != nil {
		return nil, fmt.Errorf("checking policies: %v", err)
	}
	rep.Evaluated, rep.Violations, rep.Omitted, rep.Commits = true, res.Violations, res.Omitted, res.Commits
	for _, ch := range res.Checks {
		rep.Checks = append(rep.Checks, ch.Policy.Name+": "+ch.Policy.Check)
	}
	return rep, nil
}

// Print writes the report as plan and check show it.
func (r *Report) Print(w io.Writer) {
	last := ""
	for _, d := range r.Decisions {
		if d.Ref != last {
			fmt.Fprintf(w, "ref %s\n", d.Ref)
			last = d.Ref
		}
		verdict := "does not apply (branches/tags)"
		if d.Applies {
			verdict = "applies"
		}
		fmt.Fprintf(w, "  policy %s (%s): %s\n", d.Policy, d.Label, verdict)
	}
	switch {
	case !r.Evaluated:
		if slices.ContainsFunc(r.Decisions, func(d Decision) bool { return d.Applies }) {
			fmt.Fprintln(w, "policies not evaluated: give real object names (--ref of a ref in the repository, or --new SHA)")
		}
		return
	case len(r.Violations) == 0:
		commits := "1 commit"
		if r.Commits != 1 {
			commits = fmt.Sprintf("%d commits", r.Commits)
		}
		fmt.Fprintf(w, "no policy refuses this push (%s checked)\n", commits)
	default:
		for _, v := range r.Violations {
			fmt.Fprintf(w, "refused: %s\n", v)
		}
		for _, name := range slices.Sorted(maps.Keys(r.Omitted)) {
			fmt.Fprintf(w, "refused: policy %s: %d more violations not shown\n", name, r.Omitted[name])
		}
	}
	for _, ch := range r.Checks {
		fmt.Fprintf(w, "check job would run (not run here): policy %s\n", ch)
	}
}
