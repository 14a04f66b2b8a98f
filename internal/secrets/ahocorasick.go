package secrets

// matcher finds every occurrence of a set of keywords, ASCII letters
// compared without case, in one pass: an Aho-Corasick automaton compiled
// to a DFA over byte classes (the bytes the keywords use, upper and lower
// case folded, and one class for every other byte), so the inner loop is
// one table load per byte.
type matcher struct {
	class  [256]uint8
	nclass int
	next   []int32   // state*nclass + class -> state
	out    [][]int32 // keywords ending at a state (through fail links too)
	hasOut []bool
	kwLen  []int
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func newMatcher(keywords []string) *matcher {
	m := &matcher{nclass: 1}
	for _, k := range keywords {
		for i := 0; i < len(k); i++ {
			b := lower(k[i])
			if m.class[b] == 0 {
				if m.nclass == 256 {
					break
				}
				m.class[b] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}
	// The trie, with -1 for no edge.
	n := m.nclass
	goTo := make([]int32, n)
	for i := range goTo {
		goTo[i] = -1
	}
	m.out = [][]int32{nil}
	for ki, k := range keywords {
		s := int32(0)
		for i := 0; i < len(k); i++ {
			c := int(m.class[lower(k[i])])
			if goTo[int(s)*n+c] < 0 {
				goTo[int(s)*n+c] = int32(len(m.out))
				m.out = append(m.out, nil)
				for range n {
					goTo = append(goTo, -1)
				}
			}
			s = goTo[int(s)*n+c]
		}
		m.out[s] = append(m.out[s], int32(ki))
		m.kwLen = append(m.kwLen, len(k))
	}
	// Breadth first: fail links, outputs merged, missing edges filled.
	fail := make([]int32, len(m.out))
	var queue []int32
	for c := range n {
		if t := goTo[c]; t < 0 {
			goTo[c] = 0
		} else {
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], m.out[fail[s]]...)
		for c := range n {
			t := goTo[int(s)*n+c]
			if t < 0 {
				goTo[int(s)*n+c] = goTo[int(fail[s])*n+c]
				continue
			}
			fail[t] = goTo[int(fail[s])*n+c]
			queue = append(queue, t)
		}
	}
	m.next = goTo
	m.hasOut = make([]bool, len(m.out))
	for s, o := range m.out {
		m.hasOut[s] = len(o) > 0
	}
	return m
}

// scan calls fn for every keyword occurrence in data, with the offset
// where it starts, in order of where it ends.
func (m *matcher) scan(data []byte, fn func(start, kw int)) {
	s, n, next, class, hasOut := int32(0), int32(m.nclass), m.next, &m.class, m.hasOut
	for i, b := range data {
		s = next[s*n+int32(class[b])]
		if hasOut[s] {
			for _, k := range m.out[s] {
				fn(i+1-m.kwLen[k], int(k))
			}
		}
	}
}
