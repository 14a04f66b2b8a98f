// Package policy decides whether a push may proceed: it evaluates the
// config's [[policy]] tables against a push's ref updates before any ref
// moves (the pre-receive hook, and `hookrun check` on commits already in a
// repository). What it needs from git it reads in a few batched calls
// through the Git interface, never one git process per commit, and only
// for what the matching policies check: a push no policy applies to costs
// no git call at all.
package policy

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

// Push is what the engine checks.
type Push struct {
	Updates []match.RefUpdate
	Cert    match.PushCert
	// Exclude names the objects already accepted, for every policy: nil
	// means, for each policy, the refs of the repository it selects (a
	// pre-receive hook: what they point at before the push); `hookrun
	// check` passes the old commits it was given.
	Exclude []string
	// SecretsConfig and SecretsIgnore are the operator's gitleaks config
	// and fingerprint file for secrets = true ("" for none).
	SecretsConfig, SecretsIgnore string
}

// Violation is one thing a push did that a policy refuses.
type Violation struct {
	Policy  string // the policy's name
	Ref     string
	Commit  string // full object name, or "" for ref-level violations
	What    string // what failed, for the pusher
	Message string // the policy's configured message
}

// String is the line shown to the pusher.
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString("policy ")
	b.WriteString(v.Policy)
	b.WriteString(": ")
	b.WriteString(printable(v.Ref))
	if v.Commit != "" {
		b.WriteString(" ")
		b.WriteString(short(v.Commit))
	}
	b.WriteString(": ")
	b.WriteString(v.What)
	if v.Message != "" {
		b.WriteString(" (")
		b.WriteString(v.Message)
		b.WriteString(")")
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}

// printable keeps hostile refnames, paths and messages from writing
// terminal escapes to the pusher's screen: a string with control bytes or
// invalid UTF-8 is shown quoted, with escapes.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return strconv.Quote(s)
		}
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

// quoted is s in double quotes, escaped as printable does.
func quoted(s string) string {
	if p := printable(s); p != s {
		return p
	}
	return `"` + s + `"`
}

// Decision is whether one policy applies to one ref, for `hookrun plan`.
type Decision struct {
	Ref     string `json:"ref"`
	Policy  string `json:"policy"`
	Label   string `json:"label"` // file and index
	Applies bool   `json:"applies"`
}

// Decisions lists, per ref and policy, whether the policy applies. It runs
// no git command.
func Decisions(pols []*config.Policy, ups []match.RefUpdate) []Decision {
	var out []Decision
	for _, u := range ups {
		for _, p := range pols {
			out = append(out, Decision{Ref: u.Name, Policy: p.Name, Label: p.Label(), Applies: p.Selects(u.Name)})
		}
	}
	return out
}

// Applies reports whether any policy applies to any of the updates.
func Applies(pols []*config.Policy, ups []match.RefUpdate) bool {
	for _, u := range ups {
		for _, p := range pols {
			if p.Selects(u.Name) {
				return true
			}
		}
	}
	return false
}

// maxPerPolicy bounds the lines one policy reports, so a push of 10,000
// bad commits does not flood the pusher's terminal.
const maxPerPolicy = 20

// Result is the outcome of Evaluate.
type Result struct {
	Violations []Violation
	// Omitted counts violations left out per policy beyond maxPerPolicy.
	Omitted map[string]int
	// Checks lists the check jobs the push needs, in policy order, for
	// the caller to run (they need a systemd manager, which this package
	// does not talk to).
	Checks []CheckRun
	// Commits is how many new commits were read (0 when no policy that
	// applies looks at commits): those new to at least one policy.
	Commits int
}

// CheckRun is one check job to run for one policy.
type CheckRun struct {
	Policy *config.Policy
	Refs   []match.RefUpdate
}

// OK reports whether the push may proceed (as far as Evaluate can tell;
// check jobs are run by the caller).
func (r *Result) OK() bool { return len(r.Violations) == 0 }

