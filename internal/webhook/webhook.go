// Package webhook posts each unit's outcome as signed JSON to a URL
// ([[webhook]] url, secret_file, on): GitHub's signature scheme, so an
// existing receiver verifies it unchanged. A Webhook is an outcome.Output.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hookrun/hookrun/internal/httppost"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Headers of every delivery.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body keyed with the secret (GitHub's X-Hub-Signature-256 scheme).
	SignatureHeader = "X-Hookrun-Signature-256"
	// EventHeader names the event: always "outcome" for now.
	EventHeader = "X-Hookrun-Event"
	// DeliveryHeader is the unit's name: unique per run, so a receiver
	// can drop a duplicate.
	DeliveryHeader = "X-Hookrun-Delivery"
)

// Payload is the JSON body: the outcome record's fields (see
// outcome.Record) plus the event name and the duration for people and in
// seconds.
type Payload struct {
	Event string `json:"event"` // "outcome"
	outcome.Record
	DurationSeconds float64 `json:"duration_seconds"`
	DurationText    string  `json:"duration_text"` // "1m 2s"
}

// Webhook is one [[webhook]].
type Webhook struct {
	URL    string
	Secret []byte         // HMAC key; empty: deliveries are unsigned
	On     []outcome.Kind // outcomes to post; empty: all
	Policy outcome.Policy
	HTTP   *http.Client // nil: a default client (redirects are never followed)
}

// Name is "webhook " and the URL without credentials, query or fragment.
func (w *Webhook) Name() string { return "webhook " + SafeURL(w.URL) }

// SafeURL is u without user info, query or fragment (where tokens hide),
// for messages.
func SafeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	p.User, p.RawQuery, p.Fragment, p.ForceQuery = nil, "", "", false
	return p.String()
}

// CheckURL returns what makes u unusable as a webhook URL, or nil.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("webhook url %q is not an http or https URL", SafeURL(u))
	}
	return nil
}

// Body returns the JSON body for r.
func Body(r outcome.Record) ([]byte, error) {
	p := Payload{Event: "outcome", Record: r, DurationSeconds: r.Duration.Seconds(), DurationText: outcome.FormatDuration(r.Duration)}
	p.Log = ""
	return json.Marshal(p)
}

// Sign returns the signature header's value for body: "sha256=" and the
// hex HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is Sign(secret, body), comparing in
// constant time: what a receiver does.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// Deliver posts r once (see outcome.Policy for when it is sent again). An
// outcome not in On is skipped (outcome.ErrSkipped).
func (w *Webhook) Deliver(ctx context.Context, r outcome.Record) error {
	if !outcome.Wants(w.On, r.Kind) {
		return outcome.ErrSkipped
	}
	if err := CheckURL(w.URL); err != nil {
		return err
	}
	body, err := Body(r)
	if err != nil {
		return fmt.Errorf("encode the webhook body of unit %s: %w", r.Unit, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(EventHeader, "outcome")
	h.Set(DeliveryHeader, r.Unit)
	if len(w.Secret) > 0 {
		h.Set(SignatureHeader, Sign(w.Secret, body))
	}
	client := httppost.Client(w.HTTP, w.Policy.AttemptTimeout)
	return w.Policy.Send(ctx, "webhook to "+SafeURL(w.URL), func(ctx context.Context) error {
		_, err := httppost.Post(ctx, client, w.URL, h, body, string(w.Secret))
		return err
	})
}

// LoadSecret reads the secret from path (surrounding white space
// trimmed). Errors name the file, never its content.
func LoadSecret(path string) ([]byte, error) {
	s, err := outcome.ReadSecret(path, "webhook secret")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("webhook secret file %s is empty: put the shared secret in it, or remove secret_file", path)
	}
	return []byte(s), nil
}

// ensure Webhook is an Output.
var _ outcome.Output = (*Webhook)(nil)
