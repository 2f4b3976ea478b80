// The account page: profile, two-factor switch, passkeys (add, remove),
// devices (add with a code and a QR code, remove), password, log out here or
// elsewhere. Risky changes
// answered 403 reauth_required offer a fresh login.

import { describe, settings } from './api.js';
import * as passkey from './passkey.js';
import { authed, logout } from './session.js';
import { $, busy, clearErrors, fieldError, say, showError, showView } from './ui.js';

const WATCH_EVERY = 3000; // ms between device-list checks while an enrollment code is shown

let hooks;
let profile = null;
let devices = [];
let passkeys = [];
let watchTimer = null;

export function initAccount(h) {
  hooks = h; // { onSignedOut(message, identifier) }

  $('two-factor').addEventListener('change', async (ev) => {
    const on = ev.target.checked;
    notice('');
    try {
      const { data } = await authed('PATCH', 'api/v1/me', { body: { two_factor: on } });
      fillProfile(data);
      notice(on ? 'Two-factor login is on.' : 'Two-factor login is off: your password alone logs you in.');
    } catch (err) {
      ev.target.checked = !on;
      failed(err);
    }
  });

  $('add-passkey').addEventListener('click', addPasskey);
  $('passkeys').addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-passkey]');
    if (button) removePasskey(button);
  });

  $('passwordless').addEventListener('change', async (ev) => {
    const mode = ev.target.value;
    notice('');
    try {
      const { data } = await authed('PATCH', 'api/v1/me', { body: { passwordless: mode } });
      fillProfile(data);
      notice(mode === 'off' ? 'Passwordless sign-in is off: your password is always asked for.'
        : 'Passwordless sign-in is on: leave the password empty and continue to sign in.');
    } catch (err) {
      ev.target.value = (profile && profile.passwordless) || 'off';
      failed(err);
    }
  });

  $('add-device').addEventListener('click', addDevice);
  $('enrollment-close').addEventListener('click', closeEnrollment);
  $('devices').addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-device]');
    if (button) removeDevice(button);
  });

  const form = $('password-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const current = $('current-password'), next = $('new-password');
    if (!current.value) return fieldError(current, 'Please enter your current password.');
    if (next.value.length < 8) return fieldError(next, 'The new password needs at least 8 characters.');
    await busy(form, async () => {
      try {
        await authed('POST', 'api/v1/password', { body: { current_password: current.value, new_password: next.value } });
        current.value = '';
        next.value = '';
        notice('Your password was changed, and your other sessions were logged out.');
      } catch (err) {
        if (err.code === 'reauth_required') return failed(err);
        if (err.code === 'invalid_credentials') return fieldError(current, 'That is not your current password.');
        showError(err, $('password-error'), { current_password: current, new_password: next });
      }
    });
  });

  $('logout-others').addEventListener('click', async () => {
    notice('');
    try {
      await authed('POST', 'api/v1/logout/others');
      notice('Your other sessions are logged out.');
    } catch (err) {
      failed(err);
    }
  });

  $('logout').addEventListener('click', async () => {
    try {
      await logout();
    } catch {
      // Forgotten here anyway; the refresh cookie dies with its session.
    }
    leave('You are logged out.');
  });

  $('reauth-login').addEventListener('click', async () => {
    const who = profile ? profile.phone : '';
    try {
      await logout();
    } catch {
      // As above.
    }
    leave('Log in again to make that change.', who);
  });
}

// showAccount loads and shows the account page.
export async function showAccount() {
  notice('');
  $('reauth').hidden = true;
  closeEnrollment();
  try {
    const [{ data: me }] = await Promise.all([authed('GET', 'api/v1/me'), loadDevices(), loadPasskeys()]);
    fillProfile(me);
    showView('account');
    loadActivity(); // not needed to show the page; fills in when it arrives
  } catch (err) {
    if (err.status === 401) return leave(describe(err));
    showView('account');
    notice(describe(err));
  }
}

function fillProfile(p) {
  profile = p;
  $('account-name').textContent = p.name;
  $('account-phone').textContent = p.phone;
  $('password-username').value = p.phone; // for password managers
  $('account-email').textContent = p.email || '—';
  $('two-factor').checked = p.two_factor;
  // Passwordless SMS is offered only where the operator allows it (or to
  // a user who chose it then, so the select shows the setting).
  $('passwordless').querySelector('option[value="sms"]').hidden = !settings.passwordlessSMS && p.passwordless !== 'sms';
  $('passwordless').value = p.passwordless || 'off';
}

async function loadDevices() {
  const { data } = await authed('GET', 'api/v1/devices');
  devices = data.devices || [];
  renderDevices();
  return devices;
}

