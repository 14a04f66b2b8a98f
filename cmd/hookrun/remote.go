package main

// Jobs on other hosts (host = "NAME"): the post-receive side ships them and
// starts them on the host's user manager; the exec side is the local
// watcher unit that follows one of them and reports its outcome.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
)

// remoteStartTimeout bounds what one push spends on one host: preparing
// the mirror, pushing the refs, saving the plans and starting the units.
const remoteStartTimeout = 60 * time.Second

// hostOf is the remote.Host a unit names.
func hostOf(h *plan.Host) *remote.Host {
	return &remote.Host{Name: h.Name, SSH: h.SSH, SSHOptions: h.SSHOptions, RuntimeDir: h.RuntimeDir, Hookrun: h.Hookrun}
}

// hookrunOn is the hookrun binary the host's units run.
func hookrunOn(h *plan.Host) string {
	if h.Hookrun != "" {
		return h.Hookrun
	}
	return "hookrun"
}

// startRemote starts units (all naming hosts) on their hosts: per host, in
// one go, the mirror is prepared, exactly the units' refs are pushed to it,
// the plans are saved there and each unit is started on the host's user
// manager over one bridge connection. Each unit that started there comes
// back ready to be started locally as its watcher (u.Host.Mirror set, the
// watcher's own limits); errs[i] says why unit i did not start.
func startRemote(ctx context.Context, units []*plan.Unit) []error {
	errs := make([]error, len(units))
	byHost := map[string][]int{}
	var order []string
	for i, u := range units {
		if _, ok := byHost[u.Host.Name]; !ok {
			order = append(order, u.Host.Name)
		}
		byHost[u.Host.Name] = append(byHost[u.Host.Name], i)
	}
	done := make(chan struct{})
	for _, name := range order {
		idx := byHost[name]
		go func() {
			defer func() { done <- struct{}{} }()
			hctx, cancel := context.WithTimeout(ctx, remoteStartTimeout)
			defer cancel()
			group := make([]*plan.Unit, len(idx))
			for k, i := range idx {
				group[k] = units[i]
			}
			for k, err := range startOnHost(hctx, group) {
				errs[idx[k]] = err
			}
		}()
	}
	for range order {
		<-done
	}
	return errs
}

// startOnHost does startRemote's work for the units of one host.
func startOnHost(ctx context.Context, units []*plan.Unit) []error {
	errs := make([]error, len(units))
	all := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	u0 := units[0]
	h := hostOf(u0.Host)
	site, err := remote.Prepare(ctx, h, u0.Repo)
	if err != nil {
		return all(err)
	}
	for _, u := range units {
		if u.Concurrency.Waits() {
			// Numbered here, before the plans travel: the host's queue
			// (in the mirror) orders them, in push order.
			seq, err := unit.Open(u.RepoPath).NextSeq()
			if err != nil {
				return all(fmt.Errorf("queueing: %v", err))
			}
			u.Seq = seq
		}
	}
	var refs []plan.Ref
	for _, u := range units {
		refs = append(refs, u.Refs...)
	}
	// The refs, the plans and the bridge need only the mirror: all three
	// at once, each over its own ssh session (one TCP connection with a
	// ControlMaster).
	h.RuntimeDir = site.RuntimeDir // found by Prepare: no second id -u
	var (
		wg               sync.WaitGroup
		pushErr, saveErr error
		b                *remote.Bridge
		dialErr          error
	)
	wg.Add(3)
	go func() { defer wg.Done(); pushErr = site.PushRefs(ctx, u0.RepoPath, refs) }()
	go func() { defer wg.Done(); saveErr = site.SavePlans(ctx, units) }()
	go func() { defer wg.Done(); b, dialErr = remote.Dial(ctx, h) }()
	wg.Wait()
	if dialErr == nil {
		defer b.Close()
	}
	for _, err := range []error{pushErr, saveErr, dialErr} {
		if err != nil {
			return all(err)
		}
	}
	sd, err := b.Systemd(hookrunOn(u0.Host))
	if err != nil {
		return all(err)
	}
	defer sd.Close()
	// The start calls overlap on the one connection, as local starts do.
	sem := make(chan struct{}, unit.MaxInFlight)
	for i, u := range units {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := sd.Start(ctx, site.RemotePlan(u), site.PlanPath(u.Name)); err != nil {
				errs[i] = fmt.Errorf("host %s: %w", h.Name, err)
				return
			}
			u.Host.Mirror, u.Host.RuntimeDir = site.Mirror, site.RuntimeDir
			u.Limits = watcherLimits(u)
			u.Sandbox = plan.Sandbox{}
		}()
	}
	wg.Wait()
	return errs
}

