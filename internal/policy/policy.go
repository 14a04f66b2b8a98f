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
	// Exclude names the commits already accepted: nil means every ref of
	// the repository (a pre-receive hook); `hookrun check` passes the old
	// commits it was given.
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
		kind, s := u.Short()
		for _, p := range pols {
			out = append(out, Decision{Ref: u.Name, Policy: p.Name, Label: p.Label(), Applies: p.Selector.MatchName(kind, s)})
		}
	}
	return out
}

// Applies reports whether any policy applies to any of the updates.
func Applies(pols []*config.Policy, ups []match.RefUpdate) bool {
	for _, u := range ups {
		kind, s := u.Short()
		for _, p := range pols {
			if p.Selector.MatchName(kind, s) {
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
	// applies looks at commits).
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
		kind, s := u.Short()
		var ps []*config.Policy
		for _, pol := range pols {
			if pol.Selector.MatchName(kind, s) {
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
				if slices.Contains(pol.Deny, config.Event(ev)) {
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
func needsAncestry(deny []config.Event) bool {
	return slices.Contains(deny, "update") != slices.Contains(deny, "force")
}

// event classifies u, asking git about ancestry only when deny needs it.
func event(ctx context.Context, u match.RefUpdate, deny []config.Event, git Git) (match.Event, error) {
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
		body := p.CommitMessage != nil || p.CommitMessageDeny != nil || p.AuthorEmail != nil || p.CommitterEmail != nil || p.SignedOff
		files := p.MaxFileSize > 0 || len(p.FileNamesDeny) > 0 || p.MaxPathLength > 0 || p.Secrets
		n.bodies = n.bodies || body
		n.files = n.files || files
		n.sizes = n.sizes || p.MaxFileSize > 0
		n.blobs = n.blobs || p.Secrets
		n.sigs = n.sigs || p.SignedCommits
		any = any || body || files || p.Linear || p.SignedCommits
	}
	return n, any
}

// commitChecks are those on the commits the push brings.
func commitChecks(ctx context.Context, refs []applied, p Push, git Git, add func(Violation), count *int) error {
	exclude := p.Exclude
	var tips []string
	var todo []applied
	var all []*config.Policy
	for _, r := range refs {
		if r.u.IsDelete() {
			continue
		}
		if _, any := needsOf(r.pols); any {
			todo = append(todo, r)
			if !slices.Contains(tips, r.u.New) {
				tips = append(tips, r.u.New)
			}
			for _, p := range r.pols {
				if !slices.Contains(all, p) {
					all = append(all, p)
				}
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	commits, err := git.NewCommits(ctx, tips, exclude)
	if err != nil {
		return err
	}
	*count = len(commits)
	if len(commits) == 0 {
		return nil
	}
	idx := make(map[string]int, len(commits))
	for i, c := range commits {
		idx[c.ID] = i
	}
	// owner[i] is the first ref (in push order) that brings commit i, and
	// pols[i] every policy that applies to it through any ref.
	owner := make([]int, len(commits))
	for i := range owner {
		owner[i] = -1
	}
	polsOf := make([][]*config.Policy, len(commits))
	for ri, r := range todo {
		start, ok := idx[r.u.New]
		if !ok {
			continue
		}
		seen := make([]bool, len(commits))
		stack := []int{start}
		seen[start] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if owner[i] < 0 {
				owner[i] = ri
			}
			for _, p := range r.pols {
				if !slices.Contains(polsOf[i], p) {
					polsOf[i] = append(polsOf[i], p)
				}
			}
			for _, par := range commits[i].Parents {
				if j, ok := idx[par]; ok && !seen[j] {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	// The file checks (diff-tree, cat-file) and the commit reads (cat-file,
	// log) are independent git processes: they run side by side, each
	// collecting its own violations, reported in a fixed order.
	collect := func(sink *[]Violation) func(i int, p *config.Policy, what string) {
		return func(i int, p *config.Policy, what string) {
			*sink = append(*sink, Violation{Policy: p.Name, Ref: todo[owner[i]].u.Name, Commit: commits[i].ID, What: what, Message: p.Message})
		}
	}
	n, _ := needsOf(all)
	sec := &secretScan{push: p}
	for _, r := range todo {
		if slices.ContainsFunc(r.pols, func(p *config.Policy) bool { return p.Secrets }) && !slices.Contains(sec.tips, r.u.New) {
			sec.tips = append(sec.tips, r.u.New)
		}
	}
	var fileViols []Violation
	fileErr := make(chan error, 1)
	if n.files {
		go func() { fileErr <- fileChecks(ctx, commits, idx, polsOf, n, git, sec, collect(&fileViols)) }()
	} else {
		fileErr <- nil
	}
	var commitViols []Violation
	err = commitReads(ctx, commits, idx, owner, polsOf, n, git, collect(&commitViols))
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

// commitReads are the checks on the commits themselves: linear history,
// then messages and identities (one cat-file --batch), then signatures
// (one git log).
func commitReads(ctx context.Context, commits []Commit, idx map[string]int, owner []int, polsOf [][]*config.Policy, n needs, git Git,
	viol func(i int, p *config.Policy, what string)) error {
	for i, c := range commits {
		for _, p := range polsOf[i] {
			if p.Linear && len(c.Parents) > 1 {
				viol(i, p, "merge commit; linear history is required (rebase instead of merging)")
			}
		}
	}
	if n.bodies {
		ids := make([]string, 0, len(commits))
		for i, c := range commits {
			if owner[i] >= 0 {
				ids = append(ids, c.ID)
			}
		}
		err := git.ReadObjects(ctx, ids, func(id, typ string, body []byte) error {
			i := idx[id]
			cm := parseCommit(body)
			for _, p := range polsOf[i] {
				checkBody(p, cm, func(what string) { viol(i, p, what) })
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if n.sigs {
		var ids []string
		for i, c := range commits {
			if slices.ContainsFunc(polsOf[i], func(p *config.Policy) bool { return p.SignedCommits }) {
				ids = append(ids, c.ID)
			}
		}
		sigs, err := git.Signatures(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			i := idx[id]
			for _, p := range polsOf[i] {
				if p.SignedCommits {
					if why := signatureProblem(sigs[id], p.Signers); why != "" {
						viol(i, p, why)
					}
				}
			}
		}
	}
	return nil
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
	hdr, msg, _ := bytes.Cut(body, []byte("\n\n"))
	c.message = msg
	for len(hdr) > 0 {
		var line []byte
		line, hdr, _ = bytes.Cut(hdr, []byte("\n"))
		if k, v, ok := bytes.Cut(line, []byte(" ")); ok {
			switch string(k) {
			case "author":
				c.authorIdent, c.author = ident(v)
			case "committer":
				_, c.committer = ident(v)
			}
		}
	}
	return c
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