// loadPasskeys fills the passkey list; the section stays hidden when this
// browser or the server has no passkeys.
async function loadPasskeys() {
  $('passkeys-section').hidden = !passkey.available();
  if (!passkey.available()) return [];
  const { data } = await authed('GET', 'api/v1/passkeys');
  passkeys = data.passkeys || [];
  $('passkeys').replaceChildren(...passkeys.map(passkeyItem));
  $('passkeys-empty').hidden = passkeys.length > 0;
  return passkeys;
}

function passkeyItem(p) {
  const li = document.createElement('li');
  li.dataset.passkeyId = p.passkey_id;
  const text = document.createElement('div');
  const name = document.createElement('span');
  name.className = 'passkey-name';
  name.textContent = p.name;
  const meta = document.createElement('span');
  meta.className = 'meta';
  const used = p.last_used_at ? `last used ${day(p.last_used_at)}` : 'not used yet';
  meta.textContent = `${p.backed_up ? 'Synced' : 'On one device'} · added ${day(p.created_at)} · ${used}`;
  text.append(name, meta);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'danger';
  remove.dataset.passkey = p.passkey_id;
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove ${p.name}`);
  li.append(text, remove);
  return li;
}

async function addPasskey() {
  notice('');
  const button = $('add-passkey');
  button.disabled = true;
  try {
    const added = await passkey.register(authed, $('passkey-name').value.trim());
    $('passkey-name').value = '';
    await loadPasskeys();
    notice(`Added the passkey ${added.name}. It logs you in without your password.`);
  } catch (err) {
    if (passkey.cancelled(err)) notice('No passkey was added: the request was cancelled.');
    else if (err instanceof DOMException && err.name === 'InvalidStateError') notice('This device already holds a passkey of your account.');
    else failed(err);
  } finally {
    button.disabled = false;
  }
}

// removePasskey asks once more ("Really remove?") before it removes.
async function removePasskey(button) {
  const p = passkeys.find((x) => x.passkey_id === button.dataset.passkey);
  if (!p) return;
  if (button.dataset.confirm !== 'yes') {
    button.dataset.confirm = 'yes';
    button.textContent = 'Really remove?';
    button.setAttribute('aria-label', `Really remove ${p.name}?`);
    setTimeout(() => {
      if (button.isConnected) {
        delete button.dataset.confirm;
        button.textContent = 'Remove';
        button.setAttribute('aria-label', `Remove ${p.name}`);
      }
    }, 6000);
    return;
  }
  button.disabled = true;
  try {
    await authed('DELETE', `api/v1/passkeys/${encodeURIComponent(p.passkey_id)}`);
    await loadPasskeys();
    notice(`Removed the passkey ${p.name}. It can no longer log you in.`);
    $('add-passkey').focus();
  } catch (err) {
    button.disabled = false;
    failed(err);
  }
}

// EVENT_WORDS says each security event kind in words.
const EVENT_WORDS = {
  login_started: 'Login started',
  login_failed: 'Wrong password',
  push_sent: 'Login request sent to',
  push_failed: 'Login request could not reach',
  web_push_gone: 'Push notifications ended (the push service dropped them) for',
  web_push_changed: 'Push notifications renewed for',
  web_push_removed: 'Push notifications turned off for',
  approved: 'Login approved',
  denied: 'Login denied',
  reported: 'Login reported as not you',
  code_failed: 'Wrong code',
  locked: 'Login locked after wrong codes',
  rate_limited: 'Too many attempts',
  session_revoked: 'Session ended',
  device_added: 'Device added:',
  device_removed: 'Device removed',
  password_changed: 'Password changed',
  two_factor_changed: 'Two-factor login changed',
  passwordless_changed: 'Passwordless sign-in changed',
  sms_budget_exhausted: 'Code not texted: the service sent too many texts this hour',
  passkey_added: 'Passkey added:',
  passkey_removed: 'Passkey removed',
  passkey_login: 'Logged in with the passkey',
  passkey_counter_regressed: 'Passkey refused (it may have been copied):',
  passkey_backup_changed: 'Passkey backup changed:',
};

async function loadActivity() {
  let events = [];
  try {
    const { data } = await authed('GET', 'api/v1/me/events');
    events = data.events || [];
  } catch {
    return; // the rest of the page works without it
  }
  $('activity').replaceChildren(...events.map(activityItem));
  $('activity-empty').hidden = events.length > 0;
}

function activityItem(e) {
  const li = document.createElement('li');
  li.dataset.kind = e.kind;
  const what = document.createElement('span');
  what.className = 'event';
  what.textContent = [EVENT_WORDS[e.kind] || e.kind, e.detail].filter(Boolean).join(' ');
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = [new Date(e.time).toLocaleString(), e.ip].filter(Boolean).join(' · ');
  li.append(what, meta);
  return li;
}

function renderDevices() {
  const list = $('devices');
  list.replaceChildren(...devices.map(deviceItem));
  $('devices-empty').hidden = devices.length > 0;
}

function deviceItem(d) {
  const li = document.createElement('li');
  li.dataset.deviceId = d.device_id;
  const text = document.createElement('div');
  const name = document.createElement('span');
  name.className = 'device-name';
  name.textContent = d.name;
  const meta = document.createElement('span');
  meta.className = 'meta';
  const used = d.last_used_at ? `last used ${day(d.last_used_at)}` : 'not used yet';
  meta.textContent = `${d.push ? 'Push' : 'Checks for logins itself'} · added ${day(d.created_at)} · ${used}`;
  text.append(name, meta);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'danger';
  remove.dataset.device = d.device_id;
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove ${d.name}`);
  li.append(text, remove);
  return li;
}

