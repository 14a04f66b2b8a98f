// Package forge posts each unit's state as a commit status on a Gitea or
// Forgejo forge (the same API): "pending" when the unit starts, its
// outcome when it ends, under the context "hookrun/JOB", so the forge
// shows it beside the pushed commit. A Client is an outcome.Starter.
package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/hookrun/hookrun/internal/httppost"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Environment variables Gitea's and Forgejo's own hooks set, which name
// the repository a push went to.
const (
	OwnerEnv = "GITEA_REPO_USER_NAME"
	NameEnv  = "GITEA_REPO_NAME"
)

// ContextPrefix starts every status's context: "hookrun/JOB".
const ContextPrefix = "hookrun/"

// maxDescription is GitHub's limit on a description, kept by many forge
// clients; Gitea accepts more, but the commit list shows one short line.
const maxDescription = 140

// Client posts commit statuses to one repository of a Gitea or Forgejo.
type Client struct {
	// URL is the forge's base URL, e.g. "https://git.example.com".
	URL string
	// Token is an access token with write access to the repository's
	// statuses (Gitea scope write:repository). It is sent as
	// "Authorization: token T" and nowhere else.
	Token string
	// Owner and Repo name the repository: from RepoFromEnv at push time,
	// or from the configuration's repo = "owner/name".
	Owner, Repo string
	// Policy is how a status is retried. Commit statuses are idempotent
	// (the forge shows the newest status per context), so Client sets
	// Policy.Idempotent itself.
	Policy outcome.Policy
	HTTP   *http.Client // nil: a default client (redirects are never followed)
}

// Name is "forge" and the forge's host.
func (c *Client) Name() string {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return "forge"
	}
	return "forge " + u.Host
}

// RepoFromEnv returns the owner and name of the repository from Gitea's
// hook environment (getenv nil: os.Getenv); ok is false outside Gitea.
func RepoFromEnv(getenv func(string) string) (owner, name string, ok bool) {
	if getenv == nil {
		getenv = os.Getenv
	}
	owner, name = getenv(OwnerEnv), getenv(NameEnv)
	return owner, name, owner != "" && name != ""
}

// ParseRepo splits "owner/name".
func ParseRepo(s string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.ContainsAny(owner, " ") {
		return "", "", fmt.Errorf("forge repo %q is not owner/name, e.g. \"ana/site\"", s)
	}
	return owner, name, nil
}

// CheckURL returns what makes u unusable as a forge base URL, or nil.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("forge url %q is not an http or https URL, e.g. https://git.example.com", u)
	}
	if p.User != nil || p.RawQuery != "" {
		return fmt.Errorf("forge url %q carries credentials or a query: put the token in token_file", p.Redacted())
	}
	return nil
}

// Status is the body of a commit status (Gitea's CreateStatusOption).
type Status struct {
	State       string `json:"state"` // pending, success, error, failure, warning
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description"`
	Context     string `json:"context"`
}

// State maps an outcome to a forge status state: success; failure for a
// job that failed; error for one that was lost or never started (hookrun,
// not the job, could not finish it); warning for a cancelled one.
func State(k outcome.Kind) string {
	switch k {
	case outcome.Success:
		return "success"
	case outcome.Failure:
		return "failure"
	case outcome.Cancelled:
		return "warning"
	case outcome.Lost, outcome.NotStarted:
		return "error"
	default:
		return "pending"
	}
}

// StatusOf returns the status for r: pending when r.Kind is Unknown (a
// unit that just started), else the outcome with its duration or reason.
func StatusOf(r outcome.Record) Status {
	s := Status{State: State(r.Kind), TargetURL: r.URL, Context: ContextPrefix + r.Job}
	if r.Kind == outcome.Unknown {
		s.Description = "running"
		if r.Host != "" {
			s.Description += " on " + r.Host
		}
	} else {
		s.Description = r.Summary()
	}
	if len(s.Description) > maxDescription {
		cut := maxDescription - 3
		for cut > 0 && s.Description[cut]&0xC0 == 0x80 {
			cut--
		}
		s.Description = s.Description[:cut] + "..."
	}
	return s
}

// Started posts "pending" for r's commit.
func (c *Client) Started(ctx context.Context, r outcome.Record) error {
	r.Kind = outcome.Unknown
	return c.post(ctx, r)
}

// Deliver posts r's outcome for r's commit.
func (c *Client) Deliver(ctx context.Context, r outcome.Record) error {
	if !r.Kind.Valid() {
		return fmt.Errorf("forge status of unit %s: no outcome", r.Unit)
	}
	return c.post(ctx, r)
}

func (c *Client) post(ctx context.Context, r outcome.Record) error {
	if err := CheckURL(c.URL); err != nil {
		return err
	}
	if c.Owner == "" || c.Repo == "" {
		return fmt.Errorf("forge status of unit %s: the repository on the forge is unknown: set repo = \"owner/name\" in [forge], or push through the forge (its hooks set %s and %s)", r.Unit, OwnerEnv, NameEnv)
	}
	sha := r.Sha()
	if strings.Trim(sha, "0") == "" {
		// A deleted ref: no commit to put a status on.
		return fmt.Errorf("forge status of unit %s: no commit to put it on (ref %s deleted): %w", r.Unit, r.Ref, outcome.ErrSkipped)
	}
	if !isHex(sha) {
		return fmt.Errorf("forge status of unit %s: %q is not a full commit id", r.Unit, sha)
	}
	body, err := json.Marshal(StatusOf(r))
	if err != nil {
		return err
	}
	endpoint := strings.TrimRight(c.URL, "/") + "/api/v1/repos/" + url.PathEscape(c.Owner) + "/" + url.PathEscape(c.Repo) + "/statuses/" + sha
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	if c.Token != "" {
		h.Set("Authorization", "token "+c.Token)
	}
	p := c.Policy
	p.Idempotent = true
	client := httppost.Client(c.HTTP, p.AttemptTimeout)
	what := fmt.Sprintf("forge status %s for %s/%s@%.12s", StatusOf(r).State, c.Owner, c.Repo, sha)
	return p.Send(ctx, what, func(ctx context.Context) error {
		_, err := httppost.Post(ctx, client, endpoint, h, body, c.Token)
		return hint(err)
	})
}

// hint adds what to do to the forge's refusals.
func hint(err error) error {
	he, ok := err.(*httppost.Error)
	if !ok {
		return err
	}
	switch he.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w; the token was refused: check token_file", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w; the token may not write this repository's statuses: give it the write:repository scope and access to the repository", err)
	case http.StatusNotFound:
		return fmt.Errorf("%w; no such repository or commit on the forge: check url and repo (owner/name)", err)
	}
	return err
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// LoadToken reads the access token from path (trimmed). Errors name the
// file, never its content.
func LoadToken(path string) (string, error) {
	tok, err := outcome.ReadSecret(path, "forge token")
	if err != nil {
		return "", err
	}
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("forge token file %s does not hold one token: put only the access token in it", path)
	}
	return tok, nil
}

var _ outcome.Starter = (*Client)(nil)
