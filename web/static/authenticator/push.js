// What the page and its service worker both do with the server: signed
// requests of this device, the push keys it pins (kept, confirmed), and its
// Web Push subscription (subscribe with the server's VAPID key, hand it over
// with PUT …/web-push, drop it with DELETE). A module of both, so the worker
// signs and checks exactly as the page does.

import { fromB64url, keyID, sameKey, signHeaders } from './sign.js';
import { learnKey } from './frame.js';
import { updateDevice } from './store.js';

// api is the URL of an API path: approvald's base is the parent of this
// folder (the page's and the worker's alike), so a PUBLIC_URL with a path
// prefix works too.
export function api(path) {
  return new URL('../api/v1' + path, self.location.href);
}

export async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch {
    // not JSON
  }
  return 'the server answered ' + res.status;
}

// signedFetch sends a request signed by device; it returns the answer's JSON,
// null for 204, and throws the server's message otherwise.
export async function signedFetch(device, method, path, body) {
  const url = api(path);
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = await signHeaders(device.privateKey, method, url.pathname + url.search, device.deviceID, text);
  headers.Accept = 'application/json';
  if (text) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: text || undefined, credentials: 'omit' });
  if (!res.ok) throw new Error(await errorMessage(res));
  return res.status === 204 ? null : res.json();
}

// pushKIDQuery names, on a signed request, the push key this device pins
// (?push_kid=KID, covered by the signature): how the server learns that the
// device follows a rotation; the new key signs once every device has.
export async function pushKIDQuery(device) {
  return '?push_kid=' + encodeURIComponent(await keyID(device.serverKey));
}

// pull is the device's signed pull. It names the key the device pins and
// learns the one the answer announces (next_key, until the server has this
// device's confirmation of its newest key); a second pull then confirms it.
// It returns the approvals listed.
export async function pull(device) {
  const path = '/devices/' + encodeURIComponent(device.deviceID) + '/approvals';
  let answer = null;
  for (let i = 0; i < 2; i++) {
    answer = await signedFetch(device, 'GET', path + await pushKIDQuery(device));
    const learned = answer && answer.next_key ? await learnKey(device, answer.next_key) : null;
    if (!learned) break;
    Object.assign(device, learned);
    await updateDevice(device.deviceID, learned);
  }
  return (answer && answer.approvals) || [];
}

// keepServerKeys keeps the push keys a checked message left device with
// (frame.js checkSigned: a rotation followed, or the old key dropped). It
// returns true when a key was learned: confirm it then with a pull, not
// only with the user's answer, which may never come.
export async function keepServerKeys(device, checked) {
  if (!checked || !checked.changed) return false;
  const learned = !sameKey(checked.serverKey, device.serverKey);
  const keys = { serverKey: checked.serverKey, oldServerKey: checked.oldServerKey };
  Object.assign(device, keys);
  await updateDevice(device.deviceID, keys);
  return learned;
}

// subscriptionJSON is what the server is given of a PushSubscription.
export function subscriptionJSON(sub) {
  const json = sub.toJSON();
  return { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } };
}

export function sameSubscription(a, b) {
  return !!a && !!b && a.endpoint === b.endpoint && !!a.keys && !!b.keys &&
    a.keys.p256dh === b.keys.p256dh && a.keys.auth === b.keys.auth;
}

export const SUBSCRIBE_WAIT = 8000; // milliseconds

// subscribe subscribes registration to Web Push with the server's VAPID key
// (GET /api/v1/push/vapid; 404 on a server without Web Push) when
// notifications are allowed already; null otherwise (asking is the page's).
export async function subscribe(registration) {
  try {
    const state = await registration.pushManager.permissionState({ userVisibleOnly: true });
    if (state !== 'granted') return null;
    const res = await fetch(api('/push/vapid'), { credentials: 'omit' });
    if (!res.ok) return null;
    const { public_key: key } = await res.json();
    if (!key) return null;
    // A browser that cannot reach its push service (offline, or blocked)
    // may never answer: enrollment goes on without Web Push after
    // SUBSCRIBE_WAIT. A subscription made later is handed over when the
    // page next starts (app.js: renewWebPush).
    const sub = await Promise.race([
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(key) }),
      new Promise((resolve) => { setTimeout(resolve, SUBSCRIBE_WAIT, null); }),
    ]);
    return sub ? subscriptionJSON(sub) : null;
  } catch {
    return null;
  }
}

function webPushPath(device) {
  return '/devices/' + encodeURIComponent(device.deviceID) + '/web-push';
}

// sendSubscription gives the server device's new subscription (it replaces
// the one the server had) and keeps it with the device: the worker checks a
// push's signature over the endpoint the server signs for.
export async function sendSubscription(device, webPush) {
  await signedFetch(device, 'PUT', webPushPath(device), { web_push: webPush });
  device.webPush = webPush;
  await updateDevice(device.deviceID, { webPush });
}

// dropSubscription tells the server to stop pushing here: the device pulls
// (the page's websocket) from then on.
export async function dropSubscription(device) {
  await signedFetch(device, 'DELETE', webPushPath(device));
  device.webPush = null;
  await updateDevice(device.deviceID, { webPush: null });
}
