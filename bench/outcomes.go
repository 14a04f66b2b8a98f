package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/systemdtest"
	"github.com/hookrun/hookrun/internal/unit"
)

// outcomeScenario is one stress scenario of hookrun alone (issue 10): real
// pushes into a repository of its own, units under the private manager or
// the exec runner, a real ntfy server of its own, and a check that every
// unit's outcome is recorded, right, and notified exactly once.
type outcomeScenario struct {
	key, title string
	runner     plan.Runner
	jobs       []stressJob
	// pushes is how many pushes land at once, each of its own branch; every
	// push matches every job.
	pushes int
	ntfy   peertest.NtfyOptions
	// pauseNtfy: ntfy is SIGSTOPped from before the pushes until every
	// unit has recorded what became of its notification.
	pauseNtfy bool
	// together: the jobs wait (flock) until the bench sees every one of
	// them begun, so that they all end at once.
	together bool
	// check finds the units whose outcome is wrong (name -> why), given
	// every unit of the scenario in queue order (byQueue).
	check func(us []*stressUnit) map[string]string
	// death, when set, is what is killed (SIGKILL) in the middle of one
	// push of refs units (issue 21): "hook", or "manager" (a new one is
	// started after). The bench then runs `hookrun reconcile` every
	// second, as hookrun-reconcile.timer would (every 2 minutes).
	death string
	refs  int
	// tmpfs, when set, is the size of a tmpfs mounted over the
	// repository's state directory ($GIT_DIR/hookrun) before the pushes
	// (issue 21): the jobs' output fills it while they run. Once every
	// unit has ended, the bench makes room (remounts it 64 MiB) and runs
	// `hookrun reconcile` every second.
	tmpfs string
}

// stressJob is one job of a scenario's hooks.toml.
type stressJob struct {
	name    string
	command []string
	extra   string  // more TOML keys, e.g. `timeout = "1s"`
	stop    stopWay // how the bench stops its units once their job has begun
	want    want    // the outcome each of its units must have (with checkEach)
}

// want is an expected outcome: the history record's result, and a regexp
// its reason must match.
type want struct{ result, reason string }

// stopWay is how an operator ends a running unit.
type stopWay string

const (
	stopNone     stopWay = ""
	stopManager  stopWay = "systemctl --user stop"
	stopSignal   stopWay = "SIGTERM to hookrun exec" // the exec runner's systemctl stop
	stopOperator stopWay = "hookrun's Stop"
)

// The concurrency scenarios: how many pushes at once, and the jobs' shell
// commands.
const (
	concurrencyPushes = 50
	longJob           = "sleep 2" // long enough for newer pushes to replace it
	queueJob          = "sleep 0.5"
)

func outcomeScenarios(barrier string) []outcomeScenario {
	var out []outcomeScenario
	for _, r := range []plan.Runner{plan.RunnerSystemd, plan.RunnerExec} {
		out = append(out,
			concurrencyScenario(plan.Replace, r, longJob, checks(lastSucceeds, othersSucceedOrCancelled(`^replaced by a newer push \([0-9a-f]{7}\)$`))),
			concurrencyScenario(plan.Queue, r, queueJob, checks(checkEach, oneAtATime)),
			concurrencyScenario(plan.Coalesce, r, longJob, checks(lastSucceeds, othersSucceedOrCancelled(`^superseded by a newer push \([0-9a-f]{7}\)$`), runningNeverStopped, onePending, oneAtATime)),
			signalScenario(r),
		)
	}
	quick := stressJob{name: "quick", command: []string{"/bin/true"}, want: want{"success", "^$"}}
	// Mid-push deaths: units end as "not started" when they never ran, and
	// ran ones as their job ended (success), any mix of the two.
	notStarted := `^not started: (the push's hook ended before handing it over|its manager never ran it|start git-|systemd manager unreachable)`
	// A job that ran to its end while its manager died: reported by its
	// own hookrun exec, or by reconcile from what exec recorded.
	ranOK := `^(|recorded by hookrun reconcile: its ExecStopPost never ran \(its manager stopped or was killed\))$`
	sleepy := stressJob{name: "work", command: []string{"/bin/sh", "-c", "sleep 1"}, want: want{"success", "^$"}}
	deathCheck := func(us []*stressUnit) map[string]string {
		wrong := map[string]string{}
		for _, u := range ended(us) {
			if mismatch(u.record, want{"success", ranOK}) != "" && mismatch(u.record, want{"failure", notStarted}) != "" {
				wrong[u.name] = fmt.Sprintf("%s %q, want success %s or failure %s", u.record.Result, u.record.Reason, ranOK, notStarted)
			}
		}
		return wrong
	}
	out = append(out,
		outcomeScenario{key: "hook-killed", title: "the hook SIGKILLed while it starts one push of 150 units", runner: plan.RunnerSystemd,
			jobs: []stressJob{sleepy}, death: "hook", refs: 150, check: deathCheck},
		outcomeScenario{key: "manager-killed", title: "the user manager SIGKILLed while one push of 150 units starts", runner: plan.RunnerSystemd,
			jobs: []stressJob{sleepy}, death: "manager", refs: 150, check: deathCheck},
	)
	// A full disk under $GIT_DIR/hookrun: 20 units, all begun before any
	// prints (the barrier), each printing 256 KiB into a 1 MiB tmpfs. Every
	// job runs to its end (its output is lost, not the outcome); those
	// whose end could not be saved are notified all the same, and
	// reconcile records them once there is room.
	fill := stressJob{name: "fill", command: []string{"/bin/sh", "-c",
		"flock -s " + barrier + " true && yes 'hookrun bench: this output fills the state directory' | head -c 262144"},
		want: want{"success", "^$"}}
	out = append(out, outcomeScenario{key: "enospc", title: "20 units whose output (256 KiB each) fills a 1 MiB tmpfs over $GIT_DIR/hookrun",
		runner: plan.RunnerSystemd, jobs: []stressJob{fill}, pushes: 20, together: true, tmpfs: "1m", check: checks(checkEach, saysUnrecorded)})
	return append(out,
		outcomeScenario{key: "ntfy-stopped", title: "ntfy SIGSTOPped while 20 units end", runner: plan.RunnerSystemd,
			jobs: []stressJob{quick}, pushes: 20, pauseNtfy: true, check: checkEach},
		outcomeScenario{key: "ntfy-429", title: "ntfy rate-limiting (burst 10, one more a second), 50 units ending together", runner: plan.RunnerSystemd,
			jobs:   []stressJob{{name: "together", command: []string{"flock", "-s", barrier, "true"}, want: want{"success", "^$"}}},
			pushes: 50, together: true, ntfy: peertest.NtfyOptions{RequestBurst: 10, RequestReplenish: time.Second}, check: checkEach},
	)
}

