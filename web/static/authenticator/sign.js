// The device signing scheme (docs/api.md, internal/signing): an Ed25519
// signature over the canonical string
//   approvald-sig-v1 \n METHOD \n path?query \n device id \n timestamp \n nonce \n hex(SHA-256(body))
// sent as X-Device-Id, X-Timestamp, X-Nonce and X-Signature.

const VERSION = 'approvald-sig-v1';
const enc = new TextEncoder();

export function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64url(s) {
  const std = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function hex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// canonical builds the string both sides sign; body is a string ('' for none).
export async function canonical(method, pathWithQuery, deviceID, timestamp, nonce, body) {
  const sum = await crypto.subtle.digest('SHA-256', enc.encode(body));
  return enc.encode([VERSION, method, pathWithQuery, deviceID, timestamp, nonce, hex(sum)].join('\n'));
}

export function newNonce() {
  return b64url(crypto.getRandomValues(new Uint8Array(16)));
}

// signHeaders signs a request of this device with its private CryptoKey.
export async function signHeaders(privateKey, method, pathWithQuery, deviceID, body) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = newNonce();
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, privateKey,
    await canonical(method, pathWithQuery, deviceID, timestamp, nonce, body));
  return {
    'X-Device-Id': deviceID,
    'X-Timestamp': timestamp,
    'X-Nonce': nonce,
    'X-Signature': b64url(sig),
  };
}

// verifyServer checks a signature of the server (no device id) with its
// pinned public key (raw, 32 bytes).
export async function verifyServer(serverKeyRaw, method, path, timestamp, nonce, body, signature) {
  if (!/^\d+$/.test(timestamp || '') || !nonce || !signature) return false;
  return verifyBytes(serverKeyRaw, signature, await canonical(method, path, '', timestamp, nonce, body));
}

// keyID is a server key's kid: base64url of the first 12 bytes of the
// SHA-256 of the raw 32-byte key (internal/signing.KeyID).
export async function keyID(raw) {
  const sum = await crypto.subtle.digest('SHA-256', raw);
  return b64url(new Uint8Array(sum).slice(0, 12));
}

export function sameKey(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// verifyBytes checks an Ed25519 signature (base64url) over data (bytes)
// with a raw public key.
export async function verifyBytes(raw, signature, data) {
  let sig;
  try {
    sig = fromB64url(signature);
  } catch {
    return false;
  }
  if (sig.length !== 64) return false;
  const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, sig, data);
}
