// The one place that talks to approvald. Paths are relative to the page, so
// the pages also work when approvald is served under a path prefix.

// ApiError is a non-2xx answer (status 0: the server could not be reached),
// with the contract's error body taken apart.
export class ApiError extends Error {
  constructor(status, body, headers) {
    const e = (body && body.error) || {};
    super(e.message || (status ? `request failed (${status})` : 'network error'));
    this.status = status;
    this.code = e.code || (status ? '' : 'network');
    this.field = e.field || '';
    this.attemptsLeft = body && typeof body.attempts_left === 'number' ? body.attempts_left : null;
    this.retryAfter = Number(headers && headers.get('Retry-After')) || 0;
  }
}

// call sends a JSON request and returns {status, data, serverTime} (the
// server's clock from the Date header, to count down its expiry times).
export async function call(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, null, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  const serverTime = Date.parse(res.headers.get('Date') || '') || Date.now();
  return { status: res.status, data, serverTime };
}

// WEB_HEADER marks requests of these pages to the /web/ endpoints (their
// CSRF guard: another origin cannot send it).
export const WEB_HEADER = { 'X-Approvald-Web': '1' };

// web posts to one of the browser-only /web/ endpoints.
export function web(path, { body, headers = {} } = {}) {
  return call('POST', 'web/' + path, { body, headers: { ...headers, ...WEB_HEADER } });
}

// settings are the server's figures the pages count down, in seconds, read
// from GET web/config by loadSettings, so the pages repeat none of them.
// Until then, or when it fails, they are 0: the buttons do not wait, and
// the server's 429 and its Retry-After start the countdown instead.
// passkeys (and the RP ID they are bound to) says whether the server has
// them on; passwordlessSMS whether users may choose passwordless SMS.
export const settings = {
  signupResendCooldown: 0, approvalSMSCooldown: 0, passkeys: false, passkeyRPID: '', passwordlessSMS: false,
};

export async function loadSettings() {
  try {
    const { data } = await call('GET', 'web/config', { headers: WEB_HEADER });
    settings.signupResendCooldown = data.signup_resend_cooldown;
    settings.approvalSMSCooldown = data.approval_sms_cooldown;
    settings.passkeys = data.passkeys === true;
    settings.passkeyRPID = data.passkey_rp_id || '';
    settings.passwordlessSMS = data.passwordless_sms === true;
  } catch {
    // keep the zeros: the server enforces the cooldowns anyway
  }
}

// ticketHeader opens an approval's browser-side endpoints.
export function ticketHeader(ticket) {
  return { 'X-Approval-Ticket': ticket };
}

// describe turns an error into words for the user: the API's own message,
// except where the code says something more useful.
export function describe(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong in this page. Reload it and try again.';
  switch (err.code) {
    case 'network':
      return 'Cannot reach approvald. Check your connection and try again.';
    case 'invalid_credentials':
      return 'That phone number or email and password do not match a verified account.';
    case 'passkey_refused':
      return 'That passkey was not accepted. It may have been removed from your account: log in with your password.';
    case 'rate_limited':
      return err.retryAfter
        ? `Too many attempts. Try again in ${waitWords(err.retryAfter)}.`
        : 'Too many attempts. Try again later.';
    case 'unavailable':
      return 'approvald cannot do that right now (a service it needs is down). Try again in a moment.';
    case 'internal':
      return 'Something went wrong on the server. Try again.';
    default:
      return sentence(err.message);
  }
}

// waitWords says how long to wait, e.g. "30 seconds" or "2 minutes".
export function waitWords(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minutes`;
}

function sentence(s) {
  if (!s) return 'The request failed.';
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}
