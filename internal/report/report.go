// Package report owns a unit's end: it records the outcome once (through
// internal/unit), hands it to every configured output (each an
// outcome.Output: ntfy, on its own or in its push's digest; the status
// site; the forge; the webhooks), and records each delivery. The push-time
// failures (a push that started nothing, units that did not start) and
// reconciling (units nothing else will report, digests that can no longer
// complete, letters left in an outbox) end here too.
//
// It takes its dependencies explicitly (a log writer, getenv, a clock, the
// hookrun binary's path), never the CLI's state: cmd/hookrun keeps flags,
// output and exit codes.
package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/ntfy"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
)

// Reporter reports ended units. Its zero value is not usable: Log, Getenv
// and Now are required.
type Reporter struct {
	// Log takes the "hookrun: ..." lines: what was recorded and notified,
	// and what failed.
	Log    io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// Self is the hookrun binary, for the `hookrun deliver` processes
	// that send letters out of a push's path.
	Self string
	// InLog names the unit whose log file Log reaches already (exec and
	// notify inside a unit), so a failed delivery is not written there
	// twice.
	InLog string
	// InPush: the caller is a push (post-receive), which never waits on a
	// notification: letters are posted (PostLetter) instead of sent.
	InPush bool
	// Held, when set, keeps the letters PostLetter posts, for Flush to
	// hand to `hookrun deliver` processes in one go.
	Held *[]string
	// Hook: the caller is the push's hook, which makes no network call:
	// outputs other than the site are not sent from it.
	Hook bool
}

func (r *Reporter) errorf(format string, args ...any) {
	fmt.Fprintf(r.Log, "hookrun: error: "+format+"\n", args...)
}

func (r *Reporter) warnf(format string, args ...any) {
	fmt.Fprintf(r.Log, "hookrun: warning: "+format+"\n", args...)
}

func (r *Reporter) infof(format string, args ...any) {
	fmt.Fprintf(r.Log, "hookrun: "+format+"\n", args...)
}

// quiet is r writing to w instead (the letters it holds are r's).
func (r *Reporter) quiet(w io.Writer) *Reporter {
	q := *r
	q.Log = w
	return &q
}

// Finish records the outcome of the unit whose plan is at planPath (in its
// state and the history, through internal/unit) and, the first time only,
// reports it. svc is what systemd says of the unit's end (ExecStopPost);
// nil where there is none.
func (r *Reporter) Finish(planPath string, svc *unit.Service) {
	fin, err := unit.Finish(planPath, svc, r.Now)
	r.Finished(r.OrDamaged(planPath, svc, fin, err))
}

// FinishExited is Finish for the exec runner and a unit whose manager is
// gone: the outcome comes from what exec recorded alone.
func (r *Reporter) FinishExited(planPath string, e *unit.Exit) {
	fin, err := unit.FinishExited(planPath, e, r.Now)
	r.Finished(r.OrDamaged(planPath, nil, fin, err))
}

// OrDamaged is what unit.Finish returned, unless it failed because the
// unit's plan is damaged: then the outcome recorded from its state alone
// (unit.FinishDamaged), notified where the repository's config says now
// (the plan's settings are lost with it).
func (r *Reporter) OrDamaged(planPath string, svc *unit.Service, fin *unit.Finished, err error) (*unit.Finished, error) {
	if fin != nil || err == nil || errors.Is(err, os.ErrNotExist) {
		return fin, err
	}
	_, perr := plan.Load(planPath)
	if perr == nil || errors.Is(perr, os.ErrNotExist) {
		return fin, err
	}
	r.errorf("%v", err)
	return unit.FinishDamaged(planPath, perr, svc, r.repoNotify(planPath), r.Now)
}

// repoNotify is the [notify] of the repository whose plan is at planPath,
// from its config as it is now: for a unit whose plan cannot be read.
func (r *Reporter) repoNotify(planPath string) plan.Notify {
	s, _ := unit.StoreOf(planPath)
	c, _, err := config.Locate(config.Options{RepoPath: s.RepoPath, Getenv: r.Getenv}).Load()
	if err != nil || c == nil || c.Notify.Server == "" {
		return plan.Notify{}
	}
	return plan.Notify{Server: c.Notify.Server, Topic: c.Notify.Topic, TokenFile: c.Notify.TokenFile, On: config.Kinds(c.Notify.On), RetryBudget: time.Duration(c.Notify.RetryBudget)}
}

