package clientcontext

import "testing"

func TestAgent(t *testing.T) {
	for _, c := range []struct {
		name, ua, browser, os string
	}{
		{"Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox", "Linux"},
		{"Chrome on Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36", "Chrome", "Android"},
		{"Safari on iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "iOS"},
		{"Safari on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari", "macOS"},
		{"Edge on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge", "Windows"},
		{"curl", "curl/8.5.0", "", ""},
		{"empty", "", "", ""},
		{"garbage", "\x00\xff}{ not a browser ;;; )(", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, os := Agent(c.ua)
			if b != c.browser || os != c.os {
				t.Fatalf("Agent(%q) = %q, %q; want %q, %q", c.ua, b, os, c.browser, c.os)
			}
		})
	}
}

func TestOfWithoutLocator(t *testing.T) {
	c := Of(nil, "81.2.69.142", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Grafana")
	if c == nil || c.Location != "" || c.Summary != "Firefox on Linux · Grafana" {
		t.Fatalf("Of = %+v; want Firefox on Linux · Grafana and no location", c)
	}
	if c := Of(nil, "81.2.69.142", "curl/8.5.0", ""); c != nil {
		t.Fatalf("Of(curl, no app) = %+v; want nil: nothing is known", c)
	}
	if c := Of(nil, "", "", "Grafana"); c == nil || c.Summary != "Grafana" || c.Browser != "" {
		t.Fatalf("Of(app only) = %+v; want the summary Grafana alone", c)
	}
}
