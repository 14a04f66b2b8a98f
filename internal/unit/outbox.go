package unit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Outbox is the repository's outbox ($GIT_DIR/hookrun/outbox): the
// notifications a push has to send, which it hands to a process of their
// own (notify.Spawn) instead of waiting on ntfy.
func Outbox(repoPath string) notify.Outbox {
	return notify.Outbox{Dir: layout.Outbox(repoPath)}
}

// Addressee says what a letter of a repository's outbox reports, so that
// what became of it is recorded where `hookrun status` shows it.
type Addressee struct {
	RepoPath string `json:"repo_path"`
	// Units whose outcome it reports (units that did not start).
	Units []string `json:"units,omitempty"`
	// Digest: the letter is their push's digest of this many units.
	Digest int `json:"digest,omitempty"`
	// A push that started nothing: its history record (no unit) is known
	// by its start and reason.
	PushStart  time.Time `json:"push_start,omitzero"`
	PushReason string    `json:"push_reason,omitempty"`
}

// Post puts l in the outbox of to's repository, to be reported against to.
func Post(l notify.Letter, to Addressee) (string, error) {
	return Outbox(to.RepoPath).Post(Address(l, to))
}

// Address is l to be reported against to (RecordLetter).
func Address(l notify.Letter, to Addressee) notify.Letter {
	l.Record, _ = json.Marshal(to) // plain strings and a time: cannot fail
	return l
}

// RecordLetter records d, what became of letter l (notify.Deliver), where
// its Addressee says: the history records and states of its units, or the
// record of its push.
func RecordLetter(l notify.Letter, d outcome.Delivery, now func() time.Time) error {
	var to Addressee
	if err := json.Unmarshal(l.Record, &to); err != nil || to.RepoPath == "" {
		return fmt.Errorf("notification to topic %s (%s): no record to report it in", l.Topic, l.Message.Title)
	}
	d.Digest = to.Digest
	var errs []string
	for _, name := range to.Units {
		if err := RecordDelivery(layout.Plan(to.RepoPath, name), d, now); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if to.PushReason != "" {
		if err := history.SetNotifyPush(layout.History(to.RepoPath), to.PushStart, to.PushReason, d); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cannot record the notification's delivery (%s): %s", d.Text(), strings.Join(errs, "; "))
	}
	return nil
}
