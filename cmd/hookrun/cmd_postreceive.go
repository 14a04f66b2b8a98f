package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/queue"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdPostReceive() *command {
	return &command{
		name:    "post-receive",
		summary: "the git hook: start a unit for every job the pushed refs match",
		usage:   "< ref-lines",
		help: `Run by git as hooks/post-receive (a symlink to hookrun; see 'hookrun install').
Reads "<old> <new> <refname>" lines, loads the global config and
$GIT_DIR/hooks.toml, and starts one systemd transient unit per matched job
(or per push for per = "push" jobs), then returns without waiting for them.
Invalid config or malformed input starts nothing and exits non-zero. When no
rule matches, no connection to systemd is opened at all.`,
		exits: []exitDoc{{"0", "every matched unit started, or nothing to start"}, {"1", "invalid or unsafe config, malformed input, or a unit not started (git prints the output; the push itself stands)"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("config", "", "global config `file`")
			fs.Bool("insecure-config", false, "accept config files writable by others (dangerous; also HOOKRUN_INSECURE_CONFIG=1)")
		},
		run: runPostReceive,
	}
}

// callTimeout bounds the dial and each stop of a replaced unit.
//
// Starts have no deadline of their own and the push none as a whole: a push
// matching 10,000 units takes a minute or more (the manager accepts some
// 150-175 starts a second when idle, far fewer while it also runs the units
// already started), and a shared 30 s deadline dropped most of them; under
// load one start call can wait over 30 s at a busy manager. Instead the
// starts stop only when the manager makes no progress at all for
// stallTimeout: no start call has answered in that time.
const (
	callTimeout  = 30 * time.Second
	stallTimeout = 2 * time.Minute
)

func runPostReceive(a *app, fs *pflag.FlagSet) error {
	if a.getenv("HOOKRUN_ACTIVE") == "1" {
		a.infof("push made by a hookrun job (HOOKRUN_ACTIVE=1): starting nothing, to avoid a loop")
		return nil
	}
	in, err := readHookInput(a, fs, "post-receive", "nothing was started", nil)
	if err != nil {
		a.pushStartedNothing(fs, in)
		return err
	}
	c, repoPath, ups := in.config, in.repoPath, in.updates
	if c.Global == nil && c.Repo == nil {
		return nil // hookrun installed, nothing configured yet
	}
	p, err := resolve.Resolve(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Updates: ups,
		Cert: pushCert(a.getenv, repoPath, c), Now: a.now(), Ancestry: gitx.Ancestry{GitDir: repoPath}, Changes: gitx.Changes{GitDir: repoPath},
		Peel: peeler(repoPath), UnitName: runner.UnitName,
	})
	if err != nil {
		return fmt.Errorf("%v; nothing was started", err)
	}
	if len(p.Units) == 0 {
		return nil
	}
	a.indexRepo(repoPath)
	// Units of this push that notify the same topic, when many, report
	// into one digest (before any starts: a quick unit may end at once).
	if _, err := digest.Assign(plan.StateDir(repoPath), p.Units, a.now()); err != nil {
		a.warnf("%v; those units notify one by one", err)
	}
	ctx := context.Background() // no deadline for the push: see callTimeout
	st := &starters{a: a, self: a.self}
	defer st.close()
	errs := startEverywhere(ctx, st, p.Units)
	a.remoteNotStarted(p.Units, errs)
	a.recordNotStarted(p.Units, errs)
	a.notifyNotStarted(p.Units, errs)
	return a.reportStarts(repoPath, p.Units, errs)
}

// summaryOver is the number of units above which the pusher sees a summary
// instead of one line per unit: `git push` prints every line.
const summaryOver = 20

// maxErrorLines is how many start errors a summary shows.
const maxErrorLines = 5

