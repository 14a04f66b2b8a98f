package install

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Batch installs hookrun's hooks in, or uninstalls them from, several
// repositories: what `hookrun install` and `uninstall` do once the
// repositories are known. Each repository is done whole or not at all
// (Install); one that fails never stops the others.
type Batch struct {
	Self       string // the hookrun binary the hooks run
	Installing bool   // false: uninstall
	Mode       Mode   // with Installing
	// Installed is called for each repository whose hooks were installed
	// (the index of repositories, reflogs); it returns a warning, or "".
	Installed func(repo string) (warning string)
	Out, Log  io.Writer // result lines; errors and warnings
}

// Run does b in each of repos and returns how many failed, with the
// tally of what was done (Tally.Summary).
func (b *Batch) Run(repos []string) (failed int, tally Tally) {
	for _, r := range repos {
		r, _ = filepath.Abs(r)
		var results []Result
		if b.Installing {
			var err error
			if results, err = Install(r, b.Self, b.Mode); err != nil {
				failed++
				tally.Failed()
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(b.Log, "hookrun: error: %s\n", line)
				}
				continue
			}
			if b.Installed != nil {
				if w := b.Installed(r); w != "" {
					fmt.Fprintf(b.Log, "hookrun: warning: %s\n", w)
				}
			}
		} else {
			results = Uninstall(r, b.Self)
		}
		bad := false
		for _, res := range results {
			if res.Err != nil {
				bad = true
				fmt.Fprintf(b.Log, "hookrun: error: %v\n", res.Err)
				continue
			}
			fmt.Fprintln(b.Out, res.Line(r, b.Installing, b.Mode))
		}
		if bad {
			failed++
			tally.Failed()
		} else {
			tally.Add(results)
		}
	}
	return failed, tally
}