// Finished reports what unit.Finish returned.
func (r *Reporter) Finished(fin *unit.Finished, err error) {
	if err != nil {
		r.errorf("%v", err)
	}
	if fin != nil && fin.First {
		r.Report(fin)
	}
}

// Report publishes a recorded outcome, on its own or in its push's digest.
func (r *Reporter) Report(fin *unit.Finished) {
	u, o, due := fin.Plan, fin.Outcome, fin.Due
	if fin.Unrecorded != nil {
		// Recording never gates notifying: the notification says it.
		note := "hookrun could not record this outcome (hookrun status may not show it): " + fin.Unrecorded.Error()
		if o.Reason != "" {
			note = o.Reason + "; " + note
		}
		o.Reason = note
	}
	// The job's output as it ended, before this adds its own lines.
	var log string
	if u.Notify.LogLines > 0 || siteLogs(u) {
		log = logTail(u, maxSiteLog)
	}
	r.infof("%s", remote.OutcomeLine(u.Name, u.Job, o.Kind.String(), notify.FormatDuration(o.Duration), o.Reason))
	// Every outcome goes to the outputs, whatever ntfy's `on` says: the
	// site now, so that a notification's link finds the run's page, the
	// others while ntfy is sent.
	defer r.deliverOutputs(fin, o, log)()
	if u.Notify.Digest != "" {
		e := digest.Entry{Unit: u.Name, Job: u.Job, Kind: o.Kind, Reason: o.Reason, Notify: due, Refs: len(u.Refs)}
		if len(u.Refs) > 0 {
			e.Ref = u.Refs[0].Ref
		}
		entries, send, err := digest.Record(u.Notify.Digest, e)
		switch {
		case err == nil && !send:
			r.infof("outcome recorded in the push's digest, which the push's last unit to end sends")
			return
		case err == nil:
			r.SendDigest(u, entries)
			return
		}
		r.errorf("push digest: %v; notifying this unit on its own", err)
	}
	if !due {
		return
	}
	d := notify.Details{Job: u.Job, Repo: u.Repo, Signer: u.Signer, Pusher: u.Pusher, Unit: u.Name, LogsHint: unit.LogsCommand(u), Topic: u.Notify.Topic, Click: u.Notify.Click}
	if d.Click == "" {
		d.Click = RunURL(u) // with [site] url: the run's page
	}
	for _, ref := range u.Refs {
		d.Refs = append(d.Refs, ref.Ref)
		d.Shorts = append(d.Shorts, ref.TargetShort())
	}
	if len(u.Refs) > 0 {
		d.Short = u.Refs[0].TargetShort()
	}
	m := notify.Build(d, o)
	if u.Notify.Priority > 0 {
		m.Priority = u.Notify.Priority // the job's priority over the outcome's
	}
	if u.Notify.LogLines > 0 && o.Kind.Failing() {
		m.Message = withLogTail(m.Message, log, u.Notify.LogLines)
	}
	if r.InPush {
		r.PostLetter(u.Notify, m, unit.Addressee{RepoPath: u.RepoPath, Units: []string{u.Name}})
		return
	}
	r.recordDelivery(u.RepoPath, u.Name, r.publish(u, m))
}

// SendDigest sends the digest of u's push, whose entries are all in, and
// records its delivery for every unit in it that was due a notification.
func (r *Reporter) SendDigest(u *plan.Unit, entries []digest.Entry) {
	if r.InPush {
		m, due := r.digestMessage(u, entries)
		if len(due) > 0 {
			r.PostLetter(u.Notify, m, unit.Addressee{RepoPath: u.RepoPath, Units: due, Digest: len(entries)})
		}
		return
	}
	m, due := r.digestMessage(u, entries)
	if len(due) == 0 {
		return // the `on` filter lets none of these outcomes notify
	}
	d := r.publish(u, m)
	d.Digest = len(entries)
	if d.State == outcome.Delivered {
		r.infof("sent the digest of %d units", len(entries))
	}
	for _, name := range due {
		r.recordDelivery(u.RepoPath, name, d)
	}
}

