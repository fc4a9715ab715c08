package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// tagIndex returns a new store as a TagIndex, skipping t if the store does
// not implement it.
func (s *suite) tagIndex(t *testing.T) store.TagIndex {
	t.Helper()
	_, ti := storeAs(t, s, "TagIndex", func(c store.Caps) store.TagIndex { return c.Tags })
	return ti
}

// storeKeys stores a value under each of keys for ttl, as the middleware
// stores an entry before recording its tags: a TagIndex need only keep the
// records of keys the store holds (see the package documentation).
func storeKeys(t *testing.T, ti store.TagIndex, ttl time.Duration, keys ...string) {
	t.Helper()
	st, ok := ti.(store.Store)
	if !ok {
		t.Fatalf("the TagIndex %T is not a Store", ti)
	}
	for _, k := range keys {
		mustSet(t, st, k, []byte("tagged"), ttl)
	}
}

func mustAddTags(t *testing.T, ti store.TagIndex, key string, ttl time.Duration, tags ...string) {
	t.Helper()
	if err := ti.AddTags(context.Background(), key, tags, ttl); err != nil {
		t.Fatalf("AddTags(%s, %d tags, %v): %v", showKey(key), len(tags), ttl, err)
	}
}

func mustRemoveTags(t *testing.T, ti store.TagIndex, tags ...string) {
	t.Helper()
	if err := ti.RemoveTags(context.Background(), tags...); err != nil {
		t.Fatalf("RemoveTags(%d tags): %v", len(tags), err)
	}
}

// expectTagged checks that TaggedKeys(tag) lists exactly the keys in want,
// in any order; a key may be listed more than once.
func expectTagged(t *testing.T, ti store.TagIndex, tag string, want ...string) {
	t.Helper()
	expectTaggedSome(t, ti, tag, want, nil)
}

// expectTaggedSome checks that TaggedKeys(tag) lists every key in must and
// no key outside must and may: a record past its ttl may or may not be
// listed.
func expectTaggedSome(t *testing.T, ti store.TagIndex, tag string, must, may []string) {
	t.Helper()
	got, err := ti.TaggedKeys(context.Background(), tag)
	if err != nil {
		t.Fatalf("TaggedKeys(%s): %v", showKey(tag), err)
	}
	if err := checkTagged(got, must, may); err != nil {
		t.Fatalf("TaggedKeys(%s): %v", showKey(tag), err)
	}
}

// checkTagged is expectTaggedSome's check of the keys got.
func checkTagged(got, must, may []string) error {
	listed := make(map[string]bool, len(got))
	for _, k := range got {
		if !slices.Contains(must, k) && !slices.Contains(may, k) {
			return fmt.Errorf("lists %s, which was never recorded for the tag (or was removed)", showKey(k))
		}
		listed[k] = true
	}
	for _, k := range must {
		if !listed[k] {
			return fmt.Errorf("lacks %s among its %d keys", showKey(k), len(got))
		}
	}
	return nil
}

// oddTags returns tags that a store naming things after tags (a key per
// tag, a hash tag in braces) is likely to mangle or merge.
func oddTags() []string {
	return []string{
		"plain",
		"Plain",
		"plai",
		"with space",
		"comma,separated",
		"unicode тег 标签 🏷",
		"{braces}",
		"{braces}2",
		"{",
		"}",
		"{}",
		"}{",
		"a}b",
		"a{b}c",
		"tag:{x}",
		"nul\x00byte",
		"invalid utf-8 \xff\xfe",
		strings.Repeat("t", 1<<10-1) + "1", // 1 KiB, differing only at the end
		strings.Repeat("t", 1<<10-1) + "2",
	}
}

