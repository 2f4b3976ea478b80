package push

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func TestValidatePushURL(t *testing.T) {
	long := "https://push.example.com/" + strings.Repeat("a", MaxURLLength-len("https://push.example.com/"))
	const (
		none = iota
		dev  // development (loopback) and PUSH_ALLOW_PRIVATE
		priv // PUSH_ALLOW_PRIVATE only
		all
	)
	cases := []struct {
		url string
		ok  int // under which policies the URL is accepted
	}{
		{"https://push.example.com/v1/devices/abc?token=x", all},
		{"https://push.example.com", all},
		{"https://push.example.com:8443/p", all},
		{"HTTPS://Push.Example.com/p", all},
		{"https://1.1.1.1/p", all},
		{"https://[2606:4700:4700::1111]/p", all},
		{"https://localhost.example.com/p", all},
		{long, all},

		// Loopback, http or https: only where the server itself is on
		// loopback, or PUSH_ALLOW_PRIVATE.
		{"https://localhost/p", dev},
		{"https://LOCALHOST./p", dev},
		{"https://device.localhost/p", dev},
		{"http://localhost:8080/push", dev},
		{"http://LOCALHOST/push", dev},
		{"http://127.0.0.1:2375/containers/create", dev},
		{"https://127.0.0.1:9000/push", dev},
		{"http://[::1]:15000/quitquitquit", dev},
		{"http://localhost:8080/actuator/shutdown", dev},
		{"http://127.5.6.7/", dev},
		{"http://[::1]:8080/push", dev},
		{"https://[::ffff:127.0.0.1]/p", dev},

		// Other non-public addresses: only PUSH_ALLOW_PRIVATE, over https.
		{"https://10.0.0.1/p", priv},
		{"https://169.254.169.254/latest/meta-data", priv},
		{"https://100.64.0.1/p", priv},
		{"https://0.0.0.0/p", priv},
		{"https://[::]/p", priv},
		{"https://[fc00::1]/p", priv},
		{"https://[fe80::1%25eth0]/p", priv},
		{"https://[::ffff:192.168.0.1]/p", priv},
		{"https://[64:ff9b::7f00:1]/p", priv},

		{"", none},
		{long + "a", none},
		{"push.example.com/p", none},
		{"/relative/path", none},
		{"//push.example.com/p", none},
		{"https:opaque", none},
		{"https://", none},
		{"https:///path-only", none},
		{"ftp://push.example.com/p", none},
		{"javascript:alert(1)", none},
		{"ws://push.example.com/p", none},
		{"http://push.example.com/p", none},
		{"http://localhost.example.com/p", none},
		{"http://10.0.0.1/p", none},
		{"http://0.0.0.0/p", none},
		{"https://user:secret@push.example.com/p", none},
		{"https://user@push.example.com/p", none},
		{"https://push.example.com:0/p", none},
		{"https://push.example.com:70000/p", none},
		{"https://push.example.com:/p", none},
		{"https://push.example.com:https/p", none},
		{"https://push example.com/p", none},
		{"https://push.example.com/\n", none},
	}
	policies := []struct {
		name string
		p    Policy
		ok   func(int) bool
	}{
		{"production", Policy{}, func(ok int) bool { return ok == all }},
		{"development", Policy{AllowLoopback: true}, func(ok int) bool { return ok == all || ok == dev }},
		{"allow private", Policy{AllowPrivate: true}, func(ok int) bool { return ok != none }},
		{"development, allow private", Policy{AllowLoopback: true, AllowPrivate: true}, func(ok int) bool { return ok != none }},
	}
	for _, p := range policies {
		for _, c := range cases {
			err := p.p.ValidatePushURL(c.url)
			if p.ok(c.ok) {
				if err != nil {
					t.Errorf("%s: ValidatePushURL(%q) = %v, want nil", p.name, c.url, err)
				}
				continue
			}
			var e *core.Error
			if !core.IsCode(err, core.EInvalidPushURL) || !asError(err, &e) || e.Field != "push_url" {
				t.Errorf("%s: ValidatePushURL(%q) = %v, want invalid_push_url on push_url", p.name, c.url, err)
			}
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost.": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"login.example.com": false, "localhost.example.com": false, "10.0.0.1": false, "0.0.0.0": false, "": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func asError(err error, target **core.Error) bool {
	e, ok := err.(*core.Error)
	*target = e
	return ok
}
