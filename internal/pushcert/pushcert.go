// Package pushcert verifies a signed push's certificate itself, trusting
// nothing receive-pack puts in the environment but the name of the
// certificate's blob: the signature with gpg (OpenPGP) or ssh-keygen (SSH,
// against gpg.ssh.allowedSignersFile), the nonce recomputed from
// receive.certNonceSeed (git's HMAC of "path:stamp", bound to the path
// receive-pack was given and to its time), and the update lines against
// the push.
package pushcert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
)

// MaxNonceAge is how old a nonce may be: the time from receive-pack's
// advertisement, when git issued it, to the hook. A replay of a
// certificate needs its exact update lines to apply again as well.
const MaxNonceAge = time.Hour

// Options say where the certificate is and how to check it.
type Options struct {
	GitDir string
	// Env is the environment of every git, gpg and ssh-keygen run (in
	// pre-receive with git's quarantine variables, so the certificate
	// blob is visible).
	Env    []string
	Getenv func(string) string
	Now    time.Time
	// ServiceDirs are the paths receive-pack may have been given for
	// this repository (ReceivePackDirs): the nonce's HMAC covers it.
	ServiceDirs []string
	// Updates are the push's updates; the certificate must list exactly
	// these. Nil skips that comparison (a single update being planned).
	Updates []match.RefUpdate
}

// Verify reads the certificate GIT_PUSH_CERT names and verifies it. With
// no GIT_PUSH_CERT the result has an empty Status: the push is not signed.
func Verify(ctx context.Context, o Options) match.PushCert {
	pc := match.PushCert{Blob: o.Getenv("GIT_PUSH_CERT")}
	if pc.Blob == "" {
		return pc
	}
	b, err := o.blob(ctx, pc.Blob)
	if err == nil {
		pc.Cert, err = match.ParseCertificate(b)
	}
	if err != nil {
		pc.CertErr = err
		return pc
	}
	o.signature(ctx, &pc)
	o.nonce(ctx, &pc)
	if o.Updates != nil {
		pc.Mismatch = mismatch(pc.Cert, o.Updates)
	}
	return pc
}

// mismatch says how the certificate's updates differ from ups, or "".
func mismatch(c *match.Certificate, ups []match.RefUpdate) string {
	seen := map[match.RefUpdate]bool{}
	for _, u := range ups {
		if !c.Lists(u) {
			return "it does not list " + u.Name
		}
		seen[u] = true
	}
	if c.Count() != len(seen) {
		return fmt.Sprintf("it lists %d updates, the push makes %d", c.Count(), len(seen))
	}
	return ""
}

func (o Options) git(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir", o.GitDir}, args...)...)
	cmd.Env = o.Env
	cmd.Stdin = stdin
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out, nil
}

// config is a git config value of the repository, "" when unset.
func (o Options) config(ctx context.Context, key string, path bool) string {
	args := []string{"config", "--get"}
	if path {
		args = append(args, "--type=path")
	}
	out, err := o.git(ctx, nil, append(args, key)...)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func (o Options) blob(ctx context.Context, id string) ([]byte, error) {
	if len(id) != 40 && len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%q is not an object ID", id)
	}
	t, err := o.git(ctx, nil, "cat-file", "-t", id)
	if err != nil {
		return nil, fmt.Errorf("blob %s is not in the repository", id)
	}
	if strings.TrimSpace(string(t)) != "blob" {
		return nil, fmt.Errorf("%s is a %s, not a push certificate blob", id, strings.TrimSpace(string(t)))
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir", o.GitDir, "cat-file", "blob", id)
	cmd.Env = o.Env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(out, match.MaxCertBytes+1))
	if len(b) > match.MaxCertBytes {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("push certificate is larger than %d bytes", match.MaxCertBytes)
	}
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	return b, err
}

