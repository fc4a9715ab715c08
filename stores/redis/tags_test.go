package redis_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/redis"
)

// tagSet is the Redis key of tag's set under prefix, as the package
// documentation names it.
func tagSet(prefix, tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return prefix + "tag:{" + hex.EncodeToString(sum[:16]) + "}"
}

// pipelines is a go-redis hook that records the arguments of the commands
// of every pipeline, and counts round trips as counter does.
type pipelines struct {
	counter
	mu   sync.Mutex
	sent [][][]any
}

func (p *pipelines) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	count := p.counter.ProcessPipelineHook(next)
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if len(cmds) > 0 && !isHandshake(cmds[0]) {
			args := make([][]any, len(cmds))
			for i, cmd := range cmds {
				args[i] = cmd.Args()
			}
			p.mu.Lock()
			p.sent = append(p.sent, args)
			p.mu.Unlock()
		}
		return count(ctx, cmds)
	}
}

// last returns the commands of the last pipeline, each as its arguments
// joined by spaces.
func (p *pipelines) last() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sent) == 0 {
		return nil
	}
	var out []string
	for _, args := range p.sent[len(p.sent)-1] {
		out = append(out, strings.TrimSpace(fmt.Sprintln(args...)))
	}
	return out
}

// pttl returns the remaining time to live of key as PTTL reports it: -1
// for none, -2 for a missing key.
func pttl(t *testing.T, client goredis.UniversalClient, key string) time.Duration {
	t.Helper()
	d, err := client.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return d
}

// TestAddTagsExpiry follows one tag set's expiry through AddTags calls of
// longer and shorter ttls: it is set by the first, extended by longer ones,
// never shortened, and never missing. It also checks the commands sent and
// the set's name and members.
func TestAddTagsExpiry(t *testing.T) {
	const near = 500 * time.Millisecond // how far PTTL may have run down
	steps := []struct {
		name    string
		tag     string
		key     string
		ttl     time.Duration
		wantTTL time.Duration // the set's expiry afterwards
	}{
		{"first sets the expiry", "t", "k1", time.Hour, time.Hour},
		{"shorter does not shorten", "t", "k2", time.Second, time.Hour},
		{"same key shorter", "t", "k1", time.Second, time.Hour},
		{"longer extends", "t", "k3", 2 * time.Hour, 2 * time.Hour},
		{"another tag", "u", "k1", 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"then longer", "u", "k2", time.Hour, time.Hour},
	}
	for _, c := range leaseClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.client(t)
			rec := &pipelines{}
			client.AddHook(rec)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			ctx := context.Background()
			members := map[string][]string{}
			for _, step := range steps {
				t.Run(step.name, func(t *testing.T) {
					if err := st.AddTags(ctx, step.key, []string{step.tag}, step.ttl); err != nil {
						t.Fatalf("AddTags: %v", err)
					}
					set := tagSet(prefix, step.tag)
					ms := step.ttl.Milliseconds()
					want := []string{
						fmt.Sprint("pexpire ", set, " ", ms, " gt"),
						fmt.Sprint("sadd ", set, " ", step.key),
						fmt.Sprint("pexpire ", set, " ", ms, " nx"),
						fmt.Sprint("pexpire ", set, " ", ms, " gt"),
					}
					if got := rec.last(); !slices.Equal(got, want) {
						t.Errorf("AddTags sent\n%q\nwant\n%q", got, want)
					}
					if d := pttl(t, client, set); d > step.wantTTL || d < step.wantTTL-near {
						t.Errorf("PTTL %s = %v; want about %v", set, d, step.wantTTL)
					}
					// Members are the keys as passed, without the prefix.
					if !slices.Contains(members[step.tag], step.key) {
						members[step.tag] = append(members[step.tag], step.key)
					}
					got, err := client.SMembers(ctx, set).Result()
					slices.Sort(got)
					if err != nil || !slices.Equal(got, members[step.tag]) {
						t.Errorf("SMEMBERS %s = %q, %v; want %q", set, got, err, members[step.tag])
					}
				})
			}
		})
	}
}

// TestAddTagsRace races AddTags of a short and a long ttl on fresh tags:
// whichever PEXPIRE NX lands first, the set ends with the long expiry.
func TestAddTagsRace(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()
	for i := range 50 {
		tag := fmt.Sprint("race-", i)
		var wg sync.WaitGroup
		for _, ttl := range []time.Duration{time.Minute, time.Hour} {
			wg.Go(func() {
				if err := st.AddTags(ctx, ttl.String(), []string{tag}, ttl); err != nil {
					t.Errorf("AddTags: %v", err)
				}
			})
		}
		wg.Wait()
		if d := pttl(t, client, tagSet(prefix, tag)); d < 59*time.Minute {
			t.Fatalf("round %d: PTTL = %v; want about an hour", i, d)
		}
	}
}

