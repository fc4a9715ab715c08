package vary

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// langPairTest is two Accept-Language values (field lines) and a
// Normalizer configuration.
type langPairTest struct {
	name      string
	languages []string
	a, b      []string
}

func (tt langPairTest) values(t *testing.T) (string, string) {
	t.Helper()
	n := New(Config{Languages: tt.languages})
	a, _ := n.Value("Accept-Language", http.Header{"Accept-Language": tt.a})
	b, _ := n.Value("Accept-Language", http.Header{"Accept-Language": tt.b})
	return a, b
}

// TestAcceptLanguageShares lists spellings that must share a variant.
func TestAcceptLanguageShares(t *testing.T) {
	enFr := []string{"en", "fr"}
	tests := []langPairTest{
		{name: "case", a: []string{"en-US,fr"}, b: []string{"EN-us,FR"}},
		{name: "whitespace", a: []string{"en-US,fr;q=0.5"}, b: []string{"en-US ,\tfr ;  q=0.5"}},
		{name: "q=1 and none", a: []string{"en,fr"}, b: []string{"en;q=1,fr;q=1.000"}},
		{name: "q=1.", a: []string{"en"}, b: []string{"en;q=1."}},
		{name: "trailing zeros", a: []string{"fr;q=0.5"}, b: []string{"fr;q=0.500"}},
		{name: "q=0 spellings", a: []string{"fr;q=0"}, b: []string{"fr;q=0.000"}},
		{name: "whitespace-only element is empty", a: []string{"en,,fr"}, b: []string{"en, ,fr"}},
		{name: "Languages: regions of a listed language", languages: enFr, a: []string{"en-US,en;q=0.9"}, b: []string{"en-GB,en;q=0.9"}},
		{name: "Languages: private use under a listed language", languages: enFr, a: []string{"fr-CA"}, b: []string{"fr-x-quebec"}},
		{name: "Languages: unlisted languages", languages: enFr, a: []string{"de-DE,de;q=0.9,en;q=0.8"}, b: []string{"ja,ko;q=0.9,en;q=0.8"}},
		{name: "Languages: unlisted after listed", languages: enFr, a: []string{"fr,de;q=0.5"}, b: []string{"fr,ja;q=0.5"}},
		{name: "Languages: prefixes of listed languages", languages: []string{"zh-hant-tw"}, a: []string{"zh"}, b: []string{"zh-Hant"}},
		{name: "Languages: spellings too", languages: enFr, a: []string{"en-US, fr;q=0.50"}, b: []string{"EN-gb,FR;q=0.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := tt.values(t); a != b {
				t.Errorf("%q and %q keyed apart: %q, %q", tt.a, tt.b, a, b)
			}
		})
	}
}

