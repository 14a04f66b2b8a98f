package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/notify"
)

// fileChecks reads every file the new commits add or change (one git
// diff-tree), then sizes (one cat-file --batch-check) and contents for
// secrets (one cat-file --batch), each blob once.
func fileChecks(ctx context.Context, commits []Commit, idx map[string]int, polsOf [][]*config.Policy, n needs, git Git,
	viol func(i int, p *config.Policy, what string)) error {
	var todo []Commit
	for i, c := range commits {
		if slices.ContainsFunc(polsOf[i], hasFileCheck) {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	type use struct {
		commit int
		path   []byte
	}
	var sizeBlobs, secretBlobs []string
	firstUse := map[string]use{} // blob -> where it first appears
	bySecret := map[string]bool{}
	bySize := map[string]bool{}
	err := git.Changes(ctx, todo, func(commit string, ch Change) error {
		i := idx[commit]
		if ch.Mode == "160000" { // a submodule: no blob here
			return nil
		}
		for _, p := range polsOf[i] {
			if p.MaxPathLength > 0 && uint64(len(ch.Path)) > uint64(p.MaxPathLength) {
				viol(i, p, fmt.Sprintf("path %s is %d bytes long; max_path_length is %d", printable(string(ch.Path)), len(ch.Path), p.MaxPathLength))
			}
			for _, re := range p.FileNamesDeny {
				if re.Match(ch.Path) {
					viol(i, p, fmt.Sprintf("path %s matches file_names_deny '%s'", printable(string(ch.Path)), re.String()))
					break
				}
			}
		}
		if _, ok := firstUse[ch.Blob]; !ok {
			firstUse[ch.Blob] = use{i, slices.Clone(ch.Path)}
		}
		if !bySize[ch.Blob] && slices.ContainsFunc(polsOf[i], func(p *config.Policy) bool { return p.MaxFileSize > 0 }) {
			bySize[ch.Blob] = true
			sizeBlobs = append(sizeBlobs, ch.Blob)
		}
		if !bySecret[ch.Blob] && slices.ContainsFunc(polsOf[i], func(p *config.Policy) bool { return p.Secrets }) {
			bySecret[ch.Blob] = true
			secretBlobs = append(secretBlobs, ch.Blob)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n.sizes && len(sizeBlobs) > 0 {
		sizes, err := git.ObjectSizes(ctx, sizeBlobs)
		if err != nil {
			return err
		}
		for _, b := range sizeBlobs {
			u := firstUse[b]
			for _, p := range polsOf[u.commit] {
				if p.MaxFileSize > 0 && uint64(sizes[b]) > uint64(p.MaxFileSize) {
					viol(u.commit, p, fmt.Sprintf("file %s is %s; max_file_size is %s", printable(string(u.path)),
						notify.FormatSize(uint64(sizes[b])), notify.FormatSize(uint64(p.MaxFileSize))))
				}
			}
		}
	}
	if n.blobs && len(secretBlobs) > 0 {
		err := git.ReadObjects(ctx, secretBlobs, func(id, typ string, body []byte) error {
			u := firstUse[id]
			f, ok := ScanSecrets(body)
			if !ok {
				return nil
			}
			for _, p := range polsOf[u.commit] {
				if p.Secrets {
					viol(u.commit, p, fmt.Sprintf("%s:%d looks like %s; remove it from the history (and revoke it)", printable(string(u.path)), f.Line, withArticle(f.Kind)))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func hasFileCheck(p *config.Policy) bool {
	return p.MaxFileSize > 0 || len(p.FileNamesDeny) > 0 || p.MaxPathLength > 0 || p.Secrets
}
