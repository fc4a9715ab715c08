package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
)

// MaxCounter is the largest value Advance keeps: 2^53. The script that
// advances a counter runs in Redis's Lua, whose numbers are doubles, which
// hold every integer only up to 2^53; the middleware's counters hold times
// in microseconds, about 2^50.7 in 2026 (2^53 is reached in the year 2255).
const MaxCounter = 1 << 53

// advanceSource sets KEYS[1] to the larger of ARGV[1] (the floor, a
// decimal no larger than MaxCounter) and its value plus one, a missing key
// counting as 0, and returns the new value. ARGV[2] is the counter's ttl in
// whole milliseconds, "0" for none. A value that is not a decimal integer
// (tonumber alone would take " 12", "0x10", "1e3" or "1.5"), or that is too
// large to advance exactly, is an error, and the key is left as it was.
// tonumber rounds a decimal of magnitude beyond 2^53 to one of magnitude
// 2^53 or more (2^53+1 reads as 2^53), so checking the magnitude of the
// number catches every such value. The new value is written with
// string.format('%d'), which prints a double as an integer exactly in the
// int64 range: tostring (and so "..") prints 14 significant digits
// ("1.795e+15" for 1795000000000001), and a number passed to redis.call as
// it is is formatted by the server as it sees fit (Redis 7.0: %.17g, which
// turns exponential from 10^17). The ttl is passed on to SET PX as the
// string it came as, for the same reason. SET without PX clears any
// expiry, so that a ttl of 0 leaves a counter that never expires, even
// where the key held a value with a ttl (or a counter advanced with one);
// SET with PX replaces any expiry, so that each Advance renews it. The
// reply, a Lua number, reaches the client as an integer.
const advanceSource = `local v = redis.call('GET', KEYS[1])
local c = 0
if v then
	c = string.match(v, '^%-?%d+$') and tonumber(v)
	if not c then
		return redis.error_reply('ERR counter holds a value that is not a decimal integer')
	end
	if math.abs(c) >= 2^53 then
		return redis.error_reply('ERR counter is at 2^53 or beyond, past which it cannot be advanced exactly')
	end
end
local n = math.max(c + 1, tonumber(ARGV[1]))
if ARGV[2] == '0' then
	redis.call('SET', KEYS[1], string.format('%d', n))
else
	redis.call('SET', KEYS[1], string.format('%d', n), 'PX', ARGV[2])
end
return n`

// advanceScript is advanceSource with its SHA-1, for EVALSHA.
var advanceScript = goredis.NewScript(advanceSource)

// Advance sets the counter called name (under Options.KeyPrefix, like
// every key) to the larger of floor and its value plus one, a missing
// counter counting as 0, and returns the new value. It runs a Lua script
// on the one key (EVALSHA, or EVAL when the server does not have the
// script yet), so it is atomic and works on a Cluster, a Ring and a single
// node alike. With ttl > 0 the counter expires ttl after the call, rounded
// up to a whole millisecond (SET PX: each Advance renews it); with ttl 0 it
// has no expiry (SET without PX, which clears one the key had). It reads
// back with Get as plain decimal ("42"). Counters are kept exactly up to
// MaxCounter: a floor beyond it is refused without sending anything, as is
// a negative ttl (with an error wrapping store.ErrInvalidTTL); and so
// is, by the script, a counter of magnitude MaxCounter or more, or a key
// holding anything but a decimal integer (the key is then left as it was).
func (s *Store) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if floor > MaxCounter {
		return 0, fmt.Errorf("httpcache/redis: advance: floor %d is beyond 2^53, past which a counter cannot be advanced exactly", floor)
	}
	if ttl < 0 {
		return 0, fmt.Errorf("httpcache/redis: advance: ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("httpcache/redis: advance: %w", err)
	}
	ms := "0" // no expiry
	if ttl > 0 {
		ms = strconv.FormatInt(ttlMillis(ttl), 10)
	}
	cmd, err := s.runScript(ctx, advanceScript, advanceSource, s.key(name), strconv.FormatInt(floor, 10), ms)
	if err != nil {
		return 0, s.fail(ctx, "advance", err)
	}
	return cmd.Val(), nil
}
