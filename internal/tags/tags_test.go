package tags

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSplit: a tag header splits at commas, spaces and tabs, over all its
// lines, and empty pieces are no tags.
func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"none", nil, nil},
		{"one", []string{"a"}, []string{"a"}},
		{"commas and spaces", []string{"a, b,c\td"}, []string{"a", "b", "c", "d"}},
		{"several lines", []string{"a", "b c"}, []string{"a", "b", "c"}},
		{"only separators", []string{" , \t"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Split(tc.lines); !slices.Equal(got, tc.want) {
				t.Fatalf("Split(%q) = %q, want %q", tc.lines, got, tc.want)
			}
		})
	}
}

// TestSetList: a set lists its tags sorted and once each, and refuses
// them all when one breaks the limits.
func TestSetList(t *testing.T) {
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name string
		add  []string
		want []string
		ok   bool
	}{
		{"empty", nil, nil, true},
		{"sorted, no duplicates", []string{"b", "a", "b"}, []string{"a", "b"}, true},
		{"exactly MaxTags", many[:MaxTags], nil, true},
		{"over MaxTags", many, nil, false},
		{"duplicates do not count", append(slices.Clone(many[:MaxTags]), many[:MaxTags]...), nil, true},
		{"a tag over MaxTagLen", []string{"a", strings.Repeat("x", MaxTagLen+1)}, nil, false},
		{"a tag of MaxTagLen", []string{strings.Repeat("x", MaxTagLen)}, []string{strings.Repeat("x", MaxTagLen)}, true},
		{"a control byte", []string{"a\x01"}, nil, false},
		{"DEL", []string{"a\x7f"}, nil, false},
		{"an empty tag", []string{""}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Set
			s.Add(tc.add...)
			got, ok := s.List()
			if ok != tc.ok {
				t.Fatalf("List() ok = %v, want %v", ok, tc.ok)
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Fatalf("List() = %q, want %q", got, tc.want)
			}
			if !ok && got != nil {
				t.Fatalf("List() refused but returned %q", got)
			}
		})
	}
}
