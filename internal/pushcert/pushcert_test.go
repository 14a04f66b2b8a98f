package pushcert

import (
	"slices"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
)

// A nonce git 2.39.5's receive-pack issued (receive.certNonceSeed
// test-seed) when a local push named the repository ../r.git.
const (
	realStamp = 1796588366
	realMAC   = "3ff4a02bbd7f1fca90c6efe6b429ac3dc3ed9a30"
)

func TestNonceValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  string
		stamp int64
		mac   string
		dirs  []string
		want  bool
	}{
		{"git's own", "test-seed", realStamp, realMAC, []string{"/srv/r.git", "../r.git"}, true},
		{"another path", "test-seed", realStamp, realMAC, []string{"/srv/r.git", "r.git"}, false},
		{"another seed", "seed", realStamp, realMAC, []string{"../r.git"}, false},
		{"another stamp", "test-seed", realStamp + 1, realMAC, []string{"../r.git"}, false},
		{"truncated", "test-seed", realStamp, realMAC[:20], []string{"../r.git"}, false},
		{"not hex", "test-seed", realStamp, "zz", []string{"../r.git"}, false},
		{"empty", "test-seed", realStamp, "", []string{"../r.git"}, false},
	} {
		if got := NonceValid(tc.seed, tc.stamp, tc.mac, tc.dirs); got != tc.want {
			t.Errorf("%s: NonceValid = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReceivePackDir(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"git-receive-pack", "/srv/r.git"}, "/srv/r.git"},
		{[]string{"/usr/lib/git-core/git-receive-pack", "../r.git"}, "../r.git"},
		{[]string{"git", "receive-pack", "--stateless-rpc", "."}, "."},
		{[]string{"git", "-c", "x=y", "receive-pack", "--", "-odd"}, "-odd"},
		{[]string{"git", "upload-pack", "/srv/r.git"}, ""},
		{[]string{"sh", "-c", "git-receive-pack '/srv/r.git'"}, ""},
		{[]string{"git-receive-pack"}, ""},
	} {
		got, ok := receivePackDir(tc.argv)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("receivePackDir(%q) = %q, %v, want %q", tc.argv, got, ok, tc.want)
		}
	}
}

func TestParseGPGStatus(t *testing.T) {
	const fpr = "0123456789ABCDEF0123456789ABCDEF01234567"
	valid := "[GNUPG:] VALIDSIG " + fpr + " 2026-12-06 1796588366 0 4 0 22 10 00 " + fpr + "\n"
	for _, tc := range []struct {
		name, out       string
		status, signer  string
		key, detailPart string
	}{
		{"good, trusted", "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 89ABCDEF01234567 Release Manager <rm@example.com>\n" + valid + "[GNUPG:] TRUST_ULTIMATE 0 pgp\n",
			"G", "Release Manager <rm@example.com>", "89ABCDEF01234567", ""},
		{"good, untrusted", "[GNUPG:] GOODSIG 89ABCDEF01234567 Other <o@x>\n" + valid + "[GNUPG:] TRUST_UNDEFINED 0 pgp\n", "U", "Other <o@x>", "89ABCDEF01234567", ""},
		{"good without VALIDSIG", "[GNUPG:] GOODSIG 89ABCDEF01234567 Other <o@x>\n[GNUPG:] TRUST_FULLY\n", "U", "Other <o@x>", "89ABCDEF01234567", ""},
		{"bad", "[GNUPG:] BADSIG 89ABCDEF01234567 Release Manager <rm@example.com>\n", "B", "Release Manager <rm@example.com>", "89ABCDEF01234567", ""},
		{"no key", "[GNUPG:] ERRSIG 89ABCDEF01234567 22 10 00 1796588366 9 -\n[GNUPG:] NO_PUBKEY 89ABCDEF01234567\n", "E", "", "89ABCDEF01234567", "not in the server's keyring"},
		{"expired key", "[GNUPG:] EXPKEYSIG 89ABCDEF01234567 RM <rm@x>\n", "Y", "RM <rm@x>", "89ABCDEF01234567", ""},
		{"revoked", "[GNUPG:] REVKEYSIG 89ABCDEF01234567 RM <rm@x>\n", "R", "RM <rm@x>", "89ABCDEF01234567", ""},
		{"garbage", "[GNUPG:] NODATA 4\n", "E", "", "", ""},
		{"nothing", "", "E", "", "", ""},
	} {
		var pc match.PushCert
		parseGPGStatus([]byte(tc.out), &pc)
		if pc.Status != tc.status || pc.Signer != tc.signer || pc.Key != tc.key || !strings.Contains(pc.Detail, tc.detailPart) {
			t.Errorf("%s: got %+v", tc.name, pc)
		}
	}
}

