package notify

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/outcome"
)

func TestBuildDigest(t *testing.T) {
	entries := func(job string, ok, failed int, failedRefs ...string) []DigestEntry {
		var es []DigestEntry
		for i := range ok {
			es = append(es, DigestEntry{Job: job, Ref: fmt.Sprintf("refs/heads/b%03d", i), Kind: outcome.Success})
		}
		for i := range failed {
			es = append(es, DigestEntry{Job: job, Ref: "refs/heads/" + failedRefs[i], Kind: outcome.Failure})
		}
		return es
	}
	tests := []struct {
		name      string
		entries   []DigestEntry
		title     string
		message   string
		priority  int
		lastTag   string
		wantBytes int // the message is at most this long
	}{
		{
			name:     "the issue's example",
			entries:  entries("site", 198, 2, "main", "dev"),
			title:    "❌ Git push to web: 2 of 200 jobs failed",
			message:  "site: 198 ✅, 2 ❌ — dev, main\ndetails: hookrun status /srv/git/web.git",
			priority: PriorityHigh, lastTag: "failure",
		},
		{
			name:     "all good, two jobs",
			entries:  append(entries("site", 100, 0), entries("build", 100, 0)...),
			title:    "✅ Git push to web: 200 jobs succeeded",
			message:  "site: 100 ✅\nbuild: 100 ✅\ndetails: hookrun status /srv/git/web.git",
			priority: PriorityDefault, lastTag: "success",
		},
		{
			name: "cancelled and tags",
			entries: []DigestEntry{
				{Job: "site", Ref: "refs/heads/main", Kind: outcome.Success},
				{Job: "site", Ref: "refs/tags/v1", Kind: outcome.Cancelled},
			},
			title:    "⏹ Git push to web: 1 of 2 jobs cancelled",
			message:  "site: 1 ✅, 1 ⏹ — tag v1\ndetails: hookrun status /srv/git/web.git",
			priority: PriorityDefault, lastTag: "cancelled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := BuildDigest(DigestDetails{Repo: "web", StatusHint: "hookrun status /srv/git/web.git", Topic: "t", Entries: tt.entries})
			if m.Title != tt.title || m.Message != tt.message || m.Priority != tt.priority || m.Topic != "t" {
				t.Errorf("got %q / %q / %d, want %q / %q / %d", m.Title, m.Message, m.Priority, tt.title, tt.message, tt.priority)
			}
			if got := m.Tags[len(m.Tags)-1]; got != tt.lastTag || m.Tags[1] != "digest" {
				t.Errorf("tags %q", m.Tags)
			}
		})
	}
}

// TestBuildDigestManyFailures: 10,000 failed refs with long names still
// make a message under ntfy's limit, every job's counts intact.
func TestBuildDigestManyFailures(t *testing.T) {
	var es []DigestEntry
	for i := range 10000 {
		job := []string{"site", "build"}[i%2]
		es = append(es, DigestEntry{Job: job, Ref: "refs/heads/feature/" + strings.Repeat("x", 40) + fmt.Sprint(i), Kind: outcome.Failure})
	}
	m := BuildDigest(DigestDetails{Repo: "web", StatusHint: "hookrun status /srv/git/web.git", Topic: "t", Entries: es})
	if len(m.Message) > MaxMessageBytes {
		t.Errorf("message is %d bytes, over %d", len(m.Message), MaxMessageBytes)
	}
	for _, want := range []string{"site: 5000 ❌ — feature/", "more\nbuild: 5000 ❌ — feature/", "\ndetails: hookrun status /srv/git/web.git"} {
		if !strings.Contains(m.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Message)
		}
	}
	if m.Title != "❌ Git push to web: 10000 of 10000 jobs failed" {
		t.Errorf("title %q", m.Title)
	}
}

func TestListRefs(t *testing.T) {
	refs := []string{"main", "dev", "feature/a"}
	for _, tt := range []struct {
		max  int
		want string
	}{
		{100, "main, dev, feature/a"},
		{20, "main, dev, feature/a"},
		{19, "main and 2 more"},
		{15, "main and 2 more"},
		{14, ""},
	} {
		if got := listRefs(refs, tt.max); got != tt.want || len(got) > tt.max {
			t.Errorf("listRefs(%d) = %q, want %q", tt.max, got, tt.want)
		}
	}
}

// A digest says who pushed, as a single unit's notification does; an
// unknown pusher is left out.
func TestBuildDigestPusher(t *testing.T) {
	es := []DigestEntry{{Job: "site", Ref: "refs/heads/main", Kind: outcome.Success}}
	for _, tc := range []struct{ pusher, want string }{
		{"ana", "site: 1 ✅\ndetails: hookrun status /r.git\npushed by ana"},
		{"(unknown)", "site: 1 ✅\ndetails: hookrun status /r.git"},
		{"", "site: 1 ✅\ndetails: hookrun status /r.git"},
	} {
		m := BuildDigest(DigestDetails{Repo: "r", StatusHint: "hookrun status /r.git", Pusher: tc.pusher, Entries: es})
		if m.Message != tc.want {
			t.Errorf("pusher %q: message %q, want %q", tc.pusher, m.Message, tc.want)
		}
	}
}
