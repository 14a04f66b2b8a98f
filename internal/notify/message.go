package notify

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hookrun/hookrun/internal/outcome"
)

// Priorities as ntfy numbers them (1 min ... 5 max). In JSON publishing the
// priority must be a number; ntfy answers 400 to "high".
const (
	PriorityDefault = 3
	PriorityHigh    = 4
)

// Size limits for a message. ntfy turns a message body over 4096 bytes into
// an attachment (or refuses it when attachments are off), so Build stays
// below that with some margin. Titles have no ntfy limit of their own, but
// the whole JSON request must stay under 8 KB.
const (
	MaxMessageBytes = 4000
	MaxTitleBytes   = 512
)

// Message is one ntfy notification.
type Message struct {
	Topic    string
	Title    string
	Message  string
	Priority int // 1-5; 0 leaves it to ntfy (default, 3)
	Tags     []string
	Click    string // URL opened when the notification is tapped; optional
}

// Details describe the job run a notification is about. Build uses only
// what is set.
type Details struct {
	Job  string
	Repo string
	// Refs are full refnames ("refs/heads/main", "refs/tags/v1.0"). A job
	// run once per push may list several.
	Refs  []string
	Short string // 7-character name of the pushed commit
	// Shorts, when set, name each ref's own commit (parallel to Refs): a job
	// run once per push for main and develop says "main at 1a2b3c4,
	// develop at 5d6e7f8", not one commit for both.
	Shorts []string
	// Signer is the verified push certificate's signer, if any.
	Signer string
	// Pusher is who pushed, as the server says; "" or "(unknown)" leaves
	// it out.
	Pusher string
	// Unit is the systemd unit that ran the job; LogsHint is the command
	// that shows its output and defaults to "hookrun logs <Unit>".
	Unit     string
	LogsHint string
	// Topic and Click are copied into the Message as they are: the caller
	// resolves the job's topic and expands the click template.
	Topic string
	Click string
}

// Build renders the notification for a finished job run (SPEC §6):
//
//	✅ Git site Success: myrepo     succeeded in 42s / main at 1a2b3c4
//	❌ Git site Failed: myrepo      failed after 1m 23s: exit status 7 / ... / logs: hookrun logs UNIT
//	⏹ Git site Cancelled: myrepo   cancelled after 5s: replaced by a newer push / ...
//
// Failures have high priority, everything else the default. The message
// stays under MaxMessageBytes: a long list of refs ends in "and N more refs".
// Control characters in the details are replaced by spaces.
func Build(d Details, o Outcome) Message {
	job, repo := oneLine(d.Job), oneLine(d.Repo)
	dur := FormatDuration(o.Duration)
	reason := oneLine(o.Reason)

	var title, head string
	prio := PriorityDefault
	switch o.Kind {
	case outcome.Success:
		title = fmt.Sprintf("✅ Git %s Success: %s", job, repo)
		head = "succeeded in " + dur
		if reason != "" { // rare: who recorded it, or that it could not be
			head += ": " + reason
		}
	case outcome.Cancelled:
		title = fmt.Sprintf("⏹ Git %s Cancelled: %s", job, repo)
		head = "cancelled after " + dur
		if reason != "" {
			head += ": " + reason
		}
	default: // Failure, and anything unknown: never report it as a success
		title = fmt.Sprintf("❌ Git %s Failed: %s", job, repo)
		head = "failed after " + dur
		if reason != "" {
			head += ": " + reason
		}
		prio = PriorityHigh
	}

	var tail []string
	if s := oneLine(d.Pusher); s != "" && s != "(unknown)" {
		tail = append(tail, "pushed by "+s)
	}
	if s := oneLine(d.Signer); s != "" {
		tail = append(tail, "signed by "+s)
	}
	if o.Kind != outcome.Success {
		hint := oneLine(d.LogsHint)
		if hint == "" && d.Unit != "" {
			hint = "hookrun logs " + oneLine(d.Unit)
		}
		if hint != "" {
			tail = append(tail, "logs: "+hint)
		}
	}

	// The refs line gets whatever room the other lines leave.
	fixed := len(head) + len(strings.Join(tail, "\n")) + 2*len("\n")
	lines := []string{head}
	refs, short := d.Refs, oneLine(d.Short)
	if len(d.Shorts) == len(d.Refs) && len(d.Refs) > 1 {
		refs, short = make([]string, len(d.Refs)), ""
		for i, r := range d.Refs {
			refs[i] = r + " at " + oneLine(d.Shorts[i])
		}
	}
	if where := refsLine(refs, short, MaxMessageBytes-fixed); where != "" {
		lines = append(lines, where)
	}
	lines = append(lines, tail...)

	kind := o.Kind
	if kind != outcome.Success && kind != outcome.Cancelled {
		kind = outcome.Failure
	}
	return Message{
		Topic:    d.Topic,
		Title:    truncate(title, MaxTitleBytes),
		Message:  truncate(strings.Join(lines, "\n"), MaxMessageBytes),
		Priority: prio,
		// Not emoji short codes such as "white_check_mark": ntfy's clients
		// would put that emoji in front of the title, which has one already.
		Tags:  []string{"hookrun", kind.String()},
		Click: d.Click,
	}
}

// refsLine renders "main, tag v1.0 at 1a2b3c4" in at most max bytes, ending
// the list with "and N more refs" when they do not all fit.
func refsLine(refs []string, short string, max int) string {
	at := ""
	if short != "" {
		at = " at " + short
		if len(refs) == 0 {
			at = "commit " + short
		}
	}
	budget := max - len(at)
	var b strings.Builder
	for i, r := range refs {
		name := DisplayRef(oneLine(r))
		sep := ""
		if i > 0 {
			sep = ", "
		}
		more := moreRefs(len(refs) - i - 1)
		// Add this ref if it fits along with the note about the rest.
		if b.Len()+len(sep)+len(name)+len(more) <= budget {
			b.WriteString(sep)
			b.WriteString(name)
			continue
		}
		left := len(refs) - i
		if i == 0 {
			// Not even the first fits: shorten it rather than show none.
			note := moreRefs(left - 1)
			b.WriteString(truncate(name, budget-len(note)))
			b.WriteString(note)
			break
		}
		b.WriteString(moreRefs(left))
		break
	}
	return b.String() + at
}

// moreRefs is the note for n refs left out of a list.
func moreRefs(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " and 1 more ref"
	}
	return fmt.Sprintf(" and %d more refs", n)
}

// DisplayRef shortens a refname for people: "refs/heads/main" is "main",
// "refs/tags/v1.0" is "tag v1.0"; other refs keep their full name.
func DisplayRef(ref string) string {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return "tag " + t
	}
	return ref
}

// ShouldNotify reports whether outcomes of kind k are to be sent, given the
// configuration's `on` list. An empty list sends every kind. ntfy's `on`
// names success, failure and cancelled: a lost or not-started unit counts
// as a failure.
func ShouldNotify(on []outcome.Kind, k outcome.Kind) bool {
	if k == outcome.Lost || k == outcome.NotStarted {
		k = outcome.Failure
	}
	return outcome.Wants(on, k)
}

// Excerpt is s cut to at most n bytes on one line, as a message shows a
// value it did not make (a server's error text, a URL).
func Excerpt(s string, n int) string { return oneLine(truncate(s, n)) }

// oneLine replaces control characters (newlines included) with spaces and
// trims the result, so a value from the environment cannot reshape a message.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// truncate cuts s to at most n bytes on a character boundary, ending it with
// "…" when anything was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	if n < len(ellipsis) {
		return ""
	}
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
