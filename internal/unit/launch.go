package unit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
)

// Launcher starts the units of a push, and stops units, holding one
// connection per systemd manager, dialled only when a unit needs it.
// Close it when done.
type Launcher struct {
	// Self is the absolute path of the hookrun binary units run.
	Self string
	// Getenv looks up the environment (for reaching the managers).
	Getenv func(string) string
	// Log gets one line per thing a person should know ("hookrun: ..."),
	// e.g. the units stopped and the fallback to the exec runner.
	Log io.Writer
	// UnitName picks a new name when the manager already has one
	// (runner.UnitName).
	UnitName func(u *plan.Unit) string
	// Now is the clock of the stores (nil: time.Now).
	Now func() time.Time
	// Remote starts units that run on other hosts (u.Host set: the
	// internal/remote Start) and returns each one's error; each that
	// started there comes back as the plan of its local watcher, which
	// Launch then starts here. nil: such units do not start.
	Remote func(ctx context.Context, units []*plan.Unit, now time.Time) []error

	mu    sync.Mutex
	conns map[plan.Manager]*managerConn
	exec  *runner.Exec
}

// managerConn is a connection to one manager, dialled in the background.
type managerConn struct {
	parent context.Context // what the connection lives within
	done   chan struct{}   // closed when the dial has ended
	sd     *runner.Systemd
	err    error
	warned bool // the fallback to the exec runner was reported
	// cancel ends the connection's context: the connection lives as long
	// as it (godbus closes it then), so the dial's deadline cannot be on it.
	cancel context.CancelFunc
}

// CallTimeout bounds the dial and each stop of a replaced unit.
//
// Starts have no deadline of their own and the push none as a whole: a push
// matching 10,000 units takes a minute or more (the manager accepts some
// 150-175 starts a second when idle, far fewer while it also runs the units
// already started), and a shared 30 s deadline dropped most of them; under
// load one start call can wait over 30 s at a busy manager. Instead the
// starts stop only when the manager makes no progress at all for
// StallTimeout: no start call has answered in that time.
const (
	CallTimeout  = 30 * time.Second
	StallTimeout = 2 * time.Minute
)

// MaxInFlight bounds the start calls (each of up to BatchSize units) a
// hook has outstanding on its one connection. The manager starts the jobs
// it has queued only when no D-Bus message waits (its run queue is an
// idle-priority event source), so with calls always waiting it answers
// them all first and the units start once the last is in, instead of in
// bursts whenever the hook falls behind, whose processes then compete with
// the hook and the manager for the CPU.
// With 8, a 1,000-unit push took 2.2–5.7 s, or 11.8–18.6 s once a burst
// started (6 of 15 rounds); with 64, 0.9–2.3 s in each of 9 rounds
// (docs/PERFORMANCE.md). Far below the manager's queue bounds.
const MaxInFlight = 64

func (l *Launcher) logf(format string, args ...any) {
	if l.Log != nil {
		fmt.Fprintf(l.Log, "hookrun: "+format+"\n", args...)
	}
}

func (l *Launcher) store(repoPath string) *Store {
	return &Store{RepoPath: repoPath, Now: l.Now}
}

// connect starts dialling manager, unless that has started already.
func (l *Launcher) connect(ctx context.Context, m plan.Manager) *managerConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.conns[m]; ok {
		return c
	}
	c := &managerConn{parent: ctx, done: make(chan struct{})}
	if l.conns == nil {
		l.conns = map[plan.Manager]*managerConn{}
	}
	l.conns[m] = c
	// The socket connects here, the rest in the background: the manager
	// takes a millisecond or two to set a connection up, and starts now.
	dialing := runner.StartDial(string(m), l.Getenv)
	l.finishDial(c, m, dialing.Finish)
	return c
}

// redial replaces the connection to m, when it is still failed (another
// start may have replaced it already), with one dialled the usual way
// (runner.DialSystemd): the early connection's manager did not accept it
// (runner.ErrEarlyAuth), and the usual dial tries the other candidates,
// or fails so that runner = "auto" falls back to the exec runner.
func (l *Launcher) redial(m plan.Manager, failed *runner.Systemd) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, ok := l.conns[m]
	if !ok || old.sd != failed {
		return
	}
	old.sd.Close()
	old.cancel()
	c := &managerConn{parent: old.parent, done: make(chan struct{})}
	l.conns[m] = c
	l.finishDial(c, m, func(ctx context.Context) (*runner.Systemd, error) {
		return runner.DialSystemd(ctx, string(m), l.Getenv)
	})
}

