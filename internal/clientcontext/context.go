// Package clientcontext tells a person where a login comes from, in words
// they can judge: the browser and operating system its user agent names,
// and, with a MaxMind-format database (GEOIP_DB), the city and country of
// its address. "near Berlin, Germany · Firefox on Linux · Grafana".
package clientcontext

import "strings"

// Context is what a login's client looks like; each field is "" when
// unknown, and so left out of the JSON.
type Context struct {
	Browser  string `json:"browser,omitempty"`
	OS       string `json:"os,omitempty"`
	Location string `json:"location,omitempty"`
	// Summary is the fields and the application signed in to, ready to
	// show: "near Berlin, Germany · Firefox on Linux · Grafana".
	Summary string `json:"summary,omitempty"`
}

// Of is the context of a client at ip with user agent ua that signs in to
// app ("" for approvald itself), nil when nothing about it is known. loc may
// be nil (no GEOIP_DB): there is no location then. It reads memory only (a
// parsed trie, a mapped file), so it never waits.
func Of(loc *Locator, ip, ua, app string) *Context {
	b, os := Agent(ua)
	c := &Context{Browser: b, OS: os, Location: loc.Location(ip)}
	c.Summary = summary(c, app)
	if c.Summary == "" {
		return nil
	}
	return c
}

// summary joins what is known: "near <location> · <browser> on <os> · <app>".
func summary(c *Context, app string) string {
	var parts []string
	if c.Location != "" {
		parts = append(parts, "near "+c.Location)
	}
	switch {
	case c.Browser != "" && c.OS != "":
		parts = append(parts, c.Browser+" on "+c.OS)
	case c.Browser != "":
		parts = append(parts, c.Browser)
	case c.OS != "":
		parts = append(parts, c.OS)
	}
	if app != "" {
		parts = append(parts, app)
	}
	return strings.Join(parts, " · ")
}
