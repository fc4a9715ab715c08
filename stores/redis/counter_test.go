package redis_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// clockFloor is a time in microseconds (November 2026), the kind of floor
// the middleware passes: 16 digits, past the 14 significant digits that
// Lua's tostring prints.
const clockFloor = 1_795_000_000_000_000

// TestAdvance checks what Advance sends and what Redis keeps: one EVALSHA
// of the script on the prefixed name with the floor in decimal and ttl "0"
// (after an EVAL the first time, should the node lack the script), and a
// counter without an expiry that GET reads as an exact decimal integer,
// also at the 16 digits of a time in microseconds and next to 2^53.
func TestAdvance(t *testing.T) {
	steps := []struct {
		floor, want int64
	}{
		{0, 1},
		{0, 2},
		{0, 3},
		{100, 100},
		{50, 101},
		{102, 102},
		{102, 103},
		{-5, 104},
		{clockFloor, clockFloor},
		{0, clockFloor + 1}, // "1.795e+15" from Lua's tostring
		{clockFloor + 1, clockFloor + 2},
		{redis.MaxCounter - 1, redis.MaxCounter - 1},
		{0, redis.MaxCounter},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			client := c.new(t)
			rec := record(client)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			ctx := context.Background()
			mark := 0
			for i, step := range steps {
				before := rec.roundTrips()
				_, mark = rec.since(mark)
				n, err := st.Advance(ctx, "clock", step.floor, 0)
				if err != nil || n != step.want {
					t.Fatalf("Advance(%d) = %d, %v; want %d", step.floor, n, err, step.want)
				}
				sent, next := rec.since(mark)
				mark = next
				want := []string{"evalsha"}
				if i == 0 && len(sent) == 2 { // the node did not have the script yet
					want = []string{"evalsha", "eval"}
				}
				if !slices.Equal(sent, want) {
					t.Errorf("Advance(%d) sent %q; want %q", step.floor, sent, want)
				}
				if trips := rec.roundTrips() - before; trips != int64(len(want)) {
					t.Errorf("Advance(%d) made %d round trips; want %d", step.floor, trips, len(want))
				}
				if got := rec.last(); len(got) != 6 || got[2] != 1 || got[3] != prefix+"clock" || got[4] != strconv.FormatInt(step.floor, 10) || got[5] != "0" {
					t.Errorf("Advance(%d) sent %q; want the script, 1, %q, %q, \"0\"", step.floor, got, prefix+"clock", strconv.FormatInt(step.floor, 10))
				}
				dec := strconv.FormatInt(step.want, 10)
				if got, err := st.Get(ctx, "clock"); err != nil || string(got) != dec {
					t.Errorf("Get after Advance(%d) = %q, %v; want %q", step.floor, got, err, dec)
				}
				if d := pttl(t, client, prefix+"clock"); d != -1 {
					t.Errorf("PTTL of the counter = %v; want -1 (no expiry)", d)
				}
			}
		})
	}
}