// finishDial runs dial in the background for c, within CallTimeout, in a
// context of c.parent that c.cancel ends.
func (l *Launcher) finishDial(c *managerConn, m plan.Manager, dial func(context.Context) (*runner.Systemd, error)) {
	var connCtx context.Context
	connCtx, c.cancel = context.WithCancel(c.parent)
	go func() {
		defer close(c.done)
		dialTimer := time.AfterFunc(CallTimeout, c.cancel)
		c.sd, c.err = dial(connCtx)
		if !dialTimer.Stop() && c.err == nil {
			// The deadline struck as the dial ended: the connection closes.
			c.sd.Close()
			c.sd, c.err = nil, fmt.Errorf("connecting to the systemd %s manager took more than %s", m, CallTimeout)
		}
		if c.sd != nil {
			c.sd.Self = l.Self
		}
	}()
}

// Close closes the connections. Units already started keep running.
func (l *Launcher) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		<-c.done
		if c.sd != nil {
			c.sd.Close()
		}
		c.cancel()
	}
	l.conns = nil
}

// starter is what starts u and the runner it is: its manager (waiting for
// the dial), or the exec runner when u asks for it, or for runner = "auto"
// when the manager is unreachable.
func (l *Launcher) starter(ctx context.Context, r plan.Runner, m plan.Manager) (runner.Starter, plan.Runner, error) {
	if r == plan.RunnerExec {
		return l.execStarter(), plan.RunnerExec, nil
	}
	c := l.connect(ctx, m)
	<-c.done
	switch {
	case c.err == nil:
		return c.sd, plan.RunnerSystemd, nil
	case r == plan.RunnerAuto && errors.Is(c.err, runner.ErrManagerUnreachable):
		l.mu.Lock()
		warn := !c.warned
		c.warned = true
		l.mu.Unlock()
		if warn {
			l.logf("warning: no systemd %s manager reachable (%v); running jobs as detached processes", m, c.err)
		}
		return l.execStarter(), plan.RunnerExec, nil
	}
	return nil, "", c.err
}

func (l *Launcher) execStarter() *runner.Exec {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.exec == nil {
		l.exec = &runner.Exec{Self: l.Self}
	}
	return l.exec
}

// Dial starts connecting to every manager units need: the socket
// connects, and the authentication goes out, before it returns, and the
// rest is done in the background (runner.StartDial). Launch does it
// first; a caller with work to do before Launch calls it sooner, so the
// manager sets the connection up meanwhile.
func (l *Launcher) Dial(ctx context.Context, units []*plan.Unit) {
	for _, u := range units {
		if u.Runner != plan.RunnerExec {
			l.connect(ctx, u.Manager)
		}
	}
}

// Launch starts every unit of one push and returns each one's error (nil:
// started). The manager takes milliseconds to accept a connection, so it
// dials first and meanwhile numbers the units that wait (queue, coalesce),
// cancels the ones a unit of this push replaces or supersedes, and saves
// every plan, in push order. The start calls then overlap on the shared
// connection.
//
// Units that run on other hosts go through the same numbering and
// cancelling first — what they replace is stopped before they start there
// — and are then started by Remote at the same time as the local ones, so
// a slow or unreachable host never delays a local unit; each that started
// there then gets its watcher here.
//
// The hook writes plans and states without fsync: they are replaced or
// created whole (never read half-written), and a power loss takes the
// manager's transient units with it, so nothing the hook wrote could be
// run after one anyway; a plan that did not reach the disk whole fails to
// load and is pruned. What exec and notify record is synced.
func (l *Launcher) Launch(ctx context.Context, units []*plan.Unit) []error {
	l.Dial(ctx, units)
	errs := make([]error, len(units))
	// Numbering, cancelling and saving are one step per repository for
	// units that wait for or supersede others: under the repository's
	// launch lock, each push sees every unit of the pushes before it saved
	// and none of a later one, and numbers follow the order of saving.
	// Without it two concurrent pushes could each miss the other's unit
	// (coalesce kept several pending, an older push could cancel a newer
	// one's unit, and a queue unit could run beside one numbered before it).
	unlock, err := lockLaunch(units)
	if err != nil {
		for i, u := range units {
			if ordered(u.Concurrency) {
				errs[i] = fmt.Errorf("queueing: %v", err)
			}
		}
	}
	defer unlock()
	for i, u := range units {
		if errs[i] == nil && u.Concurrency.Waits() && u.Seq == 0 {
			var err error
			if u.Seq, err = l.store(u.RepoPath).NextSeq(); err != nil {
				errs[i] = fmt.Errorf("queueing: %v", err)
			}
		}
	}
	// Cancelled before this push's units are saved, so that a unit of this
	// push is never taken for an older one.
	for i, u := range units {
		if errs[i] == nil {
			l.cancelOthers(ctx, u)
		}
	}
	var here, away []int
	for i, u := range units {
		switch {
		case errs[i] != nil:
		case u.Host != nil:
			away = append(away, i)
		default:
			here = append(here, i)
		}
	}
	remoteErrs := make(chan []error, 1)
	if len(away) > 0 {
		go func() {
			if l.Remote == nil {
				remoteErrs <- repeat(errors.New("no way to reach other hosts here"), len(away))
				return
			}
			remoteErrs <- l.Remote(ctx, pick(units, away), l.store("").now()) // the stores' clock
		}()
	}
	saved := l.save(units, here, errs)
	unlock()
	l.startSaved(ctx, here, saved, errs, len(away) == 0)
	if len(away) == 0 {
		return errs
	}
	var watch []int
	for k, err := range <-remoteErrs {
		if errs[away[k]] = err; err == nil {
			watch = append(watch, away[k])
		}
	}
	// The watchers are saved under the launch lock too. (A push to the
	// same host job that comes while this one ships does not see it: see
	// docs/remote-hosts.md.)
	unlock, err = lockLaunch(pick(units, watch))
	if err != nil {
		for _, i := range watch {
			errs[i] = fmt.Errorf("queueing: %v", err)
		}
		return errs
	}
	saved = l.save(units, watch, errs)
	unlock()
	l.startSaved(ctx, watch, saved, errs, true)
	for _, i := range watch {
		if errs[i] != nil {
			errs[i] = fmt.Errorf("started on host %s, but its watcher here did not start: %w", units[i].Host.Name, errs[i])
		}
	}
	return errs
}

