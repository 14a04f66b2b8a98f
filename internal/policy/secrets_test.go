package policy

import (
	"strings"
	"testing"
)

// Credentials are assembled from parts so this file holds none verbatim.
func TestScanSecrets(t *testing.T) {
	key := "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
	tests := []struct {
		name string
		data string
		kind string // "" for none
		line int
	}{
		{"empty", "", "", 0},
		{"plain text", "hello\nworld\n", "", 0},
		{"openssh key", "# deploy key\n" + key, "private key", 2},
		{"rsa key", "-----BEGIN " + "RSA PRIVATE KEY-----\n", "private key", 1},
		{"public key is fine", "-----BEGIN " + "PUBLIC KEY-----\n", "", 0},
		{"aws key", "x\ny\naws_access_key_id = " + "AKIA" + "IOSFODNN7EXAMPLE\n", "AWS access key ID", 3},
		{"aws key inside a word", "XAKIA" + "IOSFODNN7EXAMPLE", "", 0},
		{"aws key too short", "AKIA" + "IOSFODNN7", "", 0},
		{"github token", "token: " + "ghp_" + strings.Repeat("a1B2", 9), "GitHub personal access token", 1},
		{"github token too long", "ghp_" + strings.Repeat("a1B2", 10), "", 0},
		{"gitlab token", "glpat-" + "abcdefghij0123456789", "GitLab personal access token", 1},
		{"slack token", "xox" + "b-1234567890-abcdef", "Slack token", 1},
		{"earliest wins", "glpat-" + "abcdefghij0123456789\n" + key, "GitLab personal access token", 1},
		{"earliest wins, later pattern", key + "glpat-" + "abcdefghij0123456789\n", "private key", 1},
		{"google key", "AIza" + strings.Repeat("x", 35), "Google API key", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := ScanSecrets([]byte(tt.data))
			if ok != (tt.kind != "") || f.Kind != tt.kind || f.Line != tt.line {
				t.Errorf("ScanSecrets = %+v, %v; want kind %q line %d", f, ok, tt.kind, tt.line)
			}
		})
	}
}

// FuzzScanSecrets: any bytes, never a panic, and a finding's line is
// within the data.
func FuzzScanSecrets(f *testing.F) {
	f.Add([]byte("-----BEGIN " + "EC PRIVATE KEY-----"))
	f.Add([]byte("AKIA" + "IOSFODNN7EXAMPLE"))
	f.Add([]byte("\n\nghp_"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fd, ok := ScanSecrets(data)
		if ok && (fd.Line < 1 || fd.Line > strings.Count(string(data), "\n")+1) {
			t.Fatalf("line %d out of range", fd.Line)
		}
	})
}

func TestParseCommit(t *testing.T) {
	raw := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A U Thor <a@example.com> 1700000000 +0000\n" +
		"committer C O Mitter <c@example.com> 1700000000 +0100\n" +
		"gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n" +
		"\nsubject\n\nbody\n\nSigned-off-by: A U Thor <a@example.com>\n"
	c := parseCommit([]byte(raw))
	if c.author != "a@example.com" || c.committer != "c@example.com" || c.authorIdent != "A U Thor <a@example.com>" {
		t.Errorf("idents: %+v", c)
	}
	if !strings.HasPrefix(string(c.message), "subject\n") {
		t.Errorf("message %q", c.message)
	}
	if !signedOffBy(c.message, c.authorIdent) || signedOffBy(c.message, "Other <o@example.com>") {
		t.Error("signedOffBy")
	}
}

// FuzzParseCommit: a commit object of any bytes parses without panicking.
func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("tree x\nauthor <a> 1 +0000\n\nmsg"))
	f.Add([]byte("author >< \n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := parseCommit(data)
		_ = signedOffBy(c.message, c.authorIdent)
	})
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"refs/heads/main":     "refs/heads/main",
		"refs/heads/ünï":      "refs/heads/ünï",
		"refs/heads/\x1b[31m": `"refs/heads/\x1b[31m"`,
		"bad\xffutf8":         `"bad\xffutf8"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}