// TestAdvanceStoredValues runs Advance on keys that hold values it did
// not write: a decimal integer counts, with leading zeros or a sign, and
// takes the expiry of Advance's ttl (none for 0) in place of its own; anything else, and a value it could not advance
// exactly, is an error that leaves the key as it was (and is not a miss).
func TestAdvanceStoredValues(t *testing.T) {
	tests := []struct {
		name   string
		stored string
		floor  int64
		want   int64 // 0: an error
		ttl    time.Duration
	}{
		{"decimal", "41", 0, 42, 0},
		{"decimal, with a ttl", "41", 0, 42, time.Minute},
		{"text, with a ttl", "not a number", 0, 0, time.Minute},
		{"leading zeros", "007", 0, 8, 0},
		{"negative", "-5", -10, -4, 0},
		{"negative below floor", "-5", 3, 3, 0},
		{"just below 2^53", "9007199254740991", 0, redis.MaxCounter, 0},
		{"text", "not a number", 0, 0, 0},
		{"empty", "", 0, 0, 0},
		{"fraction", "1.5", 0, 0, 0},
		{"leading space", " 12", 0, 0, 0},
		{"trailing space", "12 ", 0, 0, 0},
		{"plus sign", "+12", 0, 0, 0},
		{"hex", "0x10", 0, 0, 0},
		{"exponent", "1e3", 0, 0, 0},
		{"2^53", "9007199254740992", 0, 0, 0},
		{"2^53+1", "9007199254740993", 0, 0, 0}, // read as 2^53 by Lua
		{"2^53+1 below the floor", "9007199254740993", redis.MaxCounter, 0, 0},
		{"beyond int64", "99999999999999999999", 0, 0, 0},
		{"below -2^53", "-9007199254740993", 0, 0, 0},
	}
	client := singleClient(t)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("c%d", i)
			if err := client.Set(ctx, prefix+key, tt.stored, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			n, err := st.Advance(ctx, key, tt.floor, tt.ttl)
			if tt.want == 0 {
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("Advance of %q = %d, %v; want an error other than ErrNotFound", tt.stored, n, err)
				}
				if got, err := client.Get(ctx, prefix+key).Result(); err != nil || got != tt.stored {
					t.Errorf("GET after a refused Advance = %q, %v; want %q as it was", got, err, tt.stored)
				}
				if d := pttl(t, client, prefix+key); d <= 0 {
					t.Errorf("PTTL after a refused Advance = %v; want the hour it had", d)
				}
				return
			}
			if err != nil || n != tt.want {
				t.Fatalf("Advance of %q = %d, %v; want %d", tt.stored, n, err, tt.want)
			}
			if got, err := client.Get(ctx, prefix+key).Result(); err != nil || got != strconv.FormatInt(tt.want, 10) {
				t.Errorf("GET after Advance = %q, %v; want %q", got, err, strconv.FormatInt(tt.want, 10))
			}
			d := pttl(t, client, prefix+key)
			if tt.ttl == 0 && d != -1 {
				t.Errorf("PTTL after Advance = %v; want -1 (no expiry)", d)
			}
			if tt.ttl != 0 && (d > tt.ttl || d < tt.ttl-time.Second) {
				t.Errorf("PTTL after Advance with ttl %v = %v; want about the ttl", tt.ttl, d)
			}
		})
	}

	t.Run("not a string", func(t *testing.T) {
		if err := client.RPush(ctx, prefix+"list", "a").Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := st.Advance(ctx, "list", 0, time.Minute); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Advance of a list = %d, %v; want an error other than ErrNotFound", n, err)
		}
		if typ, err := client.Type(ctx, prefix+"list").Result(); err != nil || typ != "list" {
			t.Errorf("TYPE after Advance = %q, %v; want list", typ, err)
		}
	})
}

