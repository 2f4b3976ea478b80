package sms

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const yunpianKey = "apikey-s3cret"

// Yunpian's documented answers.
const (
	yunpianSent     = `{"code":0,"msg":"发送成功","count":1,"fee":0.05,"unit":"RMB","mobile":"13800138000","sid":3310228982}`
	yunpianBadArgs  = `{"http_status_code":400,"code":2,"msg":"请求参数格式错误","detail":"参数 mobile 格式不正确，mobile手机号格式不正确"}`
	yunpianRepeated = `{"http_status_code":400,"code":8,"msg":"同一手机号30秒内重复提交相同的内容","detail":"同一手机号13800138000 30秒内重复提交相同的内容"}`
)

func yunpianCheck(wantMobile, wantRawMobile string) func(t *testing.T, r *http.Request, body string) {
	return func(t *testing.T, r *http.Request, body string) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/sms/single_send.json" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		wantHeader(t, r, "Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
		wantHeader(t, r, "Accept", "application/json;charset=utf-8")
		if !strings.Contains(body, "mobile="+wantRawMobile) {
			t.Errorf("body %q lacks mobile=%s", body, wantRawMobile)
		}
		form, err := url.ParseQuery(body)
		want := url.Values{"apikey": {yunpianKey}, "mobile": {wantMobile}, "text": {"【approvald】您的验证码是123456"}}
		if err != nil || !reflect.DeepEqual(form, want) {
			t.Errorf("form = %v (%v), want %v", form, err, want)
		}
	}
}

func newTestYunpian(t *testing.T, baseURL string) *Yunpian {
	t.Helper()
	y, err := NewYunpian(YunpianConfig{APIKey: yunpianKey, BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestYunpianSendsChineseNumberWithoutPrefix(t *testing.T) {
	g := newGateway(t, yunpianCheck("13800138000", "13800138000"), http.StatusOK, yunpianSent)
	if err := newTestYunpian(t, g.URL).Send(context.Background(), "+8613800138000", "【approvald】您的验证码是123456"); err != nil {
		t.Fatal(err)
	}
	if g.hits.Load() != 1 {
		t.Fatalf("gateway hit %d times", g.hits.Load())
	}
}

func TestYunpianSendsInternationalNumberWithEncodedPlus(t *testing.T) {
	g := newGateway(t, yunpianCheck("+14155550100", "%2B14155550100"), http.StatusOK, yunpianSent)
	if err := newTestYunpian(t, g.URL).Send(context.Background(), "+14155550100", "【approvald】您的验证码是123456"); err != nil {
		t.Fatal(err)
	}
}

func TestYunpianErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"bad args", 400, yunpianBadArgs, []string{"yunpian", "HTTP 400", "code 2"}},
		{"repeat", 400, yunpianRepeated, []string{"HTTP 400", "code 8"}},
		{"200 with error code", 200, `{"code":-50,"msg":"短信签名不存在"}`, []string{"HTTP 200", "code -50"}},
		{"no code", 200, `{"msg":"ok"}`, []string{"unreadable"}},
		{"html outage", 502, `<html>Bad Gateway</html>`, []string{"HTTP 502"}},
		{"huge body", 200, `{"code":0,"msg":"` + strings.Repeat("x", 200<<10) + `"}`, []string{"unreadable"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGateway(t, nil, c.status, c.body)
			err := newTestYunpian(t, g.URL).Send(context.Background(), "+8613800138000", "【approvald】您的验证码是123456")
			wantUnavailable(t, err, c.want, "13800138000", "123456", yunpianKey, "请求参数格式错误")
		})
	}
}

func TestYunpianTimeout(t *testing.T) {
	s := hangingServer(t)
	y, _ := NewYunpian(YunpianConfig{APIKey: yunpianKey, BaseURL: s.URL, Timeout: 50 * time.Millisecond})
	start := time.Now()
	err := y.Send(context.Background(), "+8613800138000", "code 123456")
	wantUnavailable(t, err, []string{"yunpian: request failed"}, yunpianKey)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("send took %v with a 50ms timeout", d)
	}
}
