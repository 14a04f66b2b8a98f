package outcome

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSecretBytes bounds a token or secret file an output reads: it holds
// one token, not a document, and a wrong path (a log, a key store) is
// refused rather than sent.
const MaxSecretBytes = 4 << 10

// ReadSecret reads the token or secret file at path for an output, trimmed
// of surrounding space; what names it in errors ("forge token", "webhook
// secret", "ntfy token"). Each output checks the content's own form.
func ReadSecret(path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	if len(data) > MaxSecretBytes {
		return "", fmt.Errorf("%s file %s is larger than %d bytes: it should hold only the %s", what, path, MaxSecretBytes, what[strings.LastIndexByte(what, ' ')+1:])
	}
	return strings.TrimSpace(string(data)), nil
}
