package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/unit"
)

// fakeUnits are n units of job "site" on branches b0..b(n-1), saved a
// second apart, each ended with result and notified once.
func fakeUnits(n int, result outcome.Kind) ([]*stressUnit, []peertest.Message) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var us []*stressUnit
	var msgs []peertest.Message
	for i := 0; i < n; i++ {
		saved := t0.Add(time.Duration(i) * time.Second)
		u := &stressUnit{
			name: fmt.Sprintf("u%d", i), job: "site", branch: fmt.Sprintf("b%d", i), said: true,
			want:   &want{"success", "^$"},
			state:  &unit.State{Saved: saved, JobStart: saved.Add(100 * time.Millisecond), Exit: &unit.Exit{At: saved.Add(900 * time.Millisecond)}},
			record: &history.Record{Unit: fmt.Sprintf("u%d", i), Job: "site", Result: result, Ntfy: &outcome.Delivery{Output: "ntfy", State: outcome.Delivered}},
		}
		us = append(us, u)
		msgs = append(msgs, peertest.Message{Click: clickBase + u.key()})
	}
	return us, msgs
}

func TestTally(t *testing.T) {
	replace := outcomeScenario{check: checks(lastSucceeds, othersSucceedOrCancelled(`^replaced by a newer push$`))}
	queue := outcomeScenario{check: checks(checkEach, oneAtATime)}
	coalesce := outcomeScenario{check: checks(onePending)}
	for _, tc := range []struct {
		name   string
		sc     outcomeScenario
		change func(us []*stressUnit, msgs []peertest.Message) []peertest.Message
		// want: started ended notified lost duplicated wrong, and a note
		want string
		note string
	}{
		{"all well", queue, nil, "3 3 3 0 0 0", "outcomes: 3 success"},
		{"lost", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[1].record = nil
			return append(m[:1:1], m[2])
		}, "3 2 2 1 0 0", "u1 has no outcome"},
		{"duplicated", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			return append(m, m[2])
		}, "3 3 3 0 1 0", "u2 notified 2 times"},
		{"wrong outcome", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Result, us[0].record.Reason = outcome.Failure, "exit status 2"
			return m
		}, "3 3 3 0 0 1", `u0: failure "exit status 2", want success ^$`},
		{"delivered but nothing arrived", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			return m[1:]
		}, "3 3 2 0 0 1", "u0: recorded delivered, but nothing arrived"},
		{"not delivered but arrived", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Ntfy = &outcome.Delivery{Output: "ntfy", State: outcome.NotDelivered, Error: "429"}
			return m
		}, "3 3 3 0 0 1", "u0: recorded not delivered, but it arrived"},
		{"maybe delivered, nothing arrived", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Ntfy = &outcome.Delivery{Output: "ntfy", State: outcome.MaybeDelivered, Error: "timeout"}
			return m[1:]
		}, "3 3 2 0 0 0", "1 maybe delivered"},
		{"queue overlap", queue, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[2].state.JobStart = us[1].state.Exit.At.Add(-time.Millisecond)
			return m
		}, "3 3 3 0 0 1", "u2: its job began before u1's had ended"},
		{"replace: the last push cancelled", replace, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[2].record.Result, us[2].record.Reason = outcome.Cancelled, "replaced by a newer push"
			return m
		}, "3 3 3 0 0 1", "u2: the last push's unit: cancelled"},
		{"replace: others cancelled", replace, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Result, us[0].record.Reason = outcome.Cancelled, "replaced by a newer push"
			us[1].record.Result, us[1].record.Reason = outcome.Cancelled, "stopped by an operator"
			return m
		}, "3 3 3 0 0 1", "u1: cancelled \"stopped by an operator\", want success or cancelled"},
		{"unrecorded, and the message says so", outcomeScenario{check: saysUnrecorded}, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Ntfy = &outcome.Delivery{Output: "ntfy", State: outcome.MaybeDelivered, Error: "notified when its outcome could not be recorded; what became of it is not known"}
			m[0].Message = "failed after 1s: exit status 7; hookrun could not record this outcome (hookrun status may not show it): no space left on device"
			return m
		}, "3 3 3 0 0 0", "1 maybe delivered"},
		{"unrecorded, and the message does not say so", outcomeScenario{check: saysUnrecorded}, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[0].record.Ntfy = &outcome.Delivery{Output: "ntfy", State: outcome.MaybeDelivered, Error: "notified when its outcome could not be recorded; what became of it is not known"}
			m[0].Message = "succeeded in 1s"
			return m
		}, "3 3 3 0 0 1", "u0: notified when its outcome could not be recorded (success \"\"), but no message says so"},
		{"ended together", outcomeScenario{check: checkEach, together: true}, nil,
			"3 3 3 0 0 0", "the jobs ended within 2.00 s of each other (the shortest ran 0.8 s)"},
		{"coalesce: two pending at once", coalesce, func(us []*stressUnit, m []peertest.Message) []peertest.Message {
			us[2].state.Saved = us[1].state.Saved.Add(50 * time.Millisecond)
			return m
		}, "3 3 3 0 0 1", "u2: pending while u1 was pending too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			us, msgs := fakeUnits(3, outcome.Success)
			if tc.change != nil {
				msgs = tc.change(us, msgs)
			}
			r := tally(tc.sc, us, msgs)
			got := fmt.Sprintf("%d %d %d %d %d %d", r.started, r.ended, r.notified, r.lost, r.duplicated, r.wrong)
			notes := strings.Join(r.notes, "; ")
			if got != tc.want || !strings.Contains(notes, tc.note) {
				t.Errorf("got %s (%s), want %s with a note %q", got, notes, tc.want, tc.note)
			}
		})
	}
}

func TestStartedNames(t *testing.T) {
	out := "remote: hookrun: started git-site-r-20261201-100000-0123abcd.service: site for b1; logs: hookrun logs x\n" +
		"remote: hookrun: started 3 of 4 units (3 site); see them with: hookrun status r.git\n" +
		"To r.git\n"
	got := startedNames(out)
	if len(got) != 1 || got[0] != "git-site-r-20261201-100000-0123abcd.service" {
		t.Errorf("startedNames = %q", got)
	}
}
