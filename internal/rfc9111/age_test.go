package rfc9111

import (
	"strconv"
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

// TestAgeValueFormatsEveryAge: Age values are the age's whole seconds,
// within the ready-made first ten minutes and past them, where ages that
// share a slot of the cache of formatted ages, asked in turn, each get
// their own; negative ages are 0 and huge ones 2^31.
func TestAgeValueFormatsEveryAge(t *testing.T) {
	for _, secs := range []int64{0, 1, 599, 600, 601, 700, 700 + 1024, 700, 700 + 2*1024, 86_400, 86_400, 1 << 31} {
		if got, want := AgeValue(time.Duration(secs)*time.Second+time.Second/2), strconv.FormatInt(secs, 10); got != want {
			t.Errorf("AgeValue(%ds) = %q, want %q", secs, got, want)
		}
	}
	if got := AgeValue(-time.Hour); got != "0" {
		t.Errorf("AgeValue(-1h) = %q, want 0", got)
	}
	if got := AgeValue(200 * 365 * 24 * time.Hour); got != "2147483648" {
		t.Errorf("AgeValue(200 years) = %q, want 2147483648", got)
	}
}
