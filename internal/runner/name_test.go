package runner

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	when = time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)
	// validUnitName is what systemd accepts for a service name (no
	// template "@"), with hookrun's shape.
	validUnitName = regexp.MustCompile(`^git-[A-Za-z0-9:_.\-]+-[0-9]{8}-[0-9]{6}-[0-9a-f]{8}\.service$`)
)

func TestUnitName(t *testing.T) {
	long := strings.Repeat("j", 300)
	cases := []struct {
		job, repo, wantPrefix string
	}{
		{"site", "web", "git-site-web-20261122-101500-"},
		{"forward-build", "my.repo_2", "git-forward-build-my.repo_2-20261122-101500-"},
		{"", "", "git-_-_-20261122-101500-"},
		{"a b/c", "x;$(rm -rf)", "git-a_b_c-x___rm_-rf_-20261122-101500-"},
		{"café", "日本", "git-caf_-__-20261122-101500-"},
		{"bad\xff\xfe", "a@b\\c", "git-bad__-a_b_c-20261122-101500-"},
		{"deploy", long, "git-deploy-" + strings.Repeat("j", 255-38-len("deploy")) + "-20261122-101500-"},
		{long, "web", "git-" + strings.Repeat("j", 255-38-3) + "-web-20261122-101500-"},
		{long, long, "git-" + strings.Repeat("j", 108) + "-" + strings.Repeat("j", 109) + "-20261122-101500-"},
	}
	for _, tc := range cases {
		got := UnitName(tc.job, tc.repo, when)
		if !strings.HasPrefix(got, tc.wantPrefix) {
			t.Errorf("UnitName(%q, %q) = %q, want prefix %q", tc.job, tc.repo, got, tc.wantPrefix)
		}
		if len(got) > MaxUnitNameLen || !validUnitName.MatchString(got) {
			t.Errorf("UnitName(%q, %q) = %q (%d bytes): not a valid unit name", tc.job, tc.repo, got, len(got))
		}
	}
	if n := len(UnitName(long, long, when)); n != MaxUnitNameLen {
		t.Errorf("longest name is %d bytes, want exactly %d", n, MaxUnitNameLen)
	}
}

func TestUnitNameUniqueInOneSecond(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		n := UnitName("site", "web", when)
		if seen[n] {
			t.Fatalf("duplicate name %s after %d names", n, i)
		}
		seen[n] = true
	}
}

func TestUnitNameLocalTime(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	if got := UnitName("j", "r", when.In(loc)); !strings.Contains(got, "-20261122-121500-") {
		t.Errorf("UnitName in UTC+2 = %q: want the time in its own zone", got)
	}
}

func FuzzUnitName(f *testing.F) {
	f.Add("site", "web", int64(0))
	f.Fuzz(func(t *testing.T, job, repo string, sec int64) {
		now := time.Unix(sec%(1<<33), 0).UTC() // years 1970-2242: 4-digit years
		n := UnitName(job, repo, now)
		if len(n) > MaxUnitNameLen {
			t.Fatalf("UnitName(%q, %q) is %d bytes", job, repo, len(n))
		}
		if !validUnitName.MatchString(n) {
			t.Fatalf("UnitName(%q, %q) = %q: invalid", job, repo, n)
		}
		if !strings.Contains(n, now.Format("-20060102-150405-")) {
			t.Fatalf("UnitName(%q, %q) = %q: timestamp missing", job, repo, n)
		}
	})
}
