package outcome

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKindRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		got, err := Parse(k.String())
		if err != nil || got != k {
			t.Errorf("Parse(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var back Kind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("JSON %s -> %v, %v", b, back, err)
		}
	}
	if len(Kinds()) != len(kindNames)-1 {
		t.Errorf("Kinds() lists %d outcomes, kindNames %d (without unknown)", len(Kinds()), len(kindNames)-1)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
		err  string
	}{
		{"success", Success, ""},
		{" Failure ", Failure, ""},
		{"canceled", Cancelled, ""},
		{"not_started", NotStarted, ""},
		{"not started", NotStarted, ""},
		{"lost", Lost, ""},
		{"unknown", Unknown, `unknown outcome "unknown"`},
		{"", Unknown, `unknown outcome ""`},
		{"ok", Unknown, "want one of success, failure, cancelled, lost, not-started"},
	} {
		got, err := Parse(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	if _, err := json.Marshal(Kind(0)); err == nil {
		t.Error("Unknown encodes; want an error")
	}
	if s := Kind(99).String(); s != "kind(99)" {
		t.Errorf("Kind(99) = %q", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"success", "not-started", "Cancel", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			if k != Unknown {
				t.Fatalf("Parse(%q) = %v with an error", s, k)
			}
			return
		}
		if !k.Valid() {
			t.Fatalf("Parse(%q) = invalid %v", s, k)
		}
		if again, err := Parse(k.String()); err != nil || again != k {
			t.Fatalf("round trip of %v: %v, %v", k, again, err)
		}
	})
}

func TestRecordJSON(t *testing.T) {
	r := Record{Kind: Failure, Reason: "exit status 7", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 3 * time.Second,
		Repo: "site", Job: "build", Unit: "hookrun-site-build-1.service", Ref: "refs/heads/main", New: "abc", Log: "secret output"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret") {
		t.Errorf("the log reached the JSON form: %s", b)
	}
	for _, want := range []string{`"outcome":"failure"`, `"repository":"site"`, `"duration_ns":3000000000`, `"started":"2026-01-02T03:04:05Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r.Log = ""
	if back != r {
		t.Errorf("round trip: %+v, want %+v", back, r)
	}
	if r.Branch() != "main" || r.Sha() != "abc" {
		t.Errorf("Branch %q Sha %q", r.Branch(), r.Sha())
	}
	if got := r.Summary(); got != "failure after 3s: exit status 7" {
		t.Errorf("Summary = %q", got)
	}
	if err := (Record{}).Check(); err == nil || !strings.Contains(err.Error(), "lacks an outcome, a repository, a job, a unit") {
		t.Errorf("Check of an empty record: %v", err)
	}
}

type fakeOutput struct {
	name string
	err  error
	boom bool
}

func (f fakeOutput) Name() string { return f.name }
func (f fakeOutput) Deliver(context.Context, Record) error {
	if f.boom {
		panic("boom")
	}
	return f.err
}

func TestDeliverAll(t *testing.T) {
	outs := []Output{
		fakeOutput{name: "a"},
		fakeOutput{name: "b", boom: true},
		fakeOutput{name: "c", err: SentNoAnswer(errors.New("timeout"))},
		fakeOutput{name: "d", err: errors.New("refused")},
		fakeOutput{name: "e", err: ErrSkipped},
	}
	ds := DeliverAll(context.Background(), outs, Record{Kind: Success})
	want := []State{Delivered, NotDelivered, MaybeDelivered, NotDelivered, Skipped}
	for i, d := range ds {
		if d.State != want[i] || d.Output != outs[i].Name() {
			t.Errorf("delivery %d = %+v, want state %v", i, d, want[i])
		}
	}
	if !strings.Contains(ds[1].Error, "internal error: boom") {
		t.Errorf("panic recorded as %q", ds[1].Error)
	}
	b, _ := json.Marshal(ds[2])
	var back Delivery
	if err := json.Unmarshal(b, &back); err != nil || back != ds[2] {
		t.Errorf("Delivery JSON %s -> %+v, %v", b, back, err)
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"a\nb\nc", 0, ""},
		{"", 3, ""},
		{"\n\n", 1, ""},
		{"one", 1, "one"},
	} {
		if got := Tail(tc.in, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestDeliveryText: the text form of a delivery, as `hookrun status` and
// the logs show ntfy's (the history's "notify" strings before deliveries
// were typed).
func TestDeliveryText(t *testing.T) {
	tests := []struct {
		d             Delivery
		summary, text string
	}{
		{Delivery{State: Pending}, "pending", "pending"},
		{Delivery{State: Delivered}, "delivered", "delivered"},
		{Delivery{State: Delivered, Digest: 5}, "delivered in the push's digest", "delivered in the push's digest"},
		{Delivery{State: Skipped}, "skipped", "skipped"},
		{Delivery{State: NotDelivered, Error: "ntfy answered 403"}, "not delivered", "not delivered: ntfy answered 403"},
		{Delivery{State: MaybeDelivered, Error: "no answer"}, "maybe delivered", "maybe delivered: no answer"},
		{Delivery{State: NotDelivered, Digest: 3, Error: "ntfy answered 429"}, "not delivered", "not delivered: ntfy answered 429 (the push's digest of 3 units)"},
	}
	for _, tt := range tests {
		if got := tt.d.Summary(); got != tt.summary {
			t.Errorf("%+v: Summary %q, want %q", tt.d, got, tt.summary)
		}
		if got := tt.d.Text(); got != tt.text {
			t.Errorf("%+v: Text %q, want %q", tt.d, got, tt.text)
		}
		if got := tt.d.Failed(); got != (tt.d.State == NotDelivered || tt.d.State == MaybeDelivered) {
			t.Errorf("%+v: Failed %v", tt.d, got)
		}
	}
}
