// The web authenticator: enrolls this browser as a device (an Ed25519 key
// made by WebCrypto, non-extractable, kept in IndexedDB), holds the device
// websocket while open, verifies each approval the server signs, lets the
// user approve it with the number the login shows, deny it or report it,
// and shows the current TOTP code.

import { totp, secondsLeft } from './totp.js';
import { b64url, fromB64url } from './sign.js';
import { loadDevice, saveDevice, forgetDevice } from './store.js';
import { checkFrame, learnKey, requestTitle, requestContext } from './frame.js';
import {
  api, errorMessage, signedFetch, subscribe, subscriptionJSON, sameSubscription, sendSubscription,
  pull, pushKIDQuery, keepServerKeys,
} from './push.js';

const $ = (id) => document.getElementById(id);

let device = null;
let socket = null;
let backoff = 1000;
let retryTimer = 0;
let connecting = false;
let stopped = false;
let frames = Promise.resolve(); // the frames being handled, in order
const requests = new Map(); // approval_id → {push, li}
const nonces = new Map(); // nonce → time seen

function flash(text, isError) {
  const f = $('flash');
  f.textContent = text;
  f.classList.toggle('error', !!isError);
  f.hidden = !text;
}

function show(view) {
  $('booting').hidden = true;
  for (const v of ['enroll', 'device', 'removed']) $('view-' + v).hidden = v !== view;
}

// signed sends a request signed by this device.
function signed(method, path, body) {
  return signedFetch(device, method, path, body);
}

function platformName() {
  const p = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || 'this browser';
  return 'Web authenticator on ' + p;
}

// webPushSubscription subscribes to Web Push when the server has a VAPID
// key and the browser allows it (asking the user here, on the page); null
// otherwise.
async function webPushSubscription(registration) {
  if (!registration || !('PushManager' in window) || !('Notification' in window)) return null;
  try {
    if (Notification.permission === 'denied') return null;
    if (Notification.permission !== 'granted' && await Notification.requestPermission() !== 'granted') return null;
  } catch {
    return null;
  }
  return subscribe(registration);
}

// renewWebPush gives the server the browser's current subscription when it
// differs from the one the server was given (the browser renewed it while
// no worker heard, or this device enrolled before the page kept it). With
// no subscription in the browser there is nothing to give: a dead one the
// server still has ends with the push service's 404/410, and the device
// pulls.
async function renewWebPush() {
  const registration = await swRegistration;
  if (!registration || !('PushManager' in window) || !device) return;
  const current = await registration.pushManager.getSubscription();
  if (!current) return;
  const json = subscriptionJSON(current);
  if (!sameSubscription(device.webPush, json)) await sendSubscription(device, json);
}

