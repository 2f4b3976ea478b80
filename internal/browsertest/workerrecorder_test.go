package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// shownRecorder reads what the authenticator's service worker asks the
// browser to show. Headless Chromium may drop a notification the moment it
// is shown (the worker's own getNotifications then finds none, about one
// run in ten under load), so the tests read the worker's showNotification
// calls, recorded in its global scope through a DevTools session attached
// to it; the session also keeps the worker from being stopped as idle,
// which would lose the record.
type shownRecorder struct {
	b   *browser
	ctx context.Context // attached to the worker
}

// recordShown starts the worker of scope, attaches to it and wraps
// showNotification to keep each call.
func (b *browser) recordShown(scope string) *shownRecorder {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, serviceworker.StartWorker, serviceworker.StartWorkerParams{ScopeURL: scope})
		return err
	}))
	deadline := time.Now().Add(waitLimit)
	var r *shownRecorder
	for r == nil {
		targets, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, info := range targets {
			if info.Type == "service_worker" && strings.HasPrefix(info.URL, scope) {
				ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID))
				b.t.Cleanup(cancel)
				r = &shownRecorder{b: b, ctx: ctx}
				break
			}
		}
		if r == nil {
			if time.Now().After(deadline) {
				b.t.Fatalf("no service worker of %s to attach to", scope)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var ok bool
	r.eval(`(() => {
		if (!self.__shown) {
			self.__shown = [];
			const show = ServiceWorkerRegistration.prototype.showNotification;
			ServiceWorkerRegistration.prototype.showNotification = function (title, opts) {
				const o = opts || {};
				self.__shown.push({title, body: o.body, tag: o.tag, data: o.data === undefined ? null : o.data});
				return show.call(this, title, opts);
			};
		}
		return true;
	})()`, &ok)
	return r
}

func (r *shownRecorder) eval(expr string, out any) {
	r.b.t.Helper()
	err := chromedp.Do(r.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ReturnByValue: new(true)})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return fmt.Errorf("exception: %s", res.ExceptionDetails.Text)
		}
		return json.Unmarshal(res.Result.Value, out)
	}))
	if err != nil {
		r.b.t.Fatalf("in the service worker: %s: %v", expr, err)
	}
}

// shown are the notifications the worker showed since the last clear.
func (r *shownRecorder) shown() []shownNotification {
	r.b.t.Helper()
	var list []shownNotification
	r.eval(`self.__shown`, &list)
	return list
}

// clear forgets what was shown.
func (r *shownRecorder) clear() {
	r.b.t.Helper()
	var ok bool
	r.eval(`(self.__shown.length = 0, true)`, &ok)
}

// wait waits until the worker shows a notification tagged tag; failing, it
// says which it showed instead.
func (r *shownRecorder) wait(tag string) shownNotification {
	r.b.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		shown := r.shown()
		for _, n := range shown {
			if n.Tag == tag {
				return n
			}
		}
		if time.Now().After(deadline) {
			r.b.t.Fatalf("no notification tagged %s within %v; shown: %+v", tag, waitLimit, shown)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
