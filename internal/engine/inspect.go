package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
	"github.com/seedcache/httpcache/store"
)

// Inspecting what is stored for a URL, for the debug page: read-only. It
// reads through the same store handles as a lookup (the guard included),
// checks purges as a lookup does and decodes entries alike, but touches no
// flight, counter, hint or purge memo, and deletes nothing (a lookup
// deletes a corrupt or purged entry; Inspect only says so).
//
// The variants of a Vary'd URL are stored under keys hashed from their
// request headers, which cannot be listed from the index. Once Inspectable
// has been called, each Vary'd write records its variant key in the
// store's TagIndex (when it has one: memory, redis, tiered) under a name
// of the URL's own (variantsTag), in the AddTags call the write makes for
// the response's tags anyway, or in one more when it has none: one tag
// record per stored variant, charged by the store as any tag record is
// (memory: against MaxBytes; redis: a set member expiring with the
// longest ttl recorded in it, pruned of gone keys), and forgotten with the
// variant. That is on the miss path only, and only for Vary'd responses;
// a hit reads nothing more. Without a TagIndex, or for variants stored
// before, only the variant the given request headers select is shown.

// maxInspectedVariants bounds the variants Inspect reads for one URL.
const maxInspectedVariants = 100

// variantsTagPrefix makes the internal tag naming a URL's variants; its
// control bytes keep it apart from every user tag (tags.Valid).
const variantsTagPrefix = "\x00variants\x00"

// variantsTag is the name under which the TagIndex records the variant
// keys of primary key pk.
func (c *Engine) variantsTag(pk string) string { return c.tagName(variantsTagPrefix + pk) }

// Inspectable makes Vary'd writes record their variant keys from now on,
// so that Inspect can list every variant of a URL.
func (c *Engine) Inspectable() { c.inspected.Store(true) }

// listsVariants reports whether a Vary'd write records its variant key.
func (c *Engine) listsVariants() bool {
	return c.inspected.Load() && c.tagIdx != nil && !c.noTagIdx.Load()
}

// Inspection is what Inspect finds for one URL under one set of key
// options.
type Inspection struct {
	URL        string   // the absolute URL inspected
	PrimaryKey string   // its primary key under these key options
	Routes     int      // how many routes use these key options
	Found      bool     // something is stored under PrimaryKey
	VaryNames  []string // the headers the URL's responses vary on (a Vary index is stored)
	// Listed reports that every variant stored since Inspectable was
	// called is in Variants; else only the one the given headers select.
	Listed bool
	// Truncated reports that there were more variants than Variants holds.
	Truncated bool
	Note      string // why something is not shown, or what went wrong
	Variants  []Variant
}

// Variant is one stored response.
type Variant struct {
	Key string // its store key
	// Selected reports that the request headers given to Inspect select it.
	Selected bool
	// Vary are the request header values it was stored for, one per Vary
	// name (normalised as the key holds them).
	Vary          []VaryValue
	Status        int
	Age           time.Duration
	FreshnessLeft time.Duration // negative: stale by that much
	Lifetime      time.Duration
	// InStaleWhileRevalidate: stale, within stale-while-revalidate.
	InStaleWhileRevalidate bool
	// InStaleIfError: may stand in for a handler's error now.
	InStaleIfError bool
	// Revalidatable: stale, kept with validators, so a request revalidates it.
	Revalidatable bool
	Size          int // body bytes
	Tags          []string
	Expires       time.Time // when the store drops it
	// Purged: a hard purge reached it; it is never served again.
	Purged bool
	// SoftPurged: a soft purge reached it; it is served as stale.
	SoftPurged bool
	// Outcome is what a plain GET (with these request headers) would get
	// now, in one word: hit, stale, revalidate, miss or purged.
	Outcome string
	// CacheStatus is this cache's Cache-Status member for such a GET, as
	// far as it is known before the handler answers.
	CacheStatus string
}

// VaryValue is one request header a variant was stored for.
type VaryValue struct {
	Name    string
	Present bool   // the request had the header
	Value   string // its normalised value
	Digest  bool   // Value is the hex SHA-256 of a long normalised value
}

