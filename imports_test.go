package httpcache_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering pins the shape of the code the README's layout section
// describes, from the imports of every non-test file: nothing under
// internal/, store/, stores/ or vary/ imports the application package (so
// imports point down, and the engine never calls back up), the pure
// packages import no engine, and the example programs use only the public
// API (their tests may start servers through internal test helpers).
func TestLayering(t *testing.T) {
	const root = "github.com/seedcache/httpcache"
	rules := []struct {
		dir    string
		banned func(imp string) bool
		why    string
	}{
		{"internal", func(imp string) bool { return imp == root }, "imports the application package"},
		{"store", func(imp string) bool { return imp == root || strings.HasPrefix(imp, root+"/internal/") }, "a driver contract importing the cache"},
		{"stores", func(imp string) bool { return imp == root || strings.HasPrefix(imp, root+"/internal/") }, "a store importing the cache"},
		{"vary", func(imp string) bool { return strings.HasPrefix(imp, root) }, "vary is a leaf"},
		{"internal/rfc9111", func(imp string) bool {
			return strings.HasPrefix(imp, root+"/internal/engine") || strings.HasPrefix(imp, root+"/store")
		}, "pure rules importing the engine or stores"},
		{"internal/entry", func(imp string) bool {
			return strings.HasPrefix(imp, root+"/internal/engine") || strings.HasPrefix(imp, root+"/store")
		}, "the codec importing the engine or stores"},
		{"internal/keys", func(imp string) bool {
			return strings.HasPrefix(imp, root+"/internal/engine") || strings.HasPrefix(imp, root+"/store")
		}, "keys importing the engine or stores"},
		{"example", func(imp string) bool { return strings.HasPrefix(imp, root+"/internal/") }, "an example using internal packages"},
	}
	fset := token.NewFileSet()
	checked := 0
	for _, rule := range rules {
		err := filepath.WalkDir(rule.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, spec := range f.Imports {
				imp, _ := strconv.Unquote(spec.Path.Value)
				if rule.banned(imp) {
					t.Errorf("%s imports %s: %s", path, imp, rule.why)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: the walk went wrong", checked)
	}
}