func pick(units []*plan.Unit, idx []int) []*plan.Unit {
	out := make([]*plan.Unit, len(idx))
	for k, i := range idx {
		out[k] = units[i]
	}
	return out
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// save saves units[i] for every i of idx (setting errs[i] on failure)
// and returns them by index.
func (l *Launcher) save(units []*plan.Unit, idx []int, errs []error) []*Saved {
	saved := make([]*Saved, len(units))
	dirs := map[string]bool{}
	for _, i := range idx {
		u := units[i]
		s := l.store(u.RepoPath)
		s.NoSync = true
		if !dirs[u.RepoPath] {
			dirs[u.RepoPath] = true
			// systemd appends the unit's output to its log file; the
			// directory must exist.
			if err := os.MkdirAll(filepath.Dir(layout.Log(u.RepoPath, u.Name)), 0o700); err != nil {
				errs[i] = fmt.Errorf("creating the log directory: %v", err)
				continue
			}
		}
		saved[i], errs[i] = s.Save(u)
	}
	return saved
}

// startSaved starts saved[i] for every i of idx, setting errs[i]. When
// last, the connections close as soon as the last start call has
// answered, before the last states are recorded: the manager sends every
// client of its private socket every unit's and job's signals (the units
// just started make dozens), which the connection would otherwise read
// and decode while the hook records them.
func (l *Launcher) startSaved(ctx context.Context, idx []int, saved []*Saved, errs []error, last bool) {
	// The watchdog ends the starts when the manager answers none of them
	// for StallTimeout; every answer resets it.
	sctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	answered := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(StallTimeout)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-answered:
				t.Reset(StallTimeout)
			case <-t.C:
				stall(fmt.Errorf("the systemd manager answered no start for %s", StallTimeout))
				return
			}
		}
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, MaxInFlight)
	var left atomic.Int64
	for _, i := range idx {
		if saved[i] != nil {
			left.Add(1)
		}
	}
	called := func() {
		if left.Add(-1) == 0 && last {
			l.Close()
		}
	}
	for _, b := range batches(idx, saved) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			l.startBatch(sctx, b, saved, errs, called)
			for _, i := range b {
				if errs[i] != nil && sctx.Err() != nil {
					errs[i] = fmt.Errorf("%w (%v)", errs[i], context.Cause(sctx))
				}
			}
			select {
			case answered <- struct{}{}:
			default:
			}
		}()
	}
	wg.Wait()
}

// BatchSize bounds the units one start call carries (runner.StartAll).
// A call per unit cost the manager 1.7-1.8 times what a unit of a shared
// call does (docs/PERFORMANCE.md). 32 units make a message of some 35 KB
// (a three-unit call was 3,346 bytes), and a big push still has many
// calls in flight (MaxInFlight); one call for a whole 10,000-unit push,
// one transaction of 10,000 jobs, was not tried.
const BatchSize = 32