func (s *suite) testTagIndex(t *testing.T) {
	s.tagIndex(t) // skip at once if the store has no tag index

	t.Run("record and list", func(t *testing.T) {
		ti := s.tagIndex(t)
		storeKeys(t, ti, longTTL, "k1", "k2", "k3")
		mustAddTags(t, ti, "k1", longTTL, "a", "b")
		mustAddTags(t, ti, "k2", longTTL, "a")
		mustAddTags(t, ti, "k3", longTTL, "c", "a", "b")
		expectTagged(t, ti, "a", "k1", "k2", "k3")
		expectTagged(t, ti, "b", "k1", "k3")
		expectTagged(t, ti, "c", "k3")
		expectTagged(t, ti, "never recorded")
		expectTagged(t, ti, "A") // case matters
		// Recording again changes nothing but the ttl.
		mustAddTags(t, ti, "k2", longTTL, "a")
		expectTagged(t, ti, "a", "k1", "k2", "k3")
		// No tags records nothing, and is not an error.
		mustAddTags(t, ti, "k4", longTTL)
		mustAddTags(t, ti, "k4", longTTL, []string{}...)
		for _, tag := range []string{"a", "b", "c"} {
			got, err := ti.TaggedKeys(context.Background(), tag)
			if err != nil || slices.Contains(got, "k4") {
				t.Fatalf("TaggedKeys(%q) = %q, %v after AddTags of no tags", tag, got, err)
			}
		}
	})
	t.Run("remove", func(t *testing.T) {
		ti := s.tagIndex(t)
		storeKeys(t, ti, longTTL, "k1", "k2", "k3")
		mustAddTags(t, ti, "k1", longTTL, "a", "b", "c", "d")
		mustAddTags(t, ti, "k2", longTTL, "a", "b", "c", "d")
		mustRemoveTags(t, ti, "a")
		expectTagged(t, ti, "a")
		expectTagged(t, ti, "b", "k1", "k2")
		mustRemoveTags(t, ti, "b", "never recorded", "c", "b")
		for _, tag := range []string{"a", "b", "c"} {
			expectTagged(t, ti, tag)
		}
		expectTagged(t, ti, "d", "k1", "k2")
		mustRemoveTags(t, ti)                // no tags
		mustRemoveTags(t, ti, []string{}...) // nor an empty list
		mustRemoveTags(t, ti, "never recorded")
		expectTagged(t, ti, "d", "k1", "k2")
		// A removed tag can be recorded again, from scratch.
		mustAddTags(t, ti, "k3", longTTL, "a")
		expectTagged(t, ti, "a", "k3")
	})
	t.Run("odd tags", func(t *testing.T) {
		ti := s.tagIndex(t)
		tags := oddTags()
		storeKeys(t, ti, longTTL, "all")
		for i, tag := range tags {
			storeKeys(t, ti, longTTL, fmt.Sprintf("key of %d", i))
			mustAddTags(t, ti, fmt.Sprintf("key of %d", i), longTTL, tag)
		}
		mustAddTags(t, ti, "all", longTTL, tags...)
		// Each tag lists its own keys: no two tags were merged.
		for i, tag := range tags {
			expectTagged(t, ti, tag, fmt.Sprintf("key of %d", i), "all")
		}
		for i, tag := range tags {
			if i%2 == 0 {
				mustRemoveTags(t, ti, tag)
			}
		}
		for i, tag := range tags {
			if i%2 == 0 {
				expectTagged(t, ti, tag)
			} else {
				expectTagged(t, ti, tag, fmt.Sprintf("key of %d", i), "all")
			}
		}
	})
	t.Run("odd keys", func(t *testing.T) {
		ti := s.tagIndex(t)
		keys := oddKeys()
		storeKeys(t, ti, longTTL, keys...)
		for _, k := range keys {
			mustAddTags(t, ti, k, longTTL, "odd")
		}
		// Keys come back byte for byte, as they were passed.
		expectTagged(t, ti, "odd", keys...)
	})
	t.Run("many records", s.testTagIndexMany)
	t.Run("done context", s.testTagIndexDoneContext)
	t.Run("concurrent", s.testTagIndexConcurrent)
	if s.opts.Advance != nil { // the sleeping TTL case checks records too
		t.Run("expiry", s.testTagIndexExpiry)
	}
}