// digestMessage claims the digest of u's push, whose entries are all in,
// and returns its message and the units in it due a notification.
func (r *Reporter) digestMessage(u *plan.Unit, entries []digest.Entry) (notify.Message, []string) {
	// Claimed and read: nothing else will use it.
	if err := digest.Remove(u.Notify.Digest); err != nil {
		r.warnf("%v", err)
	}
	d := notify.DigestDetails{Repo: u.Repo, StatusHint: "hookrun status " + job.Arg(u.RepoPath), Topic: u.Notify.Topic, Pusher: u.Pusher}
	var due []string
	for _, e := range entries {
		d.Entries = append(d.Entries, notify.DigestEntry{Job: e.Job, Ref: e.Ref, Kind: e.Kind})
		if e.Notify && e.Unit != "" { // "": a unit that never had a state
			due = append(due, e.Unit)
		}
	}
	return notify.BuildDigest(d), due
}

// publish sends m to u's ntfy (ntfy.Output, through outcome.DeliverAll
// as every output is) and returns what became of it, as the delivery of
// outcome.Ntfy.
func (r *Reporter) publish(u *plan.Unit, m notify.Message) outcome.Delivery {
	out := &ntfy.Output{Topic: u.Notify.Topic, Message: func(outcome.Record) notify.Message { return m }}
	token, err := ntfy.LoadToken(u.Notify.TokenFile, r.Getenv)
	if err != nil {
		return outcome.DeliveryOf(outcome.Ntfy, err)
	}
	out.Client = &ntfy.Client{Server: u.Notify.Server, Token: token, Log: r.Log, RetryBudget: u.Notify.RetryBudget}
	ctx, cancel := context.WithTimeout(context.Background(), notify.MaxRetryBudget+ntfy.DefaultAttemptTimeout)
	defer cancel()
	d := outcome.DeliverAll(ctx, []outcome.Output{out}, Record(u, notify.Outcome{}, u.Created))[0]
	d.Output = outcome.Ntfy // one notification a unit, whatever its topic
	if d.State == outcome.Delivered {
		r.infof("notified topic %s", u.Notify.Topic)
	}
	return d
}

// recordDelivery puts d, what became of unit's notification, in its state
// and history record; a failure also goes to the unit's log file, where
// `hookrun logs` shows it with or without a journal.
func (r *Reporter) recordDelivery(repoPath, name string, d outcome.Delivery) {
	if d.Failed() {
		r.errorf("notification %s", d.Text())
		if name == r.InLog {
			// already there, through Log
		} else if lf, err := AppendLog(repoPath, name); err == nil {
			fmt.Fprintf(lf, "hookrun: error: notification %s\n", d.Text())
			lf.Close()
		}
	}
	if err := unit.RecordDelivery(layout.Plan(repoPath, name), d, r.Now); err != nil {
		r.warnf("cannot record the notification's delivery: %v", err)
	}
}

// AppendLog opens the log file of the unit name of repoPath for appending,
// creating it and its directory.
func AppendLog(repoPath, name string) (*os.File, error) {
	p := layout.Log(repoPath, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// withLogTail is msg followed by the last n lines of the job's output
// (log), as much of their end as ntfy's message limit leaves room for.
func withLogTail(msg, log string, n int) string {
	// The job's lines, not hookrun's own ("hookrun: ..." in the log).
	var job []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "hookrun: ") {
			job = append(job, l)
		}
	}
	tail := outcome.Tail(strings.Join(job, "\n"), n)
	if tail == "" {
		return msg
	}
	head := fmt.Sprintf("%s\n\nlast %d lines of output:\n", msg, n)
	room := notify.MaxMessageBytes - len(head)
	if room <= 0 {
		return msg
	}
	if len(tail) > room {
		tail = strings.ToValidUTF8(tail[len(tail)-room:], "")
	}
	return head + tail
}
