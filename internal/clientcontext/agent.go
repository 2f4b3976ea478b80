package clientcontext

import (
	"sync"

	"github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
)

// parser is built on first use (a trie of the library's embedded agents,
// some milliseconds) and shared: Parse is safe for concurrent use.
var parser = sync.OnceValue(useragent.NewParser)

// Prepare builds the parser now (some 25 ms), so that the first push
// after start does not wait for it; serve calls it at start.
func Prepare() { parser() }

// Agent is the browser and operating system that the user agent ua names,
// each "" when it names none (curl, a bot's, garbage).
func Agent(ua string) (browser, os string) {
	if ua == "" {
		return "", ""
	}
	a := parser().Parse(ua)
	return string(a.Browser()), osName(a.OS())
}

// osName is the library's name, but macOS spelled as Apple spells it.
func osName(os agents.OS) string {
	if os == agents.OSMacOS {
		return "macOS"
	}
	return string(os)
}
