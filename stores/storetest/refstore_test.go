package storetest_test

import (
	"context"
	"errors"
	"sync"
	"time"
	"unsafe"

	"github.com/seedcache/httpcache"
)

// refStore is the simplest correct httpcache.ObjectStore, plus switches
// that each break it in one way the suite must catch.
type refStore struct {
	now    func() time.Time
	mutant string

	mu    sync.Mutex
	items map[string]refItem
}

type refItem struct {
	value   []byte
	obj     any
	expires time.Time
}

var _ httpcache.ObjectStore = (*refStore)(nil)

func newRefStore(now func() time.Time, mutant string) *refStore {
	return &refStore{now: now, mutant: mutant, items: map[string]refItem{}}
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
	if !ok || expired {
		if s.mutant == "own miss error" {
			return nil, nil, errors.New("refstore: miss")
		}
		return nil, nil, httpcache.ErrNotFound
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
			return httpcache.ErrInvalidTTL
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
			return httpcache.ErrNotFound
		}
		delete(s.items, s.key(k))
	}
	return nil
}
