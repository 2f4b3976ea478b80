// The authenticator's service worker (an ES module, registered with type
// "module", so it imports the page's own modules): it keeps the app shell,
// so the page (and its TOTP codes) opens offline; it turns a Web Push into a
// notification of the login, once the server's signature checks out; it
// hands a renewed subscription to the server.
//
// It fetches the shell from the network first (a new release must not mix
// with old files) and falls back to the cache; it never caches the API.

import { checkWebPush, requestTitle, requestContext } from './frame.js';
import { loadDevice } from './store.js';
import { api, subscribe, subscriptionJSON, sendSubscription, dropSubscription, keepServerKeys, pull } from './push.js';

const CACHE = 'approvald-authenticator-v1';
const SHELL = ['./', 'index.html', 'app.js', 'frame.js', 'push.js', 'totp.js', 'sign.js', 'store.js', 'authenticator.css',
  'manifest.webmanifest', '../style.css', '../favicon.svg'];
const ICON = '../favicon.svg';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.includes('/api/')) {
    return;
  }
  event.respondWith(fetch(event.request).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return res;
  }).catch(() => caches.match(event.request, { ignoreSearch: true, ignoreVary: true })
    .then((hit) => hit || (event.request.mode === 'navigate'
      ? caches.match('./', { ignoreSearch: true, ignoreVary: true })
      : Response.error()))));
});

// Nonces of the pushes this worker checked: a replay within their life
// shows nothing new (the worker may be stopped between pushes, when the
// notification's tag per approval still keeps a replay from stacking).
const nonces = new Map();

// verifiedPush is the push request a Web Push carries, when it is signed by
// a server key this device trusts (its pin, or during a rotation the old
// key or the announced one), for the subscription the server was given,
// fresh and addressed to this device; null otherwise. It follows the
// rotation as the page does (frame.js, push.js).
async function verifiedPush(text) {
  const device = await loadDevice();
  if (!device || device.pending || !device.webPush || !device.webPush.endpoint) return null;
  const checked = await checkWebPush(text, {
    serverKey: device.serverKey,
    oldServerKey: device.oldServerKey || null,
    deviceID: device.deviceID,
    endpoint: device.webPush.endpoint,
    callbackURL: api('/callbacks/approval').href,
    nonces,
    now: Date.now(),
  });
  if (!checked) return null;
  // A key learned costs one pull before the notification, once per
  // rotation; should it fail, the page's next request confirms the key.
  if (await keepServerKeys(device, checked).catch(() => false)) await pull(device).catch(() => {});
  return checked.push;
}

// A Web Push: a login waits. Verified, the notification says what it is
// and where it comes from (never the number: the user reads that in the
// login's browser), one per approval. Unverifiable (forged, another key,
// a clock far off, a device forgotten here), it still says something,
// because a browser requires a notification for each push, but nothing
// taken from the payload: the page checks the login again over its
// websocket.
self.addEventListener('push', (event) => {
  const text = event.data ? event.data.text() : '';
  event.waitUntil(verifiedPush(text).catch(() => null).then((p) => {
    if (!p) {
      return self.registration.showNotification('Login request', {
        body: 'Open the authenticator to see whether a login waits for you.',
        icon: ICON,
        tag: 'approvald-unverified',
      });
    }
    let body = requestContext(p);
    if (p.passwordless) body = 'No password was given: approving alone signs in.' + (body ? '\n' + body : '');
    return self.registration.showNotification(requestTitle(p), {
      body: body || 'Open the authenticator to check it.',
      icon: ICON,
      tag: 'approval-' + p.approval_id,
      data: { approvalID: p.approval_id },
      timestamp: Date.parse(p.details && p.details.time) || Date.now(),
      requireInteraction: true,
    });
  }));
});

// A click opens the authenticator on that request: an open page is focused
// and told which; otherwise a new one opens with ?approval=.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.approvalID;
  const url = new URL(id ? './?approval=' + encodeURIComponent(id) : './', self.registration.scope).href;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
    for (const c of list) {
      if (c.url.startsWith(self.registration.scope) && 'focus' in c) {
        if (id) c.postMessage({ type: 'show-approval', approval_id: id });
        return c.focus();
      }
    }
    return self.clients.openWindow(url);
  }));
});

// The push service ended or replaced the subscription: take the new one (or
// subscribe again with the VAPID key) and give it to the server, signed
// with the device's key from IndexedDB; with none to give, tell the server
// to stop, so the device pulls instead of the pushes getting lost.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const device = await loadDevice();
    if (!device || device.pending) return;
    let sub = null;
    if (event.newSubscription) {
      sub = subscriptionJSON(event.newSubscription);
    } else {
      sub = await subscribe(self.registration);
    }
    if (sub) await sendSubscription(device, sub);
    else if (device.webPush) await dropSubscription(device);
  })().catch(() => {}));
});
