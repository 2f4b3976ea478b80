// Checking an approval frame of the device websocket as the CLI checks a
// push (internal/authenticator: Socket.verify): the server's signature
// (method WS over the websocket's path, no device id), the clock (±300 s),
// the addressee, the callback and the nonce (not seen within 660 s).

import { verifyServer } from './sign.js';

export const MAX_SKEW = 300; // seconds, as internal/signing
export const NONCE_TTL = 660 * 1000; // milliseconds

// checkFrame returns the frame's push request, or null when a check fails.
// opts: serverKey (raw, 32 bytes), deviceID, wsPath (the websocket's path,
// PUBLIC_URL's prefix included), callbackURL, nonces (a Map nonce → time
// seen, kept by the caller), now (Unix milliseconds).
export async function checkFrame(f, opts) {
  if (!f || typeof f.body !== 'string') return null;
  if (!await verifyServer(opts.serverKey, 'WS', opts.wsPath, f.timestamp, f.nonce, f.body, f.signature)) return null;
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
