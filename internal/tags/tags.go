// Package tags holds the rules for the tags a response carries, by which a
// purge finds it: the set a response's tags are collected in, splitting a
// Cache-Tag style header, and the limits a stored response's tags keep to.
//
// It knows nothing of stores, entries, keys or handlers: how a tag is named
// in a store is the key builder's (internal/keys), and where tags come
// from (Tag, the tag header) is the middleware's.
package tags

import (
	"slices"
	"strings"
	"sync"
)

// Tag limits: a response over them is not stored, since storing it
// without some of its tags would let it survive their purge.
const (
	MaxTags   = 64  // distinct tags of one response, at most
	MaxTagLen = 256 // bytes of one tag, at most
)

// Set collects a response's tags, from several goroutines (a handler may
// tag from its own). Its zero value is an empty set.
type Set struct {
	mu   sync.Mutex
	tags []string
}

// Add adds tags to s.
func (s *Set) Add(tags ...string) {
	s.mu.Lock()
	s.tags = append(s.tags, tags...)
	s.mu.Unlock()
}

// List returns the tags sorted and without duplicates, and false when they
// break the limits (over MaxTags, or one not Valid).
func (s *Set) List() ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tags) == 0 {
		return nil, true
	}
	tags := slices.Clone(s.tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > MaxTags {
		return nil, false
	}
	for _, t := range tags {
		if !Valid(t) {
			return nil, false
		}
	}
	return tags, true
}

// Split returns the tags in the lines of a Cache-Tag style header: split
// at commas, spaces and tabs.
func Split(lines []string) []string {
	var tags []string
	for _, line := range lines {
		tags = append(tags, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return tags
}

// Valid reports whether t can be a tag: not empty, not over MaxTagLen
// bytes, no control bytes (which keeps user tags apart from the implicit
// ones).
func Valid(t string) bool {
	if t == "" || len(t) > MaxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] == 0x7f {
			return false
		}
	}
	return true
}
