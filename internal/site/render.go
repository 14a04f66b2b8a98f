package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

var funcs = template.FuncMap{
	"kind":  func(k outcome.Kind) string { return k.String() },
	"mark":  mark,
	"short": func(s string) string { return s[:min(len(s), 10)] },
	"time":  timeText,
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur":   outcome.FormatDuration,
	"file":  fileName,
	"run":   func(r outcome.Record) string { return "runs/" + fileName(r.Unit) + ".html" },
	"zero":  func(s string) bool { return strings.Trim(s, "0") == "" },
	"label": kindLabel,
	"sorted": func(m map[string]outcome.Record) []outcome.Record {
		var rs []outcome.Record
		for _, k := range slices.Sorted(maps.Keys(m)) {
			rs = append(rs, m[k])
		}
		return rs
	},
	"sortedKeys": func(m map[string]outcome.Record) []string { return slices.Sorted(maps.Keys(m)) },
}

// mark is the outcome's symbol: colour is never the only sign.
func mark(k outcome.Kind) string {
	switch k {
	case outcome.Success:
		return "✓"
	case outcome.Failure:
		return "✗"
	case outcome.Cancelled:
		return "⊘"
	case outcome.Lost:
		return "?"
	case outcome.NotStarted:
		return "!"
	}
	return "·"
}

// kindLabel is the outcome's word on pages and badges.
func kindLabel(k outcome.Kind) string {
	switch k {
	case outcome.Success:
		return "passing"
	case outcome.Failure:
		return "failing"
	case outcome.NotStarted:
		return "not started"
	}
	return k.String()
}

const head = `{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hookrun">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Root}}style.css">
{{if .Feed}}<link rel="alternate" type="application/atom+xml" title="{{.Title}}" href="{{.Feed}}">{{end}}
</head>
<body>
<header><nav><a href="{{.Root}}index.html">{{.SiteTitle}}</a>{{range .Crumbs}} / <a href="{{.Href}}">{{.Text}}</a>{{end}}</nav></header>
<main>
{{end}}
{{define "foot"}}</main>
<footer>Written by hookrun{{if not .Updated.IsZero}} at {{time .Updated}}{{end}}. Static page: reload for news.</footer>
</body>
</html>
{{end}}
{{define "chip"}}<span class="chip k-{{kind .Kind}}" title="{{kind .Kind}}">{{mark .Kind}} {{label .Kind}}</span>{{end}}
`

