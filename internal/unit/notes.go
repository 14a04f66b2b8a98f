package unit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
)

// DamagedRecords names every record of repos that cannot be read: unit
// states and plans (Store.Damaged), and lines of the history (the first 10
// of them). `hookrun status` prints them after its table and exits 1:
// nothing is left out silently. A history that cannot be read at all is
// not named here (status warns about it).
func DamagedRecords(repos []string) []string {
	var out []string
	for _, r := range repos {
		for _, err := range Open(r).Damaged() {
			out = append(out, fmt.Sprintf("%s: %v", r, err))
		}
		_, bad, err := history.ReadChecked(layout.History(r))
		if err != nil {
			continue
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

// ReconcileNotes says what the last `hookrun reconcile` of each of repos
// found, when it found anything (SaveReconciled keeps a finding for a day),
// one line each.
func ReconcileNotes(repos []string) []string {
	var out []string
	for _, r := range repos {
		rep, err := LoadReconciled(r)
		if err != nil || len(rep.Finished) == 0 && len(rep.Damaged) == 0 {
			continue
		}
		shown := rep.Finished[:min(len(rep.Finished), 3)]
		more := ""
		if len(rep.Finished) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(rep.Finished)-len(shown))
		}
		units := "1 unit"
		if len(rep.Finished) != 1 {
			units = fmt.Sprintf("%d units", len(rep.Finished))
		}
		line := fmt.Sprintf("%s: reconcile at %s recorded the outcome of %s nothing else would", r, rep.At.Local().Format("2006-01-02 15:04:05"), units)
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