// TestAcceptLanguageApart lists values that some origin answers
// differently, which must never share a variant.
func TestAcceptLanguageApart(t *testing.T) {
	enFr := []string{"en", "fr"}
	tests := []langPairTest{
		{name: "same preferred language", a: []string{"en-US,de;q=0.1"}, b: []string{"en-US,fr;q=0.8"}},
		{name: "same preferred language, fallback left out", a: []string{"es;q=0.1,fr;q=0.9"}, b: []string{"fr"}},
		{name: "order at different q", a: []string{"es;q=0.1,fr;q=0.9"}, b: []string{"fr;q=0.9,es;q=0.1"}},
		{name: "order at equal q", a: []string{"de,fr"}, b: []string{"fr,de"}},
		{name: "q value, same ranks", a: []string{"en,fr;q=0.9"}, b: []string{"en,fr;q=0.1"}},
		{name: "q=0", a: []string{"en,fr;q=0"}, b: []string{"en"}},
		{name: "q=0 and q=0.001", a: []string{"fr;q=0"}, b: []string{"fr;q=0.001"}},
		{name: "duplicate", a: []string{"en,en"}, b: []string{"en"}},
		{name: "empty element", a: []string{"en,,fr"}, b: []string{"en,fr"}},
		{name: "leading comma", a: []string{",en"}, b: []string{"en"}},
		{name: "star", a: []string{"en,*"}, b: []string{"en"}},
		{name: "lines", a: []string{"de", "fr"}, b: []string{"de,fr"}},
		{name: "upper-case Q", a: []string{"en;Q=0.5"}, b: []string{"en;q=0.5"}},
		{name: "case of a long first subtag", a: []string{"English"}, b: []string{"english"}},
		{name: "missing language versus none listed", a: []string{""}, b: []string{"de"}},
		{name: "malformed and parsed", a: []string{"en;q=.5"}, b: []string{"en;q=0.5"}},
		{name: "malformed case", a: []string{"EN;q=.5"}, b: []string{"en;q=.5"}},
		{name: "malformed lines", a: []string{"en", "fr;q=2"}, b: []string{"en,fr;q=2"}},
		{name: "oversized whitespace", a: []string{"de," + strings.Repeat(" ", 300) + "fr"}, b: []string{"de,fr"}},
		{name: "Languages: listed and unlisted", languages: enFr, a: []string{"de"}, b: []string{"fr"}},
		{name: "Languages: q kept", languages: enFr, a: []string{"de,fr;q=0.8"}, b: []string{"de,fr;q=0.5"}},
		{name: "Languages: position of an unlisted range", languages: enFr, a: []string{"de,fr;q=0.5"}, b: []string{"fr;q=0.5,de"}},
		{name: "Languages: q of an unlisted range", languages: enFr, a: []string{"de;q=0.9,fr;q=0.5"}, b: []string{"de;q=0.4,fr;q=0.5"}},
		{name: "Languages: number of unlisted ranges", languages: enFr, a: []string{"de,ja,ko,fr"}, b: []string{"de,fr"}},
		{name: "Languages: region and listed language", languages: enFr, a: []string{"en-US"}, b: []string{"en"}},
		{name: "Languages: sibling regions", languages: []string{"en-GB", "fr"}, a: []string{"en-US"}, b: []string{"en-AU"}},
		{name: "Languages: sibling and unlisted", languages: []string{"en-GB", "fr"}, a: []string{"en-US"}, b: []string{"de"}},
		{name: "Languages: zh regions", languages: []string{"zh-hans", "zh-hant"}, a: []string{"zh-CN"}, b: []string{"zh-TW"}},
		{name: "Languages: star", languages: enFr, a: []string{"*"}, b: []string{"de"}},
		{name: "Languages: star and q=0", languages: enFr, a: []string{"*,fr;q=0"}, b: []string{"*"}},
		{name: "Languages: empty and unlisted", languages: enFr, a: []string{""}, b: []string{"de"}},
		{name: "Languages: lines", languages: enFr, a: []string{"de", "fr"}, b: []string{"de,fr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := tt.values(t); a == b {
				t.Errorf("%q and %q share %q", tt.a, tt.b, a)
			}
		})
	}
}

// TestAcceptLanguageKeyIsSound draws Accept-Language values in many
// spellings and checks that any two keyed alike are answered alike by every
// reference origin: without Languages by all of them, with Languages by
// those that choose among the listed languages by RFC 4647 relations. It
// also checks that keys do merge spellings, so that it tests something.
func TestAcceptLanguageKeyIsSound(t *testing.T) {
	servedSets := [][]string{
		{"en", "fr"},
		{"fr", "en-gb"},
		{"de", "fr", "es"},
		{"zh-hans", "zh-hant", "en"},
		{"pt-br", "pt", "en"},
		{"en-gb-oxendict", "en", "de"},
	}
	rng := rand.New(rand.NewPCG(9, 1))
	var headers [][]string
	for range 12000 {
		headers = append(headers, randomAcceptLanguage(rng))
	}

	check := func(t *testing.T, n *Normalizer, served [][]string, negotiators map[string]negotiator) {
		t.Helper()
		first := map[string][]string{} // key → first header with it
		merged := 0
		for _, h := range headers {
			v, _ := n.Value("Accept-Language", http.Header{"Accept-Language": h})
			f, ok := first[v]
			if !ok {
				first[v] = h
				continue
			}
			if !slices.Equal(f, h) {
				merged++
			}
			for name, neg := range negotiators {
				for _, s := range served {
					if a, b := neg(f, s), neg(h, s); a != b {
						t.Fatalf("%q and %q share %q, but %s serving %q answers %q and %q",
							f, h, v, name, s, a, b)
					}
				}
			}
		}
		if merged < len(headers)/10 {
			t.Errorf("only %d of %d values shared a key with another spelling", merged, len(headers))
		}
		t.Logf("%d keys for %d values", len(first), len(headers))
	}

	t.Run("default", func(t *testing.T) {
		check(t, New(Config{}), servedSets, allNegotiators)
	})
	for _, served := range servedSets {
		t.Run("Languages "+strings.Join(served, ","), func(t *testing.T) {
			rfc := map[string]negotiator{}
			for name, neg := range allNegotiators {
				if name != "x/text-like" {
					rfc[name] = neg
				}
			}
			check(t, New(Config{Languages: served}), [][]string{served}, rfc)
		})
	}
}

