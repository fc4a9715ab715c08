package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// object is what the suite stores with SetObject; pointers to it compare
// by identity, which is what a store must hand back.
type object struct{ name string }

func expectObject(t *testing.T, os store.ObjectStore, key string, want []byte, wantObj any) {
	t.Helper()
	v, obj, err := os.GetObject(context.Background(), key)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", key, err)
	}
	if d := diff(v, want); d != "" {
		t.Fatalf("GetObject(%q) value: %s", key, d)
	}
	if obj != wantObj {
		t.Fatalf("GetObject(%q) object = %#v; want %#v", key, obj, wantObj)
	}
}

func expectObjectMiss(t *testing.T, os store.ObjectStore, key string) {
	t.Helper()
	v, obj, err := os.GetObject(context.Background(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetObject(%q) = %d bytes, %#v, %v; want an error wrapping ErrNotFound", key, len(v), obj, err)
	}
	expectMiss(t, os, key)
}

func mustSetObject(t *testing.T, os store.ObjectStore, key string, v []byte, obj any, ttl time.Duration) {
	t.Helper()
	if err := os.SetObject(context.Background(), key, v, obj, ttl); err != nil {
		t.Fatalf("SetObject(%q): %v", key, err)
	}
}

func (s *suite) testObject(t *testing.T) {
	v1, v2 := []byte("value one"), []byte("value two")
	o1, o2 := &object{"one"}, &object{"two"}
	tests := []struct {
		name    string
		run     func(t *testing.T, os store.ObjectStore)
		wantV   []byte // nil: the key must be a miss
		wantObj any
	}{
		{"SetObject", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", v1, o1, longTTL)
			expectValue(t, os, "k", v1) // Get sees the value alone
		}, v1, o1},
		{"Set gives no object", func(t *testing.T, os store.ObjectStore) {
			mustSet(t, os, "k", v1, longTTL)
		}, v1, nil},
		{"Set drops the object", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", v1, o1, longTTL)
			mustSet(t, os, "k", v2, longTTL)
		}, v2, nil},
		{"SetObject over Set", func(t *testing.T, os store.ObjectStore) {
			mustSet(t, os, "k", v1, longTTL)
			mustSetObject(t, os, "k", v2, o2, longTTL)
		}, v2, o2},
		{"SetObject over SetObject", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", v1, o1, longTTL)
			mustSetObject(t, os, "k", v2, o2, longTTL)
		}, v2, o2},
		{"nil object", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", v1, nil, longTTL)
		}, v1, nil},
		{"empty value", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", []byte{}, o1, longTTL)
		}, []byte{}, o1},
		{"AttachObject to the slice GetObject returned", func(t *testing.T, os store.ObjectStore) {
			mustSet(t, os, "k", v1, longTTL)
			got, _, _ := os.GetObject(context.Background(), "k")
			os.AttachObject("k", got, o1)
		}, v1, o1},
		{"AttachObject to an equal copy does nothing", func(t *testing.T, os store.ObjectStore) {
			mustSet(t, os, "k", v1, longTTL)
			os.AttachObject("k", append([]byte(nil), v1...), o1)
		}, v1, nil},
		{"AttachObject after an overwrite does nothing", func(t *testing.T, os store.ObjectStore) {
			mustSet(t, os, "k", v1, longTTL)
			old, _, _ := os.GetObject(context.Background(), "k")
			mustSet(t, os, "k", v2, longTTL)
			os.AttachObject("k", old, o1)
		}, v2, nil},
		{"AttachObject to a missing key does nothing", func(t *testing.T, os store.ObjectStore) {
			os.AttachObject("k", v1, o1)
		}, nil, nil},
		{"miss", func(t *testing.T, os store.ObjectStore) {}, nil, nil},
		{"Delete", func(t *testing.T, os store.ObjectStore) {
			mustSetObject(t, os, "k", v1, o1, longTTL)
			mustDelete(t, os, "k")
		}, nil, nil},
		{"invalid ttl", func(t *testing.T, os store.ObjectStore) {
			for _, ttl := range []time.Duration{0, -time.Second} {
				if err := os.SetObject(context.Background(), "k", v1, o1, ttl); !errors.Is(err, store.ErrInvalidTTL) {
					t.Fatalf("SetObject(ttl %v) = %v; want an error wrapping ErrInvalidTTL", ttl, err)
				}
			}
		}, nil, nil},
		{"over limit", func(t *testing.T, os store.ObjectStore) {
			big := fill(2*s.opts.maxValueSize(), 7)
			err := os.SetObject(context.Background(), "big", big, o1, longTTL)
			switch {
			case err == nil:
				expectObject(t, os, "big", big, o1)
			case errors.Is(err, store.ErrTooLarge):
				expectObjectMiss(t, os, "big")
			default:
				t.Fatalf("SetObject(%d bytes) = %v; want nil or an error wrapping ErrTooLarge", len(big), err)
			}
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os := s.objectStore(t)
			tt.run(t, os)
			if tt.wantV == nil {
				expectObjectMiss(t, os, "k")
			} else {
				expectObject(t, os, "k", tt.wantV, tt.wantObj)
			}
		})
	}
	if s.opts.Advance != nil { // the sleeping TTL case checks objects too
		t.Run("expiry", func(t *testing.T) {
			os := s.objectStore(t)
			mustSetObject(t, os, "k", v1, o1, time.Second)
			s.opts.Advance(time.Second - tick)
			expectObject(t, os, "k", v1, o1)
			s.opts.Advance(tick + s.opts.TTLGranularity)
			expectObjectMiss(t, os, "k")
		})
	}
}
