package httpcacheprom

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDetailsCoverTheEngine reads the core module's source (this module
// is nested in it) for every Cache-Status detail it can emit: the engine's
// detail constants, the details written in its status values, and
// internal/rfc9111's reasons a response is not stored. Each must be in
// details: a detail added to the engine and not here would count as
// "other", silently. The package paths are the core module's; if they
// move, this test fails rather than finding nothing.
func TestDetailsCoverTheEngine(t *testing.T) {
	found := map[string]string{} // detail → where
	scan := func(dir, constPrefix string) {
		files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s (moved?): %v", dir, err)
		}
		fset := token.NewFileSet()
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if !strings.HasPrefix(name.Name, constPrefix) || i >= len(n.Values) {
							continue
						}
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							found[v] = fset.Position(lit.Pos()).String()
						}
					}
				case *ast.BasicLit:
					// "name; hit; detail=max-stale" and the like.
					if v, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
						if _, d, ok := strings.Cut(v, "detail="); ok && d != "" {
							found[d] = fset.Position(n.Pos()).String()
						}
					}
				}
				return true
			})
		}
	}
	scan("internal/engine", "detail")
	scan("internal/rfc9111", "Reason")
	if len(found) < 30 {
		t.Fatalf("found only %d details in the core module's source: %v", len(found), found)
	}
	for d, where := range found {
		if detailIndex(d) == numDetails-1 {
			t.Errorf("detail %q (%s) is not in details: it would count as %q", d, where, Other)
		}
	}
}