async function enroll(event) {
  event.preventDefault();
  const code = $('enroll-code').value.trim();
  const err = $('enroll-error');
  err.hidden = true;
  if (!code) {
    err.textContent = 'Type the enrollment code from your account page.';
    err.hidden = false;
    return;
  }
  $('enroll-submit').disabled = true;
  try {
    const name = $('enroll-name').value.trim() || platformName();
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    // Keep the key before registering it, so that no device is registered
    // whose key this browser could not keep (a private window, a full disk).
    await saveDevice({ pending: true, privateKey: pair.privateKey, publicKey });
    const body = { enrollment_code: code, name, public_key: b64url(publicKey) };
    const webPush = await webPushSubscription(await swRegistration);
    if (webPush) body.web_push = webPush;
    const res = await fetch(api('/devices'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
    if (!res.ok) throw new Error(await errorMessage(res));
    const answer = await res.json();
    const serverKey = fromB64url(answer.server_public_key || '');
    if (!answer.device_id || !answer.totp_secret || serverKey.length !== 32) {
      throw new Error('the server’s answer is incomplete');
    }
    // During a push key rotation the answer announces the key that replaces
    // server_public_key, stated by it: pin that one, keep the other.
    let keys = { serverKey, oldServerKey: null };
    if (answer.next_key) keys = (await learnKey(keys, answer.next_key)) || keys;
    device = {
      deviceID: answer.device_id,
      name,
      privateKey: pair.privateKey,
      publicKey: publicKey,
      serverKey: keys.serverKey,
      oldServerKey: keys.oldServerKey,
      totpSecret: answer.totp_secret,
      webPush, // the subscription the server was given, or null
    };
    await saveDevice(device);
    history.replaceState(null, '', location.pathname);
    flash(webPush ? 'This device is added, with push notifications.' : 'This device is added.');
    start();
  } catch (e) {
    err.textContent = 'Could not add this device: ' + e.message;
    err.hidden = false;
  } finally {
    $('enroll-submit').disabled = false;
  }
}

// --- TOTP -----------------------------------------------------------------

let totpTimer = 0;

async function tick() {
  if (!device) return;
  const now = Date.now();
  try {
    $('totp-code').textContent = await totp(device.totpSecret, now);
  } catch {
    $('totp-code').textContent = '------';
  }
  $('totp-left').textContent = String(secondsLeft(now));
  dropExpired(now);
}

// --- The device websocket ---------------------------------------------------

function setSocketState(state, text) {
  const s = $('socket-state');
  s.dataset.state = state;
  s.textContent = text;
}

async function connect() {
  if (stopped || !device || socket || connecting) return;
  clearTimeout(retryTimer);
  connecting = true;
  setSocketState('connecting', 'connecting…');
  let ticket;
  try {
    ({ ticket } = await signed('POST', '/devices/' + encodeURIComponent(device.deviceID) + '/ws-ticket'));
  } catch {
    connecting = false;
    retry();
    return;
  }
  connecting = false;
  if (stopped || socket) return;
  const url = api('/devices/' + encodeURIComponent(device.deviceID) + '/ws');
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '?ticket=' + encodeURIComponent(ticket);
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    backoff = 1000;
    setSocketState('open', 'listening for logins');
    // A frame announces a rotated push key only with a login: one pull on
    // each connection learns and confirms it at once (as the CLI's listen
    // does). Its approvals come in the pending frame anyway.
    pull(device).catch(() => {});
  };
  ws.onmessage = (ev) => {
    // One at a time, in order: a status frame must not overtake the
    // approval frame still being checked, nor two frames race on the keys.
    frames = frames.then(() => onFrame(ev.data)).catch(() => {});
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    if (ev.reason === 'device_removed') {
      removed();
      return;
    }
    retry();
  };
}

function retry() {
  if (stopped) return;
  setSocketState('closed', 'offline, trying again…');
  const wait = backoff + Math.random() * 500;
  backoff = Math.min(backoff * 2, 30000);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, wait);
}

// A phone that slept may have lost its connection: back in view, connect
// at once instead of waiting out the pause.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && device && !stopped && !socket && !connecting) {
    backoff = 1000;
    connect();
  }
});

// reloadServerKeys takes the push keys as stored: the service worker may
// have followed a rotation from a Web Push since the page read them.
async function reloadServerKeys() {
  const stored = await loadDevice();
  if (stored && !stored.pending && stored.deviceID === device.deviceID) {
    device.serverKey = stored.serverKey;
    device.oldServerKey = stored.oldServerKey || null;
  }
}

// verifyFrame checks an approval frame (frame.js) for this device.
async function verifyFrame(f) {
  await reloadServerKeys();
  return checkFrame(f, {
    serverKey: device.serverKey,
    oldServerKey: device.oldServerKey || null,
    deviceID: device.deviceID,
    wsPath: api('/devices/' + encodeURIComponent(device.deviceID) + '/ws').pathname,
    callbackURL: api('/callbacks/approval').href,
    nonces,
    now: Date.now(),
  });
}

