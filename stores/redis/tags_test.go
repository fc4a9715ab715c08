package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// tagSet is the Redis key of tag's set under prefix, as the package
// documentation names it: the tag itself, under the prefix.
func tagSet(prefix, tag string) string { return prefix + tag }

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
	for _, ttl := range []time.Duration{time.Minute, time.Hour} {
		// Stored, as the middleware stores an entry before tagging it,
		// so that pruning keeps them.
		if err := st.Set(ctx, ttl.String(), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
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
		{"AddTags with zero ttl", func() error { return st.AddTags(ctx, "k", []string{"t"}, 0) }, store.ErrInvalidTTL, 0, 0},
		{"AddTags with negative ttl", func() error { return st.AddTags(ctx, "k", []string{"t"}, -time.Second) }, store.ErrInvalidTTL, 0, 0},
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

// TestAddTagsPrunes fills a tag set with members whose keys are deleted or
// expired, and a few whose keys are stored, then keeps tagging stored keys
// with a store that prunes on every AddTags: the set shrinks to the stored
// keys, which are never removed, each AddTags checking a bounded batch, and
// the set keeps its expiry. A store with a negative TagPruneInterval never
// prunes.
func TestAddTagsPrunes(t *testing.T) {
	const live, deleted, expired = 20, 300, 100
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.new(t)
			prefix := freshPrefix(t)
			never := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: -1})
			ctx := context.Background()
			set := tagSet(prefix, "t")
			var liveKeys, goneKeys []string
			tag := func(key string, ttl time.Duration) {
				t.Helper()
				if err := never.Set(ctx, key, []byte("v"), ttl); err != nil {
					t.Fatal(err)
				}
				if err := never.AddTags(ctx, key, []string{"t"}, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			for i := range live {
				liveKeys = append(liveKeys, fmt.Sprint("live-", i))
				tag(liveKeys[i], time.Hour)
			}
			for i := range deleted {
				goneKeys = append(goneKeys, fmt.Sprint("deleted-", i))
				tag(goneKeys[len(goneKeys)-1], time.Hour)
			}
			if err := never.Delete(ctx, goneKeys...); err != nil {
				t.Fatal(err)
			}
			for i := range expired {
				goneKeys = append(goneKeys, fmt.Sprint("expired-", i))
				tag(goneKeys[len(goneKeys)-1], time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			// Tagging with the store that never prunes leaves them all.
			for i := range 2 * DefaultTagPruneIntervalForTest {
				if err := never.AddTags(ctx, liveKeys[i%live], []string{"t"}, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := client.SCard(ctx, set).Result(); err != nil || n != live+deleted+expired {
				t.Fatalf("SCARD after tagging without pruning = %d, %v; want %d", n, err, live+deleted+expired)
			}

			rec := &pipelines{}
			client.AddHook(rec)
			pruner := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: 1})
			calls, maxChecked := 0, 0
			for n := int64(live + deleted + expired); n > live; calls++ {
				if calls == 50 {
					t.Fatalf("after %d AddTags calls the set still has %d members; want %d", calls, n, live)
				}
				rec.mu.Lock()
				rec.sent = nil
				rec.mu.Unlock()
				if err := pruner.AddTags(ctx, liveKeys[calls%live], []string{"t"}, time.Hour); err != nil {
					t.Fatalf("AddTags: %v", err)
				}
				rec.mu.Lock()
				for _, p := range rec.sent {
					checked := 0
					for _, args := range p {
						if args[0] == "exists" {
							checked++
						}
					}
					maxChecked = max(maxChecked, checked)
				}
				rec.mu.Unlock()
				members, err := client.SMembers(ctx, set).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range liveKeys {
					if !slices.Contains(members, k) {
						t.Fatalf("after %d AddTags calls, the set lacks %q, whose key is stored", calls+1, k)
					}
				}
				for _, k := range members {
					if !slices.Contains(liveKeys, k) && !slices.Contains(goneKeys, k) {
						t.Fatalf("the set has %q, never recorded", k)
					}
				}
				n = int64(len(members))
			}
			t.Logf("%d AddTags calls pruned %d members; each checked at most %d", calls, deleted+expired, maxChecked)
			if maxChecked > 100 {
				t.Errorf("an AddTags call checked %d members; want at most 100", maxChecked)
			}
			if d := pttl(t, client, set); d <= 0 || d > time.Hour {
				t.Errorf("PTTL of the pruned set = %v; want at most an hour, never none", d)
			}
		})
	}
}

// DefaultTagPruneIntervalForTest is redis.DefaultTagPruneInterval, as an
// int.
const DefaultTagPruneIntervalForTest = int(redis.DefaultTagPruneInterval)

// TestAddTagsPruneInterval checks which AddTags calls prune: every
// TagPruneInterval-th (32 by default), none with a negative one, each
// adding one SRANDMEMBER set 100 to the end of its pipeline, of one of its
// tags' sets, the tags taking turns.
func TestAddTagsPruneInterval(t *testing.T) {
	tests := []struct {
		name     string
		interval int
		calls    int
		want     []int // the calls that prune, from 1
	}{
		{"default", 0, 100, []int{32, 64, 96}},
		{"every 5", 5, 30, []int{5, 10, 15, 20, 25, 30}},
		{"every call", 1, 4, []int{1, 2, 3, 4}},
		{"never", -1, 100, nil},
	}
	tags := []string{"a", "b", "c"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := singleClient(t)
			rec := &pipelines{}
			client.AddHook(rec)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: tt.interval})
			ctx := context.Background()
			if err := st.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
				t.Fatal(err)
			}
			var pruned []int
			var sets []string
			for call := 1; call <= tt.calls; call++ {
				if err := st.AddTags(ctx, "k", tags, time.Hour); err != nil {
					t.Fatal(err)
				}
				last := rec.last()
				if len(last) == 0 {
					continue // the EXISTS of one member went on its own
				}
				rec.mu.Lock()
				var addTags [][]any
				for _, p := range rec.sent {
					if p[0][0] == "pexpire" {
						addTags = p
					}
				}
				rec.sent = nil
				rec.mu.Unlock()
				switch len(addTags) {
				case addTagsCmds * len(tags):
				case addTagsCmds*len(tags) + 1:
					sample := addTags[len(addTags)-1]
					if len(sample) != 3 || sample[0] != "srandmember" || fmt.Sprint(sample[2]) != "100" {
						t.Fatalf("call %d: the pipeline ends with %q; want SRANDMEMBER set 100", call, sample)
					}
					pruned = append(pruned, call)
					sets = append(sets, sample[1].(string))
				default:
					t.Fatalf("call %d: AddTags sent a pipeline of %d commands", call, len(addTags))
				}
			}
			if !slices.Equal(pruned, tt.want) {
				t.Errorf("calls that pruned: %v; want %v", pruned, tt.want)
			}
			for i, set := range sets {
				n := tt.want[i] / max(tt.interval, 1)
				if tt.interval == 0 {
					n = tt.want[i] / DefaultTagPruneIntervalForTest
				}
				if want := tagSet(prefix, tags[n%len(tags)]); set != want {
					t.Errorf("call %d pruned %s; want %s, the tags taking turns", tt.want[i], set, want)
				}
			}
		})
	}
}

