// The approval modal: the second factor of one login. It listens on the
// approval's websocket (reconnecting with backoff when it drops), polls
// GET /api/v1/approvals/{id} every 2 s while the websocket cannot connect,
// offers the SMS/TOTP code form, and swaps the approved approval for a
// session. #approval-modal's data-status mirrors the state: pending,
// fallback (the code form is up), approved, denied or expired.

import { call, describe, settings, ticketHeader, waitWords, web } from './api.js';
import { setSession } from './session.js';
import { $, clock, Countdown, fieldError, say } from './ui.js';

const POLL_EVERY = 2000; // ms
const MAX_BACKOFF = 30000; // ms between websocket attempts

const FALLBACK_WORDS = {
  no_device: 'You have no authenticator app yet, so we texted a code to your phone.',
  push_failed: 'We could not reach your authenticator app, so we texted a code to your phone.',
  push_timeout: 'Your phone did not answer. Have a code texted to you, or use a code from your authenticator app.',
  requested: 'We texted a code to your phone.',
  push_limited: 'There were many login requests lately, so this login uses a code: we texted it to your phone.',
};

const DENIED_WORDS = {
  user_denied: 'The login was denied on your authenticator app.',
  number_mismatch: 'The number entered on your authenticator app did not match, so the login was denied.',
  too_many_attempts: 'Too many wrong codes, so the login was denied.',
  superseded: 'A newer login attempt replaced this one.',
  reported: 'You reported this login as not yours, so logins by push are paused for an hour. You can still log in with a code.',
};

let current = null; // the Approval on screen

// initApproval wires the modal's controls once; they act on the current approval.
export function initApproval() {
  const modal = $('approval-modal');
  $('sms-button').addEventListener('click', () => current && current.requestSMS());
  $('totp-button').addEventListener('click', () => current && current.askForCode());
  $('restart-button').addEventListener('click', () => current && current.cancel());
  $('code-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (current) current.verify($('code').value.trim());
  });
  $('approval-password-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pw = $('approval-password');
    if (!pw.value || !current || !current.onPassword) return pw.focus();
    const { onPassword } = current, value = pw.value;
    pw.value = '';
    current.close();
    onPassword(value);
  });
  modal.addEventListener('cancel', (ev) => { // Escape
    ev.preventDefault();
    if (current) current.cancel();
  });
}

// startApproval opens the modal for a 202 login answer. onSession runs once
// the page holds a session; onCancel when the user gives up or starts over.
// A passwordless login's answer (login.passwordless) also offers the
// password: onPassword(value) then logs in with it.
export function startApproval(login, serverTime, { onSession, onCancel, onPassword }) {
  if (current) current.dispose();
  current = new Approval(login, serverTime, onSession, onCancel);
  current.onPassword = onPassword || null;
  current.open();
}

class Approval {
  constructor(login, serverTime, onSession, onCancel) {
    this.id = login.approval_id;
    this.ticket = login.ticket;
    this.channel = login.channel;
    this.matchNumber = login.match_number || 0;
    this.devices = login.devices || [];
    this.app = login.app || ''; // the application signed in to ("Sign in to Grafana"), '' for approvald
    // A login without a password: decided on its channel only (no SMS for
    // a push, no authenticator code), and the password is offered beside it.
    this.passwordless = login.passwordless === true;
    this.setExpiry(login.expires_at, serverTime);
    this.status = 'pending';
    this.reason = '';
    this.smsSent = login.channel === 'sms'; // an SMS login texts the code at once
    this.codeAsked = false; // the user chose "use a code from your authenticator app"
    this.final = false;
    this.closed = false;
    this.exchanging = false;
    this.error = '';
    this.ws = null;
    this.wsFailures = 0;
    this.pollTimer = null;
    this.retryTimer = null;
    this.onSession = onSession;
    this.onCancel = onCancel;
    this.sms = new Countdown($('sms-button'), (left) => {
      const label = this.smsSent ? 'Text me a new code' : 'Text me a code';
      return left ? `${label} (${left} s)` : label;
    });
  }

  open() {
    const modal = $('approval-modal');
    $('code').value = '';
    say($('code-error'), '');
    $('code').removeAttribute('aria-invalid');
    this.sms.stop();
    if (this.smsSent) this.sms.start(settings.approvalSMSCooldown);
    this.render();
    if (!modal.open) modal.showModal();
    if (this.inFallback()) $('code').focus();
    else $('approval-title').focus();
    this.expiryTimer = setInterval(() => this.tickExpiry(), 1000);
    this.tickExpiry();
    this.connect();
  }

  // --- state ---

  inFallback() {
    return this.status === 'pending' && (this.channel === 'sms' || Object.hasOwn(FALLBACK_WORDS, this.reason));
  }