func TestMismatch(t *testing.T) {
	const a, b = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	c, err := match.ParseCertificate([]byte("certificate version 0.1\nnonce n\n\n" + a + " " + b + " refs/heads/main\n" +
		a + " " + b + " refs/tags/v1\n-----BEGIN PGP SIGNATURE-----\n"))
	if err != nil {
		t.Fatal(err)
	}
	main := match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}
	v1 := match.RefUpdate{Old: a, New: b, Name: "refs/tags/v1"}
	if m := mismatch(c, []match.RefUpdate{main, v1}); m != "" {
		t.Errorf("exact: %q", m)
	}
	if m := mismatch(c, []match.RefUpdate{main}); !strings.Contains(m, "lists 2 updates, the push makes 1") {
		t.Errorf("more listed than pushed: %q", m)
	}
	if m := mismatch(c, []match.RefUpdate{main, v1, {Old: a, New: b, Name: "refs/heads/x"}}); !strings.Contains(m, "does not list refs/heads/x") {
		t.Errorf("more pushed than listed: %q", m)
	}
}

// FuzzParseGPGStatus: any gpg output gives one of git's status letters,
// and G only with a VALIDSIG fingerprint and a full or ultimate trust line.
func FuzzParseGPGStatus(f *testing.F) {
	f.Add("[GNUPG:] GOODSIG 89ABCDEF01234567 RM <rm@x>\n[GNUPG:] VALIDSIG AAAA 2026-12-06 1 0 4 0 22 10 00 BBBB\n[GNUPG:] TRUST_ULTIMATE 0 pgp\n")
	f.Add("[GNUPG:] ERRSIG 89ABCDEF01234567 22 10 00 1796588366 9 -\n")
	f.Add("[GNUPG:] BADSIG\n[GNUPG:] GOODSIG\n[GNUPG:] VALIDSIG\n")
	f.Fuzz(func(t *testing.T, out string) {
		var pc match.PushCert
		parseGPGStatus([]byte(out), &pc)
		if !strings.Contains("GUBEXYR", pc.Status) || len(pc.Status) != 1 {
			t.Fatalf("status %q", pc.Status)
		}
		if pc.Status == "G" && (pc.Fingerprint == "" || !strings.Contains(out, "TRUST_FULLY") && !strings.Contains(out, "TRUST_ULTIMATE")) {
			t.Fatalf("G without a fingerprint and trust: %+v", pc)
		}
	})
}

// FuzzReceivePackDir: any argv gives no directory or one of its words.
func FuzzReceivePackDir(f *testing.F) {
	f.Add("git-receive-pack\x00/srv/r.git")
	f.Add("git\x00receive-pack\x00--stateless-rpc\x00.")
	f.Add("git\x00receive-pack\x00--\x00-x")
	f.Fuzz(func(t *testing.T, cmdline string) {
		argv := strings.Split(cmdline, "\x00")
		d, ok := receivePackDir(argv)
		if ok != (d != "") {
			t.Fatalf("%q: %q, %v", argv, d, ok)
		}
		if ok && !slices.Contains(argv[1:], d) {
			t.Fatalf("%q: %q is not one of its words", argv, d)
		}
	})
}
