// TOTP codes (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) over the device's
// base32 secret, as internal/otp makes them. WebCrypto only: works offline.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export const PERIOD = 30;

// decodeBase32 reads a secret as users and apps write it: any case, with or
// without padding, spaces or dashes.
export function decodeBase32(s) {
  const clean = s.toUpperCase().replace(/[\s=-]/g, '');
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error('the TOTP secret is not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  if (out.length === 0) throw new Error('the TOTP secret is empty');
  return new Uint8Array(out);
}

// step is the RFC 6238 time step of a time in milliseconds.
export function step(ms) {
  return Math.floor(ms / 1000 / PERIOD);
}

// secondsLeft is how long the code at ms stays current.
export function secondsLeft(ms) {
  return PERIOD - (Math.floor(ms / 1000) % PERIOD);
}

// totp returns the 6-digit code of the base32 secret at ms (Unix milliseconds).
export async function totp(secret, ms) {
  const key = await crypto.subtle.importKey('raw', decodeBase32(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const counter = new Uint8Array(8);
  let c = step(ms);
  for (let i = 7; i >= 0; i--) {
    counter[i] = c & 0xff;
    c = Math.floor(c / 256);
  }
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter));
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 1000000).padStart(6, '0');
}
