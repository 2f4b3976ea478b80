package sms

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestFromConfigBuildsEachProvider(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "*sms.Console"},
		{Config{Provider: "console"}, "*sms.Console"},
		{Config{Provider: " Webhook ", WebhookURL: "https://hooks.example.com/sms"}, "*sms.Webhook"},
		{Config{Provider: "twilio", TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+15017122661"}, "*sms.Twilio"},
		{Config{Provider: "yunpian", YunpianAPIKey: "k"}, "*sms.Yunpian"},
	} {
		s, err := FromConfig(c.cfg, io.Discard)
		if err != nil {
			t.Errorf("%+v: %v", c.cfg, err)
			continue
		}
		if got := typeName(s); got != c.want {
			t.Errorf("%+v built %s, want %s", c.cfg, got, c.want)
		}
	}
}

func TestFromConfigDefaults(t *testing.T) {
	s, _ := FromConfig(Config{Provider: "twilio", TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+1"}, nil)
	tw := s.(*Twilio)
	if tw.endpoint != "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json" || tw.http.timeout != DefaultTimeout {
		t.Errorf("twilio endpoint %q, timeout %v", tw.endpoint, tw.http.timeout)
	}
	s, _ = FromConfig(Config{Provider: "yunpian", YunpianAPIKey: "k", Timeout: 3e9}, nil)
	y := s.(*Yunpian)
	if y.endpoint != "https://sms.yunpian.com/v2/sms/single_send.json" || y.http.timeout != 3e9 || y.http.client.Timeout != 3e9 {
		t.Errorf("yunpian endpoint %q, timeout %v", y.endpoint, y.http.timeout)
	}
}

func TestFromConfigReportsMissingSettings(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Provider: "webhook"}, []string{"SMS_WEBHOOK_URL"}},
		{Config{Provider: "webhook", WebhookURL: "ftp://x/?token=s3cret"}, []string{"SMS_WEBHOOK_URL"}},
		{Config{Provider: "webhook", WebhookURL: "/relative"}, []string{"SMS_WEBHOOK_URL"}},
		{Config{Provider: "twilio"}, []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"}},
		{Config{Provider: "twilio", TwilioAccountSID: "AC1"}, []string{"TWILIO_AUTH_TOKEN", "TWILIO_FROM"}},
		{Config{Provider: "twilio", TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+1", TwilioBaseURL: "nope"}, []string{"TWILIO_BASE_URL"}},
		{Config{Provider: "yunpian"}, []string{"YUNPIAN_API_KEY"}},
		{Config{Provider: "yunpian", YunpianAPIKey: "k", YunpianBaseURL: "::"}, []string{"YUNPIAN_BASE_URL"}},
		{Config{Provider: "carrier-pigeon"}, []string{"SMS_PROVIDER", "carrier-pigeon"}},
	} {
		_, err := FromConfig(c.cfg, io.Discard)
		if err == nil {
			t.Errorf("%+v: no error", c.cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not name %s", c.cfg, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q repeats the URL", err)
		}
	}
	if _, err := FromConfig(Config{}, nil); err == nil {
		t.Error("console without a writer: no error")
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
