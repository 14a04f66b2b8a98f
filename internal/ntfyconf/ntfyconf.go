// Package ntfyconf is the one judge of the ntfy settings hookrun is given:
// the server URL, topic names and access tokens. The config validator and
// the notify client both call it, so `hookrun validate` refuses exactly what
// a notification would fail on, with the same words. Nothing it returns
// repeats a credential: user info in URLs is redacted (see RedactURLs) and
// tokens are never quoted. It imports nothing else from hookrun.
package ntfyconf

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TopicPattern is ntfy's topicPathRegex (server/server.go), for the JSON
// schema; ValidTopic is the same test without a regexp.
const TopicPattern = `^[-_A-Za-z0-9]{1,64}$`

// ValidTopic reports whether ntfy accepts s as a topic name.
func ValidTopic(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ReservedTopics are the topic names ntfy refuses because its own paths use
// them (ntfy's DefaultDisallowedTopics, server/config.go): publishing to one
// fails with 400, code 40010. The match is exact, as ntfy's.
var ReservedTopics = []string{"docs", "static", "file", "app", "metrics", "account", "settings", "signup", "login", "v1"}

// CheckTopic reports whether s is a topic name ntfy accepts: 1 to 64
// letters, digits, "-" or "_", and none of ReservedTopics.
func CheckTopic(s string) error {
	if s == "" {
		return fmt.Errorf("ntfy topic is empty: set topic in [notify] or in the job")
	}
	if !ValidTopic(s) {
		return fmt.Errorf("ntfy topic %q is not valid: use 1 to 64 letters, digits, \"-\" or \"_\"", truncate(RedactURLs(s), 80))
	}
	for _, r := range ReservedTopics {
		if s == r {
			return fmt.Errorf("ntfy topic %q is reserved: ntfy refuses %s, which its own paths use (400, code 40010); pick another name, e.g. %q", s, strings.Join(ReservedTopics, ", "), "git-"+s)
		}
	}
	return nil
}

// CheckServerURL reports whether s can be used as ntfy's base URL: an
// absolute http or https URL with a host, and no user info, query or
// fragment. A path prefix is allowed (ntfy behind a reverse proxy).
func CheckServerURL(s string) error {
	const want = "use ntfy's base URL, e.g. https://ntfy.example.com"
	if s == "" {
		return fmt.Errorf("ntfy server URL is empty: %s", want)
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			// The text may hold a password; do not repeat it.
			return fmt.Errorf("ntfy server URL is not a valid URL: %s", want)
		}
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("ntfy server URL %q is not a valid URL (%v): %s", s, err, want)
	}
	if u.User != nil {
		return fmt.Errorf("ntfy server URL %q contains user credentials: remove them and put an access token in token_file", RedactURLs(s))
	}
	s = RedactURLs(s)
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("ntfy server URL %q does not start with http:// or https://: %s", s, want)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("ntfy server URL %q has no host: %s", s, want)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return fmt.Errorf("ntfy server URL %q has a query (?...): remove it, %s", s, want)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("ntfy server URL %q has a fragment (#...): remove it, %s", s, want)
	}
	return nil
}

// CheckToken refuses tokens that cannot go into an HTTP header as they are.
// The message never shows the token.
func CheckToken(tok string) error {
	for _, r := range tok {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return errors.New("the token contains spaces, line breaks or other characters a token cannot have: the file should hold only the token")
		}
	}
	return nil
}

// RedactURLs replaces the user info of every URL in s ("scheme://user:pass@"
// or "scheme://token@") with "user:xxxxx@" or "xxxxx@", so that a message
// quoting a configured value never repeats a password. It finds URLs by
// their "://", whatever surrounds them.
func RedactURLs(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		// The authority ends where a path, query, fragment, space or
		// quote starts; the user info is what comes before its last "@".
		end := strings.IndexAny(s, "/?#\"' \t\n\\`")
		if end < 0 {
			end = len(s)
		}
		at := strings.LastIndexByte(s[:end], '@')
		if at < 0 {
			continue
		}
		if user, _, ok := strings.Cut(s[:at], ":"); ok {
			b.WriteString(user + ":xxxxx@")
		} else {
			b.WriteString("xxxxx@")
		}
		s = s[at+1:]
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
