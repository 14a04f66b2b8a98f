package ntfyconf

import (
	"strings"
	"testing"
)

func TestCheckServerURL(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for valid, else a part of the error
	}{
		{"http://127.0.0.1:8111", ""},
		{"https://ntfy.example.com", ""},
		{"https://ntfy.example.com/", ""},
		{"https://example.com/ntfy", ""},
		{"HTTPS://ntfy.example.com", ""},
		{"http://[::1]:8111", ""},
		{"", "ntfy server URL is empty: use ntfy's base URL, e.g. https://ntfy.example.com"},
		{"ntfy.example.com", `ntfy server URL "ntfy.example.com" does not start with http:// or https://`},
		{"ftp://ntfy.example.com", "does not start with http:// or https://"},
		{"/relative", "does not start with http:// or https://"},
		{"http://", `ntfy server URL "http://" has no host`},
		{"http://:8111", "has no host"},
		{"https://ntfy.example.com/?auth=abc", "has a query (?...): remove it"},
		{"https://ntfy.example.com/?", "has a query"},
		{"https://ntfy.example.com/#x", "has a fragment (#...): remove it"},
		{"https://user:hunter2@ntfy.example.com", `ntfy server URL "https://user:xxxxx@ntfy.example.com" contains user credentials: remove them and put an access token in token_file`},
		{"https://user:hun ter2@ntfy.example.com:x", "ntfy server URL is not a valid URL: use ntfy's base URL"},
		{"http://ntfy.example.com:port", `ntfy server URL "http://ntfy.example.com:port" is not a valid URL (invalid port ":port" after host)`},
	}
	for _, tt := range tests {
		err := CheckServerURL(tt.in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckServerURL(%q) = %v, want nil", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckServerURL(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("CheckServerURL(%q) repeats the password: %v", tt.in, err)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	valid := []string{"git-builds", "a", "A_b-9", strings.Repeat("x", 64), "Docs", "docs2"}
	for _, s := range valid {
		if err := CheckTopic(s); err != nil {
			t.Errorf("CheckTopic(%q) = %v, want nil", s, err)
		}
	}
	invalid := map[string]string{
		"":                      "ntfy topic is empty: set topic in [notify] or in the job",
		"git builds":            `ntfy topic "git builds" is not valid: use 1 to 64 letters, digits, "-" or "_"`,
		"a/b":                   `ntfy topic "a/b" is not valid`,
		"böse":                  `ntfy topic "böse" is not valid`,
		strings.Repeat("x", 65): "is not valid",
		"docs":                  `ntfy topic "docs" is reserved: ntfy refuses docs, static, file, app, metrics, account, settings, signup, login, v1, which its own paths use (400, code 40010); pick another name, e.g. "git-docs"`,
		"settings":              `ntfy topic "settings" is reserved`,
		"v1":                    `ntfy topic "v1" is reserved`,
	}
	for s, want := range invalid {
		if err := CheckTopic(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckTopic(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"no url @ all":                          "no url @ all",
		"https://ntfy.example.com/x@y":          "https://ntfy.example.com/x@y",
		"https://user:hunter2@ntfy.example.com": "https://user:xxxxx@ntfy.example.com",
		"https://tk_secret@h/p":                 "https://xxxxx@h/p",
		`server "http://a:b@h" and "https://c:d@e:1/"`: `server "http://a:xxxxx@h" and "https://c:xxxxx@e:1/"`,
		"https://u:p@ss@h": "https://u:xxxxx@h",
		"x://":             "x://",
	} {
		if got := RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
