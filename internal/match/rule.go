package match

import "slices"

// PushCert is a push certificate as hookrun verified it (internal/pushcert):
// the certificate blob GIT_PUSH_CERT names, its signature checked by
// hookrun with gpg or ssh-keygen, its nonce recomputed from
// receive.certNonceSeed, its update lines compared with the push. git's
// GIT_PUSH_CERT_STATUS, _SIGNER, _KEY and _NONCE_STATUS are never read: git
// sets them only when a certificate was sent and leaves them as they were
// otherwise, so a pusher who controls receive-pack's environment could set
// them for an unsigned push.
type PushCert struct {
	// Status is the signature's, in git's letters: G good by a trusted
	// key, U good but the key is not trusted, B bad, E cannot be checked,
	// X expired signature, Y expired key, R revoked key, N no signature;
	// "" when there is no certificate.
	Status      string
	Signer      string // the key's user ID (OpenPGP) or the principal (SSH)
	Key         string // the key ID (OpenPGP) or the key's SHA256 fingerprint (SSH)
	Fingerprint string // OpenPGP: the signing key's fingerprint
	Primary     string // OpenPGP: the primary key's fingerprint
	// Nonce is the nonce's status: OK when this server issued it for this
	// repository (HMAC with receive.certNonceSeed) less than MaxNonceAge
	// ago; else BAD, STALE, or UNSOLICITED when the server has no seed.
	Nonce string
	// Detail says in words why Status or Nonce is not good.
	Detail string
	// Mismatch, when not empty, says how the certificate's update lines
	// differ from the push's: it must list exactly the updates made.
	Mismatch string

	Blob       string       // GIT_PUSH_CERT: the certificate's blob in the repository
	NonceValue string       // the certificate's nonce, once verified
	Cert       *Certificate // the blob, parsed; nil when there is none
	CertErr    error        // why Blob could not be read or parsed
}

// Verified reports whether the certificate's signature is good and by a
// key the server trusts.
func (c PushCert) Verified() bool { return c.Status == "G" }

// Fresh reports whether the certificate carries a nonce this server issued
// for this repository, recently, so it is not a replay of an older push.
func (c PushCert) Fresh() bool { return c.Nonce == "OK" }

// StatusWords explains a signature status letter, with what to do.
func StatusWords(status, key string) string {
	switch status {
	case "":
		return "the push is not signed (push with: git push --signed)"
	case "G":
		return "the signature is good"
	case "U":
		return "the signature is good but its key " + key + " is not trusted on the server (name it in signers, or trust it in the server's keyring)"
	case "B":
		return "the signature is bad: the certificate was changed after it was signed, or forged"
	case "E":
		if key == "" {
			return "the signature cannot be checked: it is damaged, or not one gpg reads"
		}
		return "the signature cannot be checked: the server does not have key " + key + " (import it into the server's keyring, or list it in gpg.ssh.allowedSignersFile)"
	case "X":
		return "the signature has expired (sign the push again)"
	case "Y":
		return "the signature was made by key " + key + ", which has expired (renew the key or sign with another)"
	case "R":
		return "the signature was made by key " + key + ", which is revoked (sign with another key)"
	case "N":
		return "the certificate carries no signature hookrun can check"
	}
	return "the signature's status is " + status
}

// Bound reports why the certificate does not vouch for u, or "" when it
// does: the blob was read and parsed, its nonce was verified, it lists u's
// exact "old new ref" line and no update the push does not make.
func (c PushCert) Bound(u RefUpdate) string {
	switch {
	case c.Blob == "":
		return "the push is not signed (push with: git push --signed)"
	case c.Cert == nil && c.CertErr != nil:
		return "push certificate " + c.Blob + " cannot be used: " + c.CertErr.Error()
	case c.Cert == nil:
		return "push certificate " + c.Blob + " was not read"
	case c.NonceValue == "" || c.Cert.Nonce != c.NonceValue:
		return "push certificate nonce was not verified"
	case !c.Cert.Lists(u):
		return "push certificate does not list this update (" + u.Old + " " + u.New + " " + clip(u.Name) + ")"
	case c.Mismatch != "":
		return "push certificate does not list exactly the updates of the push: " + c.Mismatch
	}
	return ""
}

// Problem says why the certificate does not vouch for u by one of signers
// (any when signers is empty), or "" when it does: a good signature (by a
// trusted key, or by a key signers names), a fresh nonce, bound to u.
func (c PushCert) Problem(u RefUpdate, signers []string) string {
	if c.Blob == "" || c.Cert == nil {
		return c.Bound(u)
	}
	named := len(signers) > 0 && slices.ContainsFunc([]string{c.Signer, c.Key, c.Fingerprint, c.Primary}, func(s string) bool {
		return s != "" && slices.Contains(signers, s)
	})
	switch {
	case c.Status == "U" && named:
	case c.Status != "G":
		w := StatusWords(c.Status, c.Key)
		switch {
		case c.Detail != "" && (c.Status == "E" || c.Status == "N"):
			w = "the signature cannot be checked: " + c.Detail
		case c.Detail != "":
			w += ": " + c.Detail
		}
		return "push certificate: " + w
	}
	if !c.Fresh() {
		w := c.Detail
		if w == "" {
			w = "nonce status " + c.Nonce
		}
		return "push certificate nonce: " + w
	}
	if why := c.Bound(u); why != "" {
		return why
	}
	if len(signers) > 0 && !named {
		return "push signed by " + c.Signer + " (key " + c.Key + "), not one of signers"
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
	Signers []string // with Signed: the certificate's signer, key ID or fingerprint must be one of these
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
// verified, fresh, and bound to u (PushCert.Problem).
func (s *Selector) Decide(u RefUpdate, ev Event, cert PushCert) Verdict {
	if !slices.Contains(s.events(), ev) {
		return Verdict{false, "event " + string(ev) + " not in events"}
	}
	if !s.Signed {
		return Verdict{true, "ref and event match"}
	}
	if why := cert.Problem(u, s.Signers); why != "" {
		return Verdict{false, "rule needs a signed push; " + why}
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