// concurrencyScenario: concurrencyPushes pushes at once to one job of
// concurrency c running shell command cmd.
func concurrencyScenario(c plan.Concurrency, r plan.Runner, cmd string, check func([]*stressUnit) map[string]string) outcomeScenario {
	return outcomeScenario{
		key: fmt.Sprintf("%s-%s", c, r), title: fmt.Sprintf("%d pushes at once, one `concurrency = %q` job (%s)", concurrencyPushes, c, cmd),
		runner: r, pushes: concurrencyPushes, check: check,
		jobs: []stressJob{{name: "site", command: []string{"/bin/sh", "-c", cmd}, extra: fmt.Sprintf("concurrency = %q", c), want: want{"success", "^$"}}},
	}
}

// signalScenario has one job per way a unit can end, under runner r, and
// two pushes at once.
func signalScenario(r plan.Runner) outcomeScenario {
	sh := func(s string) []string { return []string{"/bin/sh", "-c", s} }
	failed := func(reason string) want { return want{"failure", reason} }
	jobs := []stressJob{
		{name: "exit0", command: sh("exit 0"), want: want{"success", "^$"}},
		{name: "exit7", command: sh("exit 7"), want: failed(`^exit status 7$`)},
		{name: "notfound", command: []string{"no-such-program"}, want: failed(`^exit status 127$`)},
		{name: "slow", command: []string{"sleep", "30"}, extra: `timeout = "1s"`, want: failed(`^timed out after 1s$`)},
		{name: "operator", command: []string{"sleep", "60"}, stop: stopOperator, want: want{"cancelled", `^stopped by an operator$`}},
	}
	for _, sig := range []string{"TERM", "INT", "HUP", "SEGV", "ABRT", "QUIT", "USR1", "KILL", "PIPE"} {
		reason := `^killed by signal ` + sig + `$`
		if sig == "SEGV" || sig == "ABRT" || sig == "QUIT" {
			reason = `^killed by signal ` + sig + `( \(core dumped\))?$`
		}
		jobs = append(jobs, stressJob{name: strings.ToLower(sig), command: sh("kill -" + sig + " $$"), want: failed(reason)})
	}
	if r == plan.RunnerSystemd {
		jobs = append(jobs,
			stressJob{name: "stopme", command: []string{"sleep", "60"}, stop: stopManager,
				want: want{"cancelled", `^stopped by its service manager \(systemctl stop, or the manager shut down\)$`}},
			// awk doubles a string until the memory limit kills it (the
			// exec runner has no memory limit); {{ }} are literal braces.
			stressJob{name: "hog", command: []string{"awk", `BEGIN {{ s = "x"; for (;;) s = s s }}`}, extra: `memory_max = "20M"` + "\ntimeout = \"60s\"",
				want: failed(`^killed(: out of memory| by signal KILL \(the memory limit MemoryMax=20M may have been reached\))$`)})
	} else {
		jobs = append(jobs, stressJob{name: "stopme", command: []string{"sleep", "60"}, stop: stopSignal,
			want: want{"cancelled", `^stopped: its hookrun exec process got a stop signal$`}})
	}
	return outcomeScenario{key: "signals-" + string(r), title: fmt.Sprintf("every way a unit ends, %d jobs, 2 pushes at once", len(jobs)),
		runner: r, jobs: jobs, pushes: 2, check: checkEach}
}

// stressUnit is one unit of a scenario as the bench found it afterwards.
type stressUnit struct {
	name        string
	job, branch string
	want        *want           // its job's
	said        bool            // the hook said it started
	state       *unit.State     // nil: no state file
	record      *history.Record // nil: no outcome recorded
	msgs        []peertest.Message
}

func (u *stressUnit) key() string { return u.job + "/" + u.branch }