type applied struct {
	u    match.RefUpdate
	pols []*config.Policy
}

// Evaluate checks the push against pols. Git is called only when a
// policy that applies needs it, and then once per kind of read.
func Evaluate(ctx context.Context, pols []*config.Policy, p Push, git Git) (*Result, error) {
	res := &Result{Omitted: map[string]int{}}
	var refs []applied
	for _, u := range p.Updates {
		var ps []*config.Policy
		for _, pol := range pols {
			if pol.Selects(u.Name) {
				ps = append(ps, pol)
			}
		}
		if len(ps) > 0 {
			refs = append(refs, applied{u, ps})
		}
	}
	if len(refs) == 0 {
		return res, nil
	}
	add := func(v Violation) {
		n := 0
		for _, x := range res.Violations {
			if x.Policy == v.Policy {
				n++
			}
		}
		if n >= maxPerPolicy {
			res.Omitted[v.Policy]++
			return
		}
		res.Violations = append(res.Violations, v)
	}
	if err := refChecks(ctx, refs, p.Cert, git, add); err != nil {
		return nil, err
	}
	if err := commitChecks(ctx, refs, p, git, add, &res.Commits); err != nil {
		return nil, err
	}
	for _, pol := range pols {
		if pol.Check == "" {
			continue
		}
		var ups []match.RefUpdate
		for _, r := range refs {
			if slices.Contains(r.pols, pol) {
				ups = append(ups, r.u)
			}
		}
		if len(ups) > 0 {
			res.Checks = append(res.Checks, CheckRun{Policy: pol, Refs: ups})
		}
	}
	return res, nil
}

// refChecks are those decided on the ref update alone: deny, ref_name,
// signed_push.
func refChecks(ctx context.Context, refs []applied, cert match.PushCert, git Git, add func(Violation)) error {
	for _, r := range refs {
		u := r.u
		var ev match.Event
		for _, pol := range r.pols {
			v := Violation{Policy: pol.Name, Ref: u.Name, Message: pol.Message}
			if len(pol.Deny) > 0 {
				if ev == "" || (ev == match.Update && needsAncestry(pol.Deny)) {
					var err error
					if ev, err = event(ctx, u, pol.Deny, git); err != nil {
						return err
					}
				}
				if slices.Contains(pol.Deny, ev) {
					v.What = denyText(ev)
					add(v)
				}
			}
			if pol.RefName != nil && u.IsCreate() {
				if _, s := u.Short(); !pol.RefName.MatchString(s) {
					v.What = fmt.Sprintf("name %s does not match ref_name '%s'", quoted(s), pol.RefName.String())
					add(v)
				}
			}
			if pol.SignedPush && !u.IsDelete() {
				if why := pushCertProblem(u, cert, pol.Signers); why != "" {
					v.What = why
					add(v)
				}
			}
		}
	}
	return nil
}

// needsAncestry reports whether deny tells update from force.
func needsAncestry(deny []match.Event) bool {
	return slices.Contains(deny, "update") != slices.Contains(deny, "force")
}

// event classifies u, asking git about ancestry only when deny needs it.
func event(ctx context.Context, u match.RefUpdate, deny []match.Event, git Git) (match.Event, error) {
	switch {
	case u.IsCreate():
		return match.Create, nil
	case u.IsDelete():
		return match.Delete, nil
	case !needsAncestry(deny):
		return match.Update, nil // update and force are treated alike
	}
	ff, err := git.IsAncestor(ctx, u.Old, u.New)
	if err != nil {
		return "", fmt.Errorf("%s: %w", printable(u.Name), err)
	}
	if ff {
		return match.Update, nil
	}
	return match.Force, nil
}

func denyText(ev match.Event) string {
	switch ev {
	case match.Create:
		return "creating this ref is not allowed"
	case match.Delete:
		return "deleting this ref is not allowed"
	case match.Force:
		return "force push (not a fast-forward) is not allowed"
	}
	return "updating this ref is not allowed"
}

