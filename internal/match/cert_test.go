package match

import (
	"errors"
	"strings"
	"testing"
)

const (
	certOld = "1111111111111111111111111111111111111111"
	certNew = "2222222222222222222222222222222222222222"
	certSig = "-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n"
)

// certOf is a certificate as git writes it, with these headers and lines.
func certOf(headers string, lines ...string) string {
	return "certificate version 0.1\n" + headers + "\n" + strings.Join(lines, "") + certSig
}

func TestParseCertificate(t *testing.T) {
	line := certOld + " " + certNew + " refs/heads/main\n"
	hdr := "pusher Alice <a@x> 1700000000 +0000\npushee file:///srv/r.git\nnonce 1700000000-abc\npush-option ci.skip\n"
	c, err := ParseCertificate([]byte(certOf(hdr, line, certOld+" "+certNew+" refs/heads/caf\xe9\n")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Nonce != "1700000000-abc" || c.Pusher != "Alice <a@x> 1700000000 +0000" {
		t.Errorf("headers: %+v", c)
	}
	for _, u := range []RefUpdate{{certOld, certNew, "refs/heads/main"}, {certOld, certNew, "refs/heads/caf\xe9"}} {
		if !c.Lists(u) {
			t.Errorf("does not list %q", u)
		}
	}
	for _, u := range []RefUpdate{{certNew, certOld, "refs/heads/main"}, {certOld, certNew, "refs/heads/mai"}, {certOld, certNew, "refs/heads/caf\uFFFD"}} {
		if c.Lists(u) {
			t.Errorf("lists %q", u)
		}
	}
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", `does not start with "certificate version 0.1"`},
		{"other version", strings.Replace(certOf(hdr, line), "0.1", "0.2", 1), "does not start with"},
		{"no nonce", certOf("pusher A\n", line), "0 nonce headers"},
		{"two nonces", certOf("nonce a\nnonce b\n", line), "2 nonce headers"},
		{"empty nonce", certOf("nonce \n", line), "1 nonce headers"},
		{"unknown header", certOf("nonce a\nx-evil y\n", line), `unknown header "x-evil"`},
		{"no signature", "certificate version 0.1\nnonce a\n\n" + line, "no signature"},
		{"headers unterminated", "certificate version 0.1\nnonce a\n", "ends inside its headers"},
		{"bad update", certOf("nonce a\n", "zzz "+certNew+" refs/heads/main\n"), "update line 1"},
		{"unterminated update", "certificate version 0.1\nnonce a\n\n" + strings.TrimSuffix(line, "\n"), "ends inside its update lines"},
	} {
		if _, err := ParseCertificate([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	var nilCert *Certificate
	if nilCert.Lists(RefUpdate{certOld, certNew, "refs/heads/main"}) {
		t.Error("a nil certificate lists an update")
	}
}

// FuzzParseCertificate: any input is parsed or refused without a panic;
// a parsed certificate lists only updates that are valid ref lines, and
// each listed update is one of the input's lines.
func FuzzParseCertificate(f *testing.F) {
	f.Add(certOf("nonce n\n", certOld+" "+certNew+" refs/heads/main\n"))
	f.Add(certOf("pusher A\npushee u\nnonce n\npush-option o\n", certOld+" "+certNew+" refs/tags/v1\n", "0000000000000000000000000000000000000000 "+certNew+" refs/heads/caf\xe9\n"))
	f.Add("certificate version 0.1\nnonce n\n\n-----BEGIN SSH SIGNATURE-----\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCertificate([]byte(text))
		if err != nil {
			return
		}
		if c.Nonce == "" {
			t.Fatal("parsed without a nonce")
		}
		if string(c.Payload)+string(c.Signature) != text || !strings.HasPrefix(string(c.Signature), "-----BEGIN ") {
			t.Fatalf("payload %q and signature %q do not split the input", c.Payload, c.Signature)
		}
		if c.Count() != len(c.updates) {
			t.Fatal("Count is not the number of updates")
		}
		for l := range c.updates {
			if _, err := ParseRefLine(l); err != nil {
				t.Fatalf("lists %q: %v", l, err)
			}
			if !strings.Contains(text, "\n"+l+"\n") {
				t.Fatalf("lists %q, which is not a line of the input", l)
			}
		}
	})
}

func TestPushCertProblem(t *testing.T) {
	line := certOld + " " + certNew + " refs/tags/v1\n"
	c, err := ParseCertificate([]byte(certOf("nonce n\n", line)))
	if err != nil {
		t.Fatal(err)
	}
	u := RefUpdate{Old: certOld, New: certNew, Name: "refs/tags/v1"}
	good := PushCert{Status: "G", Signer: "RM <rm@x>", Key: "KEY1", Fingerprint: "FPR1", Nonce: "OK", NonceValue: "n", Blob: "b", Cert: c}
	with := func(f func(*PushCert)) PushCert { pc := good; f(&pc); return pc }
	for _, tc := range []struct {
		name    string
		pc      PushCert
		signers []string
		want    string
	}{
		{"good", good, nil, ""},
		{"good, listed by fingerprint", good, []string{"FPR1"}, ""},
		{"not signed", PushCert{}, nil, "the push is not signed (push with: git push --signed)"},
		{"unreadable", PushCert{Blob: "b", CertErr: errors.New("blob b is not in the repository")}, nil, "push certificate b cannot be used: blob b is not in the repository"},
		{"bad", with(func(p *PushCert) { p.Status = "B" }), nil, "push certificate: the signature is bad"},
		{"no key", with(func(p *PushCert) { p.Status, p.Key, p.Detail = "E", "KEY2", "the key is not in the server's keyring" }), nil, "push certificate: the signature cannot be checked: the key is not in the server's keyring"},
		{"damaged", with(func(p *PushCert) { p.Status, p.Key = "E", "" }), nil, "push certificate: the signature cannot be checked: it is damaged"},
		{"untrusted", with(func(p *PushCert) { p.Status = "U" }), nil, "is not trusted on the server"},
		{"untrusted but listed", with(func(p *PushCert) { p.Status = "U" }), []string{"RM <rm@x>"}, ""},
		{"revoked", with(func(p *PushCert) { p.Status = "R" }), nil, "which is revoked"},
		{"stale", with(func(p *PushCert) { p.Nonce, p.NonceValue, p.Detail = "STALE", "", "the nonce was issued at ..." }), nil, "push certificate nonce: the nonce was issued at"},
		{"other update", good, nil, ""},
		{"mismatch", with(func(p *PushCert) { p.Mismatch = "it lists 2 updates, the push makes 1" }), nil, "does not list exactly the updates of the push"},
		{"not a signer", good, []string{"Other <o@x>"}, "push signed by RM <rm@x> (key KEY1), not one of signers"},
	} {
		got := tc.pc.Problem(u, tc.signers)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: Problem = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := good.Problem(RefUpdate{Old: certOld, New: certNew, Name: "refs/tags/v2"}, nil); !strings.Contains(got, "does not list this update") {
		t.Errorf("another ref: %q", got)
	}
}
