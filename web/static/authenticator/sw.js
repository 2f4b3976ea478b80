// The authenticator's service worker: it keeps the app shell, so the page
// (and its TOTP codes) opens offline. It fetches the shell from the network
// first (a new release must not mix with old files) and falls back to the
// cache; it never caches the API.

const CACHE = 'approvald-authenticator-v1';
const SHELL = ['./', 'index.html', 'app.js', 'frame.js', 'totp.js', 'sign.js', 'store.js', 'authenticator.css',
  'manifest.webmanifest', '../style.css', '../favicon.svg'];

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

// A Web Push (when the server has a VAPID key and the browser allowed it):
// say a login waits; the page shows it, verified, over its websocket.
self.addEventListener('push', (event) => {
  event.waitUntil(self.registration.showNotification('Login request', {
    body: 'A login waits for your approval. Open the authenticator to check it.',
    icon: '../favicon.svg',
    tag: 'approvald-login',
    renotify: true,
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((list) => {
    for (const c of list) {
      if (c.url.includes('/authenticator/') && 'focus' in c) return c.focus();
    }
    return self.clients.openWindow('./');
  }));
});
