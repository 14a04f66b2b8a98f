package match

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxCertBytes bounds a push certificate read from the repository: its
// headers, one "old new ref" line per update (at most MaxRefs of them, each
// at most MaxLineBytes) and the signature.
const MaxCertBytes = 64 << 20

// Certificate is the signed text of a push certificate, as git stores it
// in the repository and names it in GIT_PUSH_CERT (git-receive-pack(1);
// format in git's Documentation/gitprotocol-pack.txt, "push-cert"):
//
//	certificate version 0.1
//	pusher Alice <a@example.com> 1700000000 +0000
//	pushee ssh://git.example.com/web.git
//	nonce 1700000000-abcdef...
//	push-option ...
//
//	<old> <new> <refname>
//	...
//	-----BEGIN PGP SIGNATURE-----
//	...
//
// The signature covers everything before it; git verified it when
// hookrun verifies it itself (internal/pushcert). ParseCertificate reads
// only the headers and the update lines, byte for byte (refnames need not be
// UTF-8).
type Certificate struct {
	Pusher string
	Nonce  string
	// Payload is the signed text (everything before the signature) and
	// Signature the armored signature after it, as git splits them.
	Payload, Signature []byte
	// updates holds each "old new ref" line the certificate lists.
	updates map[string]struct{}
}

// ParseCertificate parses a push certificate's text. It refuses anything
// that is not one: a wrong first line, a header or update line git would
// not write, no nonce or two of them, no signature.
func ParseCertificate(b []byte) (*Certificate, error) {
	if len(b) > MaxCertBytes {
		return nil, fmt.Errorf("push certificate is larger than %d bytes", MaxCertBytes)
	}
	c := &Certificate{updates: map[string]struct{}{}}
	rest := b
	line := func() ([]byte, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, false // every line git writes ends with a newline
		}
		l := rest[:i]
		rest = rest[i+1:]
		return l, true
	}
	first, ok := line()
	if !ok || string(first) != "certificate version 0.1" {
		return nil, errors.New(`push certificate does not start with "certificate version 0.1"`)
	}
	nonces := 0
	for {
		l, ok := line()
		if !ok {
			return nil, errors.New("push certificate ends inside its headers")
		}
		if len(l) == 0 {
			break
		}
		key, val, _ := bytes.Cut(l, []byte(" "))
		switch string(key) {
		case "pusher":
			c.Pusher = string(val)
		case "nonce":
			c.Nonce = string(val)
			nonces++
		case "pushee", "push-option":
		default:
			return nil, fmt.Errorf("push certificate has an unknown header %q", clip(string(key)))
		}
	}
	if nonces != 1 || c.Nonce == "" {
		return nil, fmt.Errorf("push certificate has %d nonce headers, want exactly one", nonces)
	}
	signed := false
	for len(rest) > 0 {
		if bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			signed = true
			c.Payload, c.Signature = b[:len(b)-len(rest)], rest
			break
		}
		l, ok := line()
		if !ok {
			return nil, errors.New("push certificate ends inside its update lines")
		}
		if len(c.updates) >= MaxRefs {
			return nil, fmt.Errorf("push certificate lists more than %d updates", MaxRefs)
		}
		u, err := ParseRefLine(string(l))
		if err != nil {
			return nil, fmt.Errorf("push certificate update line %d: %w", len(c.updates)+1, err)
		}
		c.updates[u.Old+" "+u.New+" "+u.Name] = struct{}{}
	}
	if !signed {
		return nil, errors.New("push certificate has no signature")
	}
	return c, nil
}

// Lists reports whether the certificate lists exactly this update.
func (c *Certificate) Lists(u RefUpdate) bool {
	if c == nil {
		return false
	}
	_, ok := c.updates[u.Old+" "+u.New+" "+u.Name]
	return ok
}

// Count is how many distinct updates the certificate lists.
func (c *Certificate) Count() int {
	if c == nil {
		return 0
	}
	return len(c.updates)
}
