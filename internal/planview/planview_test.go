package planview

import (
	"bytes"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Minute, "30m"},
		{90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"},
		{25 * time.Hour, "1d1h"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestChangedLine(t *testing.T) {
	for _, tc := range []struct{ list, want string }{
		{"a.go\x00", "1 file: a.go"},
		{"a\x00b c\x00", `2 files: a "b c"`},
		{"1\x002\x003\x004\x005\x006\x007\x00", "7 files: 1 2 3 4 5 and 2 more"},
	} {
		if got := changedLine([]byte(tc.list)); got != tc.want {
			t.Errorf("changedLine(%q) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

func TestPrintNoUnits(t *testing.T) {
	var b bytes.Buffer
	Print(&b, &plan.Push{Matches: []plan.Match{{Ref: "refs/heads/main", Rule: "ci", Reason: "branch main is not in [release]"}}})
	want := "ref refs/heads/main\n  ci: no match: branch main is not in [release]\nno units would start\n"
	if b.String() != want {
		t.Errorf("Print:\n%s\nwant:\n%s", b.String(), want)
	}
}