// Inspect returns what is stored for rawURL, an absolute http(s) URL, under
// every set of key options in use (as Keys), with the variant that header
// selects marked, for a GET or HEAD. It is read-only (see above).
func (c *Engine) Inspect(ctx context.Context, rawURL string, header http.Header) ([]Inspection, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", rawURL)
	}
	if header == nil {
		header = http.Header{}
	}
	r := (&http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: header}).WithContext(ctx)
	seq, seqErr := c.purges.current(ctx)
	var out []Inspection
	for _, rt := range c.routes.all() {
		material := rt.keys.AppendMaterialFor(nil, u)
		pk := rt.keys.PrimaryKey(material)
		if i := slices.IndexFunc(out, func(in Inspection) bool { return in.PrimaryKey == pk }); i >= 0 {
			out[i].Routes++
			continue
		}
		in := Inspection{URL: u.String(), PrimaryKey: pk, Routes: 1}
		if seqErr != nil {
			in.Note = "the purge clock cannot be read: " + seqErr.Error()
		} else {
			c.inspectKey(ctx, rt, r, material, seq, &in)
		}
		out = append(out, in)
	}
	return out, nil
}

// inspectKey fills in with what is stored under in.PrimaryKey.
func (c *Engine) inspectKey(ctx context.Context, rt *route, r *http.Request, material []byte, seq uint64, in *Inspection) {
	pk := in.PrimaryKey
	e, err := c.peek(ctx, pk)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in.Note = "nothing stored"
		return
	case err != nil:
		in.Note = err.Error()
		return
	case !bytes.Equal(e.URL, material):
		in.Note = "the primary key holds another URL's entry (a hash collision): never served for this one"
		return
	}
	in.Found = true
	pending := c.pending.has(pk)
	if pending {
		in.Note = "an invalidation of this URL is still to be made: every request misses until it is"
	}
	if e.Kind != entry.KindIndex {
		if len(e.VaryNames) != 0 {
			in.Note = "a variant at a primary key: never served"
			return
		}
		in.Variants = []Variant{c.inspectVariant(ctx, rt, r, pk, pk, e, seq, true, pending)}
		return
	}
	in.VaryNames = e.VaryNames
	vk := keys.VariantKey(pk, e.Epoch, rt.vary.AppendKey(nil, e.VaryNames, r.Header))
	var listed []string
	if c.listsVariants() {
		got, err := c.tagIdx.TaggedKeys(ctx, c.variantsTag(pk))
		switch {
		case err == nil:
			in.Listed, listed = true, got
		case errors.Is(err, errors.ErrUnsupported):
		default:
			in.Note = "variants cannot be listed: " + err.Error()
		}
	}
	if !in.Listed && in.Note == "" {
		in.Note = "variants cannot be listed on this store; give request headers to see one"
	}
	listed = slices.DeleteFunc(listed, func(k string) bool { return k == vk || !strings.HasPrefix(k, pk+":") })
	slices.Sort(listed)
	listed = slices.Compact(listed)
	listed = append([]string{vk}, listed...)
	if len(listed) > maxInspectedVariants {
		listed, in.Truncated = listed[:maxInspectedVariants], true
	}
	for i, key := range listed {
		v, err := c.peek(ctx, key)
		if err != nil {
			if i == 0 && !errors.Is(err, store.ErrNotFound) {
				in.Note = err.Error()
			}
			continue // gone since it was recorded, or never stored
		}
		if v.Kind != entry.KindResponse || v.Epoch != e.Epoch || !bytes.Equal(v.URL, material) ||
			!slices.Equal(v.VaryNames, e.VaryNames) {
			continue // of an older index: unreachable
		}
		in.Variants = append(in.Variants, c.inspectVariant(ctx, rt, r, key, pk, v, seq, i == 0, pending))
	}
}