// watcherLimits are the local watcher unit's: no resource limits (it only
// waits), and a timeout that outlasts the job's own and the lost-contact
// bound, so the watcher is bounded but never ends before it could learn
// the outcome.
func watcherLimits(u *plan.Unit) plan.Limits {
	if u.Limits.Timeout == 0 {
		return plan.Limits{}
	}
	return plan.Limits{Timeout: u.Limits.Timeout + lostContact(u.Host) + 2*time.Minute}
}

func lostContact(h *plan.Host) time.Duration {
	if h.LostContact > 0 {
		return h.LostContact
	}
	return remote.DefaultLostContact
}

// remoteNotStarted records and reports each unit that could not start on
// its host as its watcher would have: history, notification (or its place
// in the push's digest). A host being down is news the operator wants, and
// the pusher already has the one line saying so: what finish says goes to
// the unit's log only.
func (a *app) remoteNotStarted(units []*plan.Unit, errs []error) {
	for i, u := range units {
		if errs[i] == nil || u.Host == nil {
			continue
		}
		o := notify.Outcome{Kind: notify.Failure, Reason: "not started on host " + u.Host.Name + ": " + errs[i].Error()}
		quiet := *a
		quiet.stderr = io.Discard
		lf, err := openLog(u)
		if err == nil {
			quiet.stderr = lf
		}
		fin, err := unit.Unstarted(u, o, a.now())
		if err != nil {
			quiet.warnf("cannot record the outcome: %v", err)
		}
		quiet.report(fin)
		if lf != nil {
			lf.Close()
		}
	}
}

// watchRemote is `hookrun exec` for a unit that runs on a host: it follows
// the unit there to its end, copies the host's log of it into the local
// log, and returns the outcome there, which exec records for the watcher's
// ExecStopPost (`hookrun notify`) to notify from here. Stopped (replace,
// systemctl stop), it stops the unit on the host too and returns ctx's
// error.
func (a *app) watchRemote(ctx context.Context, u *plan.Unit, log io.Writer) (*unit.Outcome, error) {
	h := hostOf(u.Host)
	h.RuntimeDir = u.Host.RuntimeDir
	site := &remote.Site{Host: h, Mirror: u.Host.Mirror, RuntimeDir: u.Host.RuntimeDir}
	fmt.Fprintf(log, "hookrun: %s runs on host %s (%s); following it from here\n", u.Name, h.Name, h.SSH)
	w := &remote.Watcher{Site: site, Unit: u.Name, LostContact: u.Host.LostContact, Log: log}
	rec, err := w.Follow(ctx)
	if ctx.Err() != nil {
		// Stopped here: stop it there as well, within a bound.
		sctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
		defer cancel()
		if serr := remote.StopUnit(sctx, h, u.Name); serr != nil {
			fmt.Fprintf(log, "hookrun: could not stop %s on host %s: %v\n", u.Name, h.Name, serr)
		} else {
			fmt.Fprintf(log, "hookrun: stopped %s on host %s\n", u.Name, h.Name)
		}
		return nil, ctx.Err()
	}
	if err != nil {
		rec.Result, rec.Reason = string(notify.Failure), err.Error()
		if errors.Is(err, remote.ErrLostContact) {
			rec.Reason = "lost contact with " + h.Name
			fmt.Fprintf(log, "hookrun: %v\n", err)
		}
	} else if out, lerr := h.Output(ctx, "cat", "--", site.LogPath(u.Name)); lerr == nil {
		fmt.Fprintf(log, "hookrun: output on host %s:\n", h.Name)
		_, _ = log.Write(out)
	}
	o := &unit.Outcome{Kind: notify.Kind(rec.Result), Reason: rec.Reason, Duration: rec.Duration}
	if o.Kind == "" {
		o.Kind, o.Reason = notify.Failure, "the host reported no outcome"
	}
	return o, nil
}

// remoteLogSoFar prints, for a unit that is running on another host, the
// output it has written there so far, fetched over ssh. (Once the unit has
// ended its watcher has copied that output into the local log.) Failures
// are one line on stderr. It reports whether the unit runs on a host.
func (a *app) remoteLogSoFar(repo, unit string) bool {
	u, err := plan.Load(plan.PlanPath(repo, unit))
	if err != nil || u.Host == nil || u.Host.Mirror == "" {
		return false
	}
	h := hostOf(u.Host)
	site := &remote.Site{Host: h, Mirror: u.Host.Mirror}
	ctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
	defer cancel()
	out, err := h.Output(ctx, "cat", "--", site.LogPath(unit))
	if err != nil {
		a.warnf("cannot fetch the output so far from host %s: %v", h.Name, err)
		return true
	}
	fmt.Fprintf(a.stdout, "hookrun: output so far on host %s:\n", h.Name)
	_, _ = a.stdout.Write(out)
	return true
}