// reportStarts tells the pusher what started: one line per unit, or for a
// big push a summary by job with the first few errors; every unit, started
// or not, is in `hookrun status`.
func (a *app) reportStarts(repoPath string, units []*plan.Unit, errs []error) error {
	failed := 0
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
			a.infof("started %s: %s for %s%s; logs: %s", u.Name, u.Job, refList(u), where, logsCommand(u))
		}
		for _, e := range order {
			us := byErr[e]
			if len(us) == 1 {
				a.errorf("job %s (%s): not started: %s", us[0].Job, refList(us[0]), e)
				continue
			}
			var jobs, refs []string
			for _, u := range us {
				jobs = append(jobs, u.Job)
				refs = append(refs, refList(u))
			}
			a.errorf("jobs %s (%s): not started: %s", strings.Join(dedupe(jobs), ", "), strings.Join(dedupe(refs), ", "), e)
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
				a.errorf("job %s (%s): not started: %v", u.Job, refList(u), errs[i])
			}
		}
		if failed > shown {
			a.errorf("%d more units did not start; hookrun status lists each with its error", failed-shown)
		}
		var parts []string
		for _, j := range jobs {
			parts = append(parts, fmt.Sprintf("%s %d", j, started[j]))
		}
		a.infof("started %d of %d units (%s); see them with: hookrun status %s", len(units)-failed, len(units), strings.Join(parts, ", "), quoteArg(repoPath))
	}
	if failed > 0 {
		if failed == len(units) {
			a.hintf("none of the %d jobs started", failed)
		} else {
			a.hintf("%d of %d jobs did not start; the others run", failed, len(units))
		}
		return errReported
	}
	return nil
}

// recordNotStarted records the units that did not start in the history (so
// `hookrun status` lists them with their error) and in their push's digest,
// sending the digest when they complete it.
func (a *app) recordNotStarted(units []*plan.Unit, errs []error) {
	var recs []history.Record
	var repoPath string
	for i, u := range units {
		if errs[i] == nil || u.Host != nil { // remoteNotStarted records those
			continue
		}
		repoPath = u.RepoPath
		reason := "not started: " + errs[i].Error()
		due := u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, notify.Failure)
		r := history.Record{Unit: u.Name, Repo: u.Repo, Job: u.Job, Runner: u.Runner, Result: string(notify.Failure), Reason: reason, Start: u.Created}
		if len(u.Refs) > 0 {
			r.Ref, r.Short = u.Refs[0].Ref, u.Refs[0].Short()
		}
		if u.Notify.Digest != "" && due {
			r.Notify = history.NotifyPending
		}
		recs = append(recs, r)
		if u.Notify.Digest == "" {
			continue
		}
		e := digest.Entry{Unit: u.Name, Job: u.Job, Ref: r.Ref, Refs: len(u.Refs), Kind: string(notify.Failure), Reason: reason, Notify: due}
		entries, send, err := digest.Record(u.Notify.Digest, e)
		if err != nil {
			a.warnf("%v", err)
		} else if send {
			// Every started unit of the digest has ended already.
			defer a.sendDigest(u, entries)
		}
	}
	if len(recs) > 0 {
		if err := history.AppendAll(plan.HistoryPath(repoPath), recs); err != nil {
			a.warnf("cannot record the units that did not start: %v", err)
		}
	}
}

// startEverywhere starts the units that run here and, at the same time,
// those that run on other hosts, so a slow or unreachable host never delays
// a local job; each remote unit started there then gets its local watcher.
func startEverywhere(ctx context.Context, st *starters, units []*plan.Unit) []error {
	var local, away []int
	for i, u := range units {
		if u.Host != nil {
			away = append(away, i)
		} else {
			local = append(local, i)
		}
	}
	pick := func(idx []int) []*plan.Unit {
		out := make([]*plan.Unit, len(idx))
		for k, i := range idx {
			out[k] = units[i]
		}
		return out
	}
	errs := make([]error, len(units))
	remoteErrs := make(chan []error, 1)
	if len(away) > 0 {
		go func() { remoteErrs <- startRemote(ctx, pick(away)) }()
	}
	for k, err := range st.startAll(ctx, pick(local)) {
		errs[local[k]] = err
	}
	if len(away) == 0 {
		return errs
	}
	var watch []int
	for k, err := range <-remoteErrs {
		if errs[away[k]] = err; err == nil {
			watch = append(watch, away[k])
		}
	}
	for k, err := range st.startAll(ctx, pick(watch)) {
		if err != nil {
			errs[watch[k]] = fmt.Errorf("started on host %s, but its watcher here did not start: %w", units[watch[k]].Host.Name, err)
		}
	}
	return errs
}