// inspectVariant describes v, stored under key for primary key pk, as a
// plain GET would find it now; selected says the request r selects it.
func (c *Engine) inspectVariant(ctx context.Context, rt *route, r *http.Request, key, pk string, v *entry.Entry, seq uint64, selected, pending bool) Variant {
	now := c.now()
	out := Variant{
		Key:      key,
		Selected: selected,
		Vary:     varyValues(v.VaryKey),
		Status:   v.Status,
		Size:     len(v.Body),
		Tags:     v.Tags,
		Expires:  time.Unix(0, v.Expires),
	}
	// The purge check of a lookup, without its memo and without deleting:
	// key "" (see purgeMarks).
	checked, err := c.purgeMarks(ctx, "", pk, v, v.Seq, seq)
	switch {
	case err != nil:
		out.Outcome, out.CacheStatus = OutcomeMiss, c.status.forward(fwdURIMiss, false, "")+" (purges cannot be checked: "+err.Error()+")"
		checked = v
	case checked == nil:
		out.Purged = true
		checked = v
	case checked != v:
		out.SoftPurged = true
	}
	age := checked.Age(now)
	out.Age, out.Lifetime, out.FreshnessLeft = age, checked.Lifetime, checked.Lifetime-age
	stale := age - checked.Lifetime
	out.InStaleWhileRevalidate = stale >= 0 && stale < checked.StaleWhileRevalidate
	out.InStaleIfError = stale >= 0 && checked.MayServeOnError(now)
	out.Revalidatable = stale >= 0 && checked.Header.Stored().HasValidators()
	switch {
	case out.Outcome != "":
	case out.Purged:
		out.Outcome, out.CacheStatus = "purged", c.status.forward(fwdURIMiss, false, "")
	case pending:
		out.Outcome, out.CacheStatus = OutcomeMiss, c.status.forward(fwdURIMiss, false, "")
	case selected && !acceptable(checked, r):
		out.Outcome, out.CacheStatus = OutcomeMiss, c.status.forward(fwdVaryMiss, false, "")
	default:
		switch checked.Usable(now, rfc9111.ClientDirectives{}) {
		case rfc9111.UseFresh:
			out.Outcome, out.CacheStatus = OutcomeHit, c.status.hit[0]
		case rfc9111.UseStale:
			out.Outcome, out.CacheStatus = OutcomeStale, c.status.hitMaxStale[0]
		case rfc9111.UseStaleRefresh:
			out.Outcome, out.CacheStatus = OutcomeStale, c.status.hitRevalidating[0]
		default:
			out.Outcome = OutcomeMiss
			if out.Revalidatable {
				out.Outcome = "revalidate"
			}
			out.CacheStatus = c.status.forward(fwdStale, false, "")
		}
	}
	return out
}

// peek reads and decodes the entry under key, as a lookup does, but
// without observing the read, attaching the decoded entry or deleting a
// corrupt one.
func (c *Engine) peek(ctx context.Context, key string) (*entry.Entry, error) {
	var (
		v   []byte
		obj any
		err error
	)
	if c.objects != nil {
		v, obj, err = c.objects.GetObject(ctx, key)
	} else {
		v, err = c.store.Get(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	if e, ok := obj.(*entry.Entry); ok {
		return e, nil
	}
	e, err := entry.Decode(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return e, nil
}

// varyValues decodes Vary material (see package vary: name, presence,
// value, each length-prefixed) into its values. It stops at anything it
// cannot read.
func varyValues(material []byte) []VaryValue {
	var out []VaryValue
	for len(material) > 0 {
		name, rest, ok := readString(material)
		if !ok || len(rest) == 0 {
			break
		}
		presence := rest[0]
		value, rest, ok := readString(rest[1:])
		if !ok {
			break
		}
		vv := VaryValue{Name: http.CanonicalHeaderKey(string(name)), Present: presence != 0, Digest: presence == 2}
		if vv.Digest {
			vv.Value = hex.EncodeToString(value)
		} else {
			vv.Value = string(value)
		}
		out = append(out, vv)
		material = rest
	}
	return out
}

// readString reads a uvarint length and that many bytes.
func readString(b []byte) (s, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
