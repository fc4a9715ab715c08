package rfc9111

import (
	"testing"
	"time"
)

// TestParseAge: RFC 9111 §5.1 — an Age with several members counts by its
// first (on one line or several); the first member must be a non-negative
// integer, and a huge one saturates at 2^31 s (§1.2.2).
func TestParseAge(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		age   time.Duration
		ok    bool
	}{
		{"absent", nil, 0, false},
		{"zero", []string{"0"}, 0, true},
		{"seconds", []string{"60"}, time.Minute, true},
		{"OWS", []string{" \t60 "}, time.Minute, true},
		{"list: the first member", []string{"7200, 0"}, 2 * time.Hour, true},
		{"list without spaces", []string{"0,7200"}, 0, true},
		{"lines: the first line", []string{"7200", "0"}, 2 * time.Hour, true},
		{"empty elements skipped", []string{" , 5, 6"}, 5 * time.Second, true},
		{"empty first line skipped", []string{"", "5"}, 5 * time.Second, true},
		{"saturates at 2^31", []string{"99999999999999999999"}, maxDelta * time.Second, true},
		{"first member invalid", []string{"abc, 5"}, 0, false},
		{"negative", []string{"-5"}, 0, false},
		{"decimal", []string{"5.0"}, 0, false},
		{"sign", []string{"+5"}, 0, false},
		{"empty", []string{""}, 0, false},
		{"junk after digits", []string{"5s"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			age, ok := ParseAge(tc.lines)
			if age != tc.age || ok != tc.ok {
				t.Fatalf("ParseAge(%q) = %v, %v; want %v, %v", tc.lines, age, ok, tc.age, tc.ok)
			}
		})
	}
}
