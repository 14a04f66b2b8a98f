package config

import (
	"fmt"
	"strings"
)

// TemplateVars are the variables a template string may use.
var TemplateVars = []string{"repo", "repo_path", "ref", "branch", "tag", "old", "new", "commit", "short", "event", "job"}

// Template is a string with {variable} references, expanded per argv element
// at push time (never by a shell). "{{" and "}}" stand for literal braces.
type Template string

func (t *Template) decodeTOML(v any) error {
	s, err := wantString(v)
	if err != nil {
		return err
	}
	if err := CheckTemplate(s); err != nil {
		return err
	}
	*t = Template(s)
	return nil
}

func (Template) schema() map[string]any {
	return map[string]any{"type": "string",
		"description": "may use {repo} {repo_path} {ref} {branch} {tag} {old} {new} {commit} {short} {event} {job}"}
}

// CheckTemplate reports an unknown variable or an unbalanced brace.
func CheckTemplate(s string) error {
	_, err := expand(s, func(name string) (string, bool) {
		for _, v := range TemplateVars {
			if v == name {
				return "", true
			}
		}
		return "", false
	})
	return err
}

// Expand substitutes variables from vars.
func (t Template) Expand(vars map[string]string) string {
	out, _ := expand(string(t), func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
	return out
}

func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.ContainsAny(s, "{}") {
		return s, nil
	}
	var b strings.Builder
	err := scanTemplate(s, func(text string, isVar bool) error {
		if !isVar {
			b.WriteString(text)
			return nil
		}
		v, ok := lookup(text)
		if !ok {
			msg := fmt.Sprintf("unknown template variable {%s} in %q", text, s)
			if m := nearest(text, TemplateVars); m != "" {
				msg += fmt.Sprintf(" (did you mean {%s}?)", m)
			} else if !isVarName(text) {
				// a shell's { ...; } group, a JSON object, a ${VAR}
				return fmt.Errorf("%s: braces that are not a template variable are written doubled, {{ and }} (e.g. %q); variables: {%s}", msg, doubleBraces(s), strings.Join(TemplateVars, "} {"))
			}
			return fmt.Errorf("%s; known: {%s}", msg, strings.Join(TemplateVars, "} {"))
		}
		b.WriteString(v)
		return nil
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// scanTemplate calls emit for each literal run (with "{{" and "}}" already
// turned into braces) and each variable name of s, in order.
func scanTemplate(s string, emit func(text string, isVar bool) error) error {
	lit := 0 // start of the pending literal run in s
	var pending strings.Builder
	flush := func(end int) error {
		pending.WriteString(s[lit:end])
		if pending.Len() == 0 {
			return nil
		}
		t := pending.String()
		pending.Reset()
		return emit(t, false)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && strings.HasPrefix(s[i:], "{{"), c == '}' && strings.HasPrefix(s[i:], "}}"):
			pending.WriteString(s[lit : i+1])
			i++
			lit = i + 1
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return fmt.Errorf("unclosed \"{\" in %q (write \"{{\" for a literal brace)", s)
			}
			if err := flush(i); err != nil {
				return err
			}
			if err := emit(s[i+1:i+end], true); err != nil {
				return err
			}
			i += end
			lit = i + 1
		case c == '}':
			return fmt.Errorf("unmatched \"}\" in %q (write \"}}\" for a literal brace)", s)
		}
	}
	return flush(len(s))
}

// isVarName reports whether s looks like a variable name: letters, digits
// and "_", not empty.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// doubleBraces is s with every brace doubled, for the hint.
func doubleBraces(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}
