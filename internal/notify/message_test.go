package notify

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookrun/hookrun/internal/outcome"
)

func TestBuild(t *testing.T) {
	d := Details{
		Job:   "site",
		Repo:  "myrepo",
		Refs:  []string{"refs/heads/main"},
		Short: "1a2b3c4",
		Unit:  "git-site-myrepo-20250101-120000-ab12.service",
		Topic: "git-builds",
		Click: "https://git.example.com/myrepo/",
	}
	tests := []struct {
		name string
		d    Details
		o    Outcome
		want Message
	}{
		{
			name: "success",
			d:    d,
			o:    Outcome{Kind: outcome.Success, Duration: 42 * time.Second},
			want: Message{
				Topic:    "git-builds",
				Title:    "✅ Git site Success: myrepo",
				Message:  "succeeded in 42s\nmain at 1a2b3c4",
				Priority: 3,
				Tags:     []string{"hookrun", "success"},
				Click:    "https://git.example.com/myrepo/",
			},
		},
		{
			name: "failure",
			d:    d,
			o:    Outcome{Kind: outcome.Failure, Reason: "exit status 7", Duration: 83 * time.Second},
			want: Message{
				Topic: "git-builds",
				Title: "❌ Git site Failed: myrepo",
				Message: "failed after 1m 23s: exit status 7\nmain at 1a2b3c4\n" +
					"logs: hookrun logs git-site-myrepo-20250101-120000-ab12.service",
				Priority: 4,
				Tags:     []string{"hookrun", "failure"},
				Click:    "https://git.example.com/myrepo/",
			},
		},
		{
			name: "cancelled",
			d:    d,
			o:    CancelledOutcome(""),
			want: Message{
				Topic: "git-builds",
				Title: "⏹ Git site Cancelled: myrepo",
				Message: "cancelled after 0s: replaced by a newer push\nmain at 1a2b3c4\n" +
					"logs: hookrun logs git-site-myrepo-20250101-120000-ab12.service",
				Priority: 3,
				Tags:     []string{"hookrun", "cancelled"},
				Click:    "https://git.example.com/myrepo/",
			},
		},
		{
			name: "signed push, tag and branch, custom logs hint",
			d: Details{
				Job: "deploy-prod", Repo: "app",
				Refs:     []string{"refs/heads/main", "refs/tags/v1.0", "refs/notes/x"},
				Short:    "abcdef0",
				Signer:   "Alice <alice@example.com>",
				LogsHint: "journalctl --user -u x.service",
				Topic:    "deployments",
			},
			o: Outcome{Kind: outcome.Failure, Reason: "timed out after 30m 0s", Duration: 3723 * time.Second},
			want: Message{
				Topic: "deployments",
				Title: "❌ Git deploy-prod Failed: app",
				Message: "failed after 1h 2m 3s: timed out after 30m 0s\n" +
					"main, tag v1.0, refs/notes/x at abcdef0\n" +
					"signed by Alice <alice@example.com>\n" +
					"logs: journalctl --user -u x.service",
				Priority: 4,
				Tags:     []string{"hookrun", "failure"},
			},
		},
		{
			name: "signed success has no logs line",
			d:    Details{Job: "j", Repo: "r", Short: "1234567", Signer: "Bob", Unit: "u.service"},
			o:    Outcome{Kind: outcome.Success, Duration: time.Hour},
			want: Message{
				Title:    "✅ Git j Success: r",
				Message:  "succeeded in 1h 0m 0s\ncommit 1234567\nsigned by Bob",
				Priority: 3,
				Tags:     []string{"hookrun", "success"},
			},
		},
		{
			name: "control characters cannot add lines",
			d:    Details{Job: "j", Repo: "r\nx", Refs: []string{"refs/heads/a"}, Signer: "Eve\nlogs: rm -rf /"},
			o:    Outcome{Kind: outcome.Success},
			want: Message{
				Title:    "✅ Git j Success: r x",
				Message:  "succeeded in 0s\na\nsigned by Eve logs: rm -rf /",
				Priority: 3,
				Tags:     []string{"hookrun", "success"},
			},
		},
		{
			name: "unknown kind is reported as a failure",
			d:    Details{Job: "j", Repo: "r"},
			o:    Outcome{Kind: outcome.Kind(99), Reason: "?"},
			want: Message{
				Title:    "❌ Git j Failed: r",
				Message:  "failed after 0s: ?",
				Priority: 4,
				Tags:     []string{"hookrun", "failure"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(tt.d, tt.o)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Build() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestBuildManyRefs(t *testing.T) {
	var refs []string
	for i := range 5000 {
		refs = append(refs, fmt.Sprintf("refs/heads/feature/branch-number-%05d", i))
	}
	m := Build(Details{Job: "site", Repo: "r", Refs: refs, Short: "1a2b3c4", Unit: "u.service"},
		Outcome{Kind: outcome.Failure, Reason: "exit status 1", Duration: time.Second})
	if len(m.Message) > MaxMessageBytes {
		t.Fatalf("message is %d bytes, want at most %d", len(m.Message), MaxMessageBytes)
	}
	lines := strings.Split(m.Message, "\n")
	if len(lines) != 3 {
		t.Fatalf("message has %d lines, want 3:\n%s", len(lines), m.Message)
	}
	if lines[0] != "failed after 1s: exit status 1" || lines[2] != "logs: hookrun logs u.service" {
		t.Errorf("first or last line lost:\n%s", m.Message)
	}
	refLine := lines[1]
	if !strings.HasPrefix(refLine, "feature/branch-number-00000, feature/branch-number-00001, ") {
		t.Errorf("ref line does not start with the first refs: %.100q", refLine)
	}
	if !strings.HasSuffix(refLine, " more refs at 1a2b3c4") {
		t.Errorf("ref line does not end with the count of the rest: %q", refLine[len(refLine)-60:])
	}
	// The shown refs plus the counted rest are all the refs.
	var shown, more int
	head, _, _ := strings.Cut(refLine, " and ")
	shown = len(strings.Split(head, ", "))
	if _, err := fmt.Sscanf(refLine[len(head):], " and %d more refs", &more); err != nil {
		t.Fatalf("no count in %q: %v", refLine[len(head):], err)
	}
	if shown+more != len(refs) {
		t.Errorf("shown %d + more %d != %d refs", shown, more, len(refs))
	}
}

func TestBuildHugeRef(t *testing.T) {
	huge := "refs/heads/" + strings.Repeat("é", 3000) // 6000 bytes
	m := Build(Details{Job: "j", Repo: "r", Refs: []string{huge, "refs/heads/b"}, Short: "1234567"},
		Outcome{Kind: outcome.Success})
	if len(m.Message) > MaxMessageBytes || !utf8.ValidString(m.Message) {
		t.Fatalf("message is %d bytes (valid UTF-8: %v)", len(m.Message), utf8.ValidString(m.Message))
	}
	if !strings.HasSuffix(m.Message, "… and 1 more ref at 1234567") {
		t.Errorf("message ends %q", m.Message[len(m.Message)-40:])
	}

	long := strings.Repeat("x", 2000)
	m = Build(Details{Job: long, Repo: long}, Outcome{Kind: outcome.Success})
	if len(m.Title) > MaxTitleBytes || !strings.HasSuffix(m.Title, "…") {
		t.Errorf("title is %d bytes, want at most %d ending in …", len(m.Title), MaxTitleBytes)
	}
}

func TestShouldNotify(t *testing.T) {
	tests := []struct {
		on   []outcome.Kind
		k    outcome.Kind
		want bool
	}{
		{nil, outcome.Success, true},
		{nil, outcome.Failure, true},
		{nil, outcome.Cancelled, true},
		{[]outcome.Kind{}, outcome.Failure, true},
		{[]outcome.Kind{outcome.Success, outcome.Failure}, outcome.Success, true},
		{[]outcome.Kind{outcome.Success, outcome.Failure}, outcome.Failure, true},
		{[]outcome.Kind{outcome.Success, outcome.Failure}, outcome.Cancelled, false},
		{[]outcome.Kind{outcome.Failure}, outcome.Success, false},
		{[]outcome.Kind{outcome.Cancelled}, outcome.Cancelled, true},
		// ntfy's on names failure for every failing end
		{[]outcome.Kind{outcome.Failure}, outcome.Lost, true},
		{[]outcome.Kind{outcome.Failure}, outcome.NotStarted, true},
		{[]outcome.Kind{outcome.Success}, outcome.Lost, false},
	}
	for _, tt := range tests {
		if got := ShouldNotify(tt.on, tt.k); got != tt.want {
			t.Errorf("ShouldNotify(%v, %s) = %v, want %v", tt.on, tt.k, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello", 4, "h…"},
		{"héllo", 5, "h…"}, // never cut inside é
		{"hello", 2, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestBuildPerRefCommits: a per-push job's message gives every ref its own
// commit.
func TestBuildPerRefCommits(t *testing.T) {
	m := Build(Details{Job: "site", Repo: "r", Refs: []string{"refs/heads/main", "refs/heads/develop", "refs/tags/v1.0"},
		Shorts: []string{"b87ec85", "1234567", "89abcde"}, Short: "b87ec85"}, Outcome{Kind: outcome.Success, Duration: time.Second})
	if want := "succeeded in 1s\nmain at b87ec85, develop at 1234567, tag v1.0 at 89abcde"; m.Message != want {
		t.Errorf("message:\n%s\nwant:\n%s", m.Message, want)
	}
	one := Build(Details{Job: "site", Repo: "r", Refs: []string{"refs/heads/main"}, Shorts: []string{"b87ec85"}, Short: "b87ec85"}, Outcome{Kind: outcome.Success, Duration: time.Second})
	if want := "succeeded in 1s\nmain at b87ec85"; one.Message != want {
		t.Errorf("one ref:\n%s\nwant:\n%s", one.Message, want)
	}
}

func TestBuildPushedBy(t *testing.T) {
	d := Details{Job: "site", Repo: "r", Refs: []string{"refs/heads/main"}, Short: "1a2b3c4", Pusher: "alice", Signer: "Alice <a@x>"}
	m := Build(d, Outcome{Kind: outcome.Success})
	if !strings.Contains(m.Message, "\npushed by alice\nsigned by Alice <a@x>") {
		t.Errorf("body %q does not say who pushed", m.Message)
	}
	for _, p := range []string{"", "(unknown)"} {
		d.Pusher = p
		if m := Build(d, Outcome{Kind: outcome.Success}); strings.Contains(m.Message, "pushed by") {
			t.Errorf("pusher %q: body %q", p, m.Message)
		}
	}
}

// A success with a reason (its outcome could not be recorded, or was
// recorded by reconcile) says it, as every other outcome does.
func TestBuildSuccessReason(t *testing.T) {
	m := Build(Details{Job: "site", Repo: "web"}, Outcome{Kind: outcome.Success, Duration: time.Second, Reason: "hookrun could not record this outcome: no space left on device"})
	if want := "succeeded in 1s: hookrun could not record this outcome: no space left on device"; m.Message != want {
		t.Errorf("message %q, want %q", m.Message, want)
	}
}
