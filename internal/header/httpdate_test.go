package header

import (
	"net/http"
	"testing"
	"time"
)

// TestParseHTTPDate: RFC 9110 §5.6.7's three formats, exactly as the
// grammar spells them; names in any case (RFC 9111 §4.2); everything else —
// the laxities a general date parser (http.ParseTime) lets through — is
// invalid.
func TestParseHTTPDate(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	sunday := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Time // zero: invalid
	}{
		// §5.6.7: the preferred format and the two obsolete ones.
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", sunday},
		{"rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT", sunday},
		{"asctime-date, one-digit day", "Sun Nov  6 08:49:37 1994", sunday},
		{"asctime-date, two-digit day", "Sun Nov 16 08:49:37 1994", sunday.AddDate(0, 0, 10)},
		{"asctime-date, zero-padded day", "Sun Nov 06 08:49:37 1994", sunday},
		{"surrounding OWS", " \tSun, 06 Nov 1994 08:49:37 GMT ", sunday},
		{"far future", "Fri, 31 Dec 9999 23:59:59 GMT", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"leap day", "Thu, 29 Feb 2024 00:00:00 GMT", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},

		// §4.2 of RFC 9111: a cache matches dates case-insensitively.
		{"lower-case gmt", "Thu, 18 Aug 2050 02:01:18 gmt", time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)},
		{"mixed-case zone", "Thu, 18 Aug 2050 02:01:18 gMT", time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)},
		{"upper-case day name", "THU, 18 Aug 2050 02:01:18 GMT", time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)},
		{"upper-case month", "Thu, 18 AUG 2050 02:01:18 GMT", time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)},
		{"rfc850 lower case", "sunday, 06-nov-94 08:49:37 gmt", sunday},

		// A leap second is the nearest earlier time (RFC 9111 §4.2).
		{"leap second", "Sat, 31 Dec 2016 23:59:60 GMT", time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC)},

		// rfc850's two-digit year: at most 50 years ahead of now (2026).
		{"rfc850 year 76 is 2076", "Thursday, 01-Jan-76 00:00:00 GMT", time.Date(2076, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"rfc850 year 77 is 1977", "Friday, 01-Jan-77 00:00:00 GMT", time.Date(1977, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"rfc850 year 26 is 2026", "Thursday, 01-Jan-26 00:00:00 GMT", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},

		// The day name repeats the date; it must be one, not the right one.
		{"day name not checked against the date", "Mon, 06 Nov 1994 08:49:37 GMT", sunday},

		// Invalid: what RFC 9111 §5.3 then treats as already expired.
		{"empty", "", time.Time{}},
		{"zero", "0", time.Time{}},
		{"double spaces", "Thu, 18  Aug  2050 02:01:18 GMT", time.Time{}},
		{"one-digit hour", "Thu, 18 Aug 2050 2:01:18 GMT", time.Time{}},
		{"one-digit day", "Thu, 8 Aug 2050 02:01:18 GMT", time.Time{}},
		{"two-digit year", "Thu, 18 Aug 50 02:01:18 GMT", time.Time{}},
		{"missing comma", "Thu 18 Aug 2050 02:01:18 GMT", time.Time{}},
		{"date dashes", "Thu, 18-Aug-2050 02:01:18 GMT", time.Time{}},
		{"time periods", "Thu, 18 Aug 2050 02.01.18 GMT", time.Time{}},
		{"UTC", "Thu, 18 Aug 2050 02:01:18 UTC", time.Time{}},
		{"numeric zone", "Thu, 18 Aug 2050 02:01:18 +0000", time.Time{}},
		{"no zone", "Thu, 18 Aug 2050 02:01:18", time.Time{}},
		{"unknown day name", "Thx, 18 Aug 2050 02:01:18 GMT", time.Time{}},
		{"unknown month", "Thu, 18 Agu 2050 02:01:18 GMT", time.Time{}},
		{"hour 24", "Thu, 18 Aug 2050 24:00:00 GMT", time.Time{}},
		{"minute 60", "Thu, 18 Aug 2050 02:60:00 GMT", time.Time{}},
		{"second 61", "Thu, 18 Aug 2050 02:01:61 GMT", time.Time{}},
		{"day 0", "Thu, 00 Aug 2050 02:01:18 GMT", time.Time{}},
		{"31 June", "Thu, 31 Jun 2050 02:01:18 GMT", time.Time{}},
		{"29 February, not a leap year", "Thu, 29 Feb 2050 02:01:18 GMT", time.Time{}},
		{"signed digits", "Thu, +8 Aug 2050 02:01:18 GMT", time.Time{}},
		{"trailing junk", "Thu, 18 Aug 2050 02:01:18 GMT x", time.Time{}},
		{"RFC 1123 with a zone name", "Thu, 18 Aug 2050 02:01:18 PST", time.Time{}},
		{"rfc850 with a short day name", "Sun, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"rfc850 with a four-digit year", "Sunday, 06-Nov-1994 08:49:37 GMT", time.Time{}},
		{"asctime with GMT", "Sun Nov  6 08:49:37 1994 GMT", time.Time{}},
		{"asctime with two spaces before a two-digit day", "Sun Nov  16 08:49:37 1994", time.Time{}},
		{"ANSI C with a one-digit hour", "Sun Nov  6 8:49:37 1994", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseHTTPDate(tc.in, now)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Fatalf("ParseHTTPDate(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
			}
			if ok && got.Location() != time.UTC {
				t.Fatalf("ParseHTTPDate(%q) is in %v, want UTC", tc.in, got.Location())
			}
		})
	}
}

// FuzzParseHTTPDate: no input panics, and a valid IMF-fixdate is read back
// as formatted.
func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", ",", "a, b"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseHTTPDate(s, now)
		if !ok {
			return
		}
		again, ok := ParseHTTPDate(got.Format("Mon, 02 Jan 2006 15:04:05 GMT"), now)
		if got.Year() >= 0 && got.Year() <= 9999 && (!ok || !again.Equal(got)) {
			t.Fatalf("%q parsed to %v, which does not read back (%v, %v)", s, got, again, ok)
		}
	})
}

// TestFormatHTTPDateIsTimeFormat: FormatHTTPDate writes what
// Format(http.TimeFormat) writes, for times across and beyond four-digit
// years, in any zone, and at the edges of days, months and years.
func TestFormatHTTPDateIsTimeFormat(t *testing.T) {
	zone := time.FixedZone("X", -7*3600)
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(1<<40, 0), time.Unix(-1<<40, 0),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, zone),
		time.Date(999, 2, 28, 1, 2, 3, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 15, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 8, 49, 37, 0, zone),
	}
	for s := int64(-62135596800); s < 253402300800; s += 86400*97 + 3607 {
		times = append(times, time.Unix(s, 0))
	}
	for _, tm := range times {
		if got, want := FormatHTTPDate(tm), tm.UTC().Format(http.TimeFormat); got != want {
			t.Fatalf("FormatHTTPDate(%v) = %q, want %q", tm, got, want)
		}
	}
}
