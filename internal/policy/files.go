package policy

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/notify"
)

// blobUse is one place a blob enters for one policy: the commit (or tagged
// tree) and path, or for a tagged blob the blob itself with no path.
type blobUse struct {
	from string
	path []byte
	pa   polAt
}

// tagged is how a blob a tag points at directly is named to the pusher.
const tagged = "(blob)"

// fileChecks reads every file the new commits add or change and every
// file of a tagged tree (one git diff-tree), then sizes (one cat-file
// --batch-check) and, for secrets, contents (one cat-file --batch). Each
// blob is checked by every policy it enters for, however many commits
// bring it; a blob over a policy's max_file_size is not read for it, and
// not read at all when no other policy scans it.
func fileChecks(ctx context.Context, w *walk, n needs, git Git, sec *secretScan, viol func(id string, pa polAt, what string)) error {
	var todo []Commit
	polsOf := map[string][]polAt{}
	for i, c := range w.commits {
		if slices.ContainsFunc(w.polsOf[i], func(pa polAt) bool { return hasFileCheck(pa.p) }) {
			todo = append(todo, c)
			polsOf[c.ID] = w.polsOf[i]
		}
	}
	for _, t := range w.trees {
		if slices.ContainsFunc(t.pols, func(pa polAt) bool { return hasFileCheck(pa.p) }) {
			todo = append(todo, Commit{ID: t.id, Parents: []string{EmptyTree(t.id)}})
			polsOf[t.id] = t.pols
		}
	}
	var blobs []string
	uses := map[string][]blobUse{}
	addUse := func(blob string, u blobUse) {
		us, seen := uses[blob]
		if !seen {
			blobs = append(blobs, blob)
		}
		if !slices.ContainsFunc(us, func(x blobUse) bool { return x.pa.p == u.pa.p }) {
			uses[blob] = append(us, u)
		}
	}
	err := git.Changes(ctx, todo, func(from string, ch Change) error {
		if ch.Mode == "160000" { // a submodule: no blob here
			return nil
		}
		var path []byte // cloned once, when a blob use keeps it
		for _, pa := range polsOf[from] {
			p := pa.p
			if !hasFileCheck(p) {
				continue
			}
			if p.MaxPathLength > 0 && uint64(len(ch.Path)) > uint64(p.MaxPathLength) {
				viol(from, pa, fmt.Sprintf("path %s is %d bytes long; max_path_length is %d", printable(string(ch.Path)), len(ch.Path), p.MaxPathLength))
			}
			for _, re := range p.FileNamesDeny {
				if re.Match(ch.Path) {
					viol(from, pa, fmt.Sprintf("path %s matches file_names_deny '%s'", printable(string(ch.Path)), re.String()))
					break
				}
			}
			if p.MaxFileSize > 0 || p.Secrets {
				if us := uses[ch.Blob]; slices.ContainsFunc(us, func(x blobUse) bool { return x.pa.p == p }) {
					continue
				}
				if path == nil {
					path = slices.Clone(ch.Path)
				}
				addUse(ch.Blob, blobUse{from, path, pa})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range w.blobs {
		for _, pa := range b.pols {
			if pa.p.MaxFileSize > 0 || pa.p.Secrets {
				addUse(b.id, blobUse{b.id, []byte(tagged), pa})
			}
		}
	}
	if !n.sizes || len(blobs) == 0 {
		return nil
	}
	info, err := git.ObjectInfo(ctx, blobs)
	if err != nil {
		return err
	}
	var scan []string
	for _, b := range blobs {
		size := info[b].Size
		read := false
		for _, u := range uses[b] {
			p := u.pa.p
			over := p.MaxFileSize > 0 && uint64(size) > uint64(p.MaxFileSize)
			if over {
				viol(u.from, u.pa, fmt.Sprintf("file %s is %s; max_file_size is %s", printable(string(u.path)),
					notify.FormatSize(uint64(size)), notify.FormatSize(uint64(p.MaxFileSize))))
			}
			read = read || p.Secrets && !over
		}
		if read {
			scan = append(scan, b)
		}
	}
	if !n.blobs || len(scan) == 0 {
		return nil
	}
	if err := sec.load(ctx, git); err != nil {
		return err
	}
	parentOf := func(from string) string {
		if i, ok := w.idx[from]; ok && len(w.commits[i].Parents) > 0 {
			return w.commits[i].Parents[0]
		}
		return "" // a root commit, a tagged tree or blob: every line is new
	}
	type place struct{ from, path string }
	err = git.ReadObjects(ctx, scan, func(id, typ string, body []byte) error {
		// One scan per place the blob enters (commit and path), reported
		// to every policy that scans it there and has no lower size limit.
		size := int64(len(body))
		var places []place
		byPlace := map[place][]blobUse{}
		for _, u := range uses[id] {
			p := u.pa.p
			if !p.Secrets || p.MaxFileSize > 0 && uint64(size) > uint64(p.MaxFileSize) {
				continue
			}
			k := place{u.from, string(u.path)}
			if _, ok := byPlace[k]; !ok {
				places = append(places, k)
			}
			byPlace[k] = append(byPlace[k], u)
		}
		for _, k := range places {
			us := byPlace[k]
			err := sec.blob(bytes.NewReader(body), k.path, k.from, parentOf(k.from), func(what string) {
				for _, u := range us {
					viol(u.from, u.pa, what)
				}
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return sec.flush(ctx, git)
}

func hasFileCheck(p *config.Policy) bool {
	return p.MaxFileSize > 0 || len(p.FileNamesDeny) > 0 || p.MaxPathLength > 0 || p.Secrets
}
