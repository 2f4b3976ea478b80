package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWebhookSends(t *testing.T) {
	g := newGateway(t, func(t *testing.T, r *http.Request, body string) {
		if r.Method != http.MethodPost || r.URL.Path != "/hooks/sms" || r.URL.RawQuery != "token=s3cret" {
			t.Errorf("request %s %s, want POST /hooks/sms?token=s3cret", r.Method, r.URL)
		}
		wantHeader(t, r, "Content-Type", "application/json")
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		var m map[string]string
		if err := dec.Decode(&m); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		if len(m) != 2 || m["to"] != "+14155550100" || m["body"] != "Your code is 123456 <&>" {
			t.Errorf("body = %q", body)
		}
	}, http.StatusNoContent, "")
	w, err := NewWebhook(WebhookConfig{URL: g.URL + "/hooks/sms?token=s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), "+14155550100", "Your code is 123456 <&>"); err != nil {
		t.Fatal(err)
	}
	if g.hits.Load() != 1 {
		t.Fatalf("gateway hit %d times", g.hits.Load())
	}
}

func TestWebhookAnyTwoHundred(t *testing.T) {
	for _, status := range []int{200, 201, 202, 204} {
		g := newGateway(t, nil, status, `{"ok":true}`)
		w, _ := NewWebhook(WebhookConfig{URL: g.URL})
		if err := w.Send(context.Background(), "+14155550100", "hi"); err != nil {
			t.Errorf("HTTP %d: %v", status, err)
		}
	}
}

func TestWebhookFailures(t *testing.T) {
	for _, status := range []int{400, 404, 500, 503} {
		g := newGateway(t, nil, status, `{"error":"+14155550100 rejected"}`)
		w, _ := NewWebhook(WebhookConfig{URL: g.URL + "/?token=s3cret"})
		err := w.Send(context.Background(), "+14155550100", "code 123456")
		wantUnavailable(t, err, []string{"webhook", "HTTP"}, "4155550100", "123456", "s3cret")
	}
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newGateway(t, nil, 200, "")
	redirecting := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer redirecting.Close()
	w, _ := NewWebhook(WebhookConfig{URL: redirecting.URL})
	err := w.Send(context.Background(), "+14155550100", "code 123456")
	wantUnavailable(t, err, []string{"HTTP 307"})
	if elsewhere.hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestWebhookTransportFailureHidesURL(t *testing.T) {
	g := newGateway(t, nil, 200, "")
	url := g.URL + "/?token=s3cret"
	g.Close() // connection refused from now on
	w, _ := NewWebhook(WebhookConfig{URL: url})
	err := w.Send(context.Background(), "+14155550100", "code 123456")
	wantUnavailable(t, err, []string{"webhook: request failed"}, "s3cret", "4155550100", "123456")
}

func TestWebhookTimeout(t *testing.T) {
	s := hangingServer(t)
	w, _ := NewWebhook(WebhookConfig{URL: s.URL, Timeout: 50 * time.Millisecond})
	start := time.Now()
	err := w.Send(context.Background(), "+14155550100", "code 123456")
	wantUnavailable(t, err, []string{"webhook"})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("send took %v with a 50ms timeout", d)
	}
}

func TestWebhookRespectsCallerContext(t *testing.T) {
	s := hangingServer(t)
	w, _ := NewWebhook(WebhookConfig{URL: s.URL}) // default 10 s
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := w.Send(ctx, "+14155550100", "code 123456")
	wantUnavailable(t, err, nil)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("send took %v after its ctx ended", d)
	}
}
