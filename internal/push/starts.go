package push

import (
	"fmt"
	"io"
	"strings"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

// summaryOver is the number of units above which the pusher sees a summary
// instead of one line per unit: `git push` prints every line.
const summaryOver = 20

// maxErrorLines is how many start errors a summary shows.
const maxErrorLines = 5

// Starts tells the pusher, on w, what started: one line per unit, or for a
// big push a summary by job with the first few errors; every unit, started
// or not, is in `hookrun status`. errs[i] is why units[i] did not start
// (nil: it started). It returns how many did not.
func Starts(w io.Writer, repoPath string, units []*plan.Unit, errs []error) (failed int) {
	infof := func(format string, args ...any) { fmt.Fprintf(w, "hookrun: "+format+"\n", args...) }
	errorf := func(format string, args ...any) { fmt.Fprintf(w, "hookrun: error: "+format+"\n", args...) }
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if len(units) <= summaryOver {
		// One line per problem: jobs that failed the same way (a manager
		// that cannot be reached) share it.
		var order []string
		byErr := map[string][]*plan.Unit{}
		for i, u := range units {
			if errs[i] != nil {
				e := errs[i].Error()
				if byErr[e] == nil {
					order = append(order, e)
				}
				byErr[e] = append(byErr[e], u)
				continue
			}
			where := ""
			if u.Host != nil {
				where = " on host " + u.Host.Name
			}
			infof("started %s: %s for %s%s; logs: %s", u.Name, u.Job, refList(u), where, unit.LogsCommand(u))
		}
		for _, e := range order {
			us := byErr[e]
			if len(us) == 1 {
				errorf("job %s (%s): not started: %s", us[0].Job, refList(us[0]), e)
				continue
			}
			var jobs, refs []string
			for _, u := range us {
				jobs = append(jobs, u.Job)
				refs = append(refs, refList(u))
			}
			errorf("jobs %s (%s): not started: %s", strings.Join(dedupe(jobs), ", "), strings.Join(dedupe(refs), ", "), e)
		}
	} else {
		var jobs []string
		started := map[string]int{}
		shown := 0
		for i, u := range units {
			if _, ok := started[u.Job]; !ok {
				jobs = append(jobs, u.Job)
				started[u.Job] = 0
			}
			if errs[i] == nil {
				started[u.Job]++
			} else if shown < maxErrorLines {
				shown++
				errorf("job %s (%s): not started: %v", u.Job, refList(u), errs[i])
			}
		}
		if failed > shown {
			errorf("%d more units did not start; hookrun status lists each with its error", failed-shown)
		}
		var parts []string
		for _, j := range jobs {
			parts = append(parts, fmt.Sprintf("%s %d", j, started[j]))
		}
		infof("started %d of %d units (%s); see them with: hookrun status %s", len(units)-failed, len(units), strings.Join(parts, ", "), job.Arg(repoPath))
	}
	return failed
}

func refList(u *plan.Unit) string {
	if len(u.Refs) == 1 {
		return u.Refs[0].Ref
	}
	return fmt.Sprintf("%d refs", len(u.Refs))
}

// dedupe is s without repeats, in order of first appearance.
func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
