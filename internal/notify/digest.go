package notify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookrun/hookrun/internal/outcome"
)

// DigestEntry is one unit's outcome in a push digest.
type DigestEntry struct {
	Job  string
	Ref  string // the unit's (first) ref, full name
	Kind outcome.Kind
}

// DigestDetails describe a push whose units are reported together.
type DigestDetails struct {
	Repo string
	// StatusHint is the command that lists the units with their reasons,
	// e.g. "hookrun status /srv/git/web.git".
	StatusHint string
	Topic      string
	Click      string
	// Pusher is who pushed, as the server says; "" or "(unknown)" leaves
	// it out.
	Pusher  string
	Entries []DigestEntry
}

// BuildDigest renders one notification for many units of a push:
//
//	❌ Git push to web: 2 of 200 jobs failed
//	site: 198 ✅, 2 ❌ — main, dev
//	build: 100 ✅
//	details: hookrun status /srv/git/web.git
//
// One line per job, in the order jobs first appear, counting ✅ success, ❌
// failure and ⏹ cancelled, then the refs of the units that did not succeed
// (failed first, each in name order), shortened with "and N more" to keep the message under
// MaxMessageBytes. Priority is high when anything failed.
func BuildDigest(d DigestDetails) Message {
	type jobSum struct {
		name                  string
		ok, failed, cancelled int
		failedRefs, cancRefs  []string
	}
	var jobs []*jobSum
	byName := map[string]*jobSum{}
	var ok, failed, cancelled int
	for _, e := range d.Entries {
		j := byName[e.Job]
		if j == nil {
			j = &jobSum{name: oneLine(e.Job)}
			byName[e.Job] = j
			jobs = append(jobs, j)
		}
		ref := DisplayRef(oneLine(e.Ref))
		switch e.Kind {
		case outcome.Success:
			j.ok++
			ok++
		case outcome.Cancelled:
			j.cancelled++
			cancelled++
			j.cancRefs = append(j.cancRefs, ref)
		default:
			j.failed++
			failed++
			j.failedRefs = append(j.failedRefs, ref)
		}
	}
	total := len(d.Entries)
	repo := oneLine(d.Repo)
	var title string
	prio := PriorityDefault
	kind := outcome.Success
	switch {
	case failed > 0:
		title = fmt.Sprintf("❌ Git push to %s: %d of %d jobs failed", repo, failed, total)
		prio, kind = PriorityHigh, outcome.Failure
	case cancelled > 0:
		title = fmt.Sprintf("⏹ Git push to %s: %d of %d jobs cancelled", repo, cancelled, total)
		kind = outcome.Cancelled
	default:
		title = fmt.Sprintf("✅ Git push to %s: %d jobs succeeded", repo, total)
	}

	var tail string
	if h := oneLine(d.StatusHint); h != "" {
		tail = "details: " + h
	}
	if s := oneLine(d.Pusher); s != "" && s != "(unknown)" {
		tail = strings.TrimPrefix(tail+"\npushed by "+s, "\n")
	}
	// Every job's counts first; the refs share what room is left.
	heads := make([]string, len(jobs))
	room := MaxMessageBytes - len(tail) - len(jobs)
	for i, j := range jobs {
		var parts []string
		if j.ok > 0 {
			parts = append(parts, fmt.Sprintf("%d ✅", j.ok))
		}
		if j.failed > 0 {
			parts = append(parts, fmt.Sprintf("%d ❌", j.failed))
		}
		if j.cancelled > 0 {
			parts = append(parts, fmt.Sprintf("%d ⏹", j.cancelled))
		}
		heads[i] = j.name + ": " + strings.Join(parts, ", ")
		room -= len(heads[i])
	}
	withRefs := failed + cancelled
	lines := make([]string, 0, len(jobs)+1)
	for i, j := range jobs {
		slices.Sort(j.failedRefs)
		slices.Sort(j.cancRefs)
		refs := append(append([]string(nil), j.failedRefs...), j.cancRefs...)
		line := heads[i]
		if len(refs) > 0 && room > 0 {
			// Each job gets a share of the room left, by how many refs
			// it has to show.
			share := room * len(refs) / withRefs
			if list := listRefs(refs, share-len(" — ")); list != "" {
				line += " — " + list
				room -= len(" — ") + len(list)
			}
		}
		withRefs -= len(refs)
		lines = append(lines, line)
	}
	if tail != "" {
		lines = append(lines, tail)
	}
	return Message{
		Topic:    d.Topic,
		Title:    truncate(title, MaxTitleBytes),
		Message:  truncate(strings.Join(lines, "\n"), MaxMessageBytes),
		Priority: prio,
		Tags:     []string{"hookrun", "digest", kind.String()},
		Click:    d.Click,
	}
}

// listRefs renders "main, dev and 5 more" in at most max bytes; "" when not
// even one name fits.
func listRefs(refs []string, max int) string {
	var b strings.Builder
	for i, r := range refs {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		more := ""
		if left := len(refs) - i - 1; left > 0 {
			more = fmt.Sprintf(" and %d more", left)
		}
		if b.Len()+len(sep)+len(r)+len(more) > max {
			if i == 0 {
				return ""
			}
			fmt.Fprintf(&b, " and %d more", len(refs)-i)
			break
		}
		b.WriteString(sep)
		b.WriteString(r)
	}
	return b.String()
}