// addTagsCmds is how many commands AddTags sends per tag.
const addTagsCmds = 4

// TestAddTagsPruneRestores writes a key again, and records it again,
// between the EXISTS that found it gone and the SREM that removes it: the
// pruning checks the removed keys again and puts the stored one back, with
// an expiry on the set even though the SREM emptied it.
func TestAddTagsPruneRestores(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: 1})
	ctx := context.Background()
	set := tagSet(prefix, "t")
	// "back" was recorded, then its key deleted.
	if err := client.SAdd(ctx, set, "back").Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.PExpire(ctx, set, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	writer := goredis.NewClient(&goredis.Options{Addr: client.Options().Addr})
	defer writer.Close()
	m := &beforeCommand{name: "srem", do: func() {
		// What a fill of "back" does meanwhile: store, then record.
		if err := writer.Set(ctx, prefix+"back", "v", time.Hour).Err(); err != nil {
			t.Error(err)
		}
		if err := writer.SAdd(ctx, set, "back").Err(); err != nil {
			t.Error(err)
		}
	}}
	client.AddHook(m)
	// "ghost" is recorded without being stored, so that the SREM takes
	// both members and empties the set.
	if err := st.AddTags(ctx, "ghost", []string{"t"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !m.done.Load() {
		t.Fatal("AddTags sent no SREM")
	}
	members, err := client.SMembers(ctx, set).Result()
	if err != nil || !slices.Equal(members, []string{"back"}) {
		t.Errorf("SMEMBERS after the pruning = %q, %v; want [back], put back", members, err)
	}
	if d := pttl(t, client, set); d <= 0 || d > time.Minute {
		t.Errorf("PTTL of the set put back = %v; want at most the minute of the ttl, never none", d)
	}
}

// beforeCommand is a go-redis hook that calls do once, just before the
// first command called name is sent on its own.
type beforeCommand struct {
	name string
	do   func()
	done atomic.Bool
}

func (b *beforeCommand) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (b *beforeCommand) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == b.name && b.done.CompareAndSwap(false, true) {
			b.do()
		}
		return next(ctx, cmd)
	}
}