// pushCertProblem says why a push certificate does not satisfy
// signed_push for u, or "" when it does: git verified it, its nonce is
// fresh, it lists u, and a signer is one of signers (the same gating as
// signed rules).
func pushCertProblem(u match.RefUpdate, cert match.PushCert, signers []string) string {
	sel := match.Selector{Signed: true, Signers: signers}
	if v := sel.Decide(u, match.Update, cert); !v.Match {
		return "signed push required: " + strings.TrimPrefix(v.Reason, "rule needs a signed push; ")
	}
	return ""
}

// needs says which git reads the policies on a set of refs call for.
type needs struct {
	bodies, files, sizes, blobs, sigs bool
}

func needsOf(pols []*config.Policy) (n needs, any bool) {
	for _, p := range pols {
		body := hasBodyCheck(p)
		files := hasFileCheck(p)
		n.bodies = n.bodies || body
		n.files = n.files || files
		n.sizes = n.sizes || p.MaxFileSize > 0 || p.Secrets
		n.blobs = n.blobs || p.Secrets
		n.sigs = n.sigs || p.SignedCommits
		any = any || body || files || p.Linear || p.SignedCommits
	}
	return n, any
}

// commitChecks are those on the objects the push brings: for each policy,
// every commit, tag, tree and blob that becomes reachable from a ref it
// selects and was not reachable from the refs it selects before.
func commitChecks(ctx context.Context, refs []applied, p Push, git Git, add func(Violation), count *int) error {
	w, err := walkPush(ctx, refs, p.Exclude, git)
	if err != nil {
		return err
	}
	*count = len(w.commits)
	if len(w.commits) == 0 && len(w.tags) == 0 && len(w.trees) == 0 && len(w.blobs) == 0 {
		return nil
	}
	var all []*config.Policy
	for _, r := range refs {
		for _, p := range r.pols {
			if !slices.Contains(all, p) {
				all = append(all, p)
			}
		}
	}
	// The file checks (diff-tree, cat-file) and the commit reads (cat-file,
	// log) are independent git processes: they run side by side, each
	// collecting its own violations, reported in a fixed order.
	collect := func(sink *[]Violation) func(id string, pa polAt, what string) {
		return func(id string, pa polAt, what string) {
			*sink = append(*sink, Violation{Policy: pa.p.Name, Ref: refs[pa.ref].u.Name, Commit: id, What: what, Message: pa.p.Message})
		}
	}
	n, _ := needsOf(all)
	sec := &secretScan{push: p}
	for _, r := range refs {
		if !r.u.IsDelete() && slices.ContainsFunc(r.pols, func(p *config.Policy) bool { return p.Secrets }) && !slices.Contains(sec.tips, r.u.New) {
			sec.tips = append(sec.tips, r.u.New)
		}
	}
	var fileViols []Violation
	fileErr := make(chan error, 1)
	if n.files {
		go func() { fileErr <- fileChecks(ctx, w, n, git, sec, collect(&fileViols)) }()
	} else {
		fileErr <- nil
	}
	var commitViols []Violation
	err = commitReads(ctx, w, n, git, collect(&commitViols))
	if ferr := <-fileErr; err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	for _, v := range append(commitViols, fileViols...) {
		add(v)
	}
	return nil
}

func hasBodyCheck(p *config.Policy) bool {
	return p.CommitMessage != nil || p.CommitMessageDeny != nil || p.AuthorEmail != nil || p.CommitterEmail != nil || p.SignedOff
}