// batches splits the saved units of idx into the groups one start call
// each starts: units for the same runner and manager, in push order, up
// to BatchSize. A unit of the exec runner goes alone.
func batches(idx []int, saved []*Saved) [][]int {
	type key struct {
		r plan.Runner
		m plan.Manager
	}
	open := map[key]int{} // the batch each key fills
	var out [][]int
	for _, i := range idx {
		if saved[i] == nil {
			continue
		}
		u := saved[i].Unit
		k := key{u.Runner, u.Manager}
		if b, ok := open[k]; ok && u.Runner != plan.RunnerExec && len(out[b]) < BatchSize {
			out[b] = append(out[b], i)
			continue
		}
		open[k] = len(out)
		out = append(out, []int{i})
	}
	return out
}

// startBatch starts saved[i] for every i of b with one call when their
// manager is reachable (runner.StartAll), setting errs[i]. When the
// manager refuses the call, no unit of it started, and each is started
// alone (start), which tells which failed and why and renames a unit whose
// name is taken.
func (l *Launcher) startBatch(ctx context.Context, b []int, saved []*Saved, errs []error, called func()) {
	alone := func() {
		for _, i := range b {
			errs[i] = l.start(ctx, saved[i], called)
		}
	}
	if len(b) == 1 {
		alone()
		return
	}
	first := saved[b[0]].Unit
	st, kind, err := l.starter(ctx, first.Runner, first.Manager)
	sd, ok := st.(*runner.Systemd)
	if err != nil || !ok {
		alone() // the error, or the exec runner, unit by unit
		return
	}
	units := make([]*plan.Unit, len(b))
	paths := make([]string, len(b))
	for k, i := range b {
		units[k], paths[k] = saved[i].Unit, saved[i].s.PlanPath(saved[i].Unit.Name)
	}
	err = sd.StartAll(ctx, units, paths)
	switch {
	case err == nil:
		// Every unit of the call has its answer: count them all before
		// recording any, so that the last batch's connection closes now
		// rather than after all but one of its states are written.
		for range b {
			called()
		}
		for _, i := range b {
			if testHookRecord != nil {
				testHookRecord(l)
			}
			if err := saved[i].Started(kind); err != nil {
				l.logf("warning: %s started, but its state was not recorded: %v", saved[i].Unit.Name, err)
			}
		}
	case runner.Answered(err) || errors.Is(err, runner.ErrEarlyAuth):
		alone()
	default:
		for _, i := range b {
			saved[i].Abandon()
			called()
			errs[i] = err
		}
	}
}

// testHookRecord, set by tests, is called before each started unit's
// state is recorded.
var testHookRecord func(l *Launcher)

// ordered reports whether units of c wait for or supersede the other units
// of their job, so must be numbered, cancelled and saved in one order.
func ordered(c plan.Concurrency) bool { return c.Waits() || c == plan.Replace }

// lockLaunch takes the launch lock of each repository with units whose
// concurrency is ordered, in path order, and returns its release (which
// may be called more than once).
func lockLaunch(units []*plan.Unit) (unlock func(), err error) {
	var repos []string
	for _, u := range units {
		if ordered(u.Concurrency) {
			repos = append(repos, u.RepoPath)
		}
	}
	slices.Sort(repos)
	var held []*os.File
	unlock = func() {
		for _, f := range held {
			f.Close()
		}
		held = nil
	}
	for _, repo := range slices.Compact(repos) {
		path := layout.LaunchLock(repo)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			unlock()
			return unlock, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			unlock()
			return unlock, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			unlock()
			return unlock, fmt.Errorf("lock %s: %w", path, err)
		}
		held = append(held, f)
	}
	return unlock, nil
}

// start hands the saved unit over, picking a new name if the manager
// already has a unit of that name. called is called once, when the last
// start call for the unit has answered, before its state is recorded.
func (l *Launcher) start(ctx context.Context, sv *Saved, called func()) error {
	s := sv.s
	done := false
	defer func() {
		if !done {
			called()
		}
	}()
	redialed := false
	for attempt := 0; ; attempt++ {
		u := sv.Unit
		st, kind, err := l.starter(ctx, u.Runner, u.Manager)
		if err == nil {
			err = st.Start(ctx, u, s.PlanPath(u.Name))
		}
		if sd, ok := st.(*runner.Systemd); ok && errors.Is(err, runner.ErrEarlyAuth) && !redialed {
			// Not started (the manager processed nothing): again, dialled
			// the usual way.
			redialed = true
			l.redial(u.Manager, sd)
			continue
		}
		if err == nil {
			done = true
			called()
			if testHookRecord != nil {
				testHookRecord(l)
			}
			if err := sv.Started(kind); err != nil {
				l.logf("warning: %s started, but its state was not recorded: %v", u.Name, err)
			}
			return nil
		}
		sv.Abandon()
		if !errors.Is(err, runner.ErrUnitExists) || attempt == 3 || l.UnitName == nil {
			return err
		}
		renameUnit(u, l.UnitName(u))
		if sv, err = s.Save(u); err != nil {
			return err
		}
	}
}

