package match

import "slices"

// PushCert is what git-receive-pack(1) tells a hook about a signed push.
// The variables alone prove nothing: git sets them only when a certificate
// was sent and leaves them as they were otherwise, so a pusher who controls
// receive-pack's environment could set them for an unsigned push. A rule
// that needs a signed push therefore also requires Cert, the certificate
// blob GIT_PUSH_CERT names, parsed, to carry git's nonce and to list the
// update (see Selector.Decide).
type PushCert struct {
	Status string // GIT_PUSH_CERT_STATUS: "G" is a good, verified signature
	Signer string // GIT_PUSH_CERT_SIGNER
	Key    string // GIT_PUSH_CERT_KEY
	Nonce  string // GIT_PUSH_CERT_NONCE_STATUS: "OK" (or "SLOP") means not a replay

	Blob       string       // GIT_PUSH_CERT: the certificate's blob in the repository
	NonceValue string       // GIT_PUSH_CERT_NONCE: the nonce git asked for
	Cert       *Certificate // the blob, parsed; nil when there is none
	CertErr    error        // why Blob could not be read or parsed
}

// Verified reports whether git verified the push certificate.
func (c PushCert) Verified() bool { return c.Status == "G" }

// Fresh reports whether the certificate carries the nonce git asked for, so
// it is not a replay of an older push.
func (c PushCert) Fresh() bool { return c.Nonce == "OK" || c.Nonce == "SLOP" }

// Bound reports why the certificate does not vouch for u, or "" when it
// does: the blob was read and parsed, its nonce is the one git asked for,
// and it lists u's exact "old new ref" line.
func (c PushCert) Bound(u RefUpdate) string {
	switch {
	case c.Blob == "":
		return "GIT_PUSH_CERT names no certificate (the GIT_PUSH_CERT_* variables alone are not trusted)"
	case c.Cert == nil && c.CertErr != nil:
		return "push certificate " + c.Blob + " cannot be used: " + c.CertErr.Error()
	case c.Cert == nil:
		return "push certificate " + c.Blob + " was not read"
	case c.NonceValue == "" || c.Cert.Nonce != c.NonceValue:
		return "push certificate nonce is not the one git asked for (GIT_PUSH_CERT_NONCE)"
	case !c.Cert.Lists(u):
		return "push certificate does not list this update (" + u.Old + " " + u.New + " " + clip(u.Name) + ")"
	}
	return ""
}

// Selector is the matching part of a rule, compiled.
type Selector struct {
	Branches *Patterns
	Tags     *Patterns
	// Paths, when not nil, also requires that the push changed a file in
	// the ref that these globs select (see MatchFiles).
	Paths   *Patterns
	Events  []Event // empty means create, update, force
	Signed  bool
	Signers []string // with Signed: GIT_PUSH_CERT_SIGNER or GIT_PUSH_CERT_KEY must be one of these
}

// DefaultEvents are the events a rule reacts to when it names none.
var DefaultEvents = []Event{Create, Update, Force}

func (s *Selector) events() []Event {
	if len(s.Events) == 0 {
		return DefaultEvents
	}
	return s.Events
}

// NeedsAncestry reports whether the selector tells update from force, the
// only case in which git must be asked about ancestry.
func (s *Selector) NeedsAncestry() bool {
	ev := s.events()
	return slices.Contains(ev, Update) != slices.Contains(ev, Force)
}

// Verdict explains a match decision, for `hookrun plan`.
type Verdict struct {
	Match  bool
	Reason string
}

// MatchName decides on the ref alone (namespace and globs), before events.
// It takes the ref already split by RefUpdate.Short, so a caller testing one
// ref against many rules splits it once.
func (s *Selector) MatchName(kind Kind, short string) bool {
	switch kind {
	case Branch:
		return s.Branches.Match(short)
	case Tag:
		return s.Tags.Match(short)
	}
	return false
}

// Decide finishes a decision for a ref update u that MatchName selected:
// the event and, for signed rules, the push certificate, which must be
// verified by git, fresh, and bound to u (PushCert.Bound).
func (s *Selector) Decide(u RefUpdate, ev Event, cert PushCert) Verdict {
	if !slices.Contains(s.events(), ev) {
		return Verdict{false, "event " + string(ev) + " not in events"}
	}
	if !s.Signed {
		return Verdict{true, "ref and event match"}
	}
	if !cert.Verified() {
		st := cert.Status
		if st == "" {
			st = "none"
		}
		return Verdict{false, "rule needs a signed push; push certificate status is " + st + ", want G"}
	}
	if !cert.Fresh() {
		st := cert.Nonce
		if st == "" {
			st = "none"
		}
		// Without a nonce git asked for, an old signed push could be replayed.
		return Verdict{false, "push certificate nonce status is " + st + ", want OK (set receive.certNonceSeed on the server)"}
	}
	if why := cert.Bound(u); why != "" {
		return Verdict{false, "rule needs a signed push; " + why}
	}
	if len(s.Signers) > 0 && !slices.Contains(s.Signers, cert.Signer) && !slices.Contains(s.Signers, cert.Key) {
		return Verdict{false, "push signed by " + cert.Signer + " (key " + cert.Key + "), not one of signers"}
	}
	return Verdict{true, "ref and event match; push signed by " + cert.Signer}
}

// MatchFiles reports the first of files (the paths a ref update changed)
// that the selector's Paths select. A selector without Paths selects every
// update, changed files or not, and reports "".
func (s *Selector) MatchFiles(files []string) (string, bool) {
	if s.Paths == nil {
		return "", true
	}
	for _, f := range files {
		if s.Paths.Match(f) {
			return f, true
		}
	}
	return "", false
}
