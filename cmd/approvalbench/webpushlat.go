package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/webpush"
)

// WebPushLatency is the webpush phase's second part, through approvald:
// K users whose device has a Web Push subscription at the harness's
// receiver and holds the device websocket each log in with the password
// (a few at a time), and the times are all taken from the moment the
// login request is sent: its 202 answer, the device websocket's
// "approval" frame for it, the Web Push that approvald encrypted and sent
// to the receiver, and the browser's approval websocket, opened with the
// answer's ticket, showing its first frame (the pending state). The
// browser cannot open its websocket before the answer, so its time
// includes the answer and the dial; the device's does not wait for it.
type WebPushLatency struct {
	Devices    int     `json:"devices"`
	Logins     int     `json:"logins"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Answer     Latency `json:"login_answer"`
	Device     Latency `json:"device_ws_frame"`
	Push       Latency `json:"web_push_arrival"`
	Browser    Latency `json:"browser_ws_frame"`
	// The same three from the 202 answer instead (the device's frame and
	// the push may come before it: negative then).
	AnswerDevice  Latency `json:"answer_to_device_ws_frame"`
	AnswerPush    Latency `json:"answer_to_web_push_arrival"`
	AnswerBrowser Latency `json:"answer_to_browser_ws_frame"`
	// Pushes approvald sent (counted by the receiver) over the logins'
	// window, and approvald's CPU per login in it.
	Pushes          int64   `json:"pushes_received"`
	Seconds         float64 `json:"seconds"`
	ServerMsPerPush float64 `json:"server_cpu_ms_per_login_and_push"`
	Missing         int     `json:"missing_frames"` // logins whose device frame, push or browser frame did not come in 10 s
}

// wpDevice is one of the latency part's users: its device's websocket
// and what it heard.
type wpDevice struct {
	phone    string
	endpoint string
	client   *authenticator.Client
	conn     *websocket.Conn

	mu     sync.Mutex
	frames map[string]time.Time // approval id → its "approval" frame
	done   chan struct{}
}

// seedWebPushUsers writes n verified users with two-factor on and one
// device each whose Web Push subscription points at recv, straight into
// the database as seedDB does.
func seedWebPushUsers(ctx context.Context, databaseURL, serverURL, recvURL string, httpc *http.Client, n int) ([]*wpDevice, error) {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	hash, err := password.New(password.Params{}, 1).Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	out := make([]*wpDevice, n)
	for i, phone := range phones(n) {
		now := time.Now().UTC()
		u, err := writeVerifiedUser(ctx, db, "Bench web push", phone, hash, true, now)
		if err != nil {
			return nil, err
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		ua, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		id := core.NewID(core.PrefixDevice)
		endpoint := recvURL + "/push/" + id
		d := &core.Device{ID: id, UserID: u.ID, Name: "bench web push", PublicKey: pub, TOTPSecretEnc: core.RandomBytes(48),
			WebPush:   core.WebPush{Endpoint: endpoint, P256dh: ua.PublicKey().Bytes(), Auth: core.RandomBytes(webpush.AuthSecretSize)},
			CreatedAt: now}
		if err := db.CreateDevice(ctx, d); err != nil {
			return nil, err
		}
		st := &authenticator.State{Server: serverURL, DeviceID: id, PrivateKey: priv}
		out[i] = &wpDevice{phone: phone, endpoint: endpoint, client: &authenticator.Client{State: st, HTTP: httpc},
			frames: map[string]time.Time{}, done: make(chan struct{})}
	}
	return out, nil
}

// open gets a ticket (a signed request), opens the device websocket and
// waits for its first frame (pending) before reading on in the background.
func (d *wpDevice) open(ctx context.Context) error {
	ticket, err := d.client.WSTicket(ctx)
	if err != nil {
		return err
	}
	u := "ws" + strings.TrimPrefix(d.client.State.Server, "http") + "/api/v1/devices/" + d.client.State.DeviceID + "/ws?ticket=" + ticket
	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second}
	conn, _, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		return fmt.Errorf("opening the device websocket: %w", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"type":"pending"`) {
		_ = conn.Close()
		return fmt.Errorf("the device websocket's first frame: %q (%v)", msg, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	d.conn = conn
	go d.read()
	return nil
}

func (d *wpDevice) read() {
	defer close(d.done)
	for {
		_, msg, err := d.conn.ReadMessage()
		at := time.Now()
		if err != nil {
			return
		}
		var f struct {
			Type string `json:"type"`
			Body string `json:"body"`
		}
		if json.Unmarshal(msg, &f) != nil || f.Type != "approval" {
			continue
		}
		var p struct {
			ApprovalID string `json:"approval_id"`
		}
		if json.Unmarshal([]byte(f.Body), &p) != nil || p.ApprovalID == "" {
			continue
		}
		d.mu.Lock()
		if _, seen := d.frames[p.ApprovalID]; !seen {
			d.frames[p.ApprovalID] = at
		}
		d.mu.Unlock()
	}
}

func (d *wpDevice) frame(approvalID string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.frames[approvalID]
	return t, ok
}

// webpushLatency runs the latency part: cfg.WebPushDevices users, each
// logging in once, four at a time.
func (b *bench) webpushLatency(ctx context.Context) (*WebPushLatency, error) {
	cfg := b.cfg
	recv, err := newPushReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.close()
	recv.arrivals = map[string]time.Time{}
	b.say("webpush: %d users whose device has a Web Push subscription at the harness and holds the device websocket", cfg.WebPushDevices)
	devs, err := seedWebPushUsers(ctx, b.databaseURL, b.srv.URL, recv.url, b.http, cfg.WebPushDevices)
	if err != nil {
		return nil, fmt.Errorf("webpush: seeding: %w", err)
	}
	defer func() {
		for _, d := range devs {
			if d.conn != nil {
				_ = d.conn.Close()
				<-d.done
			}
		}
	}()
	for _, d := range devs {
		if err := d.open(ctx); err != nil {
			return nil, fmt.Errorf("webpush: %w", err)
		}
	}
	dialer := websocket.Dialer{NetDialContext: b.src.DialContext, HandshakeTimeout: 15 * time.Second}
	wsBase := "ws" + strings.TrimPrefix(b.srv.URL, "http")
	origin := http.Header{"Origin": {b.srv.PublicURL}}
	r := &WebPushLatency{Devices: len(devs)}
	var mu sync.Mutex
	var answer, device, pushed, browser, aDevice, aPushed, aBrowser []time.Duration
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if r.Errors++; r.FirstError == "" {
			r.FirstError = err.Error()
		}
	}
	b.say("webpush: %d password logins, 4 at a time: login sent → answer, device websocket frame, Web Push arrival, browser websocket frame", len(devs))
	start := time.Now()
	cpu := b.measureCPU(func() {
		_ = forEach(ctx, len(devs), 4, func(ctx context.Context, i int) error {
			d := devs[i]
			sent := time.Now()
			var l loginAnswer
			if err := b.api.call(ctx, "POST", "/api/v1/login", nil, map[string]string{"phone": d.phone, "password": benchPassword},
				http.StatusAccepted, &l); err != nil {
				fail(err)
				return nil
			}
			answered := time.Now()
			if l.Channel != "push" {
				fail(fmt.Errorf("login started on %q, want push", l.Channel))
				return nil
			}
			conn, _, err := dialer.DialContext(ctx, wsBase+"/api/v1/approvals/"+l.ApprovalID+"/ws?ticket="+l.Ticket, origin)
			if err != nil {
				fail(fmt.Errorf("browser websocket: %w", err))
				return nil
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := conn.ReadMessage()
			seen := time.Now()
			_ = conn.Close()
			if err != nil || !strings.Contains(string(msg), `"status":"pending"`) {
				fail(fmt.Errorf("browser websocket's first frame %q (%v)", msg, err))
				return nil
			}
			var devAt, pushAt time.Time
			for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(2 * time.Millisecond) {
				var ok1, ok2 bool
				devAt, ok1 = d.frame(l.ApprovalID)
				pushAt, ok2 = recv.arrival(d.endpoint)
				if ok1 && ok2 {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			answer, browser = append(answer, answered.Sub(sent)), append(browser, seen.Sub(sent))
			aBrowser = append(aBrowser, seen.Sub(answered))
			if devAt.IsZero() || pushAt.IsZero() {
				r.Missing++
				return nil
			}
			device, pushed = append(device, devAt.Sub(sent)), append(pushed, pushAt.Sub(sent))
			aDevice, aPushed = append(aDevice, devAt.Sub(answered)), append(aPushed, pushAt.Sub(answered))
			return nil
		})
	})
	took := time.Since(start)
	r.Logins = len(answer)
	r.Answer, r.Device, r.Push, r.Browser = summarize(answer), summarize(device), summarize(pushed), summarize(browser)
	r.AnswerDevice, r.AnswerPush, r.AnswerBrowser = summarize(aDevice), summarize(aPushed), summarize(aBrowser)
	r.Pushes, r.Seconds = recv.count.Load(), took.Seconds()
	if r.Pushes > 0 {
		r.ServerMsPerPush = ms(cpu.server) / float64(r.Pushes)
	}
	b.say("webpush: login sent → answer p50 %.1f ms; answer → device websocket frame p50 %.1f p99 %.1f ms; → Web Push p50 %.1f p99 %.1f ms; → browser frame p50 %.1f p99 %.1f ms (%d logins, %d errors, %d missing)",
		r.Answer.P50, r.AnswerDevice.P50, r.AnswerDevice.P99, r.AnswerPush.P50, r.AnswerPush.P99, r.AnswerBrowser.P50, r.AnswerBrowser.P99, r.Logins, r.Errors, r.Missing)
	if r.Logins == 0 {
		return r, errors.New("webpush: no login answered (" + r.FirstError + ")")
	}
	return r, nil
}
