package header

import (
	"net/http"
	"time"
)

// ParseHTTPDate parses an HTTP-date (RFC 9110 §5.6.7): an IMF-fixdate
// exactly as the grammar spells it ("Sun, 06 Nov 1994 08:49:37 GMT": two
// digits for the day, hour, minute and second, four for the year, one space
// between the parts), or one of the two obsolete formats a recipient must
// accept, rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date
// ("Sun Nov  6 08:49:37 1994"), with optional whitespace around it. Anything
// else is invalid, ok false: double spaces, a one-digit hour, dashes in an
// IMF-fixdate, a zone other than GMT ("UTC", "+0000"), a day that its
// month does not have.
//
// Day names, month names and "GMT" match in any case: RFC 9111 §4.2 asks a
// cache to match dates case-insensitively, and a case carries no meaning
// there that could be misread ("gmt" can only be GMT). The day name must be
// one, but is not checked against the date, whose day it repeats. A leap
// second (60) is read as second 59, the nearest earlier time that can be
// represented (RFC 9111 §4.2). An rfc850-date's two-digit year is the year
// with those digits that is at most 50 years after now (§5.6.7).
func ParseHTTPDate(s string, now time.Time) (time.Time, bool) {
	s = TrimOWS(s)
	switch {
	case len(s) == len("Sun, 06 Nov 1994 08:49:37 GMT") && s[3] == ',':
		return parseIMFFixdate(s)
	case len(s) == len("Sun Nov  6 08:49:37 1994") && s[3] == ' ':
		return parseASCTime(s)
	}
	return parseRFC850(s, now)
}

// parseIMFFixdate parses "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFFixdate(s string) (time.Time, bool) {
	if dayName(s[:3]) < 0 || s[3:5] != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[25] != ' ' || !EqualFoldASCII(s[26:], "GMT") {
		return time.Time{}, false
	}
	day, ok1 := digits(s[5:7])
	month := monthName(s[8:11])
	year, ok2 := digits(s[12:16])
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	return date(year, month, day, s[17:25])
}

// parseASCTime parses "Sun Nov  6 08:49:37 1994" (the day is two digits, or
// a space and one digit), in GMT.
func parseASCTime(s string) (time.Time, bool) {
	if dayName(s[:3]) < 0 || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	month := monthName(s[4:7])
	dd := s[8:10]
	if dd[0] == ' ' {
		dd = "0" + dd[1:]
	}
	day, ok1 := digits(dd)
	year, ok2 := digits(s[20:24])
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	return date(year, month, day, s[11:19])
}

// parseRFC850 parses "Sunday, 06-Nov-94 08:49:37 GMT".
func parseRFC850(s string, now time.Time) (time.Time, bool) {
	name, rest, found := CutByte(s, ',')
	if !found || longDayName(name) < 0 || len(rest) != len(" 06-Nov-94 08:49:37 GMT") {
		return time.Time{}, false
	}
	if rest[0] != ' ' || rest[3] != '-' || rest[7] != '-' || rest[10] != ' ' || rest[19] != ' ' || !EqualFoldASCII(rest[20:], "GMT") {
		return time.Time{}, false
	}
	day, ok1 := digits(rest[1:3])
	month := monthName(rest[4:7])
	yy, ok2 := digits(rest[8:10])
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	// The year with these last two digits that is not more than 50
	// years in the future (RFC 9110 §5.6.7).
	year := now.Year() - now.Year()%100 + yy
	if year > now.Year()+50 {
		year -= 100
	}
	return date(year, month, day, rest[11:19])
}

// date assembles a UTC time from its checked parts and an "hh:mm:ss"
// time-of-day.
func date(year int, month time.Month, day int, tod string) (time.Time, bool) {
	if month == 0 || tod[2] != ':' || tod[5] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := digits(tod[:2])
	minute, ok2 := digits(tod[3:5])
	sec, ok3 := digits(tod[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	if sec == 60 {
		sec = 59 // a leap second: the nearest earlier time (RFC 9111 §4.2)
	}
	if day < 1 || day > daysIn(year, month) {
		return time.Time{}, false
	}
	return time.Date(year, month, day, hour, minute, sec, 0, time.UTC), true
}

// daysIn is the number of days month has in year.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// digits parses a string of ASCII digits, and nothing else.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

var (
	dayNames     = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// dayName is the index of a day-name ("Sun"), or -1.
func dayName(s string) int { return indexFold(dayNames, s) }

// longDayName is the index of a day-name-l ("Sunday"), or -1.
func longDayName(s string) int { return indexFold(longDayNames, s) }

// monthName is the month a month name ("Nov") names, or 0.
func monthName(s string) time.Month { return time.Month(indexFold(monthNames, s) + 1) }

func indexFold(names []string, s string) int {
	for i, n := range names {
		if EqualFoldASCII(n, s) {
			return i
		}
	}
	return -1
}

// FormatHTTPDate is t.UTC().Format(http.TimeFormat), the IMF-fixdate of RFC
// 9110 §5.6.7, written directly rather than by interpreting the layout:
// the Date of every stored response is formatted on its miss.
func FormatHTTPDate(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(http.TimeFormat) // not four digits
	}
	hour, minute, sec := t.Clock()
	var b [29]byte // "Mon, 02 Jan 2006 15:04:05 GMT"
	copy(b[0:], dayNames[t.Weekday()])
	b[3], b[4] = ',', ' '
	two(b[5:], day)
	b[7] = ' '
	copy(b[8:], monthNames[month-1])
	b[11] = ' '
	two(b[12:], year/100)
	two(b[14:], year%100)
	b[16] = ' '
	two(b[17:], hour)
	b[19] = ':'
	two(b[20:], minute)
	b[22] = ':'
	two(b[23:], sec)
	copy(b[25:], " GMT")
	return string(b[:])
}

// two writes n (0 to 99) as two digits.
func two(b []byte, n int) { b[0], b[1] = byte('0'+n/10), byte('0'+n%10) }
