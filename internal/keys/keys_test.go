package keys

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func keyFor(k *Keyer, r *http.Request) string {
	return k.PrimaryKey(k.AppendMaterial(nil, r))
}

func req(method, target string, kv ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	return r
}

func tlsReq(target string) *http.Request {
	r := req("GET", target)
	r.TLS = &tls.ConnectionState{}
	return r
}

// TestPrimaryKeySameOrDifferent: requests that must share an entry get
// one primary key, and requests that must not (method, host, scheme, path,
// kept query parameters) get different ones, under each query option.
func TestPrimaryKeySameOrDifferent(t *testing.T) {
	exact := New("p:", "", Query{})
	sorted := New("p:", "", Query{Sort: true})
	filtered := New("p:", "", Query{Deny: []string{"utm_source", "fbclid"}})
	allowed := New("p:", "", Query{Allow: []string{"page"}, Sort: true})
	proto := New("p:", "X-Forwarded-Proto", Query{})
	tests := []struct {
		name string
		k    *Keyer
		a, b *http.Request
		same bool
	}{
		{"GET and HEAD share", exact, req("GET", "/a"), req("HEAD", "/a"), true},
		// The key covers the Host as the handler sees it (such spellings
		// bypass the cache anyway: see PlainHost).
		{"default port", exact, req("GET", "http://example.com:80/a"), req("GET", "http://example.com/a"), false},
		// Kept as received: a handler may route "EXAMPLE.COM" elsewhere
		// (http.ServeMux matches host patterns exactly).
		{"host case", exact, req("GET", "http://Example.COM/a"), req("GET", "http://example.com/a"), false},
		{"trailing dot on host", exact, req("GET", "http://example.com./a"), req("GET", "http://example.com/a"), false},
		{"different hosts", exact, req("GET", "http://a.example/x"), req("GET", "http://b.example/x"), false},
		{"non-default port", exact, req("GET", "http://example.com:8080/a"), req("GET", "http://example.com/a"), false},
		{"https default port", exact, tlsReq("https://example.com:443/a"), tlsReq("https://example.com/a"), false},
		{"scheme", exact, tlsReq("https://example.com/a"), req("GET", "http://example.com/a"), false},
		{"path case", exact, req("GET", "/A"), req("GET", "/a"), false},
		{"escaped slash", exact, req("GET", "/a%2Fb"), req("GET", "/a/b"), false},
		{"query", exact, req("GET", "/a?x=1"), req("GET", "/a?x=2"), false},
		{"no query vs empty query", exact, req("GET", "/a"), req("GET", "/a?"), true},
		{"query order matters by default", exact, req("GET", "/a?x=1&y=2"), req("GET", "/a?y=2&x=1"), false},
		{"query in the path cannot collide", exact, req("GET", "/a%3Fx=1"), req("GET", "/a?x=1"), false},
		{"sorted query", sorted, req("GET", "/a?x=1&y=2"), req("GET", "/a?y=2&x=1"), true},
		{"sorted keeps value order", sorted, req("GET", "/a?x=1&x=2"), req("GET", "/a?x=2&x=1"), false},
		{"sorted decodes names", sorted, req("GET", "/a?%78=1"), req("GET", "/a?x=1"), true},
		{"sorted: = inside names", sorted, req("GET", "/a?x%3D=1"), req("GET", "/a?x==1"), false},
		{"deny list", filtered, req("GET", "/a?id=1&utm_source=tw"), req("GET", "/a?id=1"), true},
		{"deny list keeps the rest", filtered, req("GET", "/a?id=1&utm_source=tw"), req("GET", "/a?id=2"), false},
		{"allow list", allowed, req("GET", "/a?page=2&session=x"), req("GET", "/a?page=2&session=y"), true},
		{"allow list keeps its own", allowed, req("GET", "/a?page=2"), req("GET", "/a?page=3"), false},
		{"trusted scheme header", proto, req("GET", "/a", "X-Forwarded-Proto", "https"), tlsReq("https://example.com/a"), true},
		{"scheme header garbage", proto, req("GET", "/a", "X-Forwarded-Proto", "gopher"), req("GET", "/a"), true},
		{"untrusted scheme header ignored", exact, req("GET", "/a", "X-Forwarded-Proto", "https"), req("GET", "/a"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := keyFor(tc.k, tc.a), keyFor(tc.k, tc.b)
			if (ka == kb) != tc.same {
				t.Fatalf("keys %s and %s: same=%v, want %v", ka, kb, ka == kb, tc.same)
			}
		})
	}
}

// TestPrimaryKeyShape: a primary key is the prefix, the key version and a
// fixed-length hash in braces, whatever the URL's length.
func TestPrimaryKeyShape(t *testing.T) {
	k := New("app:", "", Query{})
	long := keyFor(k, req("GET", "/"+strings.Repeat("x", 5000)+"?q="+strings.Repeat("y", 5000)))
	short := keyFor(k, req("GET", "/"))
	if len(long) != len(short) {
		t.Fatalf("key lengths differ: %d and %d", len(long), len(short))
	}
	if !strings.HasPrefix(short, "app:v1:{") || !strings.HasSuffix(short, "}") || len(short) != len("app:v1:{}")+32 {
		t.Fatalf("unexpected key shape %q", short)
	}
	vk := VariantKey(short, 7, []byte("material"))
	if !strings.HasPrefix(vk, short+":") || len(vk) != len(short)+33 {
		t.Fatalf("variant key %q does not extend %q with a fixed-length hash", vk, short)
	}
	if VariantKey(short, 8, []byte("material")) == vk {
		t.Fatal("variant key ignores the epoch")
	}
}