func renameUnit(u *plan.Unit, name string) {
	u.Name = name
	for i, e := range u.Env {
		if strings.HasPrefix(e, "HOOKRUN_UNIT=") {
			u.Env[i] = "HOOKRUN_UNIT=" + name
		}
	}
}

// cancelOthers cancels the live units of u's job that u makes redundant:
// for replace every one, for coalesce those that have not begun their job
// (the running one is never stopped).
func (l *Launcher) cancelOthers(ctx context.Context, u *plan.Unit) {
	var reason string
	switch u.Concurrency {
	case plan.Replace:
		reason = "replaced by a newer push"
	case plan.Coalesce:
		reason = "superseded by a newer push"
	default:
		return
	}
	if len(u.Refs) > 0 {
		reason = fmt.Sprintf("%s (%s)", reason, u.Refs[0].Short())
	}
	s := l.store(u.RepoPath)
	for _, o := range s.others(u) {
		if !o.Live() {
			continue
		}
		if u.Concurrency == plan.Coalesce && !o.JobStart.IsZero() {
			continue
		}
		stopped, err := l.cancel(ctx, s, o.Unit, reason, u.Concurrency == plan.Coalesce)
		switch {
		case err != nil:
			l.logf("warning: could not stop %s, which %s replaces: %v", o.Unit, u.Name, err)
		case stopped && u.Concurrency == plan.Coalesce:
			l.logf("cancelled %s: superseded by this push", o.Unit)
		case stopped:
			l.logf("stopped %s: replaced by this push", o.Unit)
		}
	}
}

// ErrNotLive is returned by Stop for a unit that has already ended.
var ErrNotLive = errors.New("the unit is not running")

// Stop cancels the unit name of the repository at repoPath with reason:
// it ends cancelled, with that reason, and is notified once.
//
// A unit that hookrun exec has taken over is stopped through its runner
// (the manager's stop job, or SIGTERM to the exec runner's process); exec
// stops the job and its ExecStopPost reports it. A unit not taken over yet
// is never stopped through the manager — stopping a unit whose start job
// is still queued cancels that job, and its ExecStopPost would never run —
// it is marked instead, and its exec ends it at once, before the job.
func (l *Launcher) Stop(ctx context.Context, repoPath, name, reason string) error {
	stopped, err := l.cancel(ctx, l.store(repoPath), name, reason, false)
	if err == nil && !stopped {
		return ErrNotLive
	}
	return err
}

// cancel marks name cancelled and stops it if it runs (unless onlyPending:
// then a unit whose job has begun is left alone). stopped is false when
// there was nothing to cancel.
func (l *Launcher) cancel(ctx context.Context, s *Store, name, reason string, onlyPending bool) (stopped bool, err error) {
	f, err := os.OpenFile(s.PlanPath(name), os.O_RDWR, 0)
	if err != nil {
		return false, nil // gone
	}
	defer f.Close()
	// The state lock is held across the stop, so exec cannot take the unit
	// over or begin its job in between.
	var stopErr error
	_, err = s.update(name, f, func(st *State) error {
		if !st.Live() || st.Cancel != nil || onlyPending && !st.JobStart.IsZero() {
			return errNoChange
		}
		st.Cancel = &Cancel{Reason: reason, At: s.now()}
		stopped = true
		if st.Phase != Running {
			return nil // exec sees the mark when it takes the unit over
		}
		if !held(f, ownerByte) {
			return nil // its exec has gone; notify reports it
		}
		if !st.JobStart.IsZero() { // else exec sees the mark before the job begins
			stopErr = l.stopRunning(ctx, st)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if stopErr != nil && !errors.Is(stopErr, runner.ErrNoSuchUnit) {
		return stopped, stopErr
	}
	return stopped, nil
}

// stopRunning stops the unit through the runner that started it.
func (l *Launcher) stopRunning(ctx context.Context, st *State) error {
	r := st.Runner
	if r == plan.RunnerAuto || r == "" {
		r = plan.RunnerSystemd
	}
	sr, _, err := l.starter(ctx, r, st.Manager)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return sr.Stop(sctx, runner.Handle{Name: st.Unit, PID: st.PID})
}
