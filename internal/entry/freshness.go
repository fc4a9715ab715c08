package entry

import (
	"time"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// Age is the entry's current_age at now (RFC 9111 §4.2.3).
func (e *Entry) Age(now time.Time) time.Duration {
	resident := time.Duration(now.UnixNano() - e.ResponseTime)
	return e.InitialAge + max(0, resident)
}

// Freshness is what e's use depends on besides its age.
func (e *Entry) Freshness() rfc9111.Freshness {
	return rfc9111.Freshness{
		Lifetime:             e.Lifetime,
		StaleWhileRevalidate: e.StaleWhileRevalidate,
		StaleIfError:         e.StaleIfError,
		Flags:                e.Flags,
	}
}

// Usable decides how e may serve a request asking cd at now (see
// rfc9111.Freshness.Usable).
func (e *Entry) Usable(now time.Time, cd rfc9111.ClientDirectives) rfc9111.Use {
	return e.Freshness().Usable(e.Age(now), cd)
}

// MayServeOnError reports whether e may be served at now in place of an error
// from the handler (RFC 5861 §4).
func (e *Entry) MayServeOnError(now time.Time) bool {
	return e.Freshness().MayServeOnError(e.Age(now))
}