// byQueue orders units as internal/unit does (unit.QueueOrder); units
// without a state come first.
func byQueue(us []*stressUnit) {
	slices.SortStableFunc(us, func(a, b *stressUnit) int {
		if a.state == nil || b.state == nil {
			return boolInt(a.state != nil) - boolInt(b.state != nil)
		}
		return unit.QueueOrder(a.state, b.state)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checks runs every check and merges what they found.
func checks(cs ...func([]*stressUnit) map[string]string) func([]*stressUnit) map[string]string {
	return func(us []*stressUnit) map[string]string {
		wrong := map[string]string{}
		for _, c := range cs {
			for n, why := range c(us) {
				if wrong[n] == "" {
					wrong[n] = why
				}
			}
		}
		return wrong
	}
}

// ended are the units with a recorded outcome.
func ended(us []*stressUnit) []*stressUnit {
	var out []*stressUnit
	for _, u := range us {
		if u.record != nil {
			out = append(out, u)
		}
	}
	return out
}

// checkEach: every unit has its job's outcome.
func checkEach(us []*stressUnit) map[string]string {
	wrong := map[string]string{}
	for _, u := range ended(us) {
		if u.want == nil {
			wrong[u.name] = "a unit of job " + u.job + ", which the scenario does not have"
		} else if why := mismatch(u.record, *u.want); why != "" {
			wrong[u.name] = why
		}
	}
	return wrong
}

func mismatch(r *history.Record, w want) string {
	if r.Result.String() != w.result || !regexp.MustCompile(w.reason).MatchString(r.Reason) {
		return fmt.Sprintf("%s %q, want %s %s", r.Result, r.Reason, w.result, w.reason)
	}
	return ""
}

// notifyText is r's ntfy delivery in its text form ("" when none was due).
func notifyText(r *history.Record) string {
	if r == nil || r.Ntfy == nil {
		return ""
	}
	return r.Ntfy.Text()
}

// saysUnrecorded: a unit notified when its outcome could not be recorded
// (its record says so, as reconcile wrote it later) was told so in its
// message (issue 21 point 2).
func saysUnrecorded(us []*stressUnit) map[string]string {
	wrong := map[string]string{}
	for _, u := range ended(us) {
		if !strings.Contains(notifyText(u.record), "could not be recorded") {
			continue
		}
		if !slices.ContainsFunc(u.msgs, func(m peertest.Message) bool { return strings.Contains(m.Message, "could not record") }) {
			wrong[u.name] = fmt.Sprintf("notified when its outcome could not be recorded (%s %q), but no message says so", u.record.Result, u.record.Reason)
		}
	}
	return wrong
}

// lastSucceeds: the newest unit in queue order (the last push's) succeeds.
func lastSucceeds(us []*stressUnit) map[string]string {
	if len(us) == 0 {
		return nil
	}
	last := us[len(us)-1]
	if last.record == nil {
		return nil // lost, counted as such
	}
	if why := mismatch(last.record, want{"success", "^$"}); why != "" {
		return map[string]string{last.name: "the last push's unit: " + why}
	}
	return nil
}

// othersSucceedOrCancelled: every unit succeeds or is cancelled for reason.
func othersSucceedOrCancelled(reason string) func([]*stressUnit) map[string]string {
	return func(us []*stressUnit) map[string]string {
		wrong := map[string]string{}
		for _, u := range ended(us) {
			if mismatch(u.record, want{"success", "^$"}) != "" && mismatch(u.record, want{"cancelled", reason}) != "" {
				wrong[u.name] = fmt.Sprintf("%s %q, want success or cancelled %s", u.record.Result, u.record.Reason, reason)
			}
		}
		return wrong
	}
}

// runningNeverStopped: a cancelled unit never began its job (coalesce
// cancels only pending units).
func runningNeverStopped(us []*stressUnit) map[string]string {
	wrong := map[string]string{}
	for _, u := range ended(us) {
		if u.record.Result == outcome.Cancelled && u.state != nil && !u.state.JobStart.IsZero() {
			wrong[u.name] = "cancelled after its job began"
		}
	}
	return wrong
}

// onePending: at most one unit waited at a time. A unit waits from when
// its plan is saved until its job begins or it is cancelled; coalesce
// cancels the pending unit before it saves the newer one, so these spans
// never overlap.
func onePending(us []*stressUnit) map[string]string {
	type span struct {
		u          *stressUnit
		from, till time.Time
	}
	var spans []span
	for _, u := range ended(us) {
		st := u.state
		if st == nil {
			continue
		}
		till := st.JobStart
		if c := st.Cancel; c != nil && (till.IsZero() || c.At.Before(till)) {
			till = c.At
		}
		if till.IsZero() {
			till = st.Ended
		}
		spans = append(spans, span{u, st.Saved, till})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	wrong := map[string]string{}
	for i := 1; i < len(spans); i++ {
		if p := spans[i-1]; spans[i].from.Before(p.till) {
			wrong[spans[i].u.name] = fmt.Sprintf("pending while %s was pending too", p.u.name)
		}
	}
	return wrong
}

// oneAtATime: the jobs ran one after another, in queue order.
func oneAtATime(us []*stressUnit) map[string]string {
	wrong := map[string]string{}
	var prev *stressUnit
	for _, u := range us {
		st := u.state
		if st == nil || st.JobStart.IsZero() {
			continue
		}
		if prev != nil && (prev.state.Exit == nil || st.JobStart.Before(prev.state.Exit.At)) {
			wrong[u.name] = fmt.Sprintf("its job began before %s's had ended", prev.name)
		}
		prev = u
	}
	return wrong
}

// stressRow is one scenario's line of the report.
type stressRow struct {
	sc                                                outcomeScenario
	started, ended, notified, lost, duplicated, wrong int
	wall                                              time.Duration
	load                                              string // 1-minute load average when it ended
	notes                                             []string
}

// tally counts what happened to us (in queue order) and msgs, the
// messages that arrived on the scenario's topic.
func tally(sc outcomeScenario, us []*stressUnit, msgs []peertest.Message) stressRow {
	row := stressRow{sc: sc}
	byKey := map[string]*stressUnit{}
	for _, u := range us {
		byKey[u.key()] = u
	}
	stray := 0
	for _, m := range msgs {
		if u := byKey[strings.TrimPrefix(m.Click, clickBase)]; u != nil {
			u.msgs = append(u.msgs, m)
		} else {
			stray++
		}
	}
	wrong := sc.check(us)
	results, deliveries := map[string]int{}, map[string]int{}
	for _, u := range us {
		if u.said || u.state != nil {
			row.started++
		}
		if len(u.msgs) > 0 {
			row.notified++
		}
		if len(u.msgs) > 1 {
			row.duplicated++
			row.notes = append(row.notes, fmt.Sprintf("%s notified %d times", u.name, len(u.msgs)))
		}
		if u.record == nil {
			row.lost++
			row.notes = append(row.notes, u.name+" has no outcome")
			continue
		}
		row.ended++
		results[u.record.Result.String()]++
		d := ""
		if u.record.Ntfy != nil {
			d = u.record.Ntfy.Summary()
		}
		deliveries[d]++
		why := wrong[u.name]
		switch {
		case why != "":
		case !u.said && u.state == nil:
			why = "never started: " + u.record.Reason
		case d == "" || d == outcome.Pending.String():
			why = fmt.Sprintf("delivery not recorded (%q)", notifyText(u.record))
		case d == "delivered" && len(u.msgs) == 0:
			why = "recorded delivered, but nothing arrived"
		case d == "not delivered" && len(u.msgs) > 0:
			why = "recorded not delivered, but it arrived"
		}
		if why != "" {
			row.wrong++
			row.notes = append(row.notes, u.name+": "+why)
		}
	}
	if n := len(row.notes); n > maxNotes {
		row.notes = append(row.notes[:maxNotes], fmt.Sprintf("and %d more", n-maxNotes))
	}
	row.notes = append([]string{"outcomes: " + counts(results), "delivery: " + counts(deliveries)}, row.notes...)
	if stray > 0 {
		row.notes = append(row.notes, fmt.Sprintf("%d messages matched no unit", stray))
	}
	if sc.together {
		row.notes = append(row.notes, endSpread(us))
	}
	return row
}

// endSpread says how close together the jobs of us ended, and how long
// the shortest ran (it waited for the barrier).
func endSpread(us []*stressUnit) string {
	var first, last time.Time
	shortest := time.Duration(-1)
	for _, u := range us {
		st := u.state
		if st == nil || st.Exit == nil || st.JobStart.IsZero() {
			continue
		}
		if first.IsZero() || st.Exit.At.Before(first) {
			first = st.Exit.At
		}
		if st.Exit.At.After(last) {
			last = st.Exit.At
		}
		if d := st.Exit.At.Sub(st.JobStart); shortest < 0 || d < shortest {
			shortest = d
		}
	}
	return fmt.Sprintf("the jobs ended within %.2f s of each other (the shortest ran %.1f s)", last.Sub(first).Seconds(), shortest.Seconds())
}

// notifyRetries counts the notification attempts that failed and were
// retried, as the units' log files tell (hookrun: notify: attempt N
// failed: ...; retrying in ...), and how many of them ntfy answered 429.
func notifyRetries(repo string) (retries, rateLimited int) {
	logs, _ := filepath.Glob(filepath.Join(layout.LogsDir(repo), "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "hookrun: notify: attempt ") && strings.Contains(line, "retrying in") {
				retries++
				if strings.Contains(line, "429") {
					rateLimited++
				}
			}
		}
	}
	return retries, rateLimited
}

// maxNotes is how many units' problems a row's notes name.
const maxNotes = 4

// counts renders {"success": 3, "cancelled": 2} as "2 cancelled, 3 success".
func counts(m map[string]int) string {
	var parts []string
	for k, n := range m {
		if k == "" {
			k = "none"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// clickBase is the start of every scenario's click template; the rest,
// JOB/BRANCH, names the unit a message is about.
const clickBase = "https://bench.invalid/"

// hooksTOMLFor is scenario sc's hooks.toml, notifying topic sc.key on the
// ntfy server at url with the token in tokenFile.
func hooksTOMLFor(sc outcomeScenario, url, tokenFile string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "version = 1\n\n[defaults]\nrunner = %q\n\n", sc.runner)
	fmt.Fprintf(&s, "[notify]\nserver = %q\ntopic = %q\ntoken_file = %q\nclick = %q\ndigest_over = 0\n", url, sc.key, tokenFile, clickBase+"{job}/{branch}")
	var names []string
	for _, j := range sc.jobs {
		var args []string
		for _, a := range j.command {
			args = append(args, fmt.Sprintf("%q", a))
		}
		fmt.Fprintf(&s, "\n[jobs.%s]\ntype = \"command\"\ncommand = [%s]\n", j.name, strings.Join(args, ", "))
		if j.extra != "" {
			s.WriteString(j.extra + "\n")
		}
		names = append(names, fmt.Sprintf("%q", j.name))
	}
	fmt.Fprintf(&s, "\n[[rules]]\nbranches = [\"**\"]\njobs = [%s]\n", strings.Join(names, ", "))
	return s.String()
}

// outcomeDeadline bounds the wait for a scenario's outcomes; a unit without
// one by then is counted lost.
const outcomeDeadline = 5 * time.Minute

// runOutcome runs one scenario: a fresh repository and ntfy server, the
// pushes, the stops, then waits for every outcome and notification and
// counts them.
func (b *bench) runOutcome(ctx context.Context, sc outcomeScenario, ntfyBin string, clones []string, barrier string) (stressRow, error) {
	logf("stress %s: %s", sc.key, sc.title)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the barrier's watcher
	srv, err := peertest.StartNtfy(ntfyBin, sc.ntfy)
	if err != nil {
		return stressRow{}, err
	}
	defer srv.Stop()
	tokenFile, err := b.tokenFile(sc.key, srv.Token)
	if err != nil {
		return stressRow{}, err
	}
	repo := filepath.Join(b.work, sc.key+".git")
	if err := b.newRepo(ctx, repo, hooksTOMLFor(sc, srv.URL, tokenFile)); err != nil {
		return stressRow{}, err
	}
	if sc.tmpfs != "" {
		unmount, err := mountTmpfs(layout.Dir(repo), sc.tmpfs)
		if err != nil {
			return stressRow{}, err
		}
		defer unmount()
		// The manager runs in a mount namespace of its own, copied when it
		// started: one started now has the tmpfs too.
		restore, err := b.ownManager()
		if err != nil {
			return stressRow{}, err
		}
		defer restore()
	}
	if sc.together {
		unlock, err := lockExclusive(barrier)
		if err != nil {
			return stressRow{}, err
		}
		defer unlock()
		go func() {
			// Lifted once every job has begun, or at the deadline.
			b.waitUnits(ctx, repo, outcomeDeadline, func(sts []*unit.State) bool {
				return len(sts) == sc.pushes*len(sc.jobs) && all(sts, func(st *unit.State) bool { return !st.JobStart.IsZero() })
			})
			unlock()
		}()
	}
	if sc.pauseNtfy {
		if err := srv.Pause(); err != nil {
			return stressRow{}, err
		}
	}
	t0 := time.Now()
	if sc.death != "" {
		return b.runDeath(ctx, sc, srv, repo, clones[0], t0)
	}
	outs, codes, pushWall := b.pushAll(ctx, repo, clones[:sc.pushes], func(i int) string { return fmt.Sprintf("%s-%02d", sc.key, i) })
	said := map[string]bool{}
	notes := []string{fmt.Sprintf("the pushes took %.1f s", pushWall.Seconds())}
	errLines := map[string]bool{}
	for i, out := range outs {
		for _, n := range startedNames(out) {
			said[n] = true
		}
		if codes[i] != 0 {
			notes = append(notes, fmt.Sprintf("push %d exited %d: %s", i, codes[i], strings.TrimSpace(out)))
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "hookrun: error: ") && !errLines[l] {
				errLines[l] = true
				notes = append(notes, "the hook said: "+strings.TrimSpace(strings.TrimPrefix(l, "remote: ")))
			}
		}
	}
	if sc.tmpfs != "" {
		return b.finishFull(ctx, sc, srv, repo, said, notes, t0)
	}
	if err := b.stopAll(ctx, sc, repo); err != nil {
		notes = append(notes, err.Error())
	}
	// The delivery is recorded in the unit's state, then in its history
	// record, which is what the tally reads: wait for both.
	b.waitUnits(ctx, repo, outcomeDeadline, func(sts []*unit.State) bool {
		return len(sts) >= len(said) && all(sts, func(st *unit.State) bool {
			return st.Phase == unit.Ended && st.Delivery != nil && st.Delivery.Status != outcome.Pending
		}) && historySettled(repo, said)
	})
	if sc.pauseNtfy {
		if err := srv.Resume(); err != nil {
			return stressRow{}, err
		}
	}
	us, err := collectUnits(repo, said)
	if err != nil {
		return stressRow{}, err
	}
	for _, u := range us {
		for _, j := range sc.jobs {
			if j.name == u.job {
				u.want = &j.want
			}
		}
	}
	msgs, err := arrived(srv, sc.key, us)
	if err != nil {
		notes = append(notes, err.Error())
	}
	byQueue(us)
	row := tally(sc, us, msgs)
	row.wall = time.Since(t0)
	if n, limited := notifyRetries(repo); n > 0 {
		notes = append(notes, fmt.Sprintf("%d notification attempts retried (%d after a 429)", n, limited))
	}
	row.notes = append(row.notes, notes...)
	return row, nil
}

// runDeath runs a mid-push death scenario: one push of sc.refs branches,
// run as git runs the hook; once it has handed 20 units over, the hook or
// the manager is killed with SIGKILL. Then `hookrun reconcile` runs every
// second (the timer's job) until every unit has an outcome whose delivery
// is recorded, or the deadline.
func (b *bench) runDeath(ctx context.Context, sc outcomeScenario, srv *peertest.Ntfy, repo, clone string, t0 time.Time) (stressRow, error) {
	// The commit, pushed without running the hook (HOOKRUN_ACTIVE=1).
	push := exec.CommandContext(ctx, "git", "push", "-q", repo, "HEAD:refs/heads/base")
	push.Dir, push.Env = clone, append(b.gitEnv(), "HOOKRUN_ACTIVE=1")
	if out, err := push.CombinedOutput(); err != nil {
		return stressRow{}, fmt.Errorf("push the commit: %v: %s", err, out)
	}
	sha, err := exec.CommandContext(ctx, "git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		return stressRow{}, err
	}
	var in strings.Builder
	for i := range sc.refs {
		fmt.Fprintf(&in, "%s %s refs/heads/%s-%03d\n", strings.Repeat("0", 40), strings.TrimSpace(string(sha)), sc.key, i)
	}
	hook := exec.CommandContext(ctx, b.hook, "post-receive")
	hook.Dir, hook.Env, hook.Stdin = repo, b.env, strings.NewReader(in.String())
	var hookOut bytes.Buffer
	hook.Stdout, hook.Stderr = &hookOut, &hookOut
	if err := hook.Start(); err != nil {
		return stressRow{}, err
	}
	hookDone := make(chan struct{})
	go func() { hook.Wait(); close(hookDone) }()
	handed := func(sts []*unit.State) bool {
		n := 0
		for _, st := range sts {
			if st.Phase != unit.Queued {
				n++
			}
		}
		return n >= 20
	}
	b.waitUnits(ctx, repo, time.Minute, handed)
	notes := []string{}
	select {
	case <-hookDone:
		notes = append(notes, "the push ended before the kill: nothing died mid-push")
	default:
		switch sc.death {
		case "hook":
			_ = hook.Process.Kill()
		case "manager":
			if err := b.m.Kill(); err != nil {
				return stressRow{}, err
			}
		}
	}
	<-hookDone
	sts, _ := unit.Open(repo).List()
	queued, handedOver := 0, 0
	for _, st := range sts {
		if st.Phase == unit.Queued {
			queued++
		} else {
			handedOver++
		}
	}
	notes = append(notes, fmt.Sprintf("at the kill's end: %d units saved, %d of them handed over; the hook exited %d", len(sts), handedOver, hook.ProcessState.ExitCode()))
	if sc.death == "manager" {
		// A new manager stands for the restarted one.
		m, err := systemdtest.Launch()
		if err != nil {
			return stressRow{}, fmt.Errorf("start a new manager: %w", err)
		}
		old := b.m
		b.m = m
		// Its units' processes live on (their hookrun exec reports its
		// job's end itself): Stop, which kills them, waits for the end.
		defer old.Stop()
		for i, kv := range b.env {
			if strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
				b.env[i] = "XDG_RUNTIME_DIR=" + m.RuntimeDir
			}
		}
	}
	said := map[string]bool{}
	for _, st := range sts {
		said[st.Unit] = true
	}
	reconciles := b.reconcileUntil(ctx, repo, sc.refs)
	notes = append(notes, fmt.Sprintf("%d runs of hookrun reconcile, one a second", reconciles))
	us, err := collectUnits(repo, said)
	if err != nil {
		return stressRow{}, err
	}
	for _, u := range us {
		u.want = &sc.jobs[0].want
		// Every unit of the push was meant to start, the ones its start
		// failed for (no state: their record says why) too.
		u.said = u.said || u.record != nil
	}
	// Units the hook could not start are notified together, one message
	// per topic ("jobs not started"), not one each.
	together := func(r *history.Record) bool {
		return r != nil && strings.HasPrefix(r.Reason, "not started: ") && !strings.Contains(r.Reason, "hook ended") && !strings.Contains(r.Reason, "never ran it")
	}
	want, grouped := 0, false
	for _, u := range us {
		if r := u.record; r != nil && r.Ntfy != nil && r.Ntfy.State == outcome.Delivered {
			if together(r) {
				grouped = true
			} else {
				want++
			}
		}
	}
	if grouped {
		want++
	}
	msgs, err := srv.WaitFor(sc.key, want, time.Minute)
	if err != nil {
		notes = append(notes, err.Error())
	}
	var group, rest []peertest.Message
	for _, m := range msgs {
		if strings.Contains(m.Title, "jobs not started") {
			group = append(group, m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(group) > 0 {
		n := 0
		for _, u := range us {
			if together(u.record) {
				u.msgs = append(u.msgs, group[0])
				n++
			}
		}
		notes = append(notes, fmt.Sprintf("%d units the hook could not start were notified in %d message(s) together", n, len(group)))
	}
	byQueue(us)
	row := tally(sc, us, rest)
	row.wall = time.Since(t0)
	row.notes = append(row.notes, notes...)
	return row, nil
}

// reconcileUntil runs `hookrun reconcile --repo repo` every second, as
// hookrun-reconcile.timer would (every 2 minutes), until the history holds
// n records none of whose delivery is pending and the outbox is empty, or
// outcomeDeadline. It returns how many times it ran.
func (b *bench) reconcileUntil(ctx context.Context, repo string, n int) int {
	deadline := time.Now().Add(outcomeDeadline)
	reconciles := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		rc := exec.CommandContext(ctx, b.hookrun, "reconcile", "--repo", repo)
		rc.Env = b.gitEnv()
		_ = rc.Run()
		reconciles++
		recs, _ := history.Read(layout.History(repo))
		done := len(recs) >= n
		for _, r := range recs {
			if r.Ntfy != nil && r.Ntfy.State == outcome.Pending {
				done = false
			}
		}
		if letters, _ := unit.Outbox(repo).Pending(); len(letters) > 0 {
			done = false
		}
		if done {
			break
		}
		time.Sleep(time.Second) // the timer's period, shortened
	}
	return reconciles
}

// mountTmpfs mounts a tmpfs of size (mount's size=, e.g. "1m") on dir,
// created if need be (the bench runs as root), and returns its unmount.
func mountTmpfs(dir, size string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		return nil, fmt.Errorf("mount a %s tmpfs on %s (the ENOSPC scenario needs root): %w", size, dir, err)
	}
	return func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			logf("stress: unmount %s: %v", dir, err)
		}
	}, nil
}

// ownManager starts a new user manager and makes it the bench's until
// restore is called: its private mount namespace is a copy of the bench's
// as it is now, so that a file system the bench has just mounted (the
// ENOSPC scenario's tmpfs) is its units' too.
func (b *bench) ownManager() (restore func(), err error) {
	m, err := systemdtest.Launch()
	if err != nil {
		return nil, fmt.Errorf("start a user manager: %w", err)
	}
	old := b.m
	b.m = m
	b.setRuntimeDir(m.RuntimeDir)
	return func() {
		if err := m.Stop(); err != nil {
			logf("stress: stop the scenario's manager: %v", err)
		}
		b.m = old
		b.setRuntimeDir(old.RuntimeDir)
	}, nil
}

// setRuntimeDir points the hooks' environment at a manager's runtime
// directory.
func (b *bench) setRuntimeDir(dir string) {
	for i, kv := range b.env {
		if strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			b.env[i] = "XDG_RUNTIME_DIR=" + dir
		}
	}
}

// finishFull ends the ENOSPC scenario once the pushes have started the
// units said: it waits until they have all ended under their manager
// (their states cannot say so while the disk is full), makes room, runs
// `hookrun reconcile` until every unit has a recorded outcome, and counts.
func (b *bench) finishFull(ctx context.Context, sc outcomeScenario, srv *peertest.Ntfy, repo string, said map[string]bool, notes []string, t0 time.Time) (stressRow, error) {
	dir := layout.Dir(repo)
	if active := b.waitInactive(ctx, slices.Sorted(maps.Keys(said)), outcomeDeadline); len(active) > 0 {
		notes = append(notes, fmt.Sprintf("%d units still active after %s: %s", len(active), outcomeDeadline, strings.Join(active, ", ")))
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil {
		notes = append(notes, fmt.Sprintf("once they had ended: %d of %d KiB free", fs.Bavail*uint64(fs.Bsize)/1024, fs.Blocks*uint64(fs.Bsize)/1024))
	}
	recs, _ := history.Read(layout.History(repo))
	before, _ := srv.Poll(sc.key)
	kept, _ := filepath.Glob(filepath.Join(b.getenv("XDG_RUNTIME_DIR"), fmt.Sprintf("hookrun-unrecorded-%d", os.Getuid()), "*.json"))
	var outcomes, histories int // outcomes kept whole; outcomes recorded in their state whose history record is kept to add
	for _, k := range kept {
		switch {
		case strings.HasSuffix(k, ".history.json"):
			histories++
		case !strings.HasSuffix(k, ".exit.json"):
			outcomes++
		}
	}
	notes = append(notes, fmt.Sprintf("before room was made: %d outcomes in the history, %d messages, %d outcomes kept unrecorded, %d recorded in their state only", len(recs), len(before), outcomes, histories))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64m,mode=0700"); err != nil {
		return stressRow{}, fmt.Errorf("make room: remount %s 64 MiB: %w", dir, err)
	}
	reconciles := b.reconcileUntil(ctx, repo, len(said))
	notes = append(notes, fmt.Sprintf("then %d runs of hookrun reconcile, one a second", reconciles))
	us, err := collectUnits(repo, said)
	if err != nil {
		return stressRow{}, err
	}
	for _, u := range us {
		u.want = &sc.jobs[0].want
	}
	msgs, err := arrived(srv, sc.key, us)
	if err != nil {
		notes = append(notes, err.Error())
	}
	unrecorded := 0
	for _, m := range msgs {
		if strings.Contains(m.Message, "could not record") {
			unrecorded++
		}
	}
	notes = append(notes, fmt.Sprintf("%d of %d messages say the outcome could not be recorded", unrecorded, len(msgs)))
	byQueue(us)
	row := tally(sc, us, msgs)
	row.wall = time.Since(t0)
	row.notes = append(row.notes, notes...)
	return row, nil
}

// waitInactive waits until none of the units names is active under the
// manager (ended, their ExecStopPost too), or timeout; it returns those
// still active then.
func (b *bench) waitInactive(ctx context.Context, names []string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		var active []string
		show := exec.CommandContext(ctx, "systemctl", append([]string{"--user", "show", "-p", "Id,ActiveState"}, names...)...)
		show.Env = b.gitEnv()
		out, err := show.Output()
		if err != nil {
			active = names
		}
		// Units are shown one after another, a blank line between them.
		for _, block := range strings.Split(string(out), "\n\n") {
			var id, state string
			for _, l := range strings.Split(block, "\n") {
				if v, ok := strings.CutPrefix(l, "Id="); ok {
					id = v
				} else if v, ok := strings.CutPrefix(l, "ActiveState="); ok {
					state = v
				}
			}
			if id != "" && state != "inactive" && state != "failed" {
				active = append(active, id+" ("+state+")")
			}
		}
		if len(active) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return active
		}
		time.Sleep(200 * time.Millisecond) // polling interval: waits for a condition, orders nothing
	}
}