// nonce recomputes the nonce as git's receive-pack made it
// (prepare_push_cert_nonce: "STAMP-" and the hex HMAC, keyed with
// "PATH:STAMP", of receive.certNonceSeed; SHA-1, or SHA-256 in a SHA-256
// repository) for each path receive-pack may have been given.
func (o Options) nonce(ctx context.Context, pc *match.PushCert) {
	seed := o.config(ctx, "receive.certNonceSeed", false)
	if seed == "" {
		pc.Nonce = "UNSOLICITED"
		pc.Detail = "the server has no receive.certNonceSeed, so a certificate cannot be told from a replayed one (set it: git config receive.certNonceSeed SECRET)"
		return
	}
	n := pc.Cert.Nonce
	stampText, mac, ok := strings.Cut(n, "-")
	stamp, err := strconv.ParseInt(stampText, 10, 64)
	if !ok || err != nil || stampText != strconv.FormatInt(stamp, 10) {
		pc.Nonce, pc.Detail = "BAD", fmt.Sprintf("%q is not a nonce this server issues", clip(n))
		return
	}
	if !NonceValid(seed, stamp, mac, o.ServiceDirs) {
		pc.Nonce, pc.Detail = "BAD", "the nonce was not issued by this server for this repository (replayed from elsewhere, or invented)"
		return
	}
	age := o.Now.Sub(time.Unix(stamp, 0))
	if age > MaxNonceAge || age < -time.Minute {
		pc.Nonce, pc.Detail = "STALE", fmt.Sprintf("the nonce was issued at %s, not within %s of this push (a replayed certificate; push again)", time.Unix(stamp, 0).UTC().Format(time.RFC3339), MaxNonceAge)
		return
	}
	pc.Nonce, pc.NonceValue = "OK", n
}

// NonceValid reports whether mac is git's HMAC for stamp and one of dirs.
func NonceValid(seed string, stamp int64, mac string, dirs []string) bool {
	got, err := hex.DecodeString(mac)
	if err != nil {
		return false
	}
	for _, h := range []func() hash.Hash{sha1.New, sha256.New} {
		for _, d := range dirs {
			m := hmac.New(h, []byte(d+":"+strconv.FormatInt(stamp, 10)))
			m.Write([]byte(seed))
			if hmac.Equal(m.Sum(nil), got) {
				return true
			}
		}
	}
	return false
}

// ReceivePackDirs are the paths receive-pack may have been given for this
// repository: the argument of the git-receive-pack process among the
// hook's nearest ancestors (as git-http-backend, an ssh command or a local
// push gave it; a dispatcher script may stand between), which is the one
// the nonce was made for; only when there is none (hookrun plan, outside a
// push), the repository's path and ".".
func ReceivePackDirs(repoPath string) []string {
	pid := os.Getppid()
	for i := 0; i < 4 && pid > 1; i++ {
		if d, ok := receivePackArg(pid); ok {
			return []string{d}
		}
		pid = parentOf(pid)
	}
	return []string{repoPath, repoPath + "/", "."}
}

// receivePackArg is the directory argument of process pid when it is
// git-receive-pack ("git-receive-pack DIR", "git receive-pack [--opts] DIR").
func receivePackArg(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "", false
	}
	return receivePackDir(strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
}

// receivePackDir is the directory argument of argv when it runs
// receive-pack.
func receivePackDir(argv []string) (string, bool) {
	var rest []string
	switch {
	case len(argv) > 1 && filepath.Base(argv[0]) == "git-receive-pack":
		rest = argv[1:]
	case len(argv) > 2 && filepath.Base(argv[0]) == "git":
		for i, a := range argv[1:] {
			if a == "receive-pack" {
				rest = argv[i+2:]
				break
			}
		}
	}
	dir, dashes := "", false
	for _, a := range rest {
		switch {
		case dashes || !strings.HasPrefix(a, "-"):
			dir = a
		case a == "--":
			dashes = true
		}
	}
	return dir, dir != ""
}

func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// OfPush is the push certificate GIT_PUSH_CERT names, verified (Verify)
// when need is true (a rule or policy asks for a signed push); otherwise
// git is not asked at all and only the blob's name is kept. env is the
// environment of the git and gpg runs: in pre-receive with git's
// quarantine variables; nil for this process's, without GIT_*. ups are
// the push's updates, which the certificate must list exactly
// (pre-receive); nil only requires each update a rule looks at to be
// listed (post-receive sees only the refs that moved, and plan simulates
// it).
func OfPush(repoPath string, need bool, env []string, ups []match.RefUpdate, getenv func(string) string, now time.Time) match.PushCert {
	blob := getenv("GIT_PUSH_CERT")
	if blob == "" || !need {
		return match.PushCert{Blob: blob}
	}
	if env == nil {
		env = gitx.CleanEnv(os.Environ())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Verify(ctx, Options{GitDir: repoPath, Env: env, Getenv: getenv, Now: now,
		ServiceDirs: ReceivePackDirs(repoPath), Updates: ups})
}
