// Package entry is the stored form of a response: the Entry a cache keeps
// (a response, or the Vary index of a URL), its binary encoding with a
// checksum, and its age and freshness as RFC 9111 computes them from the
// times and lifetimes it carries.
//
// It knows nothing of stores, requests or purges: the engine decides what
// goes into an Entry and what to do with one; this package only encodes,
// decodes and measures it. The encoding is versioned and checked
// (ErrCorruptEntry), since other processes and other versions share it.
package entry
