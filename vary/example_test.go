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

	// Looking up: another request that accepts the same response.
	lookup := http.Header{
		"Accept-Encoding": {"br;q=0.9, gzip, deflate"},
		"Accept-Language": {"EN-us, fr;q=0.5"},
	}
	fmt.Println("same variant:", bytes.Equal(material, n.AppendKey(nil, names, lookup)))

	// One that does not accept br.
	lookup.Set("Accept-Encoding", "gzip")
	fmt.Println("same variant:", bytes.Equal(material, n.AppendKey(nil, names, lookup)))

	// Output:
	// [Accept-Encoding Accept-Language] false <nil>
	// Accept-Encoding: "br,deflate,gzip,identity" true
	// Accept-Language: "en-us" true
	// same variant: true
	// same variant: false
}

func ExampleParse_star() {
	names, star, err := vary.Parse([]string{"Accept-Encoding, *"})
	fmt.Println(names, star, err)
	// Output: [] true <nil>
}
