package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookrun/hookrun/internal/config"
)

// The object walk: which objects a push brings, and which policies check
// each. An object is checked by a policy when it becomes reachable from a
// ref the policy selects and was not reachable from the refs the policy
// selects before the push, through whichever ref it enters: no "first
// use" attribution, so where an object came from (an earlier push to a
// ref no policy selects, another ref of the same push, a tag) and the
// dates the pusher chose change nothing.

// polAt is a policy that checks an object, with the ref through which the
// object enters for it (an index into the push's applied refs).
type polAt struct {
	p   *config.Policy
	ref int
}

// addPol adds p (entering through ref) to list unless it is there.
func addPol(list []polAt, p *config.Policy, ref int) []polAt {
	for _, x := range list {
		if x.p == p {
			return list
		}
	}
	return append(list, polAt{p, ref})
}

// maxTagDepth bounds a chain of tags pointing at tags.
const maxTagDepth = 16

// walk is what a push brings, with the policies that check each object.
type walk struct {
	commits []Commit
	idx     map[string]int
	polsOf  [][]polAt // per commit
	tags    []tagUse  // tag objects
	trees   []objUse  // trees a tag (or ref) points at directly: every file is checked
	blobs   []objUse  // blobs a tag (or ref) points at directly
}

type tagUse struct {
	id   string
	info tagInfo
	pols []polAt
}

type objUse struct {
	id   string
	pols []polAt
}

// tagInfo is what the checks read of a tag object.
type tagInfo struct {
	object, typ string // what it points at, as the tag says
	tagger      string // email
	message     []byte
}

// parseTag reads a raw tag object.
func parseTag(body []byte) tagInfo {
	var t tagInfo
	t.message = objectHeaders(body, func(k, v []byte) {
		switch string(k) {
		case "object":
			t.object = string(v)
		case "type":
			t.typ = string(v)
		case "tagger":
			_, t.tagger = ident(v)
		}
	})
	return t
}

// needsObjects reports whether p checks anything beyond the ref update.
func needsObjects(p *config.Policy) bool {
	_, any := needsOf([]*config.Policy{p})
	return any
}