// removeDevice asks once more ("Really remove?") before it removes.
async function removeDevice(button) {
  const d = devices.find((x) => x.device_id === button.dataset.device);
  if (!d) return;
  if (button.dataset.confirm !== 'yes') {
    button.dataset.confirm = 'yes';
    button.textContent = 'Really remove?';
    button.setAttribute('aria-label', `Really remove ${d.name}?`);
    setTimeout(() => {
      if (button.isConnected) {
        delete button.dataset.confirm;
        button.textContent = 'Remove';
        button.setAttribute('aria-label', `Remove ${d.name}`);
      }
    }, 6000);
    return;
  }
  button.disabled = true;
  try {
    await authed('DELETE', `api/v1/devices/${encodeURIComponent(d.device_id)}`);
    await loadDevices();
    notice(`Removed ${d.name}. It can no longer approve your logins.`);
    $('add-device').focus();
  } catch (err) {
    button.disabled = false;
    failed(err);
  }
}

async function addDevice() {
  notice('');
  const button = $('add-device');
  button.disabled = true;
  try {
    const { data } = await authed('POST', 'web/devices/enrollments', { web: true });
    $('enrollment-code').textContent = data.enrollment_code;
    $('enrollment-qr').src = data.qr;
    $('enrollment-web').href = 'authenticator/?code=' + encodeURIComponent(data.enrollment_code);
    $('enrollment-command').textContent = enrollCommand(data.server);
    $('enrollment-ttl').textContent = `${Math.round(data.expires_in / 60)} minutes`;
    $('enrollment').hidden = false;
    button.hidden = true;
    $('enrollment-title').focus();
    watchForNewDevice(data.expires_in * 1000);
  } catch (err) {
    failed(err);
  } finally {
    button.disabled = false;
  }
}

// watchForNewDevice checks the device list until a device appears (the code
// was used) or the code expires, then closes the panel and says so.
function watchForNewDevice(ttl) {
  const known = new Set(devices.map((d) => d.device_id));
  const until = Date.now() + ttl;
  stopWatching();
  watchTimer = setInterval(async () => {
    if (Date.now() > until) return closeEnrollment();
    try {
      await loadDevices();
    } catch {
      return; // try again at the next tick
    }
    const added = devices.find((d) => !known.has(d.device_id));
    if (added) {
      closeEnrollment();
      notice(`Added ${added.name}. It will be asked to approve your next login.`);
    }
  }, WATCH_EVERY);
}

function stopWatching() {
  clearInterval(watchTimer);
  watchTimer = null;
}

function closeEnrollment() {
  stopWatching();
  const wasOpen = !$('enrollment').hidden;
  $('enrollment').hidden = true;
  $('enrollment-code').textContent = '';
  $('enrollment-qr').removeAttribute('src');
  $('enrollment-web').removeAttribute('href');
  $('add-device').hidden = false;
  if (wasOpen) $('add-device').focus();
}

// failed says why an action failed; a stale login gets the way to a fresh one.
function failed(err) {
  if (err.code === 'reauth_required') {
    $('reauth').hidden = false;
    $('reauth-login').focus();
    return;
  }
  if (err.status === 401) return leave(describe(err));
  notice(describe(err));
}

function notice(text) {
  say($('account-status'), text);
}

// leave goes back to the login page with a message.
function leave(message, identifier) {
  stopWatching();
  profile = null;
  devices = [];
  passkeys = [];
  hooks.onSignedOut(message, identifier);
}

// enrollCommand is how the command-line authenticator enrolls: pushed to on
// loopback when approvald runs on this machine, else checking for logins
// itself (pull), which needs no address the server can reach.
function enrollCommand(server) {
  const local = /^https?:\/\/(localhost|127\.[0-9.]+|\[::1\])(:|\/|$)/.test(server);
  const enroll = `authenticator enroll --server ${server}` + (local ? ' --listen 127.0.0.1:9300' : '');
  return `${enroll}\nauthenticator listen`;
}

function day(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}
