package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// received records what Receive gives a Failures.
type received struct {
	repoPath string
	ups      []match.RefUpdate
	src      config.Source
	units    []*plan.Unit
	errs     []error
}

func (r *received) StartedNothing(repoPath string, ups []match.RefUpdate, src config.Source) {
	r.repoPath, r.ups, r.src = repoPath, ups, src
}

func (r *received) NotStarted(units []*plan.Unit, errs []error) { r.units, r.errs = units, errs }

func roundTrip(t *testing.T, d Handed) *received {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got received
	if err := Receive(bytes.NewReader(b), &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

// What hookrun-hook hands over arrives whole, refnames that are not UTF-8
// included.
func TestHandOffRoundTrip(t *testing.T) {
	repo := "/srv/git/r\xff.git"
	ups := []match.RefUpdate{{Old: "0000000000000000000000000000000000000000", New: "1111111111111111111111111111111111111111", Name: "refs/heads/b\xfe"}}
	src := config.Source{Global: "/etc/hookrun/h\xfd.toml", GlobalExplicit: true, Repo: repo + "/hooks.toml", Insecure: true}
	got := roundTrip(t, startedNothing(repo, ups, src))
	if got.repoPath != repo || !reflect.DeepEqual(got.ups, ups) || got.src != src {
		t.Errorf("StartedNothing(%q, %q, %+v), want (%q, %q, %+v)", got.repoPath, got.ups, got.src, repo, ups, src)
	}

	units := []*plan.Unit{
		{Version: plan.Version, Name: "git-a-r-1", Job: "a", RepoPath: repo, Created: time.Unix(1, 0).UTC(), Refs: []plan.Ref{{Ref: "refs/heads/b\xfe", New: ups[0].New}}},
		{Version: plan.Version, Name: "git-b-r-1", Job: "b", RepoPath: repo, Created: time.Unix(1, 0).UTC()},
	}
	errs := []error{nil, errors.New("cannot reach the systemd user manager")}
	got = roundTrip(t, notStarted(units, errs, io.Discard))
	if !reflect.DeepEqual(got.units, units) {
		t.Errorf("units:\n%+v\nwant\n%+v", got.units, units)
	}
	if got.errs[0] != nil || got.errs[1] == nil || got.errs[1].Error() != errs[1].Error() {
		t.Errorf("errs = %v, want %v", got.errs, errs)
	}
}

// A document that does not parse is an error, never a half-reported push.
func TestReceiveRefusesGarbage(t *testing.T) {
	for _, doc := range []string{"", "{", `{"repo":"/r","units":[{}],"errors":[]}`, `{"repo":"/r","surprise":1}`, `{"repo":"/r","started_nothing":true}`} {
		var got received
		if err := Receive(bytes.NewReader([]byte(doc)), &got); err == nil {
			t.Errorf("Receive(%q) = nil, want an error", doc)
		}
		if got.units != nil || got.repoPath != "" {
			t.Errorf("Receive(%q) reported %+v", doc, got)
		}
	}
}
