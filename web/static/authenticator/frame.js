// Checking what the server signs for this device as the CLI checks a push
// (internal/authenticator: Socket.verify, PushReceiver): the server's
// signature (for an approval frame, method WS over the websocket's path; for
// a Web Push, method POST over the endpoint's path and query; no device id),
// the clock (±300 s), the addressee, the callback and the nonce (not seen
// within 660 s); and following a push key rotation (docs/api.md, "The push
// key and its rotation") as internal/authenticator's LearnServerKey does.

import { fromB64url, keyID, sameKey, verifyBytes, verifyServer } from './sign.js';

export const MAX_SKEW = 300; // seconds, as internal/signing
export const NONCE_TTL = 660 * 1000; // milliseconds

const enc = new TextEncoder();

// announcedKey returns the key (raw, 32 bytes) a next_key statement
// announces when it holds under the pinned key pin: signed_by is pin's kid,
// the signature verifies under pin, and kid is the announced key's. Any
// other statement is a forged rotation: null.
export async function announcedKey(pin, st) {
  if (!pin || !st || typeof st !== 'object') return null;
  for (const k of ['kid', 'public_key', 'signed_by', 'signature']) if (typeof st[k] !== 'string') return null;
  if (st.signed_by !== await keyID(pin)) return null;
  let pub;
  try {
    pub = fromB64url(st.public_key);
  } catch {
    return null;
  }
  if (pub.length !== 32 || await keyID(pub) !== st.kid) return null;
  const data = enc.encode('approvald-push-key-v1\n' + st.kid + '\n' + st.public_key);
  return await verifyBytes(pin, st.signature, data) ? pub : null;
}

// learnKey is the device's keys {serverKey, oldServerKey} after a key
// statement st: the announced key pinned and the pin kept beside it, when
// st holds under the pin and names another key; null otherwise.
export async function learnKey(keys, st) {
  const next = await announcedKey(keys.serverKey, st);
  if (!next || sameKey(next, keys.serverKey)) return null;
  return { serverKey: next, oldServerKey: keys.serverKey };
}

// signerOf is the key, of those trusted, whose signature f carries: the one
// f.kid names (a push's X-Key-Id, a frame's kid), or without kid the first
// that verifies; null when none does.
async function signerOf(method, path, f, trusted) {
  const kid = typeof f.kid === 'string' ? f.kid : '';
  for (const k of trusted) {
    if (!k || (kid && await keyID(k) !== kid)) continue;
    if (await verifyServer(k, method, path, f.timestamp, f.nonce, f.body, f.signature)) return k;
  }
  return null;
}

// checkSigned checks the push request signed in f ({body, timestamp, nonce,
// signature, kid}) for method and path. opts: serverKey (the pin, raw, 32
// bytes), oldServerKey (the pin before it during a rotation, or null),
// deviceID, callbackURL, nonces (a Map nonce → time seen, kept by the
// caller), now (Unix milliseconds). It returns null when a check fails,
// else {push, serverKey, oldServerKey, changed}: the request and the keys
// the device keeps from now on. The key that verifies is one of the pin,
// the old key and a key the body's next_key announces under the pin (a
// device that missed the announcement until the new key signed); that
// announcement is learned, and the old key dropped once the pin signs.
export async function checkSigned(method, path, f, opts) {
  if (!f || typeof f.body !== 'string') return null;
  let push;
  try {
    push = JSON.parse(f.body);
  } catch {
    return null;
  }
  if (!push || typeof push !== 'object') return null;
  const old = opts.oldServerKey || null;
  let keys = { serverKey: opts.serverKey, oldServerKey: old };
  const learned = push.next_key ? await learnKey(keys, push.next_key) : null;
  const signer = await signerOf(method, path, f, [keys.serverKey, old, learned && learned.serverKey]);
  if (!signer) return null;
  if (Math.abs(opts.now / 1000 - Number(f.timestamp)) > MAX_SKEW) return null;
  if (!push.approval_id || push.device_id !== opts.deviceID) return null;
  if (push.callback_url !== opts.callbackURL) return null;
  for (const [n, t] of opts.nonces) if (opts.now - t > NONCE_TTL) opts.nonces.delete(n);
  if (opts.nonces.has(f.nonce)) return null;
  opts.nonces.set(f.nonce, opts.now);
  if (learned) keys = learned;
  // The new key signs: the server switched, the old key is done with.
  if (keys.oldServerKey && sameKey(signer, keys.serverKey)) keys = { serverKey: keys.serverKey, oldServerKey: null };
  const changed = !!learned || keys.oldServerKey !== old;
  return { push, serverKey: keys.serverKey, oldServerKey: keys.oldServerKey, changed };
}

// checkFrame checks an approval frame of the device websocket; opts as
// checkSigned's, and wsPath (the websocket's path, PUBLIC_URL's prefix
// included).
export function checkFrame(f, opts) {
  return checkSigned('WS', opts.wsPath, f, opts);
}

// checkWebPush checks the plaintext of a Web Push, {"headers": {X-Key-Id,
// X-Timestamp, X-Nonce, X-Signature}, "body": "<push JSON>"}; opts as
// checkSigned's, and endpoint (the subscription the server was given, whose
// path and query it signed).
export function checkWebPush(text, opts) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return Promise.resolve(null);
  }
  const h = (m && m.headers) || {};
  let u;
  try {
    u = new URL(opts.endpoint);
  } catch {
    return Promise.resolve(null);
  }
  return checkSigned('POST', u.pathname + u.search, {
    body: m && m.body, timestamp: h['X-Timestamp'], nonce: h['X-Nonce'], signature: h['X-Signature'], kid: h['X-Key-Id'],
  }, opts);
}

// requestTitle is what a request is, in the page and in a notification.
export function requestTitle(p) {
  return p.app ? 'Sign in to ' + p.app : 'Log in to approvald';
}

// requestContext is where the login comes from, in words: the server's
// context without the application (the title names it), else the raw
// details. Never the number: the user reads it in the login's browser.
export function requestContext(p) {
  const c = p.context;
  if (c) {
    const parts = [];
    if (c.location) parts.push('near ' + c.location);
    if (c.browser && c.os) parts.push(c.browser + ' on ' + c.os);
    else if (c.browser || c.os) parts.push(c.browser || c.os);
    if (parts.length) return parts.join(' · ');
    if (c.summary) return c.summary;
  }
  return [p.details && p.details.ip, p.details && p.details.user_agent].filter(Boolean).join(' · ');
}
