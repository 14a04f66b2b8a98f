package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

func TestWithLogTail(t *testing.T) {
	log := "one\ntwo <b>\nhookrun: error: exit status 3\nthree\nhookrun: site: delivered\n"
	tests := []struct {
		name, msg, log string
		n              int
		want           string
	}{
		{"the job's last lines, not hookrun's", "failed", log, 2, "failed\n\nlast 2 lines of output:\ntwo <b>\nthree"},
		{"fewer lines than asked", "failed", "only\n", 5, "failed\n\nlast 5 lines of output:\nonly"},
		{"no output", "failed", "", 3, "failed"},
		{"only hookrun's lines", "failed", "hookrun: x\n", 3, "failed"},
	}
	for _, tt := range tests {
		if got := withLogTail(tt.msg, tt.log, tt.n); got != tt.want {
			t.Errorf("%s: withLogTail = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Cut to ntfy's limit from the front of the tail, never past it.
	long := strings.Repeat("é", notify.MaxMessageBytes)
	got := withLogTail("failed", long+"\nend", 2)
	if len(got) > notify.MaxMessageBytes || !strings.HasSuffix(got, "é\nend") || !strings.HasPrefix(got, "failed\n\nlast 2 lines") {
		t.Errorf("long tail: %d bytes, ends %q", len(got), got[max(0, len(got)-10):])
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		o    notify.Outcome
		want outcome.Kind
	}{
		{notify.Outcome{Kind: outcome.Success}, outcome.Success},
		{notify.Outcome{Kind: outcome.Failure, Reason: "exit status 2"}, outcome.Failure},
		{notify.Outcome{Kind: outcome.Failure, Reason: unit.LostContactPrefix + "builder"}, outcome.Lost},
		{notify.Outcome{Kind: outcome.Failure, Reason: "not started on host b: refused"}, outcome.NotStarted},
		{notify.Outcome{Kind: outcome.Failure, Reason: "not started: the manager refused it"}, outcome.NotStarted},
		{notify.Outcome{Kind: outcome.Cancelled, Reason: "not started: x"}, outcome.Cancelled},
	}
	for _, tt := range tests {
		if got := kindOf(tt.o); got != tt.want {
			t.Errorf("kindOf(%+v) = %s, want %s", tt.o, got, tt.want)
		}
	}
}

// TestDeliverOutputs hands an ended unit's outcome to a site and to a
// webhook that cannot be reached, and reads back both deliveries, typed,
// in its history record; the webhook's failure is also in its log.
func TestDeliverOutputs(t *testing.T) {
	repo := t.TempDir()
	www := filepath.Join(t.TempDir(), "www")
	u := &plan.Unit{Name: "git-build-r-1.service", Repo: "r", RepoPath: repo, Job: "build", Created: time.Unix(1700000000, 0),
		Refs: []plan.Ref{{Ref: "refs/heads/main", Old: strings.Repeat("0", 40), New: strings.Repeat("a", 40)}},
		Outputs: &plan.Outputs{Site: &plan.Site{Dir: www, URL: "https://ci.example.com/h"},
			Webhooks:    []plan.Webhook{{URL: "http://127.0.0.1:1/hook"}},
			RetryBudget: time.Millisecond}}
	if err := history.Append(layout.History(repo), history.Record{Unit: u.Name, Repo: "r", Job: "build", Result: outcome.Success}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := &Reporter{Log: &log, Getenv: func(string) string { return "" }, Now: time.Now}
	r.deliverOutputs(&unit.Finished{Plan: u}, notify.Outcome{Kind: outcome.Success, Duration: time.Second}, "")()
	recs, err := history.Read(layout.History(repo))
	if err != nil || len(recs) != 1 {
		t.Fatalf("history: %v %+v", err, recs)
	}
	ds := recs[0].Deliveries()
	if len(ds) != 2 || ds[0] != (outcome.Delivery{Output: "site", State: outcome.Delivered}) ||
		ds[1].Output != "webhook http://127.0.0.1:1/hook" || ds[1].State != outcome.NotDelivered || !strings.Contains(ds[1].Error, "refused") {
		t.Errorf("deliveries %+v", ds)
	}
	if _, err := os.Stat(filepath.Join(www, "r", "runs", u.Name+".html")); err != nil {
		t.Errorf("no run page: %v", err)
	}
	lf, _ := os.ReadFile(layout.Log(repo, u.Name))
	if !strings.Contains(string(lf), "hookrun: error: webhook http://127.0.0.1:1/hook: not-delivered: ") {
		t.Errorf("unit log %q lacks the webhook's failure", lf)
	}
	if RunURL(u) != "https://ci.example.com/h/r/runs/"+u.Name+".html" {
		t.Errorf("RunURL = %q", RunURL(u))
	}

	// From a push's hook: the site only, the rest recorded as not sent.
	r.Hook = true
	r.deliverOutputs(&unit.Finished{Plan: u}, notify.Outcome{Kind: outcome.Failure, Reason: "not started: refused"}, "")()
	recs, _ = history.Read(layout.History(repo))
	ds = recs[0].Outputs
	if len(ds) != 2 || ds[1].State != outcome.NotDelivered || !strings.Contains(ds[1].Error, "a push makes no network calls") {
		t.Errorf("from a hook: %+v", ds)
	}
}
