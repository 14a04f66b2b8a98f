package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// bashHook is a post-receive written the way the hand-written hook hookrun
// replaces was: basename for the repository, one date(1) timestamp per push,
// `echo "$ref" | sed` per ref for the branch, and one systemd-run per job
// named git-<job>-<repo>-<timestamp> with OnSuccess= pointing at a notify
// template. The seed's sudo is dropped (the user manager needs none).
//
// Jobs listed in @REF_JOBS@ start once per matching ref inside the read
// loop, as the seed did; jobs in @PUSH_JOBS@ start once after the loop,
// which is how a bash author would write a per-push job.
const bashHook = `#!/bin/bash
# post-receive: start a systemd unit per job (the hand-written hook, sudo dropped)
REPO_NAME=$(basename "$(pwd)" .git)
TIMESTAMP=$(date +%Y%m%d-%H%M%S)

start_job() {
    local job=$1
    local unit="git-${job}-${REPO_NAME}-${TIMESTAMP}"
    echo "Starting ${job} for ${REPO_NAME}: ${unit}"
    systemd-run --user --unit="${unit}" \
        --property=OnSuccess="git-notify@${job}-${REPO_NAME}.service" \
        --collect @CMD@
}

while read oldrev newrev ref; do
    branch=$(echo "$ref" | sed 's|^refs/heads/||')
    case "$branch" in
    @PATTERN@)
        for job in @REF_JOBS@; do
            start_job "$job"
        done
        ;;
    esac
done

for job in @PUSH_JOBS@; do
    start_job "$job"
done
`

// bashConf fills bashHook's placeholders.
type bashConf struct {
	pattern  string // a case pattern for the branch: main, *
	refJobs  string // space-separated
	pushJobs string
	cmd      string // the unit's command line (bash words; ${unit} is the unit name)
}

// writeBashHook writes the bash hook to work/bash/post-receive and returns
// its path.
func (b *bench) writeBashHook(c bashConf) (string, error) {
	if c.cmd == "" {
		c.cmd = "/bin/true"
	}
	s := strings.NewReplacer("@PATTERN@", c.pattern, "@REF_JOBS@", c.refJobs, "@PUSH_JOBS@", c.pushJobs, "@CMD@", c.cmd).Replace(bashHook)
	p := filepath.Join(b.work, "bash", "post-receive")
	return p, os.WriteFile(p, []byte(s), 0o755)
}

// hooksTOML is a hooks.toml whose jobs (named a, b, c, ... as refstart names
// them) run command; per is "ref" or "push"; the one rule matches branches.
func hooksTOML(jobs int, per, branches string, command string) string {
	return jobsTOML(0, jobs, per, branches, command)
}

// jobsTOML is hooksTOML with the jobs from the first-th letter on.
func jobsTOML(first, jobs int, per, branches string, command string) string {
	var s strings.Builder
	s.WriteString("version = 1\n")
	var names []string
	for j := first; j < first+jobs; j++ {
		name := string(rune('a' + j))
		names = append(names, fmt.Sprintf("%q", name))
		fmt.Fprintf(&s, "\n[jobs.%s]\ntype = \"command\"\ncommand = %s\nper = %q\n", name, command, per)
	}
	fmt.Fprintf(&s, "\n[[rules]]\nbranches = [%q]\njobs = [%s]\n", branches, strings.Join(names, ", "))
	return s.String()
}

// refLines returns one "<old> <new> refs/heads/<name>" line per name, with
// the repository's two commits as old and new (an update, not a create).
func (b *bench) refLines(names []string) []byte {
	var s strings.Builder
	for _, n := range names {
		fmt.Fprintf(&s, "%s %s refs/heads/%s\n", b.oldSHA, b.newSHA, n)
	}
	return []byte(s.String())
}

// mixedRefLines is refLines with every other ref created at the new commit
// instead of updated: a path filter then asks git for the commits new to
// the repository too (for-each-ref and rev-list; main already has the
// commit, so they bring none).
func (b *bench) mixedRefLines(names []string) []byte {
	var s strings.Builder
	zero := strings.Repeat("0", len(b.oldSHA))
	for i, n := range names {
		old := b.oldSHA
		if i%2 == 1 {
			old = zero
		}
		fmt.Fprintf(&s, "%s %s refs/heads/%s\n", old, b.newSHA, n)
	}
	return []byte(s.String())
}

func branchNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return names
}