// testTagIndexExpiry checks, on the injected clock, that a record lasts
// its ttl and that a later, shorter ttl does not cut it short.
func (s *suite) testTagIndexExpiry(t *testing.T) {
	advance := s.opts.Advance
	for _, ttl := range []time.Duration{tick, time.Second, 31 * day, 365 * day} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			ti := s.tagIndex(t)
			storeKeys(t, ti, max(ttl, longTTL), "k")
			mustAddTags(t, ti, "k", ttl, "t")
			advance(ttl - tick)
			expectTagged(t, ti, "t", "k")
		})
	}
	t.Run("shorter ttl does not shorten", func(t *testing.T) {
		ti := s.tagIndex(t)
		storeKeys(t, ti, longTTL, "long", "short")
		mustAddTags(t, ti, "long", 10*time.Second, "t")
		mustAddTags(t, ti, "short", tick, "t")
		mustAddTags(t, ti, "long", tick, "t") // the same key again
		advance(10*time.Second - tick)
		expectTaggedSome(t, ti, "t", []string{"long"}, []string{"short"})
	})
	t.Run("longer ttl extends", func(t *testing.T) {
		ti := s.tagIndex(t)
		storeKeys(t, ti, longTTL, "first", "second")
		mustAddTags(t, ti, "first", time.Second, "t")
		mustAddTags(t, ti, "second", 10*time.Second, "t")
		advance(800 * time.Millisecond)
		mustAddTags(t, ti, "first", time.Second, "t") // the same key again
		advance(time.Second - tick)
		expectTagged(t, ti, "t", "first", "second")
		advance(10*time.Second - 1800*time.Millisecond)
		expectTaggedSome(t, ti, "t", []string{"second"}, []string{"first"})
	})
	t.Run("tags of one key expire apart", func(t *testing.T) {
		ti := s.tagIndex(t)
		storeKeys(t, ti, longTTL, "k")
		mustAddTags(t, ti, "k", tick, "short")
		mustAddTags(t, ti, "k", 10*time.Second, "long")
		advance(10*time.Second - tick)
		expectTagged(t, ti, "long", "k")
		expectTaggedSome(t, ti, "short", nil, []string{"k"})
	})
}

// Records of one tag in testTagIndexMany.
const (
	manyHeld    = 60  // keys the store holds all along
	manyDeleted = 60  // keys deleted after they were recorded
	manyCalls   = 300 // AddTags calls of held keys after that
)

// testTagIndexMany records many keys under one tag, deletes some of them,
// and keeps recording the others: a store that prunes records of keys it
// no longer holds (as it may, in AddTags or anywhere) must never take a
// record of a key it holds with them.
func (s *suite) testTagIndexMany(t *testing.T) {
	ti := s.tagIndex(t)
	st := ti.(store.Store)
	var held, deleted []string
	for i := range manyHeld {
		held = append(held, fmt.Sprintf("held-%d", i))
	}
	for i := range manyDeleted {
		deleted = append(deleted, fmt.Sprintf("deleted-%d", i))
	}
	storeKeys(t, ti, longTTL, held...)
	storeKeys(t, ti, longTTL, deleted...)
	for i := range max(manyHeld, manyDeleted) {
		if i < manyHeld {
			mustAddTags(t, ti, held[i], longTTL, "many", "other")
		}
		if i < manyDeleted {
			mustAddTags(t, ti, deleted[i], longTTL, "many", "other")
		}
	}
	mustDelete(t, st, deleted...)
	for i := range manyCalls {
		mustAddTags(t, ti, held[i%manyHeld], longTTL, "other", "many")
		if i%50 == 49 {
			expectTaggedSome(t, ti, "many", held, deleted)
		}
	}
	expectTaggedSome(t, ti, "many", held, deleted)
	expectTaggedSome(t, ti, "other", held, deleted)
}

func (s *suite) testTagIndexDoneContext(t *testing.T) {
	for _, dc := range doneContexts(t) {
		t.Run(dc.name, func(t *testing.T) {
			ctx := dc.ctx
			ti := s.tagIndex(t)
			storeKeys(t, ti, longTTL, "old", "new")
			mustAddTags(t, ti, "old", longTTL, "a", "b", "gone")

			got, err := within(t, "TaggedKeys", func() ([]string, error) { return ti.TaggedKeys(ctx, "a") })
			if !isCtxErr(ctx, err) {
				if err != nil {
					t.Fatalf("TaggedKeys = %v; want the keys or an error wrapping %v", err, ctx.Err())
				}
				if err := checkTagged(got, []string{"old"}, nil); err != nil {
					t.Fatalf("TaggedKeys: %v", err)
				}
			}

			// Each tag is recorded or not, never in part.
			err = withinErr(t, "AddTags", func() error {
				return ti.AddTags(ctx, "new", []string{"a", "fresh"}, longTTL)
			})
			switch {
			case err == nil:
				expectTagged(t, ti, "a", "old", "new")
				expectTagged(t, ti, "fresh", "new")
			case isCtxErr(ctx, err):
				expectTaggedSome(t, ti, "a", []string{"old"}, []string{"new"})
				expectTaggedSome(t, ti, "fresh", nil, []string{"new"})
			default:
				t.Fatalf("AddTags = %v; want nil or an error wrapping %v", err, ctx.Err())
			}

			err = withinErr(t, "RemoveTags", func() error {
				return ti.RemoveTags(ctx, "gone", "never recorded")
			})
			switch {
			case err == nil:
				expectTagged(t, ti, "gone")
			case isCtxErr(ctx, err):
				expectTaggedSome(t, ti, "gone", nil, []string{"old"})
			default:
				t.Fatalf("RemoveTags = %v; want nil or an error wrapping %v", err, ctx.Err())
			}
			expectTagged(t, ti, "b", "old") // untouched either way
		})
	}
}

