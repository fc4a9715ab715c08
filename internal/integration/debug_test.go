package integration_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// debugLookup is the part of the debug page's JSON these tests read.
type debugLookup struct {
	Lookup struct {
		Keys []struct {
			Found    bool   `json:"found"`
			Listed   bool   `json:"all_variants_listed"`
			Note     string `json:"note"`
			Variants []struct {
				Selected bool `json:"selected"`
				Vary     []struct {
					Value string `json:"value"`
				} `json:"vary"`
				Outcome string `json:"outcome"`
			} `json:"variants"`
		} `json:"keys"`
	} `json:"lookup"`
	Purge struct {
		Result string `json:"result"`
		Error  string `json:"error"`
	} `json:"purge"`
}

// TestDebugPageOnSharedStores: a Vary'd URL's variants, stored through one
// Cache, are listed by another Cache's debug page on the same server when
// the store has a tag index (Redis, tiered); on Memcached, which has none,
// the page says so and shows the variant the given headers select. A purge
// posted to the second page makes the first Cache's next request a miss.
func TestDebugPageOnSharedStores(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			c1, c2 := newCache(b.open(t, srv.Addr())), newCache(b.open(t, srv.Addr()))
			c1.DebugHandler("t1") // records variant keys from now on
			debug := c2.DebugHandler("t2")
			a := &app{}
			h1 := c1.Handler(a)
			get := func(lang string) string {
				r := httptest.NewRequest("GET", "http://example.com/p?vary=1", nil)
				r.Header.Set("Accept-Language", lang)
				rec := httptest.NewRecorder()
				h1.ServeHTTP(rec, r)
				return rec.Header().Get("Cache-Status")
			}
			for _, lang := range []string{"en", "fr"} {
				get(lang)
				c1.Wait() // the index is written before the next variant's lookup
			}
			if cs := get("en"); !strings.HasSuffix(cs, "; hit") {
				t.Fatalf("en again: %s; want a hit", cs)
			}
			ask := func(method, query string, form url.Values) debugLookup {
				t.Helper()
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				r := httptest.NewRequest(method, "http://example.com/debug"+query, body)
				if form != nil {
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				r.Header.Set("Authorization", "Bearer t2")
				r.Header.Set("Accept", "application/json")
				rec := httptest.NewRecorder()
				debug.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Fatalf("debug page: %d %s", rec.Code, rec.Body)
				}
				var d debugLookup
				if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
					t.Fatal(err)
				}
				return d
			}
			d := ask("GET", "?"+url.Values{"url": {"http://example.com/p?vary=1"}, "headers": {"Accept-Language: fr"}}.Encode(), nil)
			k := d.Lookup.Keys[0]
			if !k.Found || len(k.Variants) == 0 || !k.Variants[0].Selected || k.Variants[0].Vary[0].Value != "fr" ||
				k.Variants[0].Outcome != "hit" {
				t.Fatalf("lookup: %+v; want the fr variant first, selected, a hit", k)
			}
			if b.name == "memcached" {
				if k.Listed || len(k.Variants) != 1 || !strings.Contains(k.Note, "cannot be listed") {
					t.Errorf("memcached: %+v; want the selected variant and a note", k)
				}
			} else if !k.Listed || len(k.Variants) != 2 || k.Variants[1].Vary[0].Value != "en" {
				t.Errorf("%s: %+v; want both variants listed", b.name, k)
			}
			d = ask("POST", "", url.Values{"action": {"purge"}, "target": {"http://example.com/p?vary=1"}})
			if d.Purge.Error != "" || !strings.Contains(d.Purge.Result, "purged URL") {
				t.Fatalf("purge: %+v", d.Purge)
			}
			c1.Wait()
			c2.Wait()
			if cs := get("en"); strings.HasSuffix(cs, "; hit") {
				t.Fatalf("after the purge: %s; want a miss", cs)
			}
		})
	}
}
