package unit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// clock is an injected clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)} }

var names int

func testUnit(repo, job string, c plan.Concurrency) *plan.Unit {
	names++
	return &plan.Unit{
		Version: plan.Version, Name: fmt.Sprintf("git-%s-web-20261201-080000-%08x.service", job, names),
		Job: job, Repo: "web", RepoPath: repo, Type: plan.TypeCommand, Runner: plan.RunnerSystemd,
		Manager: plan.ManagerUser, Concurrency: c,
		Refs:  []plan.Ref{{Ref: "refs/heads/main", New: "3f9a1c2d00000000000000000000000000000000"}},
		Steps: []plan.Step{{Name: job, Type: plan.TypeCommand, Argv: []string{"/bin/true"}}},
	}
}

// saveStarted saves u and records its hand-over, as the hook does.
func saveStarted(t *testing.T, s *Store, u *plan.Unit) {
	t.Helper()
	sv, err := s.Save(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.Started(plan.RunnerSystemd); err != nil {
		t.Fatal(err)
	}
}

func phase(t *testing.T, s *Store, name string) Phase {
	t.Helper()
	st, err := s.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return st.Phase
}

func TestLifeCycle(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	u := testUnit(repo, "site", plan.Parallel)

	sv, err := s.Save(u)
	if err != nil {
		t.Fatal(err)
	}
	if p := phase(t, s, u.Name); p != Queued {
		t.Fatalf("after Save: %s, want queued", p)
	}
	if l, _ := s.liveness(u.Name); l != Owned {
		t.Errorf("saved unit whose hook holds it: liveness %v, want Owned", l)
	}
	c.advance(time.Second)
	if err := sv.Started(plan.RunnerSystemd); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.liveness(u.Name); l != Pending {
		t.Errorf("handed-over unit: liveness %v, want Pending", l)
	}
	c.advance(time.Second)
	r, err := Take(context.Background(), s.PlanPath(u.Name), 4242, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if r.State.Phase != Running || r.State.PID != 4242 || !r.State.Running.Equal(c.now()) {
		t.Errorf("after Take: %+v", r.State)
	}
	c.advance(time.Second)
	if err := r.BeginJob(); err != nil {
		t.Fatal(err)
	}
	c.advance(90 * time.Second)
	if err := r.Exited(&Exit{Code: 7}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.liveness(u.Name); l != Gone {
		t.Errorf("unit whose job exited (still holding its lock): liveness %v, want Gone", l)
	}
	r.Close()
	c.advance(time.Second)
	fin, err := Finish(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if !fin.First || fin.Outcome.Kind != outcome.Failure || fin.Outcome.Reason != "exit status 7" || fin.Outcome.Duration != 90*time.Second {
		t.Errorf("Finish: first %v, outcome %+v", fin.First, fin.Outcome)
	}
	again, err := Finish(s.PlanPath(u.Name), &Service{"success", "exited", "0"}, c.now)
	if err != nil || again.First || again.Outcome != fin.Outcome {
		t.Errorf("second Finish: %+v %v, want the recorded outcome, not first", again, err)
	}
	if err := RecordDelivery(s.PlanPath(u.Name), outcome.Delivery{State: outcome.NotDelivered, Error: "ntfy answered 429"}, c.now); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Load(u.Name)
	if st.Phase != Ended || st.Delivery == nil || st.Delivery.Status != outcome.NotDelivered || st.Delivery.Error != "ntfy answered 429" || !st.Delivery.At.Equal(c.now()) {
		t.Errorf("ended state: %+v", st)
	}
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Result != outcome.Failure || recs[0].Ntfy == nil || *recs[0].Ntfy != (outcome.Delivery{Output: "ntfy", State: outcome.NotDelivered, Error: "ntfy answered 429"}) {
		t.Errorf("history %+v", recs)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.StatePath(u.Name)))
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary state file left behind: %s", e.Name())
		}
	}
}

func TestAbandonedUnitIsReconciledNotWaitedOn(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	first := testUnit(repo, "q", plan.Queue)
	first.Seq = 1
	sv, err := s.Save(first)
	if err != nil {
		t.Fatal(err)
	}
	second := testUnit(repo, "q", plan.Queue)
	second.Seq = 2
	saveStarted(t, s, second)
	if ahead := s.ahead(second); len(ahead) != 1 {
		t.Fatalf("while the first unit's hook holds it: ahead %v, want it", ahead)
	}
	sv.Close() // the hook was killed before handing the first unit over
	if ahead := s.ahead(second); len(ahead) != 0 {
		t.Errorf("abandoned unit still ahead: %v", ahead)
	}
	// Prune leaves it to Reconcile, which records it once, for its caller
	// to notify (issue 21: it used to be recorded and never notified).
	s.Prune()
	fins, rep := s.Reconcile(nil)
	if len(fins) != 1 || fins[0].Plan.Name != first.Name || !fins[0].First || fins[0].Outcome.Kind != outcome.Failure ||
		!strings.Contains(fins[0].Outcome.Reason, "not started: the push's hook ended before handing it over") {
		t.Fatalf("Reconcile = %+v, want the abandoned unit, first, failed, not started", fins)
	}
	if len(rep.Finished) != 1 {
		t.Errorf("report %+v", rep)
	}
	if p := phase(t, s, first.Name); p != Ended {
		t.Errorf("abandoned unit's phase %s, want ended", p)
	}
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Unit != first.Name || !strings.Contains(recs[0].Reason, "not started") {
		t.Errorf("history %+v, want the abandoned unit's record", recs)
	}
	if again, _ := s.Reconcile(nil); len(again) != 0 {
		t.Errorf("second Reconcile returned %+v, want nothing (notified once)", again)
	}
	if p := phase(t, s, second.Name); p != Started {
		t.Errorf("the live unit was touched: %s", p)
	}
}

func TestHandedOverUnitCountsForStartGrace(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	first, second := testUnit(repo, "q", plan.Queue), testUnit(repo, "q", plan.Queue)
	first.Seq, second.Seq = 1, 2
	saveStarted(t, s, first)
	saveStarted(t, s, second)
	if ahead := s.ahead(second); len(ahead) != 1 {
		t.Fatalf("ahead %v, want the first unit", ahead)
	}
	c.advance(StartGrace + time.Second)
	if ahead := s.ahead(second); len(ahead) != 0 {
		t.Errorf("a unit its manager never ran still blocks after StartGrace: %v", ahead)
	}
}

func TestQueueAdvancesWhenTheJobEndsNotWhenNotified(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	first, second := testUnit(repo, "q", plan.Queue), testUnit(repo, "q", plan.Queue)
	first.Seq, second.Seq = 1, 2
	saveStarted(t, s, first)
	saveStarted(t, s, second)
	r1, err := Take(context.Background(), s.PlanPath(first.Name), 1, c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	if err := r1.BeginJob(); err != nil {
		t.Fatal(err)
	}
	r2, err := Take(context.Background(), s.PlanPath(second.Name), 2, c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var told []string
	if err := r2.WaitTurn(ctx, func(a []string) { told = a }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitTurn behind a running job: %v", err)
	}
	if len(told) != 1 || !strings.HasPrefix(told[0], first.Name) {
		t.Errorf("waiting told %v", told)
	}
	// The first job exits; its exec still holds the lock and its
	// notification is not sent: the second must go on anyway.
	if err := r1.Exited(&Exit{}); err != nil {
		t.Fatal(err)
	}
	if err := r2.WaitTurn(context.Background(), nil); err != nil {
		t.Fatalf("WaitTurn after the first job exited: %v", err)
	}
}

func TestCancelBeforeTakeOver(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	old := testUnit(repo, "latest", plan.Replace)
	saveStarted(t, s, old)
	// No connection is needed: a unit not taken over is only marked.
	l := &Launcher{Now: c.now}
	newer := testUnit(repo, "latest", plan.Replace)
	newer.Refs[0].New = "9b88b00000000000000000000000000000000000"
	l.cancelOthers(context.Background(), newer)
	r, err := Take(context.Background(), s.PlanPath(old.Name), 1, c.now)
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("Take of a cancelled unit: %v, want ErrCancelled", err)
	}
	if err := r.Exited(&Exit{NotRun: true}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	fin, err := Finish(s.PlanPath(old.Name), &Service{"success", "exited", "0"}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if fin.Outcome.Kind != outcome.Cancelled || fin.Outcome.Reason != "replaced by a newer push (9b88b00)" {
		t.Errorf("outcome %+v", fin.Outcome)
	}
	if err := l.Stop(context.Background(), repo, old.Name, "again"); !errors.Is(err, ErrNotLive) {
		t.Errorf("Stop of an ended unit: %v, want ErrNotLive", err)
	}
}

func TestCoalesceLeavesTheRunningUnit(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	l := &Launcher{Now: c.now}
	running, pending := testUnit(repo, "site", plan.Coalesce), testUnit(repo, "site", plan.Coalesce)
	running.Seq, pending.Seq = 1, 2
	saveStarted(t, s, running)
	r, err := Take(context.Background(), s.PlanPath(running.Name), os.Getpid(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.BeginJob(); err != nil {
		t.Fatal(err)
	}
	saveStarted(t, s, pending)
	newest := testUnit(repo, "site", plan.Coalesce)
	newest.Refs[0].New = "abcdef1000000000000000000000000000000000"
	l.cancelOthers(context.Background(), newest)
	if st, _ := s.Load(running.Name); st.Cancel != nil {
		t.Errorf("the running unit was cancelled: %+v", st.Cancel)
	}
	st, _ := s.Load(pending.Name)
	if st.Cancel == nil || st.Cancel.Reason != "superseded by a newer push (abcdef1)" {
		t.Errorf("pending unit: cancel %+v", st.Cancel)
	}
}

func TestPruneBoundsEndedUnits(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now, NoSync: true}
	defer func(k int) { KeepEnded = k }(KeepEnded)
	KeepEnded = 3
	var all []*plan.Unit
	for i := 0; i < 6; i++ {
		u := testUnit(repo, "p", plan.Parallel)
		saveStarted(t, s, u)
		c.advance(time.Minute)
		if _, err := Finish(s.PlanPath(u.Name), &Service{"success", "exited", "0"}, c.now); err != nil {
			t.Fatal(err)
		}
		all = append(all, u)
	}
	kept := func() int {
		sts, _ := s.List()
		return len(sts)
	}
	if n := kept(); n != 3 {
		t.Errorf("%d ended units kept, want KeepEnded = 3", n)
	}
	if _, err := os.Stat(s.PlanPath(all[5].Name)); err != nil {
		t.Errorf("newest plan pruned: %v", err)
	}
	c.advance(MaxAge + time.Hour)
	s.Prune()
	if n := kept(); n != 0 {
		t.Errorf("%d ended units older than MaxAge kept", n)
	}
}

// TestPruneBigPushIsLinear: the units of one big push end one by one; a
// full pass (reading every state) at each end made 10,000 units cost 10^8
// state reads. The directory has not grown since the first end's pass, so
// the others skip it until pruneBusy has passed; then one pass bounds it.
func TestPruneBigPushIsLinear(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now, NoSync: true}
	defer func(k int) { KeepEnded = k }(KeepEnded)
	KeepEnded = 3
	var units []*plan.Unit
	for i := 0; i < 40; i++ {
		u := testUnit(repo, "big", plan.Parallel)
		saveStarted(t, s, u)
		units = append(units, u)
	}
	before := fullPrunes.Load()
	for _, u := range units {
		c.advance(time.Second / 10)
		if _, err := Finish(s.PlanPath(u.Name), &Service{"success", "exited", "0"}, c.now); err != nil {
			t.Fatal(err)
		}
	}
	if n := fullPrunes.Load() - before; n > 2 {
		t.Errorf("40 units of one push ending: %d full prune passes, want at most 2", n)
	}
	c.advance(pruneBusy)
	s.Prune()
	if sts, _ := s.List(); len(sts) != 3 {
		t.Errorf("%d ended units kept after pruneBusy, want KeepEnded = 3", len(sts))
	}
}

func TestEmptyPlanIsNeverRun(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	path := s.PlanPath("git-x-web-20261201-080000-00000000.service")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Take(context.Background(), path, 1, nil)
	if err == nil || r != nil {
		t.Fatalf("Take of a 0-byte plan: %v, %v", r, err)
	}
}

func TestNamePrefix(t *testing.T) {
	if got := namePrefix("git-site-web-20261201-080000-0000abcd.service"); got != "git-site-web-" {
		t.Errorf("namePrefix = %q", got)
	}
}

// TestCorrectLostContact: a remote unit recorded as "lost contact" gets the
// outcome its host recorded, in its state and history, once.
func TestCorrectLostContact(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	u := testUnit(repo, "build", plan.Parallel)
	u.Notify = plan.Notify{Server: "http://ntfy.example", Topic: "t"}
	saveStarted(t, s, u)
	if err := s.Update(u.Name, func(st *State) {
		st.Phase, st.Ended = Ended, time.Now()
		st.Outcome = &Outcome{Kind: outcome.Failure, Reason: LostContactPrefix + "builder"}
	}); err != nil {
		t.Fatal(err)
	}
	if err := history.Append(layout.History(repo), history.Record{Unit: u.Name, Result: outcome.Failure, Reason: LostContactPrefix + "builder"}); err != nil {
		t.Fatal(err)
	}
	if lc := s.LostContact(); len(lc) != 1 {
		t.Fatalf("LostContact = %d units, want 1", len(lc))
	}
	fin, err := s.Correct(u.Name, Outcome{Kind: outcome.Success, Duration: 90 * time.Second})
	if err != nil || fin == nil || !fin.First || !fin.Due || fin.Outcome.Kind != outcome.Success || fin.Outcome.Duration != 90*time.Second {
		t.Fatalf("Correct = %+v, %v", fin, err)
	}
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Result != outcome.Success || !strings.Contains(recs[0].Reason, "first reported as lost contact with builder") {
		t.Errorf("history %+v, want the corrected record in place", recs)
	}
	if again, err := s.Correct(u.Name, Outcome{Kind: outcome.Success}); err != nil || again != nil {
		t.Errorf("second Correct = %+v, %v; want nothing (notified once)", again, err)
	}
	if lc := s.LostContact(); len(lc) != 0 {
		t.Errorf("LostContact after the correction = %d units", len(lc))
	}
}

// A big push whose first units end while it still saves the others: the
// state directory grows at every end, and a full pass at each one read
// every state once per unit (the 1,000-unit bench: 25% of the units' CPU).
func TestPruneGrowingPushIsLinear(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now, NoSync: true}
	defer func(k int) { KeepEnded = k }(KeepEnded)
	KeepEnded = 3
	var live []*plan.Unit
	for i := 0; i < 10; i++ {
		u := testUnit(repo, "big", plan.Parallel)
		saveStarted(t, s, u)
		live = append(live, u)
	}
	before, countsBefore := fullPrunes.Load(), stateCounts.Load()
	const ends, step = 60, time.Second / 10
	for i := 0; i < ends; i++ {
		c.advance(step)
		u := testUnit(repo, "big", plan.Parallel)
		saveStarted(t, s, u)
		live = append(live, u)
		if _, err := Finish(s.PlanPath(live[0].Name), &Service{"success", "exited", "0"}, c.now); err != nil {
			t.Fatal(err)
		}
		live = live[1:]
	}
	if n := fullPrunes.Load() - before; n > ends/4 {
		t.Errorf("%d units ending while as many more were saved: %d full prune passes, want at most %d", ends, n, ends/4)
	}
	// Between full passes, the directory is counted once per pruneCheck,
	// not at every end.
	if n, want := stateCounts.Load()-countsBefore, int64(ends*step/pruneCheck)+1; n > want {
		t.Errorf("%d ends %v apart counted the state directory %d times, want at most %d", ends, step, n, want)
	}
	savedPerCheck := int(pruneCheck / step)
	if sts, _ := s.List(); len(sts) > grown(len(live)+KeepEnded)+savedPerCheck+1 {
		t.Errorf("%d states kept with %d units live: the directory is not bounded", len(sts), len(live))
	}
}

// TestStartedKeepsWhatOthersWrote: the hook records a start from the
// record it wrote unless the file holds more (a newer push's cancel
// request came in between); then it reads the file, and keeps that.
func TestStartedKeepsWhatOthersWrote(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s := &Store{RepoPath: repo, Now: c.now}
	u := testUnit(repo, "site", plan.Replace)
	sv, err := s.Save(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(u.Name, func(st *State) { st.Cancel = &Cancel{Reason: "replaced", At: c.now()} }); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	if err := sv.Started(plan.RunnerSystemd); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != Started || !st.Started.Equal(c.now()) || st.Cancel == nil || st.Cancel.Reason != "replaced" {
		t.Errorf("after a cancel request and the start: %+v, want started with the request kept", st)
	}
}
