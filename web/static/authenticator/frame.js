// Checking what the server signs for this device as the CLI checks a push
// (internal/authenticator: Socket.verify, PushReceiver): the server's
// signature (for an approval frame, method WS over the websocket's path; for
// a Web Push, method POST over the endpoint's path and query; no device id),
// the clock (±300 s), the addressee, the callback and the nonce (not seen
// within 660 s).

import { verifyServer } from './sign.js';

export const MAX_SKEW = 300; // seconds, as internal/signing
export const NONCE_TTL = 660 * 1000; // milliseconds

// checkSigned returns the push request signed in f ({body, timestamp, nonce,
// signature}) for method and path, or null when a check fails. opts:
// serverKey (raw, 32 bytes), deviceID, callbackURL, nonces (a Map nonce →
// time seen, kept by the caller), now (Unix milliseconds).
export async function checkSigned(method, path, f, opts) {
  if (!f || typeof f.body !== 'string') return null;
  if (!await verifyServer(opts.serverKey, method, path, f.timestamp, f.nonce, f.body, f.signature)) return null;
  if (Math.abs(opts.now / 1000 - Number(f.timestamp)) > MAX_SKEW) return null;
  let push;
  try {
    push = JSON.parse(f.body);
  } catch {
    return null;
  }
  if (!push || !push.approval_id || push.device_id !== opts.deviceID) return null;
  if (push.callback_url !== opts.callbackURL) return null;
  for (const [n, t] of opts.nonces) if (opts.now - t > NONCE_TTL) opts.nonces.delete(n);
  if (opts.nonces.has(f.nonce)) return null;
  opts.nonces.set(f.nonce, opts.now);
  return push;
}

// checkFrame checks an approval frame of the device websocket; opts as
// checkSigned's, and wsPath (the websocket's path, PUBLIC_URL's prefix
// included).
export function checkFrame(f, opts) {
  return checkSigned('WS', opts.wsPath, f, opts);
}

// checkWebPush checks the plaintext of a Web Push, {"headers": {X-Timestamp,
// X-Nonce, X-Signature, …}, "body": "<push JSON>"}; opts as checkSigned's,
// and endpoint (the subscription the server was given, whose path and query
// it signed).
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
    body: m && m.body, timestamp: h['X-Timestamp'], nonce: h['X-Nonce'], signature: h['X-Signature'],
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
