package memcached

import (
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestNewPanics(t *testing.T) {
	c := memcache.New("127.0.0.1:1") // never dialled
	tests := []struct {
		name   string
		client *memcache.Client
		opts   Options
	}{
		{"nil client", nil, Options{}},
		{"prefix too long", c, Options{KeyPrefix: strings.Repeat("p", MaxKeyPrefixLen+1)}},
		{"prefix with a space", c, Options{KeyPrefix: "my app:"}},
		{"prefix with a newline", c, Options{KeyPrefix: "app\n"}},
		{"prefix with DEL", c, Options{KeyPrefix: "app\x7f"}},
		{"negative MaxItemSize", c, Options{MaxItemSize: -1}},
		{"MaxItemSize below memcached's minimum", c, Options{MaxItemSize: 1023}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "memcached: ") {
					t.Errorf("New panicked with %q; want a panic message starting \"memcached: \"", msg)
				}
			}()
			New(tt.client, tt.opts)
		})
	}
}

func TestNewAccepts(t *testing.T) {
	c := memcache.New("127.0.0.1:1") // never dialled
	for _, opts := range []Options{
		{},
		{KeyPrefix: strings.Repeat("p", MaxKeyPrefixLen)},
		{KeyPrefix: "ключ:"},
		{MaxItemSize: 1024},
		{MaxItemSize: 128 << 20},
	} {
		s := New(c, opts)
		if s.maxItemSize <= 0 || s.clock == nil {
			t.Errorf("New(%+v) left a zero default: %+v", opts, s)
		}
	}
}
