package sms

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "auth-token-s3cret"
)

// A real 201 Message resource, as Twilio's docs show it.
const twilioCreated = `{"account_sid": "AC0123456789abcdef0123456789abcdef", "api_version": "2010-04-01",
"body": "Your approvald code is 123456", "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": null,
"date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api", "error_code": null,
"error_message": null, "from": "+15017122661", "messaging_service_sid": null, "num_media": "0", "num_segments": "1",
"price": null, "price_unit": "USD", "sid": "SM1234567890abcdef1234567890abcdef", "status": "queued",
"subresource_uris": {"media": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1234567890abcdef1234567890abcdef/Media.json"},
"to": "+14155550100", "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1234567890abcdef1234567890abcdef.json"}`

func twilioCheck(wantForm url.Values) func(t *testing.T, r *http.Request, body string) {
	return func(t *testing.T, r *http.Request, body string) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		wantHeader(t, r, "Content-Type", "application/x-www-form-urlencoded")
		wantHeader(t, r, "Accept", "application/json")
		user, pass, ok := r.BasicAuth()
		if !ok || user != twilioSID || pass != twilioToken {
			t.Errorf("basic auth = %q, %q, %v", user, pass, ok)
		}
		form, err := url.ParseQuery(body)
		if err != nil || !reflect.DeepEqual(form, wantForm) {
			t.Errorf("form = %v (%v), want %v", form, err, wantForm)
		}
	}
}

func newTestTwilio(t *testing.T, baseURL, from string) *Twilio {
	t.Helper()
	s, err := NewTwilio(TwilioConfig{AccountSID: twilioSID, AuthToken: twilioToken, From: from, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTwilioSends(t *testing.T) {
	g := newGateway(t, twilioCheck(url.Values{
		"To": {"+14155550100"}, "From": {"+15017122661"}, "Body": {"Your approvald code is 123456"},
	}), http.StatusCreated, twilioCreated)
	if err := newTestTwilio(t, g.URL, "+15017122661").Send(context.Background(), "+14155550100", "Your approvald code is 123456"); err != nil {
		t.Fatal(err)
	}
	if g.hits.Load() != 1 {
		t.Fatalf("gateway hit %d times", g.hits.Load())
	}
}

func TestTwilioMessagingService(t *testing.T) {
	const mg = "MG0123456789abcdef0123456789abcdef"
	g := newGateway(t, twilioCheck(url.Values{
		"To": {"+8613800138000"}, "MessagingServiceSid": {mg}, "Body": {"码 123456"},
	}), http.StatusCreated, twilioCreated)
	if err := newTestTwilio(t, g.URL+"/", mg).Send(context.Background(), "+8613800138000", "码 123456"); err != nil {
		t.Fatal(err)
	}
}

func TestTwilioErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"invalid To", 400, `{"code": 21211, "message": "The 'To' number +14155550100 is not a valid phone number.",
"more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`, []string{"twilio", "HTTP 400", "21211"}},
		{"bad credentials", 401, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
"status": 401}`, []string{"HTTP 401", "20003"}},
		{"rate limited", 429, `{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
"status": 429}`, []string{"HTTP 429", "20429"}},
		{"html outage", 502, `<html>Bad Gateway</html>`, []string{"HTTP 502"}},
		{"created but failed", 201, `{"sid": "SM1", "status": "failed", "error_code": 30006, "to": "+14155550100"}`, []string{"failed", "30006"}},
		{"created, unreadable", 201, `not json`, []string{"unreadable"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGateway(t, nil, c.status, c.body)
			err := newTestTwilio(t, g.URL, "+15017122661").Send(context.Background(), "+14155550100", "Your approvald code is 123456")
			wantUnavailable(t, err, c.want, "4155550100", "123456", twilioToken, "not a valid phone number")
		})
	}
}

func TestTwilioTimeout(t *testing.T) {
	s := hangingServer(t)
	tw, _ := NewTwilio(TwilioConfig{AccountSID: twilioSID, AuthToken: twilioToken, From: "+15017122661",
		BaseURL: s.URL, Timeout: 50 * time.Millisecond})
	start := time.Now()
	err := tw.Send(context.Background(), "+14155550100", "code 123456")
	wantUnavailable(t, err, []string{"twilio: request failed"}, twilioToken)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("send took %v with a 50ms timeout", d)
	}
}

func TestIsMessagingServiceSID(t *testing.T) {
	for s, want := range map[string]bool{
		"MG0123456789abcdef0123456789abcdef": true,
		"+15017122661":                       false,
		"MG0123456789abcdef0123456789abcdeg": false,
		"MG0123456789abcdef0123456789abcde":  false,
		"PN0123456789abcdef0123456789abcdef": false,
	} {
		if got := isMessagingServiceSID(s); got != want {
			t.Errorf("isMessagingServiceSID(%q) = %v", s, got)
		}
	}
}
