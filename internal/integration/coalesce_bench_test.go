package integration_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	redisstore "github.com/seedcache/httpcache/stores/redis"
)

var bursts atomic.Int64

// BenchmarkCollapsedBurst: a burst of concurrent cold requests for one URL
// on Redis, collapsed into one handler call: the leader's fetch is held
// until every other request waits on it. It reports, per burst, the Redis
// round trips and the handler calls; the time is the whole burst's.
func BenchmarkCollapsedBurst(b *testing.B) {
	srv := testserver.Redis(b)
	for _, n := range []int{16, 64} {
		b.Run("requests="+strconv.Itoa(n), func(b *testing.B) {
			client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
			defer client.Close()
			hook := &tripHook{}
			client.AddHook(hook)
			// A generous guard: the burst's lookups queue for the pool,
			// and this measures round trips, not timeouts.
			c := httpcache.New(redisstore.New(client, redisstore.Options{}),
				httpcache.Options{Logger: quiet(), Guard: httpcache.GuardOptions{Timeout: 5 * time.Second}})
			var calls atomic.Int64
			var release chan struct{}
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				<-release
				w.Header().Set("Cache-Control", "max-age=600")
				w.Write([]byte("filled once"))
			}))
			run := strconv.FormatInt(bursts.Add(1), 10) // the server outlives each run
			hook.trips.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				release = make(chan struct{})
				target := "/burst/" + run + "/" + strconv.Itoa(i)
				var wg sync.WaitGroup
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
					}()
				}
				for deadline := time.Now().Add(10 * time.Second); c.Stats().Waiting != int64(n-1) || calls.Load() != int64(i+1); {
					if time.Now().After(deadline) {
						b.Fatalf("burst %d: %d waiting, %d handler calls (%+v)", i, c.Stats().Waiting, calls.Load(), c.Stats())
					}
					runtime.Gosched()
				}
				close(release)
				wg.Wait()
				c.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(hook.trips.Load())/float64(b.N), "trips/burst")
			b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/burst")
		})
	}
}