// TestAddTagsWithoutPEXPIREOptions makes the server refuse PEXPIRE NX and GT,
// as servers before Redis 7.0 do (a hook replaces the options with one
// Redis 7 refuses too): AddTags fails, but leaves no set without an expiry.
func TestAddTagsWithoutPEXPIREOptions(t *testing.T) {
	client := singleClient(t)
	client.AddHook(spoilPEXPIRE{})
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()
	err := st.AddTags(ctx, "k", []string{"a", "b"}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "7.0") {
		t.Fatalf("AddTags on a server without PEXPIRE NX/GT = %v; want an error saying Redis 7.0 is needed", err)
	}
	t.Logf("AddTags: %v", err)
	for _, tag := range []string{"a", "b"} {
		set := tagSet(prefix, tag)
		if d := pttl(t, client, set); d <= 0 || d > time.Minute {
			t.Errorf("PTTL %s = %v; want at most a minute, never none (-1)", set, d)
		}
		if keys, err := st.TaggedKeys(ctx, tag); err != nil || !slices.Equal(keys, []string{"k"}) {
			t.Errorf("TaggedKeys(%q) = %q, %v; want [k]", tag, keys, err)
		}
	}
}

// spoilPEXPIRE is a go-redis hook that replaces the NX and GT options of
// every PEXPIRE in a pipeline by one no Redis knows.
type spoilPEXPIRE struct{}

func (spoilPEXPIRE) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (spoilPEXPIRE) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (spoilPEXPIRE) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			if args := cmd.Args(); cmd.Name() == "pexpire" && len(args) == 4 {
				args[3] = "older-than-7.0"
			}
		}
		return next(ctx, cmds)
	}
}

// TestTagsRoundTrips checks what the TagIndex methods send: nothing for no
// tags or a refused ttl, one pipeline for AddTags, one command for
// TaggedKeys and for RemoveTags of one tag.
func TestTagsRoundTrips(t *testing.T) {
	client := singleClient(t)
	c := count(client)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	ctx := context.Background()
	tests := []struct {
		name                string
		call                func() error
		want                error
		commands, pipelines int64
	}{
		{"AddTags of no tags", func() error { return st.AddTags(ctx, "k", nil, time.Minute) }, nil, 0, 0},
		{"AddTags with zero ttl", func() error { return st.AddTags(ctx, "k", []string{"t"}, 0) }, httpcache.ErrInvalidTTL, 0, 0},
		{"AddTags with negative ttl", func() error { return st.AddTags(ctx, "k", []string{"t"}, -time.Second) }, httpcache.ErrInvalidTTL, 0, 0},
		{"AddTags of one tag", func() error { return st.AddTags(ctx, "k", []string{"t"}, time.Minute) }, nil, 0, 1},
		{"AddTags of three tags", func() error { return st.AddTags(ctx, "k", []string{"t", "u", "v"}, time.Minute) }, nil, 0, 1},
		{"TaggedKeys", func() error { _, err := st.TaggedKeys(ctx, "t"); return err }, nil, 1, 0},
		{"RemoveTags of no tags", func() error { return st.RemoveTags(ctx) }, nil, 0, 0},
		{"RemoveTags of one tag", func() error { return st.RemoveTags(ctx, "t") }, nil, 1, 0},
		// A single node takes any keys in one command.
		{"RemoveTags of three tags", func() error { return st.RemoveTags(ctx, "t", "u", "v") }, nil, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commands, pipelines := c.commands.Load(), c.pipelines.Load()
			if err := tt.call(); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
			commands, pipelines = c.commands.Load()-commands, c.pipelines.Load()-pipelines
			if commands != tt.commands || pipelines != tt.pipelines {
				t.Errorf("made %d commands and %d pipelines; want %d and %d", commands, pipelines, tt.commands, tt.pipelines)
			}
		})
	}
}

// TestClusterTagsManySlots records a key under tags whose sets are in
// every node of the cluster: AddTags is one pipeline, one round trip to
// each node, never a CROSSSLOT error; so is RemoveTags of them all.
func TestClusterTagsManySlots(t *testing.T) {
	client := clusterClient(t)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	ctx := context.Background()
	var tags []string
	for i := range 200 {
		tags = append(tags, fmt.Sprintf("tag-%d", i))
	}
	tags = append(tags, "{braces}", "a}b", "{", "}")
	// Warm up: the client loads the slot map and dials every node.
	if err := st.AddTags(ctx, "warm-up", tags, time.Minute); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		name string
		call func() error
	}{
		{"AddTags", func() error { return st.AddTags(ctx, "k", tags, time.Minute) }},
		{"RemoveTags", func() error { return st.RemoveTags(ctx, tags...) }},
	} {
		clusterHook := count(client)
		nodeHooks := countNodes(t, client)
		if err := step.call(); err != nil {
			t.Fatalf("%s of %d tags in many slots: %v", step.name, len(tags), err)
		}
		if got := clusterHook.pipelines.Load(); got != 1 || clusterHook.commands.Load() != 0 {
			t.Errorf("%s made %d pipelines and %d single commands; want one pipeline",
				step.name, got, clusterHook.commands.Load())
		}
		for addr, h := range nodeHooks {
			if n := h.roundTrips(); n != 1 {
				t.Errorf("%s: node %s got %d round trips; want one (200 tags reach every node)", step.name, addr, n)
			}
		}
		for _, tag := range tags {
			keys, err := st.TaggedKeys(ctx, tag)
			if err != nil {
				t.Fatalf("TaggedKeys(%q) after %s: %v", tag, step.name, err)
			}
			slices.Sort(keys)
			want := []string{"k", "warm-up"}
			if step.name == "RemoveTags" {
				want = nil
			}
			if !slices.Equal(keys, want) {
				t.Fatalf("TaggedKeys(%q) after %s = %q; want %q", tag, step.name, keys, want)
			}
		}
	}
}