// TestPrimaryKeyAllocs: building a primary key allocates at most once
// (the key string).
func TestPrimaryKeyAllocs(t *testing.T) {
	k := New("httpcache:", "", Query{})
	r := req("GET", "http://example.com/articles/42?page=2")
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() { _ = k.PrimaryKey(k.AppendMaterial(buf[:0], r)) })
	if allocs > 1 {
		t.Fatalf("primary key costs %v allocations, want at most 1 (the key string)", allocs)
	}
}

// TestTagNameShape: a tag's name is under the Cache's prefix and the key
// version, with a fixed-length hash in braces whatever the tag holds (a
// brace in a tag must not cut the hash tag short).
func TestTagNameShape(t *testing.T) {
	for _, tag := range []string{"a", "{t}a", strings.Repeat("x", 256)} {
		name := TagName("app:", tag)
		if !strings.HasPrefix(name, "app:v1:tag:{") || !strings.HasSuffix(name, "}") || len(name) != len("app:v1:tag:{}")+32 {
			t.Fatalf("TagName(%q) = %q", tag, name)
		}
	}
	if TagName("a:", "t") == TagName("b:", "t") || TagName("a:", "t") == TagName("a:", "u") {
		t.Fatal("tag names do not depend on prefix and tag")
	}
}

// TestInProcessPrimaryKey pins the keys of a store only this process
// reads: the same shape (prefix, version, a fixed-length hash in braces),
// the same key for the same material every time, different keys for
// different materials, never the shared (SHA-256) key, and one allocation.
func TestInProcessPrimaryKey(t *testing.T) {
	shared := New("app:", "", Query{})
	local := New("app:", "", Query{}).InProcess()
	a, b := req("GET", "http://example.com/a"), req("GET", "http://example.com/b")
	la, lb := keyFor(local, a), keyFor(local, b)
	if !strings.HasPrefix(la, "app:v1:{") || !strings.HasSuffix(la, "}") || len(la) != len("app:v1:{}")+16 {
		t.Fatalf("unexpected in-process key shape %q", la)
	}
	if la != keyFor(local, a) || la == lb || la == keyFor(shared, a) {
		t.Fatalf("in-process keys %q, %q, shared %q: want stable, distinct, and not the shared key", la, lb, keyFor(shared, a))
	}
	long := keyFor(local, req("GET", "/"+strings.Repeat("x", 5000)))
	if len(long) != len(la) {
		t.Fatalf("key lengths differ: %d and %d", len(long), len(la))
	}
	buf := make([]byte, 0, 256)
	if allocs := testing.AllocsPerRun(100, func() { _ = local.PrimaryKey(local.AppendMaterial(buf[:0], a)) }); allocs > 1 {
		t.Fatalf("in-process primary key costs %v allocations, want at most 1", allocs)
	}
}

// TestInProcessPrimaryKeySpellsHashInHex pins the spelling of an in-process
// primary key: prefix, version, and the 64-bit hash of the material in
// lower-case hex between braces, its last two digits the stripe other
// packages read from it.
func TestInProcessPrimaryKeySpellsHashInHex(t *testing.T) {
	k := New("p:", "", Query{}).InProcess()
	materials := []string{"", "a", "\x00GET http example.com /x", strings.Repeat("z", 300)}
	for i := range 4 * recentKeys { // slots shared and taken over
		materials = append(materials, "/"+strconv.Itoa(i))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 { // made, then found (or made again)
				for _, m := range materials {
					var sum [8]byte
					binary.BigEndian.PutUint64(sum[:], maphash.Bytes(processSeed, []byte(m)))
					want := "p:" + Version + "{" + hex.EncodeToString(sum[:]) + "}"
					if got := k.PrimaryKey([]byte(m)); got != want {
						t.Errorf("PrimaryKey(%q) = %q, want %q", m, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPathAsIsOnlyWhereEscapedPathLeavesIt pins the shortcut the key
// material takes past url.URL.EscapedPath: a path it calls as-is is one
// EscapedPath returns unchanged, for every byte.
func TestPathAsIsOnlyWhereEscapedPathLeavesIt(t *testing.T) {
	for c := range 256 {
		p := "/a" + string(rune(c))[:1] + "b"
		if c >= 0x80 {
			p = "/a" + string([]byte{byte(c)}) + "b"
		}
		if pathAsIs(p) && (&url.URL{Path: p}).EscapedPath() != p {
			t.Errorf("pathAsIs(%q), but EscapedPath gives %q", p, (&url.URL{Path: p}).EscapedPath())
		}
	}
	for _, p := range []string{"", "/", "/articles/42", "/a-b_c.d~e/$&+,;=:@"} {
		if !pathAsIs(p) {
			t.Errorf("pathAsIs(%q) is false", p)
		}
	}
	if pathAsIs("*") {
		t.Error(`pathAsIs("*")`)
	}
}