func (b *beforeCommand) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestAddTagsWithoutSRANDMEMBER makes the server refuse the SRANDMEMBER
// of a pruning (a hook renames it, as a proxy without it would answer):
// AddTags still succeeds, having recorded the key, and prunes nothing.
func TestAddTagsWithoutSRANDMEMBER(t *testing.T) {
	client := singleClient(t)
	client.AddHook(renameInPipeline{from: "srandmember", to: "no-such-command"})
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: 1})
	ctx := context.Background()
	if err := client.SAdd(ctx, tagSet(prefix, "t"), "gone").Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.AddTags(ctx, "k", []string{"t"}, time.Minute); err != nil {
		t.Fatalf("AddTags with the SRANDMEMBER refused = %v; want nil", err)
	}
	keys, err := st.TaggedKeys(ctx, "t")
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"gone", "k"}) {
		t.Errorf("TaggedKeys = %q, %v; want [gone k]", keys, err)
	}
}

// renameInPipeline is a go-redis hook that renames every command called
// from in a pipeline.
type renameInPipeline struct{ from, to string }

func (renameInPipeline) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (renameInPipeline) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (r renameInPipeline) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == r.from {
				cmd.Args()[0] = r.to
			}
		}
		return next(ctx, cmds)
	}
}

// TestAddTagsPruneStopsWithContext ends the context while the pruning
// checks its members: AddTags returns nil, the key recorded, and sends
// nothing more (no SREM), whether or not the client bounds its calls by
// the context's deadline.
func TestAddTagsPruneStopsWithContext(t *testing.T) {
	for _, timeoutEnabled := range []bool{false, true} {
		t.Run(fmt.Sprint("ContextTimeoutEnabled ", timeoutEnabled), func(t *testing.T) {
			srv := singleClient(t).Options().Addr
			client := goredis.NewClient(&goredis.Options{Addr: srv, ContextTimeoutEnabled: timeoutEnabled})
			defer client.Close()
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix, TagPruneInterval: 1})
			bg := context.Background()
			if err := client.SAdd(bg, tagSet(prefix, "t"), "gone").Err(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(bg, time.Minute)
			defer cancel()
			rec := &pipelines{}
			client.AddHook(cancelAt{name: "exists", cancel: cancel})
			client.AddHook(rec)
			if err := st.AddTags(ctx, "k", []string{"t"}, time.Minute); err != nil {
				t.Fatalf("AddTags with its pruning cut short = %v; want nil", err)
			}
			time.Sleep(50 * time.Millisecond) // for anything sent in the background
			rec.mu.Lock()
			for _, p := range rec.sent {
				for _, args := range p {
					if args[0] == "srem" {
						t.Errorf("AddTags sent %q after its context ended", args)
					}
				}
			}
			rec.mu.Unlock()
			keys, err := st.TaggedKeys(bg, "t")
			slices.Sort(keys)
			if err != nil || !slices.Equal(keys, []string{"gone", "k"}) {
				t.Errorf("TaggedKeys = %q, %v; want [gone k]", keys, err)
			}
		})
	}
}

// cancelAt is a go-redis hook that calls cancel when it sees a command
// called name, alone or in a pipeline, before sending it.
type cancelAt struct {
	name   string
	cancel context.CancelFunc
}

func (c cancelAt) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c cancelAt) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == c.name {
			c.cancel()
		}
		return next(ctx, cmd)
	}
}

func (c cancelAt) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == c.name {
				c.cancel()
				break
			}
		}
		return next(ctx, cmds)
	}
}
