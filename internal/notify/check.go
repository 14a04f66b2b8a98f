package notify

import (
	"fmt"
	"net/url"
	"strings"
)

// validTopic is ntfy's topicPathRegex (server/server.go),
// ^[-_A-Za-z0-9]{1,64}$, without compiling a regexp at start-up.
func validTopic(s string) bool {
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

// CheckTopic reports whether s is a topic name ntfy accepts: 1 to 64
// letters, digits, "-" or "_".
func CheckTopic(s string) error {
	if s == "" {
		return fmt.Errorf("ntfy topic is empty: set topic in [notify] or in the job")
	}
	if !validTopic(s) {
		return fmt.Errorf("ntfy topic %q is not valid: use 1 to 64 letters, digits, \"-\" or \"_\"", truncate(s, 80))
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
		return fmt.Errorf("ntfy server URL %q contains user credentials: remove them and put an access token in token_file", u.Redacted())
	}
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
