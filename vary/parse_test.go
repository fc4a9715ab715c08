package vary

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		star    bool
		wantErr bool
	}{
		{name: "no field", in: nil},
		{name: "empty field", in: []string{""}},
		{name: "only commas and whitespace", in: []string{" , ,\t,", ""}},
		{name: "single", in: []string{"Accept-Encoding"}, want: []string{"Accept-Encoding"}},
		{name: "lower case canonicalised", in: []string{"accept-encoding"}, want: []string{"Accept-Encoding"}},
		{name: "upper case canonicalised", in: []string{"ACCEPT-LANGUAGE"}, want: []string{"Accept-Language"}},
		{
			name: "sorted",
			in:   []string{"accept-language, Accept-Encoding"},
			want: []string{"Accept-Encoding", "Accept-Language"},
		},
		{
			name: "same list other order and case",
			in:   []string{"Accept-Encoding,ACCEPT-LANGUAGE"},
			want: []string{"Accept-Encoding", "Accept-Language"},
		},
		{
			name: "duplicates in any case",
			in:   []string{"Cookie, cookie, COOKIE", "Origin, cookie"},
			want: []string{"Cookie", "Origin"},
		},
		{
			name: "OWS and empty elements",
			in:   []string{" \tAccept ,, \t,Origin\t", ",x-a,"},
			want: []string{"Accept", "Origin", "X-A"},
		},
		{
			name: "several field lines",
			in:   []string{"Origin", "Accept-Encoding", "", "origin"},
			want: []string{"Accept-Encoding", "Origin"},
		},
		{name: "token punctuation", in: []string{"x-a_b.c~d!"}, want: []string{"X-A_b.c~d!"}},
		{name: "star alone", in: []string{"*"}, star: true},
		{name: "star among names", in: []string{"Accept, *, Origin"}, star: true},
		{name: "star on a later line", in: []string{"Accept", " * "}, star: true},
		{name: "star wins over invalid", in: []string{"a b, *"}, star: true},
		{name: "star-prefixed token is a name", in: []string{"*x"}, want: []string{"*x"}},
		{name: "space inside name", in: []string{"Accept Encoding"}, wantErr: true},
		{name: "quoted name", in: []string{`"Accept"`}, wantErr: true},
		{name: "semicolon", in: []string{"Accept;q=1"}, wantErr: true},
		{name: "non-ASCII", in: []string{"Accépt"}, wantErr: true},
		{name: "control byte", in: []string{"Accept\x00"}, wantErr: true},
		{name: "invalid on a later line", in: []string{"Accept", "a/b"}, wantErr: true},
		{name: "separator slash", in: []string{"Accept, a/b, Origin"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, star, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidFieldName) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalidFieldName", tt.in, err)
			}
			if star != tt.star {
				t.Errorf("Parse(%q) star = %v, want %v", tt.in, star, tt.star)
			}
			if !slices.Equal(names, tt.want) || (names == nil) != (tt.want == nil) {
				t.Errorf("Parse(%q) names = %q, want %q", tt.in, names, tt.want)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, _, err := Parse([]string{"Accept, X Y"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"X Y"`, "0x20", "offset 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}

	_, _, err = Parse([]string{strings.Repeat("a", 1000) + " b"})
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long name is %d bytes, want it truncated: %v", len(err.Error()), err)
	}
}
