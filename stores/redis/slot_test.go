package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
)

func TestSlotKnownValues(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 0x31c3 % slotCount}, // the spec's CRC16 check value
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"x{user1000}y", 3443},
	}
	for _, tt := range tests {
		if got := slot(tt.key); got != tt.want {
			t.Errorf("slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestHashTag(t *testing.T) {
	tests := []struct{ key, want string }{
		{"plain", "plain"},
		{"{tag}rest", "tag"},
		{"pre{tag}post", "tag"},
		{"{}", "{}"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		{"open{only", "open{only"},
		{"close}only{", "close}only{"},
		{"}{x}", "x"},
		{"{\x00\xff}", "\x00\xff"},
	}
	for _, tt := range tests {
		if got := hashTag(tt.key); got != tt.want {
			t.Errorf("hashTag(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestSlotMatchesCluster checks slot against CLUSTER KEYSLOT of a real
// cluster node, for odd keys and a few hundred random ones.
func TestSlotMatchesCluster(t *testing.T) {
	c := testserver.SharedRedisCluster(t)
	node := goredis.NewClient(&goredis.Options{Addr: c.Addrs()[0]})
	defer node.Close()

	keys := []string{
		"", "a", "123456789", "{", "}", "{}", "}{", "{{}}", "{}{}", "{a}", "{a}{b}",
		"a{}b", "a{}{b}", "a{b}c", "a{{b}}c", "a{b{c}d}e", "{{a}", "{a}}", "}{a}",
		"no closing {brace", "{no closing", "a{b", "a}b{c}",
		"nul\x00{\x00}", "{\x00\xff\xfe}", "\xff\xfe\xfd", "unicode {ключ} 鍵",
		strings.Repeat("{", 100) + "x}", strings.Repeat("k", 10<<10),
		"test:TestX:1:{hc1:abc}:vary", "test:TestX:1:{hc1:abc}:v:123",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			switch r.IntN(8) {
			case 0:
				b[i] = '{'
			case 1:
				b[i] = '}'
			default:
				b[i] = byte(r.Uint32())
			}
		}
		keys = append(keys, string(b))
	}

	ctx := context.Background()
	pipe := node.Pipeline()
	cmds := make([]*goredis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ClusterKeySlot(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	for i, k := range keys {
		if got, want := slot(k), int(cmds[i].Val()); got != want {
			t.Errorf("slot(%s) = %d; CLUSTER KEYSLOT says %d", fmt.Sprintf("%q", k), got, want)
		}
	}
}