// walkPush finds the objects the push brings for each policy. exclude,
// when not nil, names the objects already accepted for every policy
// (`hookrun check`); nil means the repository's refs each policy selects.
func walkPush(ctx context.Context, refs []applied, exclude []string, git Git) (*walk, error) {
	w := &walk{idx: map[string]int{}}
	var todo []int
	var tips []string
	seenTip := map[string]bool{}
	for ri, r := range refs {
		if r.u.IsDelete() {
			continue
		}
		if _, any := needsOf(r.pols); !any {
			continue
		}
		todo = append(todo, ri)
		if !seenTip[r.u.New] {
			seenTip[r.u.New] = true
			tips = append(tips, r.u.New)
		}
	}
	if len(todo) == 0 {
		return w, nil
	}

	// Before the push: per policy, the objects the refs it selects point at.
	var existing []Ref
	if exclude == nil {
		var err error
		if existing, err = git.Refs(ctx); err != nil {
			return nil, err
		}
	}
	type group struct {
		exclude []string
		old     map[string]bool
		tips    []string
		tipSet  map[string]bool
		starts  map[*config.Policy][]polStart
		order   []*config.Policy
	}
	groups := map[string]*group{}
	var groupOrder []*group
	groupOf := map[*config.Policy]*group{}
	for _, ri := range todo {
		for _, p := range refs[ri].pols {
			if groupOf[p] != nil || !needsObjects(p) {
				continue
			}
			ex := exclude
			if exclude == nil {
				ex = []string{}
				for _, r := range existing {
					if p.Selects(r.Name) {
						ex = append(ex, r.ID)
					}
				}
			}
			key := strings.Join(ex, "\n")
			g := groups[key]
			if g == nil {
				g = &group{exclude: ex, old: make(map[string]bool, len(ex)), tipSet: map[string]bool{}, starts: map[*config.Policy][]polStart{}}
				for _, id := range ex {
					g.old[id] = true
				}
				groups[key] = g
				groupOrder = append(groupOrder, g)
			}
			groupOf[p] = g
		}
	}

	// The pushed objects' types, and the tags among them peeled (by the
	// objects' real types: a tag's type header is the pusher's word).
	types, err := git.ObjectInfo(ctx, tips)
	if err != nil {
		return nil, err
	}
	tags := map[string]tagInfo{}
	queue := tagsAmong(tips, types, tags)
	for depth := 0; len(queue) > 0; depth++ {
		if depth == maxTagDepth {
			return nil, fmt.Errorf("tag %s: a chain of more than %d tags", queue[0], maxTagDepth)
		}
		var targets []string
		err := git.ReadObjects(ctx, queue, func(id, typ string, body []byte) error {
			t := parseTag(body)
			tags[id] = t
			if _, ok := types[t.object]; !ok && t.object != "" {
				targets = append(targets, t.object)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		more, err := git.ObjectInfo(ctx, targets)
		if err != nil {
			return nil, err
		}
		for id, o := range more {
			types[id] = o
		}
		queue = tagsAmong(targets, types, tags)
	}

	tagIdx := map[string]int{}
	treeIdx := map[string]int{}
	blobIdx := map[string]int{}
	use := func(list *[]objUse, at map[string]int, id string, p *config.Policy, ri int) {
		i, ok := at[id]
		if !ok {
			i = len(*list)
			at[id] = i
			*list = append(*list, objUse{id: id})
		}
		(*list)[i].pols = addPol((*list)[i].pols, p, ri)
	}
	for _, ri := range todo {
		for _, p := range refs[ri].pols {
			g := groupOf[p]
			if g == nil {
				continue
			}
			id := refs[ri].u.New
			old := false
			for depth := 0; types[id].Type == "tag" && depth <= maxTagDepth; depth++ {
				if old = g.old[id]; old {
					break // the rest of the chain was there before
				}
				i, ok := tagIdx[id]
				if !ok {
					i = len(w.tags)
					tagIdx[id] = i
					w.tags = append(w.tags, tagUse{id: id, info: tags[id]})
				}
				w.tags[i].pols = addPol(w.tags[i].pols, p, ri)
				id = tags[id].object
			}
			if old || g.old[id] {
				continue
			}
			switch types[id].Type {
			case "commit":
				if _, ok := g.starts[p]; !ok {
					g.order = append(g.order, p)
				}
				g.starts[p] = append(g.starts[p], polStart{id, ri})
				if !g.tipSet[id] {
					g.tipSet[id] = true
					g.tips = append(g.tips, id)
				}
			case "tree":
				use(&w.trees, treeIdx, id, p, ri)
			case "blob":
				use(&w.blobs, blobIdx, id, p, ri)
			}
		}
	}

	// The new commits: one rev-list per set of refs the policies select
	// before the push (usually one), then, per policy, those reachable
	// from the refs it selects in the push.
	for _, g := range groupOrder {
		if len(g.tips) == 0 {
			continue
		}
		cs, err := git.NewCommits(ctx, g.tips, g.exclude)
		if err != nil {
			return nil, err
		}
		in := make([]int, len(cs))
		for k, c := range cs {
			i, ok := w.idx[c.ID]
			if !ok {
				i = len(w.commits)
				w.idx[c.ID] = i
				w.commits = append(w.commits, c)
				w.polsOf = append(w.polsOf, nil)
			}
			in[k] = i
		}
		member := make([]bool, len(w.commits))
		for _, i := range in {
			member[i] = true
		}
		for _, p := range g.order {
			w.reach(p, g.starts[p], member)
		}
	}
	return w, nil
}

// polStart is a commit a policy's ref points at in the push.
type polStart struct {
	id  string
	ref int
}

// reach adds p to every commit of member reachable from starts, with the
// ref it is reached from.
func (w *walk) reach(p *config.Policy, starts []polStart, member []bool) {
	type item struct{ i, ref int }
	seen := make([]bool, len(member))
	var stack []item
	for _, s := range starts {
		if i, ok := w.idx[s.id]; ok && i < len(member) && member[i] && !seen[i] {
			seen[i] = true
			stack = append(stack, item{i, s.ref})
		}
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		w.polsOf[it.i] = addPol(w.polsOf[it.i], p, it.ref)
		for _, par := range w.commits[it.i].Parents {
			if j, ok := w.idx[par]; ok && j < len(member) && member[j] && !seen[j] {
				seen[j] = true
				stack = append(stack, item{j, it.ref})
			}
		}
	}
}

// tagsAmong lists the ids of ids that are tags not yet read.
func tagsAmong(ids []string, types map[string]Object, read map[string]tagInfo) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if _, done := read[id]; types[id].Type == "tag" && !done && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
