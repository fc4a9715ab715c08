package memcached

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
)

// again returns f(c, arg), calling f a second time if the first call failed
// on a connection the server had closed, after dropping the client's idle
// connections (see "Connections" in the package documentation). f must be
// safe to repeat: a read, a Set or a Delete, never a cas or an add whose
// reply alone was lost.
//
// gomemcache keeps idle connections without checking them before reuse
// (the way database/sql and go-redis check theirs), and takes the most
// recently used first. After a server restarts, every connection it kept
// to that server is dead, and each would fail one call in turn: a pool of
// 64 is 64 failed calls, which the middleware's circuit breaker takes for
// the store being down, probing it once per cooldown with one more dead
// connection. Once one call finds its connection closed by the server, the
// others kept beside it most likely are too, so all are dropped
// (Client.Close closes only idle connections; the client stays usable) and
// the call runs again on a new connection: it fails then only if the
// server is really down, refusing or hanging up the new connection too.
func again[A, T any](c *memcache.Client, arg A, f func(*memcache.Client, A) (T, error)) (T, error) {
	v, err := f(c, arg)
	if err != nil && peerClosed(err) {
		c.Close()
		v, err = f(c, arg)
	}
	return v, timeoutError(err)
}

// peerClosed reports whether err says that the peer closed the connection
// a call ran on: the reply ended early (EOF), or the write or the read hit
// a connection reset or closed on the other side.
func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// timeoutError makes gomemcache's dial timeout, which is not a net.Error,
// an error that says it is a timeout (errors.Is(err,
// os.ErrDeadlineExceeded)), as its read and write timeouts already are, so
// that the middleware's guard tells a slow store from a dead one alike for
// all of them. Other errors are returned as they are.
func timeoutError(err error) error {
	var cte *memcache.ConnectTimeoutError
	if err != nil && errors.As(err, &cte) {
		return fmt.Errorf("%w: %w", err, os.ErrDeadlineExceeded)
	}
	return err
}

// get is Client.Get, repeated as again says.
func get(c *memcache.Client, key string) (*memcache.Item, error) {
	return again(c, key, (*memcache.Client).Get)
}

// getMulti is Client.GetMulti, repeated as again says.
func getMulti(c *memcache.Client, keys []string) (map[string]*memcache.Item, error) {
	return again(c, keys, (*memcache.Client).GetMulti)
}

// set is Client.Set, repeated as again says.
func set(c *memcache.Client, it *memcache.Item) (struct{}, error) {
	return again(c, it, setOnce)
}

func setOnce(c *memcache.Client, it *memcache.Item) (struct{}, error) { return struct{}{}, c.Set(it) }
