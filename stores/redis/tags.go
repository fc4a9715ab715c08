package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
)

// tagKey returns the Redis key of the set that records tag's keys: the tag
// itself, under Options.KeyPrefix like every key. A tag is a name in the
// keyspace, as counter and lease names are (store.TagIndex), so that
// the caller's own namespace covers its sets: the middleware names them
// under its Options.KeyPrefix, with a hash of the tag in braces as their
// Cluster hash tag.
func (s *Store) tagKey(tag string) string { return s.key(tag) }

// addTagsCmds is how many commands AddTags sends per tag.
const addTagsCmds = 4

// DefaultTagPruneInterval is how many AddTags calls go by between two
// prunings of a tag set when Options.TagPruneInterval is zero.
const DefaultTagPruneInterval = 32

// pruneBatch is how many members of a tag set a pruning checks at most:
// the count of its SRANDMEMBER.
const pruneBatch = 100

// AddTags records that key carries tags: it adds key, as it was passed, to
// each tag's set, and makes the set live at least ttl from now, rounded up
// to a whole millisecond, without shortening it. A ttl <= 0 is refused with
// an error wrapping store.ErrInvalidTTL without sending anything.
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
//
// Every Options.TagPruneInterval-th call (of this Store) also prunes one of
// its tags' sets, the tags taking turns: the pipeline carries an
// SRANDMEMBER of up to 100 of that set's members, and once it has
// succeeded AddTags removes those whose keys are gone (see prune). A set
// that is written all the time is never left to expire, and without
// pruning it would keep every key ever recorded in it. The pruning is
// housekeeping: its failures are not AddTags's, and it stops when ctx is
// done, AddTags then returning nil, since the records were made.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("httpcache/redis: addtags: ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if len(tags) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpcache/redis: addtags: %w", err)
	}
	ms := ttlMillis(ttl)
	cmds := make([]goredis.Cmder, 0, addTagsCmds*len(tags)+1)
	for _, tag := range tags {
		set := s.tagKey(tag)
		cmds = append(cmds,
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "gt"),
			goredis.NewIntCmd(ctx, "sadd", set, key),
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "nx"),
			goredis.NewIntCmd(ctx, "pexpire", set, ms, "gt"),
		)
	}
	tagCmds := cmds
	sample := s.pruneSample(ctx, tags)
	if sample != nil {
		cmds = append(cmds, sample)
	}
	err := s.exec(ctx, cmds...)
	// Unless ctx is done, exec's error is the pipeline's own and the
	// commands are finished, so that their errors can be read.
	if err != nil && sample != nil && ctx.Err() == nil && sample.Err() != nil && firstErr(tagCmds) == nil {
		// Only the SRANDMEMBER failed (a proxy that lacks it?): the
		// records are made, and the set is left unpruned this time.
		err, sample = nil, nil
	}
	if err == nil {
		if sample != nil {
			s.prune(ctx, sample, ms)
		}
		return nil
	}
	if ctx.Err() == nil {
		if unbounded := setsLeftUnbounded(tagCmds); len(unbounded) > 0 {
			return s.boundSets(ctx, unbounded, ms, err)
		}
	}
	return s.fail(ctx, "addtags", err)
}

