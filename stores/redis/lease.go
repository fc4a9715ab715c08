package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
)

// releaseSource deletes KEYS[1] only if it still holds ARGV[1]: a GET and
// a DEL that no other command can come between, so that a holder whose
// lease expired and passed to another token cannot delete the new one.
const releaseSource = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`

// releaseScript is releaseSource with its SHA-1, for EVALSHA.
var releaseScript = goredis.NewScript(releaseSource)

// Lease tries to take the lease called name for ttl on behalf of token,
// with SET name token NX PX ttl (ttl rounded up to a whole millisecond), and
// reports whether it got it: false, with no error, if the lease is held,
// by token or by any other. It refuses a ttl <= 0 with an error wrapping
// store.ErrInvalidTTL without sending anything, since a lease without
// an expiry would never be freed if its holder died.
func (s *Store) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("httpcache/redis: lease: ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("httpcache/redis: lease: %w", err)
	}
	// A StatusCmd rather than go-redis's SetNX, whose BoolCmd turns the nil
	// reply of a refused SET NX into false and would read any other status
	// as false too, and which sends EX for whole seconds: here OK is the
	// only success, the nil reply (goredis.Nil) the only "held", and
	// anything else an error.
	cmd := goredis.NewStatusCmd(ctx, "set", s.key(name), token, "nx", "px", ttlMillis(ttl))
	if err := s.exec(ctx, cmd); err != nil {
		if errors.Is(err, goredis.Nil) {
			return false, nil
		}
		return false, s.fail(ctx, "lease", err)
	}
	if v := cmd.Val(); v != "OK" {
		return false, fmt.Errorf("httpcache/redis: lease: SET NX replied %q", v)
	}
	return true, nil
}

// Release gives up the lease called name if token still holds it, by
// deleting it in a Lua script that compares its value first (EVALSHA, or
// EVAL when the server does not have the script yet). A lease that is not
// held, has expired, or is held by another token is left alone, and is
// not an error.
func (s *Store) Release(ctx context.Context, name, token string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpcache/redis: release: %w", err)
	}
	if _, err := s.runScript(ctx, releaseScript, releaseSource, s.key(name), token); err != nil {
		return s.fail(ctx, "release", err)
	}
	return nil
}

// runScript runs script, whose source is source, on the one key key with
// args as ARGV, and returns its command, whose integer reply is the
// script's. The commands are built here rather than with Script.Run,
// which calls the client directly, so that both go through exec and its
// handling of contexts. EVALSHA first, as Script.Run does: it sends 40
// bytes where EVAL sends the script; EVAL runs it on a server that lacks it
// (a new, restarted or flushed one: each Cluster node has its own script
// cache) and adds it to that server's cache for the next EVALSHA.
func (s *Store) runScript(ctx context.Context, script *goredis.Script, source, key string, args ...string) (*goredis.IntCmd, error) {
	cmd := scriptCmd(ctx, "evalsha", script.Hash(), key, args)
	err := s.exec(ctx, cmd)
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = scriptCmd(ctx, "eval", source, key, args)
		err = s.exec(ctx, cmd)
	}
	return cmd, err
}

// scriptCmd returns the EVAL or EVALSHA (verb) of script on the one key
// key, with args as ARGV. It marks the key's position, as go-redis's own
// Eval does, for a ClusterClient to route it by.
func scriptCmd(ctx context.Context, verb, script, key string, args []string) *goredis.IntCmd {
	cmdArgs := make([]any, 0, 4+len(args))
	cmdArgs = append(cmdArgs, verb, script, 1, key)
	for _, a := range args {
		cmdArgs = append(cmdArgs, a)
	}
	cmd := goredis.NewIntCmd(ctx, cmdArgs...)
	cmd.SetFirstKeyPos(3)
	return cmd
}