// Concurrent tag operations: goroutines share sharedTagCount tags and each
// has a private one.
const (
	sharedTagCount    = 3
	tagIterations     = 40
	privateTagPattern = "private-%d"
)

// taggedKey names the key that goroutine g records in iteration i for
// shared tag n, so that a reader can tell which tag it was recorded for.
func taggedKey(n, g, i int) string { return fmt.Sprintf("shared-%d/%d/%d", n, g, i) }

func sharedTag(n int) string { return fmt.Sprintf("shared-%d", n) }

func (s *suite) testTagIndexConcurrent(t *testing.T) {
	ti := s.tagIndex(t)
	st := ti.(store.Store)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			private := fmt.Sprintf(privateTagPattern, g)
			for i := range tagIterations {
				if err := concurrentTagStep(ctx, st, ti, r, g, i, private); err != nil {
					t.Errorf("goroutine %d, iteration %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for n := range sharedTagCount {
		got, err := ti.TaggedKeys(ctx, sharedTag(n))
		if err == nil {
			err = checkSharedKeys(n, got)
		}
		if err != nil {
			t.Errorf("after the goroutines: tag %d: %v", n, err)
		}
	}
}

// concurrentTagStep does one random operation on a shared tag, or records
// and reads back a key under the goroutine's private tag. Keys are stored
// before they are recorded.
func concurrentTagStep(ctx context.Context, st store.Store, ti store.TagIndex, r *rand.Rand, g, i int, private string) error {
	n := r.IntN(sharedTagCount)
	switch op := r.IntN(10); {
	case op < 4:
		key := taggedKey(n, g, i)
		if err := st.Set(ctx, key, []byte("tagged"), longTTL); err != nil {
			return err
		}
		return ti.AddTags(ctx, key, []string{sharedTag(n)}, longTTL)
	case op < 7:
		got, err := ti.TaggedKeys(ctx, sharedTag(n))
		if err != nil {
			return err
		}
		return checkSharedKeys(n, got)
	case op < 8:
		return ti.RemoveTags(ctx, sharedTag(n))
	default:
		// Records under a shared and the private tag at once; the
		// private one is read back at once, and sometimes removed.
		key := fmt.Sprintf("%s/%d/%d", private, n, i)
		if err := st.Set(ctx, key, []byte("tagged"), longTTL); err != nil {
			return err
		}
		if err := ti.AddTags(ctx, key, []string{sharedTag(n), private}, longTTL); err != nil {
			return err
		}
		got, err := ti.TaggedKeys(ctx, private)
		if err != nil {
			return err
		}
		if !slices.Contains(got, key) {
			return fmt.Errorf("TaggedKeys of the private tag lacks %q, just recorded", key)
		}
		for _, k := range got {
			if !strings.HasPrefix(k, private+"/") {
				return fmt.Errorf("TaggedKeys of the private tag lists %q, never recorded for it", k)
			}
		}
		if r.IntN(4) == 0 {
			if err := ti.RemoveTags(ctx, private); err != nil {
				return err
			}
			if got, err := ti.TaggedKeys(ctx, private); err != nil || len(got) != 0 {
				return fmt.Errorf("TaggedKeys of the private tag just removed = %q, %v; want none", got, err)
			}
		}
		return nil
	}
}

// checkSharedKeys reports a key listed for shared tag n that was never
// recorded for it.
func checkSharedKeys(n int, keys []string) error {
	for _, k := range keys {
		var kn, g, i int
		if _, err := fmt.Sscanf(k, "shared-%d/%d/%d", &kn, &g, &i); err == nil && kn == n {
			continue
		}
		// Private keys are recorded with a shared tag too.
		if _, err := fmt.Sscanf(k, privateTagPattern+"/%d/%d", &g, &kn, &i); err == nil && kn == n {
			continue
		}
		return fmt.Errorf("tag %q lists %q, never recorded for it", sharedTag(n), k)
	}
	return nil
}