// The pages' templates are parsed on first use: every hookrun process
// links this package, and most (a hook run, status) write no page.
var indexTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index").Funcs(funcs).Parse(head + `{{template "head" .}}
<h1>{{.SiteTitle}}</h1>
{{if not .Repos}}<p class="empty">No runs yet.</p>{{end}}
{{range .Repos}}{{$repo := .Name}}
<section class="card">
<h2><a href="{{file .Name}}/index.html">{{.Name}}</a> {{template "chip" .Sum.Last}}</h2>
<p class="meta">last run {{time .Sum.Last.Started}}: {{.Sum.Last.Job}} on {{.Sum.Last.Branch}}</p>
<div class="cols">
<div><h3>Branches</h3><ul class="latest">{{range sorted .Sum.Branches}}
<li><a href="{{file $repo}}/{{run .}}">{{template "chip" .}} <span class="name">{{.Branch}}</span></a> <span class="meta">{{.Job}}</span></li>{{end}}
</ul></div>
<div><h3>Jobs</h3><ul class="latest">{{range sorted .Sum.Jobs}}
<li><a href="{{file $repo}}/{{run .}}">{{template "chip" .}} <span class="name">{{.Job}}</span></a> <span class="meta">{{.Branch}}</span></li>{{end}}
</ul></div>
</div>
</section>
{{end}}
{{template "foot" .}}`))
})

var repoTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("repo").Funcs(funcs).Parse(head + `{{template "head" .}}
<h1>{{.Repo}}</h1>
<p class="meta"><a href="feed.atom">Atom feed</a> · badges: <code>badge/job/JOB.svg</code>, <code>badge/branch/BRANCH.svg</code></p>
<div class="cols">
<section><h2>Branches</h2><ul class="latest">{{range sorted .Index.Branches}}
<li><a href="{{run .}}">{{template "chip" .}} <span class="name">{{.Branch}}</span></a> <img class="badge" src="badge/branch/{{file .Branch}}.svg" alt="badge for {{.Branch}}"></li>{{end}}
</ul></section>
<section><h2>Jobs</h2><ul class="latest">{{range sorted .Index.Jobs}}
<li><a href="{{run .}}">{{template "chip" .}} <span class="name">{{.Job}}</span></a> <img class="badge" src="badge/job/{{file .Job}}.svg" alt="badge for {{.Job}}"></li>{{end}}
</ul></section>
</div>
<h2>Recent runs</h2>
<table class="runs">
<thead><tr><th>Outcome</th><th>Job</th><th>Ref</th><th>Commit</th><th>Pusher</th><th>Started</th><th>Duration</th><th>Reason</th></tr></thead>
<tbody>{{range .Index.Runs}}
<tr class="k-{{kind .Kind}}"><td><a href="{{run .}}">{{template "chip" .}}</a></td><td class="name"><a href="{{run .}}">{{.Job}}</a></td><td>{{.Branch}}</td><td><code>{{short .Sha}}</code></td><td>{{.Pusher}}</td><td>{{time .Started}}</td><td>{{dur .Duration}}</td><td class="reason">{{.Reason}}</td></tr>{{end}}
</tbody>
</table>
{{template "foot" .}}`))
})

var runTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("run").Funcs(funcs).Parse(head + `{{template "head" .}}
{{with .Run}}
<h1>{{.Job}} <span class="on">on {{.Branch}}</span></h1>
<p class="outcome k-{{kind .Kind}}">{{template "chip" .}} {{.Summary}}</p>
<dl class="facts">
<dt>Repository</dt><dd><a href="../index.html">{{.Repo}}</a></dd>
<dt>Job</dt><dd>{{.Job}}</dd>
<dt>Outcome</dt><dd>{{kind .Kind}}</dd>
{{if .Reason}}<dt>Reason</dt><dd class="reason">{{.Reason}}</dd>{{end}}
<dt>Ref</dt><dd><code>{{.Ref}}</code></dd>
{{if .Sha}}<dt>Commit</dt><dd><code class="sha">{{.Sha}}</code></dd>{{end}}
{{if and .Old (not (zero .Old))}}<dt>Before</dt><dd><code class="sha">{{.Old}}</code></dd>{{end}}
{{if .Pusher}}<dt>Pusher</dt><dd>{{.Pusher}}</dd>{{end}}
{{if .Host}}<dt>Host</dt><dd>{{.Host}}</dd>{{end}}
<dt>Started</dt><dd>{{time .Started}}</dd>
<dt>Duration</dt><dd>{{dur .Duration}}</dd>
<dt>Unit</dt><dd><code>{{.Unit}}</code></dd>
</dl>
{{end}}
<h2>Output</h2>
{{if .ShowLog}}{{if .Run.Log}}<pre class="log">{{.Run.Log}}</pre>{{else}}<p class="empty">The job wrote nothing.</p>{{end}}
{{else}}<p class="empty">Not published here ([site] logs is off). On the git server: <code>hookrun logs {{.Run.Unit}}</code></p>{{end}}
{{template "foot" .}}`))
})

type crumb struct{ Href, Text string }

// page is what every template gets.
type page struct {
	Title, SiteTitle, Root, Feed string
	Crumbs                       []crumb
	Updated                      time.Time

	Repos   []namedSummary
	Repo    string
	Index   repoIndex
	Run     outcome.Record
	ShowLog bool
}

type namedSummary struct {
	Name string
	Sum  repoSummary
}

func (s *Site) title() string {
	if s.Title != "" {
		return s.Title
	}
	return "hookrun"
}

func render(t *template.Template, p page) []byte {
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		// The templates are fixed and their data typed: an error here is
		// a bug, shown on the page rather than failing the unit's end.
		fmt.Fprintf(&b, "\n<p>hookrun: error: rendering this page failed: %s</p>", template.HTMLEscapeString(err.Error()))
	}
	return b.Bytes()
}

func (s *Site) indexPage(sum summary) []byte {
	p := page{Title: s.title(), SiteTitle: s.title(), Root: ""}
	for _, name := range slices.Sorted(maps.Keys(sum.Repos)) {
		rs := sum.Repos[name]
		p.Repos = append(p.Repos, namedSummary{name, rs})
		if end := rs.Last.Started.Add(rs.Last.Duration); end.After(p.Updated) {
			p.Updated = end
		}
	}
	return render(indexTmpl(), p)
}

func (s *Site) repoPage(idx repoIndex) []byte {
	p := page{Title: idx.Repo + " · " + s.title(), SiteTitle: s.title(), Root: "../", Feed: "feed.atom",
		Crumbs: []crumb{{"index.html", idx.Repo}}, Repo: idx.Repo, Index: idx}
	if len(idx.Runs) > 0 {
		p.Updated = idx.Runs[0].Started.Add(idx.Runs[0].Duration)
	}
	return render(repoTmpl(), p)
}

func (s *Site) runPage(r outcome.Record) []byte {
	p := page{Title: fmt.Sprintf("%s %s on %s · %s", mark(r.Kind), r.Job, r.Branch(), r.Repo), SiteTitle: s.title(), Root: "../../",
		Crumbs: []crumb{{"../index.html", r.Repo}, {fileName(r.Unit) + ".html", r.Job + " on " + r.Branch()}},
		Run:    r, ShowLog: s.Logs, Updated: r.Started.Add(r.Duration)}
	if len(p.Run.Log) > maxLog {
		p.Run.Log = "[... earlier output cut ...]\n" + p.Run.Log[len(p.Run.Log)-maxLog:]
	}
	return render(runTmpl(), p)
}

// Atom (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

// feedEntries is how many runs the feed carries.
const feedEntries = 50

func (s *Site) feed(idx repoIndex) []byte {
	base := ""
	if s.URL != "" {
		base = strings.TrimRight(s.URL, "/") + "/" + fileName(idx.Repo) + "/"
	}
	f := atomFeed{
		ID:     "urn:hookrun:site:" + fileName(idx.Repo),
		Title:  idx.Repo + " · hookrun",
		Author: atomPerson{"hookrun"},
		Links:  []atomLink{{Rel: "alternate", Type: "text/html", Href: base + "index.html"}},
	}
	if base != "" {
		f.Links = append(f.Links, atomLink{Rel: "self", Type: "application/atom+xml", Href: base + "feed.atom"})
	}
	var updated time.Time
	for _, r := range idx.Runs[:min(len(idx.Runs), feedEntries)] {
		end := r.Started.Add(r.Duration)
		if end.After(updated) {
			updated = end
		}
		f.Entries = append(f.Entries, atomEntry{
			ID:      "urn:hookrun:run:" + fileName(r.Unit),
			Title:   fmt.Sprintf("%s %s on %s: %s", mark(r.Kind), r.Job, r.Branch(), r.Kind),
			Updated: end.UTC().Format(time.RFC3339),
			Link:    atomLink{Rel: "alternate", Type: "text/html", Href: base + "runs/" + fileName(r.Unit) + ".html"},
			Summary: r.Summary(),
		})
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0)
	}
	f.Updated = updated.UTC().Format(time.RFC3339)
	b, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return []byte(xml.Header + "<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>\n")
	}
	return append([]byte(xml.Header), append(b, '\n')...)
}