func refList(u *plan.Unit) string {
	if len(u.Refs) == 1 {
		return u.Refs[0].Ref
	}
	return fmt.Sprintf("%d refs", len(u.Refs))
}

// starters holds one connection per manager, dialled only when a unit
// needs that manager.
type starters struct {
	a     *app
	self  string
	conns map[string]*managerConn // by manager
	exec  *runner.Exec
}

// managerConn is a connection to one manager, dialled in the background.
type managerConn struct {
	done   chan struct{} // closed when the dial has ended
	sd     *runner.Systemd
	err    error
	warned bool // the fallback to the exec runner was reported
	// cancel ends the connection's context: the connection lives as long
	// as it (godbus closes it then), so the dial's deadline cannot be on it.
	cancel context.CancelFunc
}

// connect starts dialling manager, unless that has started already.
func (s *starters) connect(ctx context.Context, manager string) *managerConn {
	if c, ok := s.conns[manager]; ok {
		return c
	}
	c := &managerConn{done: make(chan struct{})}
	if s.conns == nil {
		s.conns = map[string]*managerConn{}
	}
	s.conns[manager] = c
	var connCtx context.Context
	connCtx, c.cancel = context.WithCancel(ctx)
	go func() {
		defer close(c.done)
		dialTimer := time.AfterFunc(callTimeout, c.cancel)
		c.sd, c.err = runner.DialSystemd(connCtx, manager, s.a.getenv)
		if !dialTimer.Stop() && c.err == nil {
			// The deadline struck as the dial ended: the connection closes.
			c.sd.Close()
			c.sd, c.err = nil, fmt.Errorf("connecting to the systemd %s manager took more than %s", manager, callTimeout)
		}
		if c.sd != nil {
			c.sd.Self = s.self
		}
	}()
	return c
}

func (s *starters) close() {
	for _, c := range s.conns {
		<-c.done
		if c.sd != nil {
			c.sd.Close()
		}
		c.cancel()
	}
}

// starter is what starts u: its manager, waiting for the dial, or the exec
// runner when u asks for it, or for runner = "auto" when the manager is
// unreachable.
func (s *starters) starter(ctx context.Context, u *plan.Unit) (runner.Starter, string, error) {
	if u.Runner == "exec" {
		return s.execStarter(), "exec", nil
	}
	c := s.connect(ctx, u.Manager)
	<-c.done
	switch {
	case c.err == nil:
		return c.sd, "systemd", nil
	case u.Runner == "auto" && errors.Is(c.err, runner.ErrManagerUnreachable):
		if !c.warned {
			c.warned = true
			s.a.warnf("no systemd %s manager reachable (%v); running jobs as detached processes", u.Manager, c.err)
		}
		return s.execStarter(), "exec", nil
	}
	return nil, "", c.err
}

func (s *starters) execStarter() *runner.Exec {
	if s.exec == nil {
		s.exec = &runner.Exec{Self: s.self}
	}
	return s.exec
}

// maxInFlight bounds the start calls a hook has outstanding on its one
// connection: enough to keep the manager busy while the hook prepares the
// next units, few enough not to flood it.
const maxInFlight = 8