// commitReads are the checks on the commits and tags themselves: linear
// history, then messages and identities (one cat-file --batch), then
// signatures (one git log).
func commitReads(ctx context.Context, w *walk, n needs, git Git, viol func(id string, pa polAt, what string)) error {
	for _, t := range w.tags {
		for _, pa := range t.pols {
			checkTag(pa.p, t.info, func(what string) { viol(t.id, pa, what) })
		}
	}
	for i, c := range w.commits {
		for _, pa := range w.polsOf[i] {
			if pa.p.Linear && len(c.Parents) > 1 {
				viol(c.ID, pa, "merge commit; linear history is required (rebase instead of merging)")
			}
		}
	}
	if n.bodies {
		var ids []string
		for i, c := range w.commits {
			if slices.ContainsFunc(w.polsOf[i], func(pa polAt) bool { return hasBodyCheck(pa.p) }) {
				ids = append(ids, c.ID)
			}
		}
		err := git.ReadObjects(ctx, ids, func(id, typ string, body []byte) error {
			i := w.idx[id]
			cm := parseCommit(body)
			for _, pa := range w.polsOf[i] {
				checkBody(pa.p, cm, func(what string) { viol(id, pa, what) })
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if n.sigs {
		var ids []string
		for i, c := range w.commits {
			if slices.ContainsFunc(w.polsOf[i], func(pa polAt) bool { return pa.p.SignedCommits }) {
				ids = append(ids, c.ID)
			}
		}
		sigs, err := git.Signatures(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			i := w.idx[id]
			for _, pa := range w.polsOf[i] {
				if pa.p.SignedCommits {
					if why := signatureProblem(sigs[id], pa.p.Signers); why != "" {
						viol(id, pa, why)
					}
				}
			}
		}
	}
	return nil
}

// checkTag checks a tag object as a commit where a key applies: its
// message against commit_message and commit_message_deny, its tagger
// against author_email and committer_email.
func checkTag(p *config.Policy, t tagInfo, fail func(string)) {
	subject, _, _ := bytes.Cut(t.message, []byte("\n"))
	if p.CommitMessage != nil && !p.CommitMessage.Match(t.message) {
		fail(fmt.Sprintf("tag message %s does not match commit_message '%s'", clip(subject), p.CommitMessage.String()))
	}
	if p.CommitMessageDeny != nil && p.CommitMessageDeny.Match(t.message) {
		fail(fmt.Sprintf("tag message %s matches commit_message_deny '%s'", clip(subject), p.CommitMessageDeny.String()))
	}
	if p.AuthorEmail != nil && !p.AuthorEmail.MatchString(t.tagger) {
		fail(fmt.Sprintf("tagger email %s does not match author_email '%s'", quoted(t.tagger), p.AuthorEmail.String()))
	}
	if p.CommitterEmail != nil && !p.CommitterEmail.MatchString(t.tagger) {
		fail(fmt.Sprintf("tagger email %s does not match committer_email '%s'", quoted(t.tagger), p.CommitterEmail.String()))
	}
}

func signatureProblem(s Signature, signers []string) string {
	switch s.Status {
	case "G":
	case "N", "E":
		if s.SSH && s.Status == "N" {
			return "commit is signed with an SSH key, but the server has no gpg.ssh.allowedSignersFile to verify it against (set it on the server: git config gpg.ssh.allowedSignersFile FILE)"
		}
		if s.SSH {
			return fmt.Sprintf("signature cannot be checked: SSH key %s is not in the server's gpg.ssh.allowedSignersFile", s.Key)
		}
		if s.Status == "E" {
			return fmt.Sprintf("signature cannot be checked: key %s is not in the server's keyring", s.Key)
		}
		return "commit is not signed; signed commits are required (git commit -S)"
	case "":
		return "commit is not signed; signed commits are required (git commit -S)"
	case "U":
		if s.Signer == "" && strings.HasPrefix(s.Key, "SHA256:") {
			// git names no principal: the SSH key is in no line of
			// the allowed signers file.
			return fmt.Sprintf("signature cannot be checked: SSH key %s is not in the server's gpg.ssh.allowedSignersFile", s.Key)
		}
		// A good signature by a key the server's keyring does not mark
		// trusted: acceptable when signers names it.
		if len(signers) == 0 {
			return fmt.Sprintf("signature by %s (key %s) is good but the key is not trusted on the server", s.Signer, s.Key)
		}
	default:
		return fmt.Sprintf("signature does not verify (git status %s, key %s)", s.Status, s.Key)
	}
	if len(signers) > 0 && !slices.Contains(signers, s.Signer) && !slices.Contains(signers, s.Fingerprint) &&
		!slices.Contains(signers, s.Primary) && !slices.Contains(signers, s.Key) {
		return fmt.Sprintf("signed by %s (key %s), which is not one of signers", s.Signer, s.Fingerprint)
	}
	return ""
}

// commitInfo is what the message and identity checks read of a commit.
type commitInfo struct {
	author, committer string // emails
	authorIdent       string // "Name <email>"
	message           []byte
}

// parseCommit reads a raw commit object.
func parseCommit(body []byte) commitInfo {
	var c commitInfo
	c.message = objectHeaders(body, func(k, v []byte) {
		switch string(k) {
		case "author":
			c.authorIdent, c.author = ident(v)
		case "committer":
			_, c.committer = ident(v)
		}
	})
	return c
}

// objectHeaders calls fn with the key and value of each header line of a
// raw commit or tag object, and returns its message.
func objectHeaders(body []byte, fn func(k, v []byte)) []byte {
	hdr, msg, _ := bytes.Cut(body, []byte("\n\n"))
	for len(hdr) > 0 {
		var line []byte
		line, hdr, _ = bytes.Cut(hdr, []byte("\n"))
		if k, v, ok := bytes.Cut(line, []byte(" ")); ok {
			fn(k, v)
		}
	}
	return msg
}

// ident splits "Name <email> 1700000000 +0000" into "Name <email>" and email.
func ident(v []byte) (string, string) {
	lt, gt := bytes.IndexByte(v, '<'), bytes.LastIndexByte(v, '>')
	if lt < 0 || gt < lt {
		return string(v), ""
	}
	return string(v[:gt+1]), string(v[lt+1 : gt])
}

func checkBody(p *config.Policy, c commitInfo, fail func(string)) {
	subject, _, _ := bytes.Cut(c.message, []byte("\n"))
	if p.CommitMessage != nil && !p.CommitMessage.Match(c.message) {
		fail(fmt.Sprintf("message %s does not match commit_message '%s'", clip(subject), p.CommitMessage.String()))
	}
	if p.CommitMessageDeny != nil && p.CommitMessageDeny.Match(c.message) {
		fail(fmt.Sprintf("message %s matches commit_message_deny '%s'", clip(subject), p.CommitMessageDeny.String()))
	}
	if p.AuthorEmail != nil && !p.AuthorEmail.MatchString(c.author) {
		fail(fmt.Sprintf("author email %s does not match author_email '%s'", quoted(c.author), p.AuthorEmail.String()))
	}
	if p.CommitterEmail != nil && !p.CommitterEmail.MatchString(c.committer) {
		fail(fmt.Sprintf("committer email %s does not match committer_email '%s'", quoted(c.committer), p.CommitterEmail.String()))
	}
	if p.SignedOff && !signedOffBy(c.message, c.authorIdent) {
		fail(fmt.Sprintf("no \"Signed-off-by: %s\" (DCO; commit with git commit -s)", printable(c.authorIdent)))
	}
}

// signedOffBy reports whether msg has a Signed-off-by: line for who.
func signedOffBy(msg []byte, who string) bool {
	for len(msg) > 0 {
		var line []byte
		line, msg, _ = bytes.Cut(msg, []byte("\n"))
		if v, ok := bytes.CutPrefix(line, []byte("Signed-off-by:")); ok && string(bytes.TrimSpace(v)) == who {
			return true
		}
	}
	return false
}

func clip(b []byte) string {
	s := string(b)
	if len(s) > 60 {
		s = strings.ToValidUTF8(s[:60], "") + "..."
	}
	return quoted(s)
}