async function onFrame(data) {
  let f;
  try {
    f = JSON.parse(data);
  } catch {
    return;
  }
  switch (f.type) {
    case 'pending': {
      const ids = new Set();
      for (const p of f.approvals || []) {
        if (p.device_id !== device.deviceID) continue;
        ids.add(p.approval_id);
        addRequest(p);
      }
      for (const id of [...requests.keys()]) if (!ids.has(id)) dropRequest(id);
      break;
    }
    case 'approval': {
      const checked = await verifyFrame(f);
      if (checked) {
        // Stored before the next frame reads the keys; the confirming pull
        // needs no waiting for.
        if (await keepServerKeys(device, checked).catch(() => false)) pull(device).catch(() => {});
        addRequest(checked.push);
      } else flash('A login request failed its checks (the server’s signature, this device’s clock or its address) and was ignored.', true);
      break;
    }
    case 'status':
      if (f.approval_id && f.status !== 'pending') dropRequest(f.approval_id, f.status);
      else if (f.approval_id && f.expires_at) setExpiry(f.approval_id, f.expires_at);
      break;
    case 'device_removed':
      removed();
      break;
    default:
  }
}

// --- Requests ---------------------------------------------------------------

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c);
  return e;
}

function addRequest(p) {
  if (requests.has(p.approval_id)) return;
  const title = requestTitle(p);
  const ctx = requestContext(p);
  const inputID = 'number-' + p.approval_id;
  const number = el('input', { id: inputID, type: 'text', inputMode: 'numeric', autocomplete: 'off', maxLength: 2, className: 'request-number' });
  const error = el('p', { className: 'field-error request-error', hidden: true });
  const approve = el('button', { type: 'button', className: 'primary request-approve', textContent: 'Approve' });
  const deny = el('button', { type: 'button', className: 'request-deny', textContent: 'Deny' });
  const report = el('button', { type: 'button', className: 'request-report', textContent: 'This was not me' });
  const li = el('li', { className: 'request' },
    el('h3', { textContent: title }),
    el('p', { className: 'request-context muted', textContent: ctx }),
    p.passwordless ? el('p', { className: 'request-passwordless', textContent: 'No password was given: approving alone signs in.' }) : '',
    el('p', { className: 'muted request-expiry', textContent: 'Expires ' + new Date(p.expires_at).toLocaleTimeString() }),
    el('label', { htmlFor: inputID, textContent: 'The number the login shows ' }), number,
    error,
    el('div', { className: 'request-actions' }, approve, deny, report));
  li.dataset.approvalId = p.approval_id;
  const entry = { push: p, li, deciding: false };
  const decide = async (decision, reporting) => {
    error.hidden = true;
    let matchNumber;
    if (decision === 'approve') {
      if (!/^\d\d$/.test(number.value.trim())) {
        error.textContent = 'Type the two-digit number the login shows.';
        error.hidden = false;
        number.focus();
        return;
      }
      matchNumber = Number(number.value.trim());
    }
    for (const b of [approve, deny, report]) b.disabled = true;
    entry.deciding = true; // the websocket's status frame may come before the callback's answer
    try {
      const body = { approval_id: p.approval_id, device_id: device.deviceID, decision, report: !!reporting };
      if (matchNumber !== undefined) body.match_number = matchNumber;
      // The answer names the push key this device pins, as the CLI's does.
      await reloadServerKeys();
      const { status } = await signed('POST', '/callbacks/approval' + await pushKIDQuery(device), body);
      dropRequest(p.approval_id);
      decided(status, reporting);
    } catch (e) {
      entry.deciding = false;
      if (!requests.has(p.approval_id)) {
        // Its status frame came first and took it off the list.
        flash('Could not send your answer: ' + e.message, true);
        return;
      }
      error.textContent = e.message;
      error.hidden = false;
      for (const b of [approve, deny, report]) b.disabled = false;
    }
  };
  approve.addEventListener('click', () => decide('approve'));
  deny.addEventListener('click', () => decide('deny'));
  report.addEventListener('click', () => decide('deny', true));
  number.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') decide('approve');
  });
  requests.set(p.approval_id, entry);
  $('requests').append(li);
  $('no-requests').hidden = true;
  if (wanted === p.approval_id) showRequest(p.approval_id);
}

