// Passkeys (WebAuthn) in the pages: logging in with one (a button, and the
// browser's autofill through conditional mediation) and the account page's
// list (add, remove). They are offered only when the server has them on
// (web/config) and the browser has WebAuthn, and only on the origin whose
// host the server's passkeys are bound to.

import { call, settings, web } from './api.js';

// available says whether this page may offer passkeys.
export function available() {
  return settings.passkeys && window.isSecureContext && typeof window.PublicKeyCredential === 'function' &&
    !!navigator.credentials && sameRP();
}

// sameRP: the options name the RP ID, PUBLIC_URL's host; a page opened
// under another host (127.0.0.1 for localhost) cannot use its passkeys.
function sameRP() {
  const rp = settings.passkeyRPID;
  const host = location.hostname;
  return !!rp && (host === rp || host.endsWith('.' + rp));
}

// conditionalAvailable says whether the browser offers passkeys in the
// autofill of the identifier field.
export async function conditionalAvailable() {
  if (!available() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return false;
  try {
    return await PublicKeyCredential.isConditionalMediationAvailable();
  } catch {
    return false;
  }
}

// login runs a passkey login and returns the page's session (the access
// token; the refresh token is in the cookie). mediation is 'optional' for
// the button, 'conditional' for autofill; signal aborts the browser's
// request. A cancelled request throws the browser's DOMException.
export async function login(mediation, signal) {
  const { data } = await call('POST', 'api/v1/login/passkey/options');
  const cred = await navigator.credentials.get({ publicKey: requestOptions(data.options), mediation, signal });
  const { data: session } = await web('login/passkey', {
    body: { challenge_id: data.challenge_id, credential: assertionJSON(cred) },
  });
  return session;
}

// register creates a passkey with the access token's authed call and stores
// it under name; it returns {passkey_id, name, created_at}.
export async function register(authed, name) {
  const { data } = await authed('POST', 'api/v1/passkeys/registration');
  const cred = await navigator.credentials.create({ publicKey: creationOptions(data.options) });
  const { data: added } = await authed('POST', 'api/v1/passkeys', {
    body: { registration_id: data.registration_id, name, credential: attestationJSON(cred) },
  });
  return added;
}

// The options' binary members arrive as base64url and go to the browser as
// bytes; the browser's answer goes back as base64url (WebAuthn Level 3's
// JSON forms, written out here since older browsers lack parse…FromJSON and
// toJSON).

function fromB64(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toB64(buf) {
  if (!buf) return undefined;
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: fromB64(d.id) }));
}

function creationOptions(o) {
  return {
    ...o,
    challenge: fromB64(o.challenge),
    user: { ...o.user, id: fromB64(o.user.id) },
    excludeCredentials: descriptors(o.excludeCredentials),
  };
}

function requestOptions(o) {
  const out = { ...o, challenge: fromB64(o.challenge) };
  if (o.allowCredentials) out.allowCredentials = descriptors(o.allowCredentials);
  return out;
}

function common(cred) {
  return {
    id: cred.id,
    rawId: toB64(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  };
}

function attestationJSON(cred) {
  const r = cred.response;
  return {
    ...common(cred),
    response: {
      clientDataJSON: toB64(r.clientDataJSON),
      attestationObject: toB64(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : undefined,
    },
  };
}

function assertionJSON(cred) {
  const r = cred.response;
  return {
    ...common(cred),
    response: {
      clientDataJSON: toB64(r.clientDataJSON),
      authenticatorData: toB64(r.authenticatorData),
      signature: toB64(r.signature),
      userHandle: toB64(r.userHandle),
    },
  };
}

// cancelled says whether err is the browser's answer to a request the user
// (or the page) cancelled, or one no passkey of this browser could answer.
export function cancelled(err) {
  return err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'AbortError');
}
