package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
)

// tagKey returns the Redis key of the set that records tag's keys:
// KeyPrefix + "tag:{" + the first 128 bits of SHA-256 of tag in hex + "}".
//
// The tag is hashed rather than used as it is because tags may hold "{"
// and "}": in "tag:{" + tag + "}" the Cluster hash tag would end at the
// tag's own first "}", so that "a}x" and "a}y" hash alike, and every tag
// that starts with "{" has its hash tag cut at its first "}" ("{" + "{t}…"
// hashes "{t"), piling families of tags onto one slot and one node. A hash
// in the braces gives each tag a slot of its own, spread evenly, and a
// short printable name whatever the tag's length or bytes. Nothing depends
// on the slot for correctness: every tag command touches one key, and
// RemoveTags groups its DELs by slot as Delete does.
func (s *Store) tagKey(tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return s.prefix + "tag:{" + hex.EncodeToString(sum[:16]) + "}"
}

// addTagsCmds is how many commands AddTags sends per tag.
const addTagsCmds = 4

// AddTags records that key carries tags: it adds key, as it was passed, to
// each tag's set, and makes the set live at least ttl from now, rounded up
// to a whole millisecond, without shortening it. A ttl <= 0 is refused with
// an error wrapping httpcache.ErrInvalidTTL without sending anything.
//
// For each tag it sends
//
//	PEXPIRE set ms GT   extend a set that is there, so it cannot expire under the SADD
//	SADD set key
//	PEXPIRE set ms NX   give a set the SADD created its first expiry
//	PEXPIRE set ms GT   extend it, if another AddTags's NX came first with a shorter ttl
//
// all in one pipeline (on a Cluster, one per node involved). GT alone is
// not enough: it never sets an expiry on a set that has none, since Redis
// compares with a missing expiry as with an infinite one (so does LT, the
// other way round, which would let a shorter ttl cut a set short), and NX
// and GT cannot go in one command. PEXPIRE NX and GT need Redis 7.0; on an
// older server, which refuses them, AddTags sends a plain PEXPIRE to every
// set it added to, so that none is left without an expiry, and returns an
// error.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("httpcache/redis: addtags: ttl %v: %w", ttl, httpcache.ErrInvalidTTL)
	}
	if len(tags) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpcache/redis: addtags: %w", err)
	}
	ms := ttlMillis(ttl)
	cmds := make([]goredis.Cmder, 0, addTagsCmds*len(tags))
	for _, tag := range tags {
		set := s.tagKey(tag)
		cmds = append(cmds,
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "gt"),
			goredis.NewIntCmd(ctx, "sadd", set, key),
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "nx"),
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "gt"),
		)
	}
	err := s.exec(ctx, cmds...)
	if err == nil {
		return nil
	}
	// Unless ctx is done, exec's error is the pipeline's own and the
	// commands are finished: see which sets may lack an expiry.
	if ctx.Err() == nil {
		if unbounded := setsLeftUnbounded(cmds); len(unbounded) > 0 {
			return s.boundSets(ctx, unbounded, ms, err)
		}
	}
	return s.fail(ctx, "addtags", err)
}

// setsLeftUnbounded returns the sets of AddTags's commands cmds to which
// SADD added while the server refused the PEXPIRE NX after it: sets that
// may have been created with no expiry.
func setsLeftUnbounded(cmds []goredis.Cmder) []string {
	var sets []string
	for i := 0; i+addTagsCmds <= len(cmds); i += addTagsCmds {
		sadd, nx := cmds[i+1], cmds[i+2]
		var reply goredis.Error
		if sadd.Err() == nil && errors.As(nx.Err(), &reply) {
			sets = append(sets, sadd.Args()[1].(string))
		}
	}
	return sets
}

// boundSets sends a plain PEXPIRE set ms for each of sets, after the server
// refused PEXPIRE NX with refusal (most likely a server older than 7.0):
// the set may then expire before records added earlier with a longer ttl
// (so AddTags still fails), but never lives for ever.
func (s *Store) boundSets(ctx context.Context, sets []string, ms int64, refusal error) error {
	cmds := make([]goredis.Cmder, len(sets))
	for i, set := range sets {
		cmds[i] = goredis.NewIntCmd(ctx, "pexpire", set, ms)
	}
	if err := s.exec(ctx, cmds...); err != nil {
		return s.fail(ctx, "addtags", fmt.Errorf("%w (and a plain PEXPIRE of the tag sets failed: %w)", refusal, err))
	}
	return fmt.Errorf("httpcache/redis: addtags: the server refused PEXPIRE NX or GT (Redis 7.0 or later needed), so each tag set now expires with the latest ttl given for it: %w", refusal)
}

// TaggedKeys returns the keys recorded for tag, as they were passed to
// AddTags, in no particular order: the members of the tag's set (SMEMBERS).
// An unknown tag has none. Members are kept without Options.KeyPrefix,
// which is in the set's own name already.
func (s *Store) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("httpcache/redis: taggedkeys: %w", err)
	}
	cmd := goredis.NewStringSliceCmd(ctx, "smembers", s.tagKey(tag))
	if err := s.exec(ctx, cmd); err != nil {
		return nil, s.fail(ctx, "taggedkeys", err)
	}
	return cmd.Val(), nil
}

// RemoveTags forgets the records of tags by deleting their sets, with one
// UNLINK per group of sets that may share one (see the package
// documentation), all in one pipeline. UNLINK rather than DEL, as Delete
// sends: a set of many keys is freed in the background instead of holding
// up the server. Unknown tags are not an error.
func (s *Store) RemoveTags(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	sets := make([]string, len(tags))
	for i, tag := range tags {
		sets[i] = s.tagKey(tag)
	}
	return s.del(ctx, "removetags", "unlink", sets)
}
