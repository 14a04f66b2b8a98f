package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestWithOptionsStartsFresh: each parse of a command's flags binds them to
// a fresh options struct, so one run's values never reach the next (nor a
// help listing's defaults a run's).
func TestWithOptionsStartsFresh(t *testing.T) {
	type opts struct {
		name string
		n    int
	}
	var got []opts
	c := withOptions(&command{name: "t"}, func(fs *pflag.FlagSet, o *opts) {
		fs.StringVar(&o.name, "name", "none", "")
		fs.IntVar(&o.n, "n", 1, "")
	}, func(a *app, fs *pflag.FlagSet, o *opts) error {
		got = append(got, *o)
		return nil
	})
	for _, args := range [][]string{{"--name", "x", "--n", "5"}, {}} {
		fs := newFlagSet(c)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := c.run(nil, fs); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != (opts{"x", 5}) || got[1] != (opts{"none", 1}) {
		t.Errorf("runs saw %+v, want {x 5} then the defaults {none 1}", got)
	}
}

// TestFlagsBoundOnce keeps flags typed and shared ones defined once: no
// command reads a flag back by name (fs.GetString and the like), and
// --repo, --config, --insecure-config and --file are defined only in
// flags.go.
func TestFlagsBoundOnce(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	shared := map[string]bool{"repo": true, "config": true, "insecure-config": true, "file": true}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			m := sel.Sel.Name
			if strings.HasPrefix(m, "Get") && len(call.Args) == 1 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					t.Errorf("%s: %s(%s) reads a flag by name; bind it to an options field (withOptions)", fset.Position(call.Pos()), m, lit.Value)
				}
			}
			if f == "flags.go" || len(call.Args) < 2 {
				return true
			}
			for _, arg := range call.Args[:2] {
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if name, _ := strconv.Unquote(lit.Value); shared[name] && definesFlag(m) {
						t.Errorf("%s: --%s defined again; use its definition in flags.go", fset.Position(call.Pos()), name)
					}
				}
			}
			return true
		})
	}
}

// definesFlag reports whether a FlagSet method called m defines a flag
// (String, StringVarP, BoolVar, IntP, ...).
func definesFlag(m string) bool {
	for _, p := range []string{"String", "Bool", "Int", "Duration"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}
