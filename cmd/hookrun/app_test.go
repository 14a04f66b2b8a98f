package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandTable checks every row of the command table is complete:
// help, man pages and completion are generated from it.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commandTable() {
		if seen[c.name] {
			t.Errorf("command %q is in the table twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || c.run == nil {
			t.Errorf("command %q lacks a summary or a run function", c.name)
		}
		if len(c.exits) == 0 || c.exits[0].code != "0" {
			t.Errorf("command %q must list its exit statuses, 0 first", c.name)
		}
		codes := map[string]bool{}
		for _, e := range c.exits {
			if codes[e.code] || e.meaning == "" {
				t.Errorf("command %q: exit status %q listed twice or without a meaning", c.name, e.code)
			}
			codes[e.code] = true
		}
	}
}

// TestCommandFilesStandAlone keeps the package's shape: no init()
// registration, and no cmd_*.go file calls a function declared in another
// cmd_*.go file (shared helpers go in shared.go).
func TestCommandFilesStandAlone(t *testing.T) {
	fset := token.NewFileSet()
	paths, _ := filepath.Glob("*.go")
	files := map[string]*ast.File{}
	declaredIn := map[string]string{} // top-level function or method name -> cmd file
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = f
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if fd.Name.Name == "init" && fd.Recv == nil {
				t.Errorf("%s: func init(): commands go in commandTable (app.go), not registered at init", p)
			}
			if strings.HasPrefix(p, "cmd_") {
				declaredIn[fd.Name.Name] = p
			}
		}
	}
	for p, f := range files {
		if !strings.HasPrefix(p, "cmd_") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				if id, ok := fn.X.(*ast.Ident); ok && (id.Name == "a" || id.Name == "s") {
					name = fn.Sel.Name
				}
			}
			if d, ok := declaredIn[name]; ok && d != p {
				t.Errorf("%s calls %s, declared in %s: move it to shared.go", fset.Position(call.Pos()), name, d)
			}
			return true
		})
	}
}