// TestAdvanceTTL follows one counter through Advance calls with and
// without a ttl: each sends its ttl in whole milliseconds, rounded up ("0"
// for none), and leaves the counter with exactly that expiry, renewed,
// lengthened, shortened or cleared; a negative ttl is refused before
// anything is sent. A counter with a tiny ttl is gone after a short sleep,
// and starts again from 1.
func TestAdvanceTTL(t *testing.T) {
	const near = 500 * time.Millisecond // how far PTTL may have run down
	steps := []struct {
		name string
		ttl  time.Duration
		ms   string
	}{
		{"given a ttl", time.Minute, "60000"},
		{"lengthened", time.Hour, "3600000"},
		{"shortened", 1500 * time.Millisecond, "1500"},
		{"rounded up", 2*time.Minute + time.Nanosecond, "120001"},
		{"cleared", 0, "0"},
		{"given one again", time.Minute, "60000"},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.new(t)
			rec := record(client)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			ctx := context.Background()
			for i, step := range steps {
				n, err := st.Advance(ctx, "c", 0, step.ttl)
				if err != nil || n != int64(i+1) {
					t.Fatalf("%s: Advance = %d, %v; want %d", step.name, n, err, i+1)
				}
				if got := rec.last(); len(got) != 6 || got[3] != prefix+"c" || got[5] != step.ms {
					t.Errorf("%s: Advance sent %q; want the script on %q with ttl %q", step.name, got, prefix+"c", step.ms)
				}
				d := pttl(t, client, prefix+"c")
				if step.ttl == 0 && d != -1 {
					t.Errorf("%s: PTTL = %v; want -1 (no expiry)", step.name, d)
				}
				if step.ttl != 0 && (d > step.ttl+time.Millisecond || d < step.ttl-near) {
					t.Errorf("%s: PTTL = %v; want about %v", step.name, d, step.ttl)
				}
			}

			before := rec.roundTrips()
			for _, ttl := range []time.Duration{-1, -time.Hour, math.MinInt64} {
				if n, err := st.Advance(ctx, "c", 100, ttl); !errors.Is(err, store.ErrInvalidTTL) {
					t.Errorf("Advance with ttl %v = %d, %v; want an error wrapping ErrInvalidTTL", ttl, n, err)
				}
			}
			if trips := rec.roundTrips() - before; trips != 0 {
				t.Errorf("refused Advance calls made %d round trips; want 0", trips)
			}
			if got, err := st.Get(ctx, "c"); err != nil || string(got) != strconv.Itoa(len(steps)) {
				t.Errorf("Get after refused Advance calls = %q, %v; want %q", got, err, strconv.Itoa(len(steps)))
			}

			// 1ns is sent as 1 ms, never as 0 ("for ever").
			if _, err := st.Advance(ctx, "tiny", 0, time.Nanosecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if _, err := st.Get(ctx, "tiny"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get 50 ms after Advance with ttl 1ns = %v; want ErrNotFound", err)
			}
			if n, err := st.Advance(ctx, "tiny", 0, time.Minute); err != nil || n != 1 {
				t.Errorf("Advance of an expired counter = %d, %v; want 1", n, err)
			}
		})
	}
}

// TestAdvanceFloorBound checks that a floor beyond 2^53 is refused before
// anything is sent, and that 2^53 itself is kept exactly.
func TestAdvanceFloorBound(t *testing.T) {
	client := singleClient(t)
	rec := record(client)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()

	before := rec.roundTrips()
	if n, err := st.Advance(ctx, "c", redis.MaxCounter+1, 0); err == nil {
		t.Errorf("Advance(2^53+1) = %d; want an error", n)
	}
	if trips := rec.roundTrips() - before; trips != 0 {
		t.Errorf("Advance(2^53+1) made %d round trips; want 0", trips)
	}
	if n, err := client.Exists(ctx, prefix+"c").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS after a refused Advance = %d, %v; want 0", n, err)
	}
	if n, err := st.Advance(ctx, "c", redis.MaxCounter, 0); err != nil || n != redis.MaxCounter {
		t.Fatalf("Advance(2^53) = %d, %v; want %d", n, err, int64(redis.MaxCounter))
	}
	if got, err := st.Get(ctx, "c"); err != nil || string(got) != "9007199254740992" {
		t.Errorf("Get after Advance(2^53) = %q, %v; want \"9007199254740992\"", got, err)
	}
}

// TestAdvanceScriptCache checks Advance on a server that does not have the
// script cached: EVALSHA, NOSCRIPT, then EVAL of the script whose SHA-1
// the EVALSHA sent, which caches it, so that the next Advance is one
// EVALSHA.
func TestAdvanceScriptCache(t *testing.T) {
	srv := testserver.Redis(t) // fresh: no scripts cached
	srv.SkipIfExternal(t)      // an external server may have it cached already
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	rec := record(client)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	ctx := context.Background()

	mark := 0
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"first Advance", []string{"evalsha", "eval"}},
		{"second Advance", []string{"evalsha"}},
	} {
		if _, err := st.Advance(ctx, "c", 0, 0); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var sent []string
		sent, mark = rec.since(mark)
		if !slices.Equal(sent, tt.want) {
			t.Errorf("%s sent %q; want %q", tt.name, sent, tt.want)
		}
	}
	rec.mu.Lock()
	evalsha, eval := rec.args[0], rec.args[1]
	rec.mu.Unlock()
	sum := sha1.Sum([]byte(fmt.Sprint(eval[1])))
	if got, want := fmt.Sprint(evalsha[1]), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("EVALSHA sent %s; want %s, the SHA-1 of the script EVAL sent", got, want)
	}
}
