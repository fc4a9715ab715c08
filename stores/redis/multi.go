package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// GetMulti returns the values stored under keys, in the order of keys: nil
// for a key with no value, a non-nil (possibly empty) slice otherwise. It
// sends one MGET per group of keys that may share one (see the package
// documentation), all in one pipeline; keys with one hash tag make one
// MGET. As with Get, the slices must not be modified.
func (s *Store) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return [][]byte{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("httpcache/redis: getmulti: %w", err)
	}
	full := s.keys(keys)
	values := make([][]byte, len(keys))
	groups := s.route.partition(full)
	if groups == nil {
		cmd := goredis.NewSliceCmd(ctx, keyArgs("mget", full)...)
		if err := s.exec(ctx, cmd); err != nil {
			return nil, s.fail(ctx, "getmulti", err)
		}
		if err := place(values, cmd.Val(), nil); err != nil {
			return nil, err
		}
		return values, nil
	}
	cmds := make([]goredis.Cmder, len(groups))
	for i, g := range groups {
		cmds[i] = goredis.NewSliceCmd(ctx, keyArgsAt("mget", full, g)...)
	}
	if err := s.exec(ctx, cmds...); err != nil {
		return nil, s.fail(ctx, "getmulti", err)
	}
	for i, g := range groups {
		if err := place(values, cmds[i].(*goredis.SliceCmd).Val(), g); err != nil {
			return nil, err
		}
	}
	return values, nil
}

// place stores the replies of one MGET in values: reply j at idx[j], or at
// j if idx is nil.
func place(values [][]byte, replies []any, idx []int) error {
	want := len(idx)
	if idx == nil {
		want = len(values)
	}
	if len(replies) != want {
		return fmt.Errorf("httpcache/redis: getmulti: MGET of %d keys returned %d replies", want, len(replies))
	}
	for j, r := range replies {
		i := j
		if idx != nil {
			i = idx[j]
		}
		switch r := r.(type) {
		case nil:
			values[i] = nil
		case string:
			values[i] = bytesOf(r)
		default:
			return fmt.Errorf("httpcache/redis: getmulti: MGET returned a %T", r)
		}
	}
	return nil
}