func all(sts []*unit.State, ok func(*unit.State) bool) bool {
	return !slices.ContainsFunc(sts, func(st *unit.State) bool { return !ok(st) })
}

// waitUnits polls the unit states of repo until done says so, or timeout.
func (b *bench) waitUnits(ctx context.Context, repo string, timeout time.Duration, done func([]*unit.State) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		sts, err := unit.Open(repo).List()
		if err == nil && done(sts) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// historySettled reports whether the history records of the units said
// have each recorded their notification's delivery (none pending).
func historySettled(repo string, said map[string]bool) bool {
	recs, err := history.Read(layout.History(repo))
	return err == nil && !slices.ContainsFunc(recs, func(r history.Record) bool {
		return said[r.Unit] && r.Ntfy != nil && r.Ntfy.State == outcome.Pending
	})
}

// stopAll stops every unit of the scenario's stop jobs once its job has
// begun, the way the job says.
func (b *bench) stopAll(ctx context.Context, sc outcomeScenario, repo string) error {
	var errs []error
	for _, j := range sc.jobs {
		if j.stop == stopNone {
			continue
		}
		// The hooks have saved every unit they start: wait for those.
		var begun []*unit.State
		n := 0
		ok := b.waitUnits(ctx, repo, 2*time.Minute, func(sts []*unit.State) bool {
			begun, n = begun[:0], 0
			for _, st := range sts {
				if st.Job == j.name {
					n++
					if !st.JobStart.IsZero() {
						begun = append(begun, st)
					}
				}
			}
			return len(begun) == n
		})
		if !ok {
			errs = append(errs, fmt.Errorf("only %d of %d units of %s began their job within 2 minutes", len(begun), n, j.name))
		}
		for _, st := range begun {
			if err := b.stop(ctx, repo, st, j.stop); err != nil {
				errs = append(errs, fmt.Errorf("stop %s (%s): %w", st.Unit, j.stop, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (b *bench) stop(ctx context.Context, repo string, st *unit.State, way stopWay) error {
	switch way {
	case stopManager:
		return runCmd(ctx, "", b.gitEnv(), "systemctl", "--user", "stop", st.Unit)
	case stopSignal:
		return syscall.Kill(st.PID, syscall.SIGTERM)
	case stopOperator:
		l := &unit.Launcher{Getenv: b.getenv}
		defer l.Close()
		return l.Stop(ctx, repo, st.Unit, "stopped by an operator")
	}
	return fmt.Errorf("unknown way to stop: %q", way)
}

// getenv looks up the hooks' environment.
func (b *bench) getenv(k string) string {
	for _, kv := range b.env {
		if name, v, ok := strings.Cut(kv, "="); ok && name == k {
			return v
		}
	}
	return ""
}

// collectUnits gathers every unit of repo: those the hooks said they
// started, those with a state, those with a history record.
func collectUnits(repo string, said map[string]bool) ([]*stressUnit, error) {
	units := map[string]*stressUnit{}
	get := func(name string) *stressUnit {
		if units[name] == nil {
			units[name] = &stressUnit{name: name}
		}
		return units[name]
	}
	for n := range said {
		get(n).said = true
	}
	sts, err := unit.Open(repo).List()
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		get(st.Unit).state = st
	}
	recs, err := history.Read(layout.History(repo))
	if err != nil {
		return nil, err
	}
	for i := range recs {
		u := get(recs[i].Unit)
		u.record = &recs[i]
		u.job, u.branch = recs[i].Job, strings.TrimPrefix(recs[i].Ref, "refs/heads/")
	}
	var out []*stressUnit
	for _, u := range units {
		if u.job == "" {
			if p, err := plan.Load(layout.Plan(repo, u.name)); err == nil {
				u.job = p.Job
				if len(p.Refs) > 0 {
					u.branch = strings.TrimPrefix(p.Refs[0].Ref, "refs/heads/")
				}
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// arrived returns the messages on topic once every notification recorded
// delivered is there; when some may still arrive (recorded "maybe
// delivered" or "not delivered": the server may yet process a request
// hookrun gave up on), it waits until nothing new has come for settle.
func arrived(srv *peertest.Ntfy, topic string, us []*stressUnit) ([]peertest.Message, error) {
	delivered, unsure := 0, false
	for _, u := range us {
		if u.record == nil {
			continue
		}
		switch {
		case u.record.Ntfy != nil && u.record.Ntfy.State == outcome.Delivered:
			delivered++
		case u.record.NotifyFailed():
			unsure = true
		}
	}
	msgs, err := srv.WaitFor(topic, delivered, time.Minute)
	if err != nil || !unsure {
		return msgs, err
	}
	const settle = 5 * time.Second
	deadline := time.Now().Add(2 * time.Minute)
	last, since := len(msgs), time.Now()
	for time.Since(since) < settle && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // polling interval: waits for quiet, orders nothing
		if msgs, err = srv.Poll(topic); err != nil {
			return msgs, err
		}
		if len(msgs) != last {
			last, since = len(msgs), time.Now()
		}
	}
	return msgs, nil
}

// startedNames are the units a push's output says its hook started
// ("remote: hookrun: started NAME: ...").
func startedNames(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "remote: ")
		rest, ok := strings.CutPrefix(line, "hookrun: started ")
		if name, _, ok2 := strings.Cut(rest, ": "); ok && ok2 && strings.HasSuffix(name, ".service") {
			names = append(names, name)
		}
	}
	return names
}

// lockExclusive takes an exclusive flock on path (created if need be) and
// returns its release, which may be called more than once.
func lockExclusive(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// stressOutcomes runs the selected outcome scenarios. Without an ntfy
// binary (HOOKRUN_TEST_NTFY, or ntfy on PATH) it runs none and says so.
func (b *bench) stressOutcomes(ctx context.Context, clones []string) ([]stressRow, error) {
	barrier := filepath.Join(b.work, "barrier.lock")
	var scs []outcomeScenario
	for _, sc := range outcomeScenarios(barrier) {
		if selected(sc.key) {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return nil, nil
	}
	bin, err := peertest.FindNtfy()
	if err != nil {
		logf("stress: no ntfy server binary (%v): the outcome scenarios need one; set %s", err, peertest.NtfyEnv)
		b.printf("The outcome scenarios did not run: no ntfy binary (set %s or put ntfy on PATH).\n\n", peertest.NtfyEnv)
		return nil, nil
	}
	var rows []stressRow
	for _, sc := range scs {
		row, err := b.runOutcome(ctx, sc, bin, clones, barrier)
		if err != nil {
			return nil, fmt.Errorf("stress %s: %w", sc.key, err)
		}
		row.load = loadAvg()
		rows = append(rows, row)
	}
	return rows, nil
}

// reportOutcomes prints the outcome scenarios' table and, below it, what
// each found beyond the counts.
func (b *bench) reportOutcomes(rows []stressRow) {
	if len(rows) == 0 {
		return
	}
	b.printf("#### Stress: every unit's outcome recorded and notified once (real ntfy)\n\n")
	b.printf("| scenario | runner | started | ended (outcome recorded) | notified | lost | duplicated | wrong | wall | load (1 min) |\n")
	b.printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		b.printf("| %s: %s | %s | %d | %d | %d | %d | %d | %d | %.1f s | %s |\n", r.sc.key, r.sc.title, r.sc.runner,
			r.started, r.ended, r.notified, r.lost, r.duplicated, r.wrong, r.wall.Seconds(), r.load)
	}
	b.printf("\n")
	for _, r := range rows {
		b.printf("- %s: %s\n", r.sc.key, strings.Join(r.notes, "; "))
	}
	b.printf("\n\"notified\": units with at least one message on the topic (matched by the click URL, JOB/BRANCH); " +
		"\"lost\": started, no outcome recorded; \"duplicated\": more than one message; " +
		"\"wrong\": an outcome other than the scenario's, or a delivery record the messages contradict.\n")
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// newRepo creates the bare repository at path with hookrun as its
// post-receive and toml as its hooks.toml.
func (b *bench) newRepo(ctx context.Context, path, toml string) error {
	if err := runCmd(ctx, b.work, b.gitEnv(), "git", "init", "-q", "--bare", "-b", "main", path); err != nil {
		return err
	}
	if err := os.Symlink(b.hook, filepath.Join(path, "hooks", "post-receive")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(path, "hooks.toml"), []byte(toml), 0o600)
}

// tokenFile writes token to a file of its own (mode 0600) and returns its
// path.
func (b *bench) tokenFile(name, token string) (string, error) {
	p := filepath.Join(b.work, name+".token")
	return p, os.WriteFile(p, []byte(token), 0o600)
}