// firstErr returns the first error of cmds, or nil.
func firstErr(cmds []goredis.Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// pruneSample counts an AddTags call of tags and, if it is one that
// prunes, returns the command that picks the members to check: SRANDMEMBER
// set 100, up to 100 distinct members drawn at random (the whole set, if
// it has no more). Otherwise it returns nil.
//
// SRANDMEMBER rather than an SSCAN from a random cursor, which needs no
// state either but is not random: SSCAN walks the hash table's buckets in
// a fixed order from the cursor's bucket to the end, without wrapping, so
// that the buckets early in that order are almost never reached (the
// first one only from cursor 0), and a batch from a random cursor on a
// small set often returns nothing at all. Nor a cursor carried from one
// pruning to the next, which would take state per tag. SRANDMEMBER does
// bounded work: about 100 random picks on a set of 300 members or more,
// and a copy of a smaller set.
func (s *Store) pruneSample(ctx context.Context, tags []string) *goredis.StringSliceCmd {
	if s.pruneEvery == 0 {
		return nil
	}
	n := s.addTagsCalls.Add(1)
	if n%s.pruneEvery != 0 {
		return nil
	}
	tag := tags[(n/s.pruneEvery)%uint64(len(tags))]
	return goredis.NewStringSliceCmd(ctx, "srandmember", s.tagKey(tag), pruneBatch)
}

// prune removes from a tag set those of the members that sample, an
// SRANDMEMBER of it, returned whose keys no longer exist: keys deleted,
// expired or evicted since they were recorded. It checks them with one
// EXISTS each, all in one pipeline, since they live in other slots than
// the set and than each other (a Cluster or Ring client splits the
// pipeline by node; EXISTS does not count as an access for the server's
// eviction policy), and removes the missing ones with one SREM.
//
// A key may be stored again and recorded anew (an SADD of a member still
// in the set) between its EXISTS and the SREM, which would then remove the
// record of a key the store holds. So the removed keys are checked once
// more after the SREM, and those that exist by then are added back (SADD,
// with PEXPIRE NX of this call's ttl in case the SREM emptied the set and
// Redis deleted it). A key stored after that second check is recorded
// again by its writer's own SADD, which follows the write (the middleware
// stores an entry before recording its tags) and so the SREM. Errors end
// the pruning quietly, as does a done ctx: a pruning cut short removes
// fewer members, or, cut between the SREM and the second check, may lose a
// record in that race, which the middleware never depends on (its purge
// markers keep purged entries from being served; the index only reclaims
// their space at once).
func (s *Store) prune(ctx context.Context, sample *goredis.StringSliceCmd, ms int64) {
	set := sample.Args()[1].(string)
	members := sample.Val()
	held, err := s.held(ctx, members)
	if err != nil {
		return
	}
	var gone []string
	for i, m := range members {
		if !held[i] {
			gone = append(gone, m)
		}
	}
	// Each step checks ctx first: exec would still send its commands,
	// for nothing, had ctx ended while the previous step was finishing.
	if len(gone) == 0 || ctx.Err() != nil {
		return
	}
	if err := s.exec(ctx, goredis.NewIntCmd(ctx, setArgs("srem", set, gone)...)); err != nil {
		return
	}
	if ctx.Err() != nil {
		return
	}
	held, err = s.held(ctx, gone)
	if err != nil || ctx.Err() != nil {
		return
	}
	var back []string
	for i, m := range gone {
		if held[i] {
			back = append(back, m)
		}
	}
	if len(back) == 0 {
		return
	}
	_ = s.exec(ctx,
		goredis.NewIntCmd(ctx, setArgs("sadd", set, back)...),
		goredis.NewIntCmd(ctx, "pexpire", set, ms, "nx"),
	)
}

// held reports, for each of keys, whether the store holds a value under
// it, with one EXISTS per key, all in one pipeline.
func (s *Store) held(ctx context.Context, keys []string) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]goredis.Cmder, len(keys))
	for i, k := range keys {
		cmds[i] = goredis.NewIntCmd(ctx, "exists", s.key(k))
	}
	if err := s.exec(ctx, cmds...); err != nil {
		return nil, err
	}
	held := make([]bool, len(keys))
	for i, cmd := range cmds {
		held[i] = cmd.(*goredis.IntCmd).Val() != 0
	}
	return held, nil
}

// setArgs returns the arguments of the command verb on set with members.
func setArgs(verb, set string, members []string) []any {
	args := make([]any, 0, 2+len(members))
	args = append(args, verb, set)
	for _, m := range members {
		args = append(args, m)
	}
	return args
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