// startAll starts every unit and returns each one's error. The manager
// takes milliseconds to accept a connection, so the hook dials first and
// meanwhile numbers queued units, stops the units replaced, and saves
// every plan, in push order. The start calls then overlap on the shared
// connection.
func (s *starters) startAll(ctx context.Context, units []*plan.Unit) []error {
	for _, u := range units {
		if u.Runner != "exec" {
			s.connect(ctx, u.Manager)
		}
	}
	errs := make([]error, len(units))
	for i, u := range units {
		switch u.Concurrency {
		case "queue":
			var err error
			if u.Seq, err = queue.NextSeq(u.RepoPath); err != nil {
				errs[i] = fmt.Errorf("queueing: %v", err)
			}
		case "replace":
			s.replace(ctx, u)
		}
	}
	// Saved after every replacement: replace must not take a unit of this
	// push for an old one.
	for i, u := range units {
		if errs[i] == nil {
			errs[i] = savePlan(u)
		}
	}
	starters := make([]runner.Starter, len(units))
	for i, u := range units {
		if errs[i] != nil {
			continue
		}
		st, kind, err := s.starter(ctx, u)
		if err == nil && kind == "exec" && u.Runner != "exec" {
			u.Runner = "exec" // the plan tells status, notify and logs where it ran
			os.Remove(plan.PlanPath(u.RepoPath, u.Name))
			err = savePlan(u)
		}
		if err != nil {
			os.Remove(plan.PlanPath(u.RepoPath, u.Name))
			errs[i] = err
			continue
		}
		starters[i] = st
	}
	// The watchdog ends the starts when the manager answers none of them
	// for stallTimeout; every answer resets it.
	sctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	answered := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(stallTimeout)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-answered:
				t.Reset(stallTimeout)
			case <-t.C:
				stall(fmt.Errorf("the systemd manager answered no start for %s", stallTimeout))
				return
			}
		}
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInFlight)
	for i, u := range units {
		if starters[i] == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = start(sctx, starters[i], u)
			if errs[i] != nil && sctx.Err() != nil {
				errs[i] = fmt.Errorf("%w (%v)", errs[i], context.Cause(sctx))
			}
			select {
			case answered <- struct{}{}:
			default:
			}
		}()
	}
	wg.Wait()
	return errs
}

func savePlan(u *plan.Unit) error {
	if err := u.Save(plan.PlanPath(u.RepoPath, u.Name)); err != nil {
		return fmt.Errorf("saving its plan: %v", err)
	}
	return nil
}

// start starts u, whose plan is saved, picking a new name if the manager
// already has a unit of that name.
func start(ctx context.Context, st runner.Starter, u *plan.Unit) error {
	for attempt := 0; ; attempt++ {
		path := plan.PlanPath(u.RepoPath, u.Name)
		err := st.Start(ctx, u, path)
		if err == nil {
			return nil
		}
		os.Remove(path)
		if !errors.Is(err, runner.ErrUnitExists) || attempt == 3 {
			return err
		}
		renameUnit(u, runner.UnitName(u.Job, u.Repo, u.Created))
		if err := savePlan(u); err != nil {
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

// replace stops the units of u's job that are still running; each reports
// itself as cancelled (the marker tells its notify why it stopped).
func (s *starters) replace(ctx context.Context, u *plan.Unit) {
	for _, o := range queue.Running(u) {
		path := plan.PlanPath(o.RepoPath, o.Name)
		_ = os.WriteFile(path+".cancelled", nil, 0o600)
		var err error
		if o.Runner == "exec" {
			err = signalPID(path+".pid", syscall.SIGTERM)
		} else {
			var st runner.Starter
			if st, _, err = s.starter(ctx, o); err == nil {
				if sd, ok := st.(*runner.Systemd); ok {
					sctx, cancel := context.WithTimeout(ctx, callTimeout)
					err = sd.StopUnit(sctx, o.Name)
					cancel()
				}
			}
		}
		if err != nil {
			s.a.warnf("could not stop %s, which %s replaces: %v", o.Name, u.Name, err)
			continue
		}
		s.a.infof("stopped %s: replaced by this push", o.Name)
	}
}

func signalPID(pidFile string, sig syscall.Signal) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid file %s", pidFile)
	}
	return syscall.Kill(pid, sig)
}
