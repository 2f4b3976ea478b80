package push

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func TestValidatePushURL(t *testing.T) {
	long := "https://push.example.com/" + strings.Repeat("a", MaxURLLength-len("https://push.example.com/"))
	cases := []struct {
		url string
		ok  bool
	}{
		{"https://push.example.com/v1/devices/abc?token=x", true},
		{"https://push.example.com", true},
		{"https://push.example.com:8443/p", true},
		{"HTTPS://Push.Example.com/p", true},
		{"https://1.1.1.1/p", true},
		{"https://[2606:4700:4700::1111]/p", true},
		{"https://localhost/p", true},
		{"http://localhost:8080/push", true},
		{"http://LOCALHOST/push", true},
		{"http://127.0.0.1:9000/push", true},
		{"http://127.5.6.7/", true},
		{"http://[::1]:8080/push", true},
		{long, true},

		{"", false},
		{long + "a", false},
		{"push.example.com/p", false},
		{"/relative/path", false},
		{"//push.example.com/p", false},
		{"https:opaque", false},
		{"https://", false},
		{"https:///path-only", false},
		{"ftp://push.example.com/p", false},
		{"javascript:alert(1)", false},
		{"ws://push.example.com/p", false},
		{"http://push.example.com/p", false},
		{"http://localhost.example.com/p", false},
		{"http://10.0.0.1/p", false},
		{"https://user:secret@push.example.com/p", false},
		{"https://user@push.example.com/p", false},
		{"https://push.example.com:0/p", false},
		{"https://push.example.com:70000/p", false},
		{"https://push.example.com:/p", false},
		{"https://push.example.com:https/p", false},
		{"https://push example.com/p", false},
		{"https://push.example.com/\n", false},
		{"https://10.0.0.1/p", false},
		{"https://169.254.169.254/latest/meta-data", false},
		{"https://100.64.0.1/p", false},
		{"https://0.0.0.0/p", false},
		{"https://[fc00::1]/p", false},
		{"https://[fe80::1%25eth0]/p", false},
		{"https://[::ffff:192.168.0.1]/p", false},
	}
	for _, c := range cases {
		err := ValidatePushURL(c.url)
		if c.ok {
			if err != nil {
				t.Errorf("ValidatePushURL(%q) = %v, want nil", c.url, err)
			}
			continue
		}
		var e *core.Error
		if !core.IsCode(err, core.EInvalidPushURL) || !asError(err, &e) || e.Field != "push_url" {
			t.Errorf("ValidatePushURL(%q) = %v, want invalid_push_url on push_url", c.url, err)
		}
	}
}

func asError(err error, target **core.Error) bool {
	e, ok := err.(*core.Error)
	*target = e
	return ok
}
