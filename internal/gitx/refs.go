package gitx

import (
	"fmt"
	"strings"

	"github.com/hookrun/hookrun/internal/match"
)

// FullRefName turns a ref a person typed into a refname: "main" is
// refs/heads/main, or refs/tags/main when gitDir has that tag and no such
// branch. A name that is both is an error saying how to tell them apart.
func FullRefName(gitDir, ref string) (string, error) {
	if strings.HasPrefix(ref, "refs/") {
		return ref, nil
	}
	_, errHead := RefObject(gitDir, "refs/heads/"+ref)
	_, errTag := RefObject(gitDir, "refs/tags/"+ref)
	switch {
	case errHead == nil && errTag == nil:
		return "", fmt.Errorf("%s is both a branch and a tag in %s: give refs/heads/%s or refs/tags/%s", ref, gitDir, ref, ref)
	case errTag == nil:
		return "refs/tags/" + ref, nil
	}
	return "refs/heads/" + ref, nil
}

// ZeroID is the all-zero object name as long as like (SHA-1 or SHA-256).
func ZeroID(like string) string { return strings.Repeat("0", len(like)) }

// TipParent is the old side of an update that brought ref to tip when no
// reflog says: tip's first parent, or all zeros (a creation) for a tag or a
// root commit. ok is false for the creation.
func TipParent(gitDir, ref, tip string) (old string, ok bool) {
	if parent, err := RevParse(gitDir, tip+"~1"); err == nil && !strings.HasPrefix(ref, "refs/tags/") {
		return parent, true
	}
	return ZeroID(tip), false
}

// Placeholders for a simulated update of a ref not in the repository.
var (
	placeholderOld = strings.Repeat("1", 40)
	placeholderNew = strings.Repeat("2", 40)
)

// SimulatedUpdate is the ref update 'hookrun plan --ref REF [--old SHA]
// [--new SHA]' stands for: without old and new, the ref's last push as
// gitDir shows it (from the reflog, else a branch's tip over its parent, a
// tag's creation); a ref not in the repository gets placeholder object
// names, and real is false. info is told which guess was made. Every error
// is a mistake in ref, old or new.
func SimulatedUpdate(gitDir, ref, old, new string, info func(string)) (u match.RefUpdate, real bool, err error) {
	if ref, err = FullRefName(gitDir, ref); err != nil {
		return u, false, err
	}
	explicit := old != "" || new != ""
	if !explicit {
		if tip, err := RefObject(gitDir, ref); err == nil {
			new, explicit = tip, true
			if o, _, ok := LastUpdate(gitDir, ref, tip); ok {
				old = o // what the last push really did, from the reflog
			} else {
				var guessed bool
				if old, guessed = TipParent(gitDir, ref, tip); guessed {
					info(ref + " has no reflog: simulating its tip over its first parent, which may not be what its last push did ('hookrun install' turns on core.logAllRefUpdates)")
				}
			}
		} else {
			info(fmt.Sprintf("%s is not in %s: simulating an update with placeholder object names (give --new SHA for a real one)", ref, gitDir))
		}
	}
	if old == "" {
		old = placeholderOld
	}
	if new == "" {
		new = placeholderNew
	}
	u, err = match.ParseRefLine(old + " " + new + " " + ref)
	if err != nil {
		return u, false, err
	}
	return u, explicit, nil
}

// ExistingUpdate is the update of ref from old to new that 'hookrun check'
// judges, both read from gitDir: new defaults to the ref's tip, old to new's
// first parent ("0": the ref's whole history, a creation). Every error is a
// mistake in ref, old or new, said for the person who gave them.
func ExistingUpdate(gitDir, ref, old, new string) (match.RefUpdate, error) {
	full, err := FullRefName(gitDir, ref)
	if err != nil {
		return match.RefUpdate{}, err
	}
	if new == "" {
		// A ref not in the repository has no commits to check.
		if new, err = RevParse(gitDir, full); err != nil {
			return match.RefUpdate{}, fmt.Errorf("%s is not in %s; give --new SHA", full, gitDir)
		}
	} else if new, err = RevParse(gitDir, new); err != nil {
		return match.RefUpdate{}, fmt.Errorf("--new %s does not resolve in %s", new, gitDir)
	}
	switch {
	case old == "":
		if p, err := RevParse(gitDir, new+"~1"); err == nil {
			old = p
		} else {
			old = ZeroID(new)
		}
	case old == "0":
		old = ZeroID(new)
	default:
		if old, err = RevParse(gitDir, old); err != nil {
			return match.RefUpdate{}, fmt.Errorf("--old does not resolve in %s", gitDir)
		}
	}
	return match.ParseRefLine(old + " " + new + " " + full)
}

// TipUpdate is the update that brought ref (a full refname) to its current
// tip, as 'hookrun run' starts a job for it: the tip over its first parent,
// a creation for a tag or a root commit.
func TipUpdate(gitDir, ref string) (match.RefUpdate, error) {
	tip, err := RefObject(gitDir, ref)
	if err != nil {
		return match.RefUpdate{}, fmt.Errorf("%s has no %s: 'hookrun run' starts a job for a ref's current tip", gitDir, ref)
	}
	old, _ := TipParent(gitDir, ref, tip)
	return match.RefUpdate{Old: old, New: tip, Name: ref}, nil
}
