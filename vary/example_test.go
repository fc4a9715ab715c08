package vary_test

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/seedcache/httpcache/vary"
)

func Example() {
	// Storing: the response's Vary field lines, in any case and order.
	names, star, err := vary.Parse([]string{"accept-language, Accept-Encoding", "ACCEPT-ENCODING"})
	fmt.Println(names, star, err)

	n := vary.New(vary.Config{Cookies: []string{"session"}})
	stored := http.Header{
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-US,en;q=0.9"},
	}
	for _, name := range names {
		v, present := n.Value(name, stored)
		fmt.Printf("%s: %q %v\n", name, v, present)
	}
	material := n.AppendKey(nil, names, stored)

	// Looking up: the same preferences, spelled differently.
	lookup := http.Header{
		"Accept-Encoding": {"br;q=0.9, gzip, deflate"},
		"Accept-Language": {"EN-us, en; q=0.90"},
	}
	fmt.Println("same variant:", bytes.Equal(material, n.AppendKey(nil, names, lookup)))

	// One that does not accept br.
	lookup.Set("Accept-Encoding", "gzip")
	fmt.Println("same variant:", bytes.Equal(material, n.AppendKey(nil, names, lookup)))

	// Output:
	// [Accept-Encoding Accept-Language] false <nil>
	// Accept-Encoding: "br,deflate,gzip,identity" true
	// Accept-Language: "en-us,en;q=0.9" true
	// same variant: true
	// same variant: false
}

func ExampleParse_star() {
	names, star, err := vary.Parse([]string{"Accept-Encoding, *"})
	fmt.Println(names, star, err)
	// Output: [] true <nil>
}

func ExampleConfig_languages() {
	// The application serves English and French: regions of English,
	// and languages it does not serve, are told apart no further.
	n := vary.New(vary.Config{Languages: []string{"en", "fr"}})
	for _, v := range []string{
		"en-US,en;q=0.9,ja;q=0.8",
		"en-GB,en;q=0.9,de;q=0.8",
		"en-US,fr;q=0.8",
		"de-CH,fr;q=0.5",
	} {
		key, _ := n.Value("Accept-Language", http.Header{"Accept-Language": {v}})
		fmt.Printf("%-24s %s\n", v, key)
	}
	// Output:
	// en-US,en;q=0.9,ja;q=0.8  <en,en;q=0.9,?;q=0.8
	// en-GB,en;q=0.9,de;q=0.8  <en,en;q=0.9,?;q=0.8
	// en-US,fr;q=0.8           <en,fr;q=0.8
	// de-CH,fr;q=0.5           ?,fr;q=0.5
}