// randomAcceptLanguage draws a value, in field lines, from ranges and
// spellings that the normalisers fold or keep.
func randomAcceptLanguage(rng *rand.Rand) []string {
	ranges := []string{
		"en", "EN", "en-US", "en-us", "en-GB", "en-AU", "en-gb-oxendict", "en-GB-x-a",
		"fr", "Fr", "fr-CA", "fr-FR", "de", "de-DE", "es", "ja", "ko",
		"zh", "zh-Hant", "zh-TW", "zh-CN", "zh-Hans-CN", "zh-hant-tw",
		"pt", "pt-BR", "pt-PT", "*", "english", "English", "i-klingon",
	}
	weights := []string{
		"", "", "", ";q=1", ";q=1.0", ";q=1.", " ;q=1", ";Q=1",
		";q=0.5", ";q=0.50", "; q=0.5", ";Q=0.5", ";q=0.9", ";q=0.8", ";q=0.1",
		";q=0", ";q=0.0", ";q=0.001", ";q=0.010", ";q=0.01",
	}
	seps := []string{",", ",", ", ", " ,", " , ", ",\t", ",,", ", ,"}
	var b strings.Builder
	if rng.IntN(40) == 0 {
		b.WriteString(",")
	}
	for i := range 1 + rng.IntN(4) {
		if i > 0 {
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		b.WriteString(ranges[rng.IntN(len(ranges))])
		b.WriteString(weights[rng.IntN(len(weights))])
	}
	if rng.IntN(40) == 0 {
		b.WriteString(",")
	}
	s := b.String()
	if i := strings.IndexByte(s, ','); i >= 0 && rng.IntN(10) == 0 {
		return []string{s[:i], s[i+1:]} // two field lines
	}
	return []string{s}
}

// A negotiator is a reference origin: it answers an Accept-Language (field
// lines) with the language it serves it, among served (lower case; the
// first is the default).
type negotiator func(lines []string, served []string) string

var allNegotiators = map[string]negotiator{
	"RFC 4647 lookup":          lookupNegotiator,
	"RFC 4647 basic filtering": filteringNegotiator,
	"Django":                   djangoNegotiator,
	"first range":              firstRangeNegotiator,
	"most preferred range":     mostPreferredNegotiator,
	"Apache-like":              apacheNegotiator,
	"x/text-like":              xtextNegotiator,
}

type weightedRange struct {
	tag string // lower case
	q   float64
}

// parseLenient reads the lines as one list the way RFC 9110 says: empty
// elements skipped, q case-insensitive. It returns nil if a weight does
// not parse.
func parseLenient(lines []string) []weightedRange {
	var out []weightedRange
	for _, el := range strings.Split(strings.Join(lines, ","), ",") {
		tag, param, _ := strings.Cut(strings.TrimSpace(el), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q := 1.0
		if param = strings.TrimSpace(param); param != "" {
			var err error
			if len(param) < 2 || !strings.EqualFold(param[:2], "q=") {
				return nil
			}
			if q, err = strconv.ParseFloat(param[2:], 64); err != nil {
				return nil
			}
		}
		out = append(out, weightedRange{tag, q})
	}
	return out
}

// byQ sorts by q, highest first, keeping the order of equals, and drops
// q=0 unless keepZero.
func byQ(rs []weightedRange, keepZero bool) []weightedRange {
	var out []weightedRange
	for _, r := range rs {
		if r.q > 0 || keepZero {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// lookupRange is RFC 4647 §3.4 for one range: truncated subtag by subtag
// (a trailing singleton goes too) until it names a served language.
func lookupRange(tag string, served []string) (string, bool) {
	for tag != "" && tag != "*" {
		if slices.Contains(served, tag) {
			return tag, true
		}
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
		if j := strings.LastIndexByte(tag, '-'); j >= 0 && j == len(tag)-2 {
			tag = tag[:j]
		}
	}
	return "", false
}

func lookupNegotiator(lines, served []string) string {
	for _, r := range byQ(parseLenient(lines), false) {
		if t, ok := lookupRange(r.tag, served); ok {
			return t
		}
	}
	return served[0]
}

func filters(rangeTag, tag string) bool {
	return rangeTag == "*" || rangeTag == tag || strings.HasPrefix(tag, rangeTag+"-")
}

func filteringNegotiator(lines, served []string) string {
	for _, r := range byQ(parseLenient(lines), false) {
		for _, t := range served {
			if filters(r.tag, t) {
				return t
			}
		}
	}
	return served[0]
}

// firstRangeNegotiator reads Header.Get's first line and its first
// range, whatever its q, and looks it up.
func firstRangeNegotiator(lines, served []string) string {
	first, _, _ := strings.Cut(lines[0], ",")
	first, _, _ = strings.Cut(first, ";")
	if t, ok := lookupRange(strings.ToLower(strings.TrimSpace(first)), served); ok {
		return t
	}
	return served[0]
}

// mostPreferredNegotiator looks up the range with the highest q alone.
func mostPreferredNegotiator(lines, served []string) string {
	if rs := byQ(parseLenient(lines), false); len(rs) > 0 {
		if t, ok := lookupRange(rs[0].tag, served); ok {
			return t
		}
	}
	return served[0]
}

// apacheNegotiator scores each served language by its own quality times
// the q of the longest range that filters it (or "*"), as mod_negotiation
// does; the highest score wins, the first served among equals.
func apacheNegotiator(lines, served []string) string {
	rs := parseLenient(lines)
	best, bestScore := served[0], 0.0
	for i, t := range served {
		q, length := 0.0, -1
		for _, r := range rs {
			if filters(r.tag, t) {
				l := len(r.tag)
				if r.tag == "*" {
					l = 0
				}
				if l > length {
					q, length = r.q, l
				}
			}
		}
		if score := q * (1 - 0.3*float64(i)); score > bestScore {
			best, bestScore = t, score
		}
	}
	return best
}

var djangoAcceptLanguage = regexp.MustCompile(`([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)(?:\s*;\s*q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?(?:\s*,\s*|$)`)

var djangoFallback = map[string]string{
	"zh-cn": "zh-hans", "zh-hk": "zh-hant", "zh-mo": "zh-hant",
	"zh-my": "zh-hans", "zh-sg": "zh-hans", "zh-tw": "zh-hant",
}

// djangoNegotiator is get_language_from_request reading the header (lines
// joined by ", " as a WSGI server does): parse_accept_lang_header, then
// get_supported_language_variant for each range in order of q.
func djangoNegotiator(lines, served []string) string {
	s := strings.ToLower(strings.Join(lines, ", "))
	var rs []weightedRange
	end := 0
	for _, m := range djangoAcceptLanguage.FindAllStringSubmatchIndex(s, -1) {
		if m[0] != end { // text between matches: not a list
			return served[0]
		}
		end = m[1]
		q := 1.0
		if m[4] >= 0 {
			q, _ = strconv.ParseFloat(s[m[4]:m[5]], 64)
		}
		rs = append(rs, weightedRange{s[m[2]:m[3]], q})
	}
	if end != len(s) {
		return served[0]
	}
	for _, r := range byQ(rs, true) {
		if r.tag == "*" {
			break
		}
		possible := []string{r.tag}
		if f, ok := djangoFallback[r.tag]; ok {
			possible = append(possible, f)
		}
		for i := strings.LastIndexByte(r.tag, '-'); i > 0; i = strings.LastIndexByte(r.tag[:i], '-') {
			possible = append(possible, r.tag[:i])
		}
		for _, c := range possible {
			if slices.Contains(served, c) {
				return c
			}
		}
		generic := possible[len(possible)-1]
		for _, c := range served {
			if strings.HasPrefix(c, generic+"-") {
				return c
			}
		}
	}
	return served[0]
}

// xtextNegotiator reads Header.Get's first line as x/text's
// ParseAcceptLanguage does (its case-sensitive "q", its lower-case
// "english", no other language code over three letters) and then looks the
// ranges up in order of q. An error answers "error".
func xtextNegotiator(lines, served []string) string {
	fallback := map[string]string{"english": "en", "deutsch": "de", "italian": "it", "french": "fr", "*": "*"}
	var rs []weightedRange
	for _, entry := range strings.Split(lines[0], ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		tag, weight, _ := strings.Cut(entry, ";")
		tag, weight = strings.TrimSpace(tag), strings.TrimSpace(weight)
		if t, ok := fallback[tag]; ok {
			tag = t
		} else if primary, _, _ := strings.Cut(tag, "-"); len(primary) > 3 {
			return "error"
		}
		q := 1.0
		if weight != "" {
			w, ok := strings.CutPrefix(weight, "q")
			if !ok {
				return "error"
			}
			if w, ok = strings.CutPrefix(strings.TrimSpace(w), "="); !ok {
				return "error"
			}
			var err error
			if q, err = strconv.ParseFloat(strings.TrimSpace(w), 32); err != nil {
				return "error"
			}
		}
		rs = append(rs, weightedRange{strings.ToLower(tag), q})
	}
	for _, r := range byQ(rs, false) {
		if t, ok := lookupRange(r.tag, served); ok {
			return t
		}
	}
	return served[0]
}