  setExpiry(expiresAt, serverTime) {
    // Counted on this browser's clock from the server's, whatever their skew.
    // The Date header has whole seconds and may lag by one more (the server
    // caches it): counting a second short errs on the safe side.
    const at = Date.parse(expiresAt || '');
    if (at) this.expiresAt = Date.now() + (at - serverTime - 1000);
  }

  // apply takes a state from a websocket frame or a poll.
  apply(status, channel, reason) {
    if (this.final || this.closed) return;
    const wasFallback = this.inFallback();
    if (channel) this.channel = channel;
    if (reason) this.reason = reason;
    // Every move to SMS texts a code, except push_timeout: that waits for "Text me a code".
    if (this.channel === 'sms' && this.reason !== 'push_timeout') this.smsSent = true;
    this.status = status;
    if (status !== 'pending') this.finish();
    this.render();
    if (status === 'pending' && !wasFallback && this.inFallback()) {
      if (this.smsSent && !this.sms.timer) this.sms.start(settings.approvalSMSCooldown);
      $('code').focus();
    }
  }

  onFrame(f) {
    if (f.app) this.app = f.app;
    if (f.type === 'status') {
      this.apply(f.status, f.channel, f.reason);
    } else if (f.type === 'fallback') {
      this.apply('pending', f.channel, f.reason);
      this.refreshState(); // a fallback to SMS moves expires_at
    }
  }

  async refreshState() {
    try {
      const { data, serverTime } = await call('GET', `api/v1/approvals/${encodeURIComponent(this.id)}`,
        { headers: ticketHeader(this.ticket) });
      if (this.final || this.closed) return;
      this.setExpiry(data.expires_at, serverTime);
      if (data.app) this.app = data.app;
      this.apply(data.status, data.channel, data.reason);
    } catch (err) {
      if (err.status === 401) this.apply('expired');
    }
  }

  finish() {
    this.final = true;
    this.stopListening();
    clearInterval(this.expiryTimer);
    say($('approval-expiry'), '');
    this.sms.stop();
    if (this.status === 'approved') this.exchange();
  }

  // --- websocket and polling ---

  connect() {
    if (this.final || this.closed) return;
    const url = new URL(`api/v1/approvals/${encodeURIComponent(this.id)}/ws`, document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', this.ticket);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.lost(false);
      return;
    }
    let opened = false;
    this.ws = ws;
    ws.addEventListener('open', () => {
      opened = true;
      this.wsFailures = 0;
      this.stopPolling(); // the socket sends the current state on connect
    });
    ws.addEventListener('message', (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      this.onFrame(f);
    });
    ws.addEventListener('close', () => {
      if (this.ws === ws) this.ws = null;
      this.lost(opened);
    });
  }

  // lost: the websocket closed before the final state. Reconnect with
  // backoff; poll meanwhile when it never connected or keeps dropping.
  lost(opened) {
    if (this.final || this.closed) return;
    this.wsFailures++;
    if (!opened || this.wsFailures >= 3) this.startPolling();
    const backoff = Math.min(MAX_BACKOFF, 500 * 2 ** (this.wsFailures - 1));
    this.retryTimer = setTimeout(() => this.connect(), backoff * (0.75 + Math.random() / 2));
  }

  startPolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.refreshState(), POLL_EVERY);
    this.refreshState();
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  stopListening() {
    this.stopPolling();
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
  }

  // --- the user's actions ---

  async requestSMS() {
    this.error = '';
    try {
      await call('POST', `api/v1/approvals/${encodeURIComponent(this.id)}/sms`, { headers: ticketHeader(this.ticket) });
      if (this.final || this.closed) return;
      this.smsSent = true;
      this.reason = 'requested';
      this.channel = 'sms';
      this.sms.start(settings.approvalSMSCooldown);
      this.render();
      say($('approval-status'), 'We texted a code to your phone.');
      $('code').focus();
    } catch (err) {
      if (err.code === 'rate_limited' && err.retryAfter) {
        this.sms.start(err.retryAfter);
        this.error = `You can ask for a new code in ${waitWords(err.retryAfter)}.`;
      } else if (err.code === 'expired') {
        return this.apply('expired');
      } else if (err.code === 'already_decided') {
        return this.refreshState();
      } else {
        this.error = describe(err);
      }
      this.render();
    }
  }

  askForCode() {
    this.codeAsked = true;
    this.render();
    $('code').focus();
  }

  async verify(code) {
    const input = $('code');
    say($('code-error'), '');
    input.removeAttribute('aria-invalid');
    if (!/^\d{6}$/.test(code)) return fieldError(input, 'The code has 6 digits.');
    $('code-submit').disabled = true;
    try {
      await call('POST', `api/v1/approvals/${encodeURIComponent(this.id)}/verify`,
        { headers: ticketHeader(this.ticket), body: { code } });
      this.apply('approved');
    } catch (err) {
      switch (err.code) {
        case 'invalid_code': {
          const left = err.attemptsLeft;
          fieldError(input, left === null ? 'That code is not right.'
            : `That code is not right. ${left} attempt${left === 1 ? '' : 's'} left.`);
          input.select();
          break;
        }
        case 'locked':
          this.apply('denied', '', 'too_many_attempts');
          break;
        case 'expired':
          this.apply('expired');
          break;
        case 'already_decided':
          this.refreshState();
          break;
        default:
          fieldError(input, describe(err));
      }
    } finally {
      $('code-submit').disabled = false;
    }
  }

  async exchange() {
    if (this.exchanging) return;
    this.exchanging = true;
    this.render();
    try {
      const { data } = await web('session', { body: { approval_id: this.id, ticket: this.ticket } });
      setSession(data);
      this.close();
      this.onSession();
    } catch (err) {
      this.exchanging = false;
      this.error = `${describe(err)} Please start over.`;
      this.render();
      $('restart-button').focus();
    }
  }

  cancel() {
    this.close();
    this.onCancel();
  }

  close() {
    this.dispose();
    const modal = $('approval-modal');
    if (modal.open) modal.close();
  }

  dispose() {
    this.closed = true;
    this.stopListening();
    clearInterval(this.expiryTimer);
    this.sms.stop();
    if (current === this) current = null;
  }

  // --- rendering ---

  tickExpiry() {
    if (this.final) return say($('approval-expiry'), '');
    const left = (this.expiresAt - Date.now()) / 1000;
    if (left > 0) return say($('approval-expiry'), `This request expires in ${clock(left)}.`);
    say($('approval-expiry'), 'This request is expiring…');
    if (left < -2) this.refreshState(); // in case no frame announces it
  }

  render() {
    const fallback = this.inFallback();
    const pending = this.status === 'pending';
    const modal = $('approval-modal');
    modal.dataset.status = fallback ? 'fallback' : this.status;

    // Text only: the application's name is never markup.
    $('approval-title').textContent = {
      pending: this.app ? `Sign in to ${this.app}` : this.passwordless ? 'Check your phone'
        : fallback || this.codeAsked ? 'Enter your code' : 'Approve this login',
      approved: 'Login approved', denied: 'Login denied', expired: 'Login expired',
    }[this.status] || 'Login';

    $('approval-push').hidden = !(pending && this.matchNumber && !fallback);
    $('match-number').textContent = this.matchNumber ? String(this.matchNumber) : '';
    $('match-number').setAttribute('aria-label', `The number is ${this.matchNumber}`);
    $('approval-devices').textContent = deviceWords(this.devices);

    say($('approval-status'), this.error || this.statusWords(fallback));

    const codeShown = pending && (fallback || this.codeAsked);
    $('code-form').hidden = !codeShown;
    $('code-label').textContent = this.passwordless ? 'Code from the text message'
      : !this.smsSent ? 'Code from your authenticator app'
      : this.hasDevice() ? 'Code from the text message or your authenticator app' : 'Code from the text message';

    $('sms-button').hidden = !pending || (this.passwordless && this.channel !== 'sms');
    if (pending) this.sms.tick();
    $('totp-button').hidden = !pending || codeShown || !this.hasDevice() || this.passwordless;
    $('approval-password-form').hidden = !(pending && this.passwordless && this.onPassword);
    const restart = $('restart-button');
    restart.hidden = this.exchanging || (this.status === 'approved' && !this.error);
    restart.textContent = pending ? 'Cancel' : 'Start over';
    if ((this.status === 'denied' || this.status === 'expired') && document.activeElement !== restart) restart.focus();
  }

  statusWords(fallback) {
    switch (this.status) {
      case 'approved':
        return 'Approved. Signing you in…';
      case 'denied':
        return DENIED_WORDS[this.reason] || 'The login was denied.';
      case 'expired':
        return 'This login request expired before it was approved. Start over to try again.';
      default:
        if (this.passwordless) {
          return this.channel === 'sms'
            ? 'If passwordless sign-in is on for this account, we texted a code to its phone.'
            : 'The request goes out only if passwordless sign-in is on for this account.';
        }
        if (fallback) return (FALLBACK_WORDS[this.reason] || 'We texted a code to your phone.') + this.stillOnPhone();
        if (this.codeAsked) return 'Type the 6-digit code your authenticator app shows.';
        return 'Waiting for your approval…';
    }
  }

  // stillOnPhone reminds of the number while the phone may still approve:
  // its push went out and was not answered (the code is the other way in).
  stillOnPhone() {
    if (!this.matchNumber || (this.reason !== 'push_timeout' && this.reason !== 'requested')) return '';
    return ` Or approve on your phone with the number ${this.matchNumber}.`;
  }

  hasDevice() {
    return this.reason !== 'no_device';
  }
}

// deviceWords names the devices asked: "Ada's phone", "Ada's phone or Work
// laptop", "one of your 3 devices".
function deviceWords(names) {
  if (names.length === 0) return 'your authenticator app';
  if (names.length <= 2) return names.join(' or ');
  return `one of your ${names.length} devices`;
}
