package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/unit"
)

// damagedRecords names every record of repos that cannot be read: unit
// states and plans (unit.Store.Damaged), and lines of the history. Status
// prints them after its table and exits 1: nothing is left out silently.
func damagedRecords(repos []string) []string {
	var out []string
	for _, r := range repos {
		for _, err := range unit.Open(r).Damaged() {
			out = append(out, fmt.Sprintf("%s: %v", r, err))
		}
		_, bad, err := history.ReadChecked(layout.History(r))
		if err != nil {
			continue // runStatus warns about it
		}
		if len(bad) > 0 {
			lines := make([]string, 0, len(bad))
			for _, n := range bad[:min(len(bad), 10)] {
				lines = append(lines, strconv.Itoa(n))
			}
			more := ""
			if len(bad) > 10 {
				more = fmt.Sprintf(" and %d more", len(bad)-10)
			}
			out = append(out, fmt.Sprintf("%s: history %s: line %s%s cannot be read (damaged from outside; those runs are not shown)", r, layout.History(r), strings.Join(lines, ", "), more))
		}
	}
	return out
}

// reconcileNotes says what the last `hookrun reconcile` of each of repos
// found, when it found anything (unit.SaveReconciled keeps a finding for a
// day).
func reconcileNotes(repos []string) []string {
	var out []string
	for _, r := range repos {
		rep, err := unit.LoadReconciled(r)
		if err != nil || len(rep.Finished) == 0 && len(rep.Damaged) == 0 {
			continue
		}
		shown := rep.Finished[:min(len(rep.Finished), 3)]
		more := ""
		if len(rep.Finished) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(rep.Finished)-len(shown))
		}
		line := fmt.Sprintf("%s: reconcile at %s recorded the outcome of %s nothing else would", r, rep.At.Local().Format("2006-01-02 15:04:05"), plural(len(rep.Finished), "unit"))
		if len(shown) > 0 {
			line += ": " + strings.Join(shown, "; ") + more
		}
		if len(rep.Damaged) > 0 {
			line += fmt.Sprintf("; %d could not be recorded: %s", len(rep.Damaged), rep.Damaged[0])
		}
		out = append(out, line)
	}
	return out
}
