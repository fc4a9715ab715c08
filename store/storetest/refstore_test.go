package storetest_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/seedcache/httpcache/store"
)

// refStore is the simplest correct store.ObjectStore, plus switches
// that each break it in one way the suite must catch.
type refStore struct {
	now    func() time.Time
	mutant string

	mu      sync.Mutex
	items   map[string]refItem
	tags    map[string]map[string]time.Time // tag -> key -> record's expiry
	tagged  int                             // AddTags calls, for the pruning ones
	pruning bool                            // forget records of keys not held, as a store may
}

type refItem struct {
	value   []byte
	obj     any
	expires time.Time // zero: never
}

var (
	_ store.ObjectStore = (*refStore)(nil)
	_ store.Counter     = (*refStore)(nil)
	_ store.TagIndex    = (*refStore)(nil)
)

func newRefStore(now func() time.Time, mutant string) *refStore {
	return &refStore{now: now, mutant: mutant, items: map[string]refItem{}, tags: map[string]map[string]time.Time{}}
}

// holds reports whether the store holds a live value under key. The
// caller holds s.mu.
func (s *refStore) holds(key string) bool {
	it, ok := s.items[s.key(key)]
	return ok && (it.expires.IsZero() || s.now().Before(it.expires))
}

func (s *refStore) key(key string) string {
	if s.mutant == "keys cut at 250 bytes" && len(key) > 250 {
		return key[:250]
	}
	return key
}

func (s *refStore) ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if s.mutant == "own context error" {
			return errors.New("refstore: canceled")
		}
		return err
	}
	return nil
}

func (s *refStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, _, err := s.GetObject(ctx, key)
	return v, err
}

func (s *refStore) GetObject(ctx context.Context, key string) ([]byte, any, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[s.key(key)]
	expired := !s.now().Before(it.expires)
	if s.mutant == "expires late" {
		expired = s.now().After(it.expires)
	}
	if it.expires.IsZero() {
		expired = false
	}
	if !ok || expired {
		if s.mutant == "own miss error" {
			return nil, nil, errors.New("refstore: miss")
		}
		return nil, nil, store.ErrNotFound
	}
	if s.mutant == "objects lost" {
		it.obj = nil
	}
	return it.value, it.obj, nil
}

func (s *refStore) AttachObject(key string, value []byte, obj any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[s.key(key)]
	if ok && len(it.value) == len(value) && unsafe.SliceData(it.value) == unsafe.SliceData(value) {
		it.obj = obj
		s.items[s.key(key)] = it
	}
}

func (s *refStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.mutant != "keeps caller's slice" {
		value = append([]byte{}, value...)
	}
	return s.set(ctx, key, value, nil, ttl)
}

func (s *refStore) SetObject(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error {
	return s.set(ctx, key, value, obj, ttl)
}

func (s *refStore) set(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	if ttl <= 0 {
		if s.mutant != "zero ttl is forever" {
			return store.ErrInvalidTTL
		}
		ttl = 100 * 365 * 24 * time.Hour
	}
	if s.mutant == "truncates large values" && len(value) > 64<<10 {
		value = value[:64<<10]
	}
	if s.mutant == "refuses large values with own error" && len(value) > 64<<10 {
		return errors.New("refstore: too big")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.items[s.key(key)]; ok && obj == nil && s.mutant == "Set keeps the object" {
		obj = old.obj
	}
	s.items[s.key(key)] = refItem{value: value, obj: obj, expires: s.now().Add(ttl)}
	return nil
}

func (s *refStore) Delete(ctx context.Context, keys ...string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if _, ok := s.items[s.key(k)]; !ok && s.mutant == "missing key is an error" {
			return store.ErrNotFound
		}
		delete(s.items, s.key(k))
	}
	return nil
}

func (s *refStore) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if err := s.ctxErr(ctx); err != nil {
		return 0, err
	}
	if ttl < 0 {
		if s.mutant != "negative counter ttl is forever" {
			return 0, store.ErrInvalidTTL
		}
		ttl = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur int64
	it, ok := s.items[s.key(name)]
	alive := ok && (it.expires.IsZero() || s.now().Before(it.expires))
	old := it.expires
	if alive {
		var err error
		if cur, err = strconv.ParseInt(strings.TrimSpace(string(it.value)), 10, 64); err != nil {
			return 0, err
		}
	}
	if cur == math.MaxInt64 {
		return 0, errors.New("refstore: counter at MaxInt64")
	}
	n := max(cur+1, floor)
	switch s.mutant {
	case "counter ignores floor":
		n = cur + 1
	case "floor replaces the +1":
		if floor > 0 {
			n = max(cur, floor)
		}
	case "counter in float64": // as Lua computes, without a bound
		n = int64(math.Max(float64(cur)+1, float64(floor)))
	case "Advance not atomic": // reads and writes under separate locks
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	it = refItem{value: []byte(strconv.FormatInt(n, 10))}
	if ttl > 0 {
		it.expires = s.now().Add(ttl)
	}
	switch s.mutant {
	case "counter expires":
		it.expires = s.now().Add(time.Hour)
	case "counter ttl ignored":
		it.expires = time.Time{}
	case "counter ttl not renewed": // a ttl is kept from the Advance that set it
		if alive && !old.IsZero() && ttl > 0 {
			it.expires = old
		}
	case "counter keeps its ttl": // ttl 0 leaves the one it had
		if alive && ttl == 0 {
			it.expires = old
		}
	case "counter padded": // as memcached pads a decr
		it.value = append(it.value, ' ')
	case "counter formatted as float": // as Lua's tostring does
		it.value = []byte(strconv.FormatFloat(float64(n), 'g', 14, 64))
	}
	s.items[s.key(name)] = it
	return n, nil
}

func (s *refStore) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tagged++
	if s.pruning {
		for _, recs := range s.tags {
			for k := range recs {
				if !s.holds(k) {
					delete(recs, k)
				}
			}
		}
	}
	if s.mutant == "pruning drops held records" && s.tagged%32 == 0 && len(tags) > 0 {
		clear(s.tags[tags[0]])
	}
	expires := s.now().Add(ttl)
	for _, tag := range tags {
		recs := s.tags[tag]
		if recs == nil {
			recs = map[string]time.Time{}
			s.tags[tag] = recs
		}
		if s.mutant == "tag ttl replaced" { // as PEXPIRE without GT would
			for k := range recs {
				recs[k] = expires
			}
		}
		if old, ok := recs[key]; !ok || old.Before(expires) || s.mutant == "tag ttl replaced" {
			recs[key] = expires
		}
	}
	return nil
}

func (s *refStore) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, ok := s.tags[tag]
	if !ok && s.mutant == "unknown tag is an error" {
		return nil, store.ErrNotFound
	}
	var keys []string
	for k, expires := range recs {
		if s.now().Before(expires) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func (s *refStore) RemoveTags(ctx context.Context, tags ...string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mutant == "RemoveTags removes all" && len(tags) > 0 {
		clear(s.tags)
	}
	for _, tag := range tags {
		delete(s.tags, tag)
	}
	return nil
}