// wanted is the approval a notification was clicked for (?approval= or the
// worker's message), shown once it is on the list.
let wanted = new URLSearchParams(location.search).get('approval');

function showRequest(id) {
  wanted = id;
  const r = requests.get(id);
  if (!r) return;
  wanted = null;
  for (const other of requests.values()) other.li.classList.toggle('request-wanted', other === r);
  r.li.scrollIntoView({ block: 'center' });
  r.li.querySelector('.request-number').focus();
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.addEventListener('message', (ev) => {
    if (ev.data && ev.data.type === 'show-approval' && typeof ev.data.approval_id === 'string') showRequest(ev.data.approval_id);
  });
}

// setExpiry: the approval fell back to a code and may still be decided
// until its new expiry.
function setExpiry(id, expiresAt) {
  const r = requests.get(id);
  if (!r) return;
  r.push.expires_at = expiresAt;
  r.li.querySelector('.request-expiry').textContent = 'Expires ' + new Date(expiresAt).toLocaleTimeString();
}

// dropExpired takes off requests past their expiry (whose status frame
// may have been missed while the connection was down).
function dropExpired(now) {
  for (const [id, r] of requests) {
    if (!r.deciding && Date.parse(r.push.expires_at) < now) dropRequest(id, 'expired');
  }
}

// closeNotification takes down the worker's notification of an approval
// that was decided or expired: it would ask for a login that waits no more.
function closeNotification(id) {
  swRegistration.then((registration) => registration && registration.getNotifications({ tag: 'approval-' + id }))
    .then((list) => { for (const n of list || []) n.close(); })
    .catch(() => {});
}

function dropRequest(id, status) {
  closeNotification(id);
  const r = requests.get(id);
  if (!r) return;
  requests.delete(id);
  r.li.remove();
  $('no-requests').hidden = requests.size > 0;
  if (!r.deciding) decided(status, false);
}

// decided tells what became of a request.
function decided(status, reported) {
  if (status === 'approved') flash('Approved: the login goes on.');
  else if (reported) flash('Denied and reported. Change your password if someone else knows it.');
  else if (status === 'denied') flash('Denied.');
  else if (status === 'expired') flash('A login request expired.');
}

// --- Life cycle ---------------------------------------------------------------

function start() {
  show('device');
  $('device-name').textContent = device.name;
  $('device-id').textContent = device.deviceID;
  tick();
  clearInterval(totpTimer);
  totpTimer = setInterval(tick, 1000);
  stopped = false;
  connect();
  renewWebPush().catch(() => {});
}

function stop() {
  stopped = true;
  clearInterval(totpTimer);
  clearTimeout(retryTimer);
  if (socket) {
    const s = socket;
    socket = null;
    s.close();
  }
  for (const id of [...requests.keys()]) dropRequest(id);
}

function removed() {
  stop();
  show('removed');
}

async function forget() {
  stop();
  await forgetDevice();
  device = null;
  flash('This browser forgot the device. Remove it on your account page too.');
  show('enroll');
}

// The worker is an ES module: it imports the page's checks and signing.
const swRegistration = ('serviceWorker' in navigator)
  ? navigator.serviceWorker.register('sw.js', { type: 'module' }).catch(() => null)
  : Promise.resolve(null);

async function boot() {
  $('enroll-form').addEventListener('submit', enroll);
  $('forget-button').addEventListener('click', () => { forget().catch((e) => flash(e.message, true)); });
  $('reenroll-button').addEventListener('click', () => { forget().catch((e) => flash(e.message, true)); });
  const code = new URLSearchParams(location.search).get('code');
  if (code) $('enroll-code').value = code;
  if (wanted) history.replaceState(null, '', location.pathname);
  if (!crypto.subtle) {
    show('enroll');
    $('enroll-unsupported').hidden = false;
    return;
  }
  try {
    device = await loadDevice();
  } catch {
    device = null;
  }
  if (device && device.pending) device = null; // an enrollment that did not finish
  if (device) start();
  else show('enroll');
}

boot();
