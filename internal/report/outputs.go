package report

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hookrun/hookrun/internal/forge"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/site"
	"github.com/hookrun/hookrun/internal/unit"
	"github.com/hookrun/hookrun/internal/webhook"
)

// The outputs besides ntfy: [site], [forge], [[webhook]]. Every ended
// unit's outcome goes to each (whatever ntfy's `on` says), and what became
// of it is recorded in the unit's history record (Record.Outputs), where
// `hookrun status` shows it. A failing output never changes the job's
// result.

// maxSiteLog is how much of a unit's output a run page can show (the site
// cuts it further).
const maxSiteLog = 256 << 10

// outputs are u's outputs besides ntfy; an output that cannot even be set
// up (an unreadable token or secret) is a failed delivery in failed.
func outputs(u *plan.Unit) (outs []outcome.Output, failed []outcome.Delivery) {
	o := u.Outputs
	if o == nil {
		return nil, nil
	}
	policy := outcome.Policy{Budget: o.RetryBudget}
	if s := siteOf(u); s != nil {
		outs = append(outs, s)
	}
	if f := o.Forge; f != nil {
		c := &forge.Client{URL: f.URL, Owner: f.Owner, Repo: f.Repo, Policy: policy}
		var err error
		if f.TokenFile != "" {
			c.Token, err = forge.LoadToken(f.TokenFile)
		}
		if err != nil {
			failed = append(failed, outcome.DeliveryOf(c.Name(), err))
		} else {
			outs = append(outs, c)
		}
	}
	for _, w := range o.Webhooks {
		h := &webhook.Webhook{URL: w.URL, On: w.On, Policy: policy}
		var err error
		if w.SecretFile != "" {
			h.Secret, err = webhook.LoadSecret(w.SecretFile)
		}
		if err != nil {
			failed = append(failed, outcome.DeliveryOf(h.Name(), err))
		} else {
			outs = append(outs, h)
		}
	}
	return outs, failed
}

// siteOf is u's status site, or nil.
func siteOf(u *plan.Unit) *site.Site {
	if u.Outputs == nil || u.Outputs.Site == nil {
		return nil
	}
	s := u.Outputs.Site
	return &site.Site{Dir: s.Dir, URL: s.URL, Logs: s.Logs}
}

// siteLogs reports whether u's run page shows its output.
func siteLogs(u *plan.Unit) bool {
	return u.Outputs != nil && u.Outputs.Site != nil && u.Outputs.Site.Logs
}

// RunURL is the page of u's run on its status site: "" without [site] url.
func RunURL(u *plan.Unit) string {
	if s := siteOf(u); s != nil {
		return s.RunURL(u.Repo, u.Name)
	}
	return ""
}

// Record is u's run as every output sees it; o is its outcome (Unknown
// for a unit that starts), start when it started.
func Record(u *plan.Unit, o notify.Outcome, start time.Time) outcome.Record {
	r := outcome.Record{Kind: kindOf(o), Reason: o.Reason, Started: start, Duration: o.Duration,
		Repo: u.Repo, Job: u.Job, Unit: u.Name, Pusher: u.Pusher, URL: RunURL(u)}
	if r.Started.IsZero() {
		r.Started = u.Created
	}
	if len(u.Refs) > 0 {
		ref := u.Refs[0]
		r.Ref, r.Old, r.New, r.Commit = ref.Ref, ref.Old, ref.New, ref.Target()
	}
	if u.Host != nil {
		r.Host = u.Host.Name
	}
	return r
}

// deliverOutputs hands fin's outcome o to u's outputs besides ntfy: the
// site at once (local files; a notification's link points at its page),
// the others each in a goroutine of its own, so that they and ntfy, sent
// meanwhile, all fit in the 2 minutes systemd gives the unit's
// ExecStopPost (each returns within its budget + one attempt). The
// returned wait waits for them and records each delivery. In a hook
// (r.Hook) only the site is updated: no network call happens inside a
// push, and the others are recorded as not delivered, saying so.
func (r *Reporter) deliverOutputs(fin *unit.Finished, o notify.Outcome, log string) (wait func()) {
	u := fin.Plan
	outs, failed := outputs(u)
	if len(outs) == 0 && len(failed) == 0 {
		return func() {}
	}
	start := u.Created
	if fin.State != nil && !fin.State.JobStart.IsZero() {
		start = fin.State.JobStart
	}
	rec := Record(u, o, start)
	if siteLogs(u) {
		rec.Log = log
	}
	ds := make([]outcome.Delivery, len(outs))
	ctx, cancel := context.WithTimeout(context.Background(), outcome.MaxBudget+outcome.DefaultAttemptTimeout)
	var wg sync.WaitGroup
	for i, out := range outs {
		switch _, local := out.(*site.Site); {
		case local:
			ds[i] = outcome.DeliverAll(ctx, []outcome.Output{out}, rec)[0]
		case r.Hook:
			ds[i] = outcome.Delivery{Output: out.Name(), State: outcome.NotDelivered, Error: "not sent: the unit did not start, and a push makes no network calls"}
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ds[i] = outcome.DeliverAll(ctx, []outcome.Output{out}, rec)[0]
			}()
		}
	}
	return func() {
		wg.Wait()
		cancel()
		ds := append(failed, ds...)
		for _, d := range ds {
			switch d.State {
			case outcome.NotDelivered, outcome.MaybeDelivered:
				r.errorf("%s: %s: %s", d.Output, d.State, d.Error)
				if u.Name != r.InLog {
					if lf, err := AppendLog(u.RepoPath, u.Name); err == nil {
						fmt.Fprintf(lf, "hookrun: error: %s: %s: %s\n", d.Output, d.State, d.Error)
						lf.Close()
					}
				}
			case outcome.Delivered:
				r.infof("%s: delivered", d.Output)
			}
		}
		if err := history.SetOutputs(layout.History(u.RepoPath), u.Name, ds); err != nil {
			r.warnf("cannot record the outputs' deliveries: %v", err)
		}
	}
}

// Started tells u's outputs that want it (a forge's "pending" status)
// that u starts. It runs in the unit's own process (hookrun exec), never
// in the push; failures go to log and never stop the job.
func Started(u *plan.Unit, start time.Time, log io.Writer) {
	if u.Outputs == nil || u.Outputs.Forge == nil {
		return
	}
	outs, failed := outputs(u)
	ctx, cancel := context.WithTimeout(context.Background(), outcome.DefaultAttemptTimeout)
	defer cancel()
	// One attempt: the job waits for it.
	for _, d := range append(failed, outcome.StartAll(ctx, outs, Record(u, notify.Outcome{}, start))...) {
		if d.State != outcome.Delivered && d.State != outcome.Skipped {
			fmt.Fprintf(log, "hookrun: warning: %s: pending status %s: %s\n", d.Output, d.State, d.Error)
		}
	}
}

// logTail is the last limit bytes of u's log file, from a line's start.
func logTail(u *plan.Unit, limit int64) string {
	f, err := os.Open(layout.Log(u.RepoPath, u.Name))
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(0, st.Size()-limit)
	b := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(b, off)
	s := string(b[:n])
	if off > 0 {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// kindOf is o's kind for the outputs, which tell a lost or never started
// unit from a failed job (ntfy and the history say failure, with the
// reason).
func kindOf(o notify.Outcome) outcome.Kind {
	if o.Kind == outcome.Failure {
		switch {
		case strings.HasPrefix(o.Reason, unit.LostContactPrefix):
			return outcome.Lost
		case strings.HasPrefix(o.Reason, "not started"):
			return outcome.NotStarted
		}
	}
	return o.Kind
}
