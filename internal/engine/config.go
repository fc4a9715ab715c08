package engine

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/store"
)

// Config is what an Engine is built from: httpcache.Options as given by the
// application, with the site-wide policy compiled into a RouteConfig. Each
// field means what the Options field of the same name documents there; New
// applies the defaults and panics on invalid values, as httpcache.New
// promises.
type Config struct {
	Site                  RouteConfig
	KeyPrefix             string
	Name                  string
	MaxBodySize           int64
	MaxURLBytes           int
	MaxStreamDuration     time.Duration
	SchemeHeader          string
	Codings               []string
	Languages             []string
	Normalizers           map[string]func(values []string) string
	RequestDirectives     bool
	RangeRequests         bool
	ClientRefreshReplaces bool
	RefreshTimeout        time.Duration
	LockTimeout           time.Duration
	TagHeader             string
	PurgeTimeout          time.Duration
	MaxPurgeTags          int
	MaxTTL                time.Duration
	Bypass                func(r *http.Request) bool
	BypassCookies         []string
	Guard                 store.GuardOptions
	Lease                 LeaseOptions
	MaxPendingWrites      int
	Clock                 func() time.Time
	Logger                *slog.Logger
	OnEvent               func(Event)
	OnStoreOp             func(StoreOp)
	TargetedFields        []string
}

// DefaultMaxStreamDuration is Config.MaxStreamDuration's default.
const DefaultMaxStreamDuration = 30 * time.Second

// DefaultLockTimeout is Config.LockTimeout's default.
const DefaultLockTimeout = 5 * time.Second

// targetedFields checks Config.TargetedFields and returns them in canonical
// form, each once, in their order. It panics on a name that is not a field
// name, and on Cache-Control, which is what a targeted field replaces.
func targetedFields(names []string) []string {
	var out []string
	for _, name := range names {
		if !header.ValidToken(name) {
			panic("httpcache: Options.TargetedFields: " + strconv.Quote(name) + " is not a field name")
		}
		name = http.CanonicalHeaderKey(name)
		if strings.EqualFold(name, "Cache-Control") {
			panic("httpcache: Options.TargetedFields: Cache-Control is not a targeted field")
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
