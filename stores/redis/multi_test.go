package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/stores/redis"
)

// clients are the kinds of client every GetMulti test runs on.
var clients = []struct {
	name string
	new  func(testing.TB) goredis.UniversalClient
}{
	{"single", func(tb testing.TB) goredis.UniversalClient { return singleClient(tb) }},
	{"cluster", func(tb testing.TB) goredis.UniversalClient { return clusterClient(tb) }},
	{"ring", func(tb testing.TB) goredis.UniversalClient { return ringClient(tb) }},
}

func TestGetMulti(t *testing.T) {
	// Many untagged keys land in many slots (and on both ring shards).
	var spread []string
	for i := range 50 {
		spread = append(spread, fmt.Sprintf("spread-%d", i))
	}
	tests := []struct {
		name   string
		stored map[string]string
		keys   []string
	}{
		{"no keys", nil, nil},
		{"one present", map[string]string{"a": "1"}, []string{"a"}},
		{"one missing", nil, []string{"a"}},
		{"order kept", map[string]string{"a": "1", "b": "2", "c": "3"}, []string{"c", "a", "b"}},
		{"missing between", map[string]string{"a": "1", "c": "3"}, []string{"a", "b", "c", "d"}},
		{"empty values", map[string]string{"e": "", "f": "x"}, []string{"e", "missing", "f"}},
		{"same key twice", map[string]string{"a": "1"}, []string{"a", "b", "a"}},
		{"same tag", map[string]string{"{url}vary": "v", "{url}variant": "body"}, []string{"{url}vary", "{url}variant", "{url}other"}},
		{"tags and slots mixed", map[string]string{"{t1}a": "1", "{t2}a": "2", "plain": "p", "{t1}b": ""},
			[]string{"{t1}a", "plain", "{t2}a", "{t1}b", "{t2}missing", "{}a", "{t1}a"}},
		{"many slots", storedAll(spread[:40]), spread},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			client := c.new(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
					ctx := context.Background()
					for k, v := range tt.stored {
						if err := st.Set(ctx, k, []byte(v), time.Minute); err != nil {
							t.Fatal(err)
						}
					}
					got, err := st.GetMulti(ctx, tt.keys...)
					if err != nil {
						t.Fatalf("GetMulti: %v", err)
					}
					if len(got) != len(tt.keys) {
						t.Fatalf("GetMulti of %d keys returned %d values", len(tt.keys), len(got))
					}
					for i, k := range tt.keys {
						want, ok := tt.stored[k]
						switch {
						case !ok && got[i] != nil:
							t.Errorf("value %d (%q) = %q; want nil (missing)", i, k, got[i])
						case ok && got[i] == nil:
							t.Errorf("value %d (%q) = nil; want %q", i, k, want)
						case ok && string(got[i]) != want:
							t.Errorf("value %d (%q) = %q; want %q", i, k, got[i], want)
						}
					}
				})
			}
		})
	}
}

func storedAll(keys []string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = "value of " + k
	}
	return m
}

// TestGetMultiOneRoundTrip checks that keys with one hash tag, as the
// middleware reads them, cost one command on every kind of client, and that
// keys in several groups cost one pipeline.
func TestGetMultiOneRoundTrip(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			client := c.new(t)
			st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
			ctx := context.Background()
			if err := st.Set(ctx, "{hc1:abc}vary", []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
			// Warm up the client: a cluster client loads its slot map first.
			if _, err := st.GetMulti(ctx, "{hc1:abc}vary", "{hc1:abc}variant"); err != nil {
				t.Fatal(err)
			}

			hook := count(client)
			if _, err := st.GetMulti(ctx, "{hc1:abc}vary", "{hc1:abc}variant"); err != nil {
				t.Fatal(err)
			}
			if hook.commands.Load() != 1 || hook.pipelines.Load() != 0 {
				t.Errorf("GetMulti of same-tag keys made %d commands and %d pipelines; want one command",
					hook.commands.Load(), hook.pipelines.Load())
			}

			hook = count(client)
			if _, err := st.GetMulti(ctx, "a", "b", "c", "d", "e", "f"); err != nil {
				t.Fatal(err)
			}
			wantCommands, wantPipelines := int64(0), int64(1)
			if c.name == "single" {
				wantCommands, wantPipelines = 1, 0 // one MGET of any keys
			}
			if hook.commands.Load() != wantCommands || hook.pipelines.Load() != wantPipelines {
				t.Errorf("GetMulti of untagged keys made %d commands and %d pipelines; want %d and %d",
					hook.commands.Load(), hook.pipelines.Load(), wantCommands, wantPipelines)
			}
		})
	}
}
