package storetest_test

import (
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/internal/plainstore"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestWithoutOptionalInterfaces: a store with only Get, Set and Delete
// passes, its cases of optional interfaces skipped, whether or not it says
// it is local. (The purge cases of such stores are in purgetest.)
func TestWithoutOptionalInterfaces(t *testing.T) {
	for name, wrap := range map[string]func(*memory.Store) store.Store{
		"networked, no Counter": func(m *memory.Store) store.Store { return plainstore.Plain{M: m} },
		"local, a StateMap":     func(m *memory.Store) store.Store { return plainstore.NewLocal(m) },
	} {
		t.Run(name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(1_700_000_000, 0))
			storetest.Run(t, func(t *testing.T) store.Store {
				return wrap(memory.New(memory.Options{Clock: clock.Now}))
			}, storetest.Options{Advance: clock.Advance})
		})
	}
}
