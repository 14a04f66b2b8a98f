package pushcert

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hookrun/hookrun/internal/match"
)

// signature verifies the certificate's signature and records the status,
// the signer and the key in pc.
func (o Options) signature(ctx context.Context, pc *match.PushCert) {
	sig := pc.Cert.Signature
	switch {
	case bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")):
		o.openPGP(ctx, pc)
	case bytes.HasPrefix(sig, []byte("-----BEGIN SSH SIGNATURE-----")):
		o.ssh(ctx, pc)
	default:
		pc.Status = "N"
		pc.Detail = "only OpenPGP and SSH signatures are checked"
	}
}

// withSigFile writes the signature to a file of its own for the verifier,
// and removes it after.
func withSigFile(sig []byte, f func(path string)) error {
	dir, err := os.MkdirTemp("", "hookrun-cert-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "sig")
	if err := os.WriteFile(p, sig, 0o600); err != nil {
		return err
	}
	f(p)
	return nil
}

// openPGP runs gpg as git does (gpg.openpgp.program or gpg.program, else
// gpg): "--status-fd=1 --verify SIGFILE -" with the signed text on its
// standard input, and reads the status lines.
func (o Options) openPGP(ctx context.Context, pc *match.PushCert) {
	prog := o.config(ctx, "gpg.openpgp.program", false)
	if prog == "" {
		prog = o.config(ctx, "gpg.program", false)
	}
	if prog == "" {
		prog = "gpg"
	}
	var out []byte
	var runErr error
	err := withSigFile(pc.Cert.Signature, func(path string) {
		cmd := exec.CommandContext(ctx, prog, "--batch", "--no-tty", "--keyid-format=long", "--status-fd=1", "--verify", path, "-")
		cmd.Env = o.Env
		cmd.Stdin = bytes.NewReader(pc.Cert.Payload)
		out, runErr = cmd.Output()
	})
	if err == nil && len(out) == 0 && runErr != nil {
		err = runErr
	}
	if err != nil {
		pc.Status = "E"
		pc.Detail = "gpg could not be run: " + err.Error()
		return
	}
	parseGPGStatus(out, pc)
}

// parseGPGStatus reads gpg's status lines (doc/DETAILS in GnuPG) into pc
// with git's letters: a good signature is G only when the key is fully or
// ultimately trusted in the server's keyring, else U.
func parseGPGStatus(out []byte, pc *match.PushCert) {
	pc.Status = "E"
	trusted := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "[GNUPG:] ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		uid := func() string {
			_, u, _ := strings.Cut(rest, " ")
			_, u, _ = strings.Cut(u, " ")
			return u
		}
		switch f[0] {
		case "GOODSIG", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG":
			if len(f) > 1 {
				pc.Key = f[1]
			}
			pc.Signer = uid()
			pc.Status = map[string]string{"GOODSIG": "G", "BADSIG": "B", "EXPSIG": "X", "EXPKEYSIG": "Y", "REVKEYSIG": "R"}[f[0]]
		case "ERRSIG":
			if len(f) > 1 {
				pc.Key = f[1]
			}
			if pc.Status == "E" && len(f) > 6 && f[6] == "9" {
				pc.Detail = "the key is not in the server's keyring"
			}
		case "VALIDSIG":
			if len(f) > 1 {
				pc.Fingerprint = f[1]
			}
			if len(f) > 10 {
				pc.Primary = f[10]
			}
		case "TRUST_FULLY", "TRUST_ULTIMATE":
			trusted = true
		}
	}
	if pc.Status == "G" && (!trusted || pc.Fingerprint == "") {
		pc.Status = "U"
	}
}

// ssh verifies an SSH signature as git does, against the allowed signers
// file (gpg.ssh.allowedSignersFile): ssh-keygen -Y find-principals names
// the signer, -Y verify checks the signature in git's namespace.
func (o Options) ssh(ctx context.Context, pc *match.PushCert) {
	allowed := o.config(ctx, "gpg.ssh.allowedSignersFile", true)
	if allowed == "" {
		pc.Status = "E"
		pc.Detail = "the certificate is signed with an SSH key, and the server has no gpg.ssh.allowedSignersFile to check it against (git config gpg.ssh.allowedSignersFile FILE)"
		return
	}
	prog := o.config(ctx, "gpg.ssh.program", false)
	if prog == "" {
		prog = "ssh-keygen"
	}
	err := withSigFile(pc.Cert.Signature, func(path string) {
		find := exec.CommandContext(ctx, prog, "-Y", "find-principals", "-f", allowed, "-s", path)
		find.Env = o.Env
		out, err := find.Output()
		principal, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if err != nil || principal == "" {
			// Not an allowed signer's key: is it a valid signature at all?
			chk := exec.CommandContext(ctx, prog, "-Y", "check-novalidate", "-n", "git", "-s", path)
			chk.Env = o.Env
			chk.Stdin = bytes.NewReader(pc.Cert.Payload)
			if chk.Run() != nil {
				pc.Status = "B"
				return
			}
			pc.Status = "E"
			pc.Detail = "the SSH key is not in the server's allowed signers file " + allowed
			return
		}
		ver := exec.CommandContext(ctx, prog, "-Y", "verify", "-f", allowed, "-I", principal, "-n", "git", "-s", path)
		ver.Env = o.Env
		ver.Stdin = bytes.NewReader(pc.Cert.Payload)
		vout, err := ver.CombinedOutput()
		pc.Signer = principal
		if err != nil {
			pc.Status = "B"
			return
		}
		// "Good "git" signature for P with ED25519 key SHA256:..."
		if i := strings.LastIndex(string(vout), " key "); i >= 0 {
			pc.Key = strings.TrimSpace(strings.SplitN(string(vout[i+5:]), "\n", 2)[0])
			pc.Fingerprint = pc.Key
		}
		pc.Status = "G"
	})
	if err != nil {
		pc.Status = "E"
		pc.Detail = err.Error()
	}
}
