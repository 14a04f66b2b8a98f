package remote

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

// StartTimeout bounds what one push spends on one host: preparing the
// mirror, pushing the refs, saving the plans and starting the units.
const StartTimeout = 60 * time.Second

// startsInFlight bounds the start calls outstanding on one bridge, as
// unit.MaxInFlight does on a local connection. It stays at 8, where the
// local bound went to 64: deeper pipelining was measured on a local
// manager only, not over ssh.
const startsInFlight = 8

// HostOf is the Host a unit's [hosts.NAME] entry names.
func HostOf(h *plan.Host) *Host {
	return &Host{Name: h.Name, SSH: h.SSH, SSHOptions: h.SSHOptions, RuntimeDir: h.RuntimeDir, Hookrun: h.Hookrun}
}

// hookrunOn is the hookrun binary the host's units run.
func hookrunOn(h *plan.Host) string {
	if h.Hookrun != "" {
		return h.Hookrun
	}
	return "hookrun"
}

// LostContact is how long a unit's watcher keeps trying a host it lost.
func LostContact(h *plan.Host) time.Duration {
	if h.LostContact > 0 {
		return h.LostContact
	}
	return DefaultLostContact
}

// Start starts units (all naming hosts, numbered already when they wait
// in a queue) on their hosts, each host at the same time: per host the
// mirror is prepared, exactly the units' refs are pushed to it (and the
// refs the repository no longer has are deleted there), the plans and
// their first states are saved there and each unit is started on the
// host's user manager, over one bridge connection. now stamps the states.
//
// A unit that started there comes back ready to be started here as its
// watcher: u.Host.Mirror and RuntimeDir set, the watcher's own limits (the
// job's kept in u.Host.Limits and Sandbox, which a rerun ships again).
// errs[i] says why unit i did not start.
func Start(ctx context.Context, units []*plan.Unit, now time.Time) []error {
	errs := make([]error, len(units))
	byHost := map[string][]int{}
	var order []string
	for i, u := range units {
		if _, ok := byHost[u.Host.Name]; !ok {
			order = append(order, u.Host.Name)
		}
		byHost[u.Host.Name] = append(byHost[u.Host.Name], i)
	}
	var wg sync.WaitGroup
	for _, name := range order {
		idx := byHost[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, StartTimeout)
			defer cancel()
			group := make([]*plan.Unit, len(idx))
			for k, i := range idx {
				group[k] = units[i]
			}
			for k, err := range startOnHost(hctx, group, now) {
				errs[idx[k]] = err
			}
		}()
	}
	wg.Wait()
	return errs
}

// startOnHost does Start's work for the units of one host.
func startOnHost(ctx context.Context, units []*plan.Unit, now time.Time) []error {
	errs := make([]error, len(units))
	all := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	for _, u := range units {
		if u.Host.Limits != nil { // a rerun of a watcher's plan: the job's own again
			u.Limits = *u.Host.Limits
		}
		if u.Host.Sandbox != nil {
			u.Sandbox = *u.Host.Sandbox
		}
	}
	u0 := units[0]
	h := HostOf(u0.Host)
	configured := h.RuntimeDir
	var refs []plan.Ref
	for _, u := range units {
		refs = append(refs, u.Refs...)
	}
	// The mirror is prepared (made if missing, its refs listed) in its own
	// ssh session. A push that knows the host's site from an earlier one
	// ships at once, while that runs; the first push to a host waits for it.
	type prepared struct {
		site *Site
		err  error
	}
	prep := make(chan prepared, 1)
	go func() {
		s, err := Prepare(ctx, h, u0.Repo)
		prep <- prepared{s, err}
	}()
	var tidy sync.WaitGroup
	defer tidy.Wait()
	deleteGone := func(s *Site) {
		tidy.Add(1)
		go func() { defer tidy.Done(); _ = s.DeleteGone(ctx, u0.RepoPath) }()
	}
	site := loadSite(u0.RepoPath, h)
	fresh := site == nil
	if fresh {
		p := <-prep
		if p.err != nil {
			return all(p.err)
		}
		site = p.site
		storeSite(u0.RepoPath, site, configured)
		deleteGone(site)
	}
	// The refs, the plans and the bridge need only the mirror: all three
	// at once, each over its own ssh session (one TCP connection with a
	// ControlMaster).
	var (
		b                *Bridge
		pushErr, saveErr error
		dialErr          error
	)
	ship := func(s *Site, dial bool) {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); pushErr = s.PushRefs(ctx, u0.RepoPath, refs) }()
		go func() { defer wg.Done(); saveErr = s.SavePlans(ctx, units, now) }()
		if dial {
			if b != nil {
				b.Close()
			}
			wg.Add(1)
			dh := *h
			dh.RuntimeDir = s.RuntimeDir // known: no second id -u
			go func() { defer wg.Done(); b, dialErr = Dial(ctx, &dh) }()
		}
		wg.Wait()
	}
	ship(site, true)
	if !fresh {
		p := <-prep
		switch {
		case p.err != nil && pushErr == nil && saveErr == nil && dialErr == nil:
			p.site = site // shipped all the same; only the tidying waits for the next push
		case p.err != nil:
			if b != nil {
				b.Close()
			}
			return all(p.err) // what reaching the host said, not what it made fail
		}
		if changed := !sameSite(p.site, site); changed || pushErr != nil || saveErr != nil {
			// The host changed (or the mirror was gone, and is made
			// now): ship again to what the host says.
			redial := p.site.RuntimeDir != site.RuntimeDir || dialErr != nil
			site = p.site
			ship(site, redial)
			if changed {
				storeSite(u0.RepoPath, site, configured)
			}
		}
		if p.err == nil {
			deleteGone(p.site)
		}
	}
	if b != nil {
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
	started := func(u *plan.Unit) {
		limits, sandbox := u.Limits, u.Sandbox
		u.Host.Mirror, u.Host.RuntimeDir = site.Mirror, site.RuntimeDir
		u.Host.Limits, u.Host.Sandbox = &limits, &sandbox
		u.Limits = watcherLimits(u)
		u.Sandbox = plan.Sandbox{}
	}
	alone := func(i int) {
		u := units[i]
		if err := sd.Start(ctx, site.RemotePlan(u), site.PlanPath(u.Name)); err != nil {
			errs[i] = fmt.Errorf("host %s: %w", h.Name, err)
			return
		}
		started(u)
	}
	// As local starts: up to unit.BatchSize units a call, the calls
	// overlapping on the one connection; a call the manager refuses started
	// nothing, and its units are started one by one, so each error names
	// its unit.
	var wg sync.WaitGroup
	sem := make(chan struct{}, startsInFlight)
	for lo := 0; lo < len(units); lo += unit.BatchSize {
		b := units[lo:min(lo+unit.BatchSize, len(units))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if len(b) == 1 {
				alone(lo)
				return
			}
			remote := make([]*plan.Unit, len(b))
			paths := make([]string, len(b))
			for k, u := range b {
				remote[k], paths[k] = site.RemotePlan(u), site.PlanPath(u.Name)
			}
			err := sd.StartAll(ctx, remote, paths)
			for k, u := range b {
				switch {
				case err == nil:
					started(u)
				case runner.Answered(err):
					alone(lo + k)
				default:
					errs[lo+k] = fmt.Errorf("host %s: %w", h.Name, err)
				}
			}
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
	return plan.Limits{Timeout: u.Limits.Timeout + LostContact(u.Host) + 2*time.Minute}
}
