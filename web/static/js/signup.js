// Sign-up and phone verification. The pending verification (its id, the
// phone and when the last code went out) is kept in sessionStorage, so a
// reload or a trip to the messages app does not lose it; it opens nothing
// without the texted code.

import { call, describe, settings, waitWords } from './api.js';
import { $, busy, clearErrors, Countdown, fieldError, say, showError, showView } from './ui.js';
import { fillCountries, phoneFields } from './phone.js';

const KEY = 'approvald.verification';

let resend;

export function initSignup({ onVerified }) {
  fillCountries($('signup-country'));
  resend = new Countdown($('resend'), (left) => (left ? `Send a new code (${left} s)` : 'Send a new code'));

  const form = $('signup-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const name = $('signup-name'), phone = $('signup-phone'), email = $('signup-email'), password = $('signup-password');
    if (!name.value.trim()) return fieldError(name, 'Please enter your name.');
    if (!phone.value.trim()) return fieldError(phone, 'Please enter your mobile phone number.');
    if (password.value.length < 8) return fieldError(password, 'The password needs at least 8 characters.');
    const body = { name: name.value.trim(), password: password.value, ...phoneFields($('signup-country'), phone.value) };
    if (email.value.trim()) body.email = email.value.trim();
    await busy(form, async () => {
      try {
        const { data } = await call('POST', 'api/v1/signup', { body });
        save({ id: data.verification_id, phone: body.country_code ? `+${body.country_code} ${body.phone}` : body.phone, sentAt: Date.now() });
        password.value = '';
        location.hash = '#/verify';
      } catch (err) {
        showError(err, $('signup-error'), { name, phone, country_code: phone, email, password });
      }
    });
  });

  const verifyForm = $('verify-form');
  verifyForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(verifyForm);
    const v = load(), code = $('verify-code');
    if (!v) return say($('verify-error'), 'This sign-up is no longer open here. Please sign up again.');
    if (!/^\d{6}$/.test(code.value.trim())) return fieldError(code, 'The code is the 6 digits from the text message.');
    await busy(verifyForm, async () => {
      try {
        await call('POST', 'api/v1/signup/verify', { body: { verification_id: v.id, code: code.value.trim() } });
        sessionStorage.removeItem(KEY);
        code.value = '';
        resend.stop();
        onVerified(v.phone);
      } catch (err) {
        verifyFailed(err, code);
      }
    });
  });

  $('resend').addEventListener('click', async () => {
    const v = load();
    if (!v) return;
    say($('resend-status'), '');
    try {
      await call('POST', 'api/v1/signup/resend', { body: { verification_id: v.id } });
      save({ ...v, sentAt: Date.now() });
      resend.start(settings.signupResendCooldown);
      say($('resend-status'), 'We texted you a new code. The old one no longer works.');
      $('verify-code').focus();
    } catch (err) {
      if (err.code === 'rate_limited' && err.retryAfter) {
        resend.start(err.retryAfter);
        say($('resend-status'), `You can ask for a new code in ${waitWords(err.retryAfter)}.`);
        return;
      }
      say($('resend-status'), describe(err));
    }
  });
}

// showVerify shows the code form of the pending sign-up, or the sign-up
// form when there is none.
export function showVerify() {
  const v = load();
  if (!v) {
    location.hash = '#/signup';
    return;
  }
  $('verify-phone').textContent = v.phone;
  clearErrors($('verify-form'));
  say($('resend-status'), '');
  showView('verify');
  resend.start(Math.max(0, settings.signupResendCooldown - (Date.now() - v.sentAt) / 1000));
  $('verify-code').focus();
}

function verifyFailed(err, code) {
  switch (err.code) {
    case 'invalid_code': {
      const left = err.attemptsLeft;
      fieldError(code, left === null ? 'That code is not right.' :
        `That code is not right. ${left} attempt${left === 1 ? '' : 's'} left.`);
      code.select();
      return;
    }
    case 'locked':
      sessionStorage.removeItem(KEY);
      return say($('verify-error'), 'Too many wrong codes: this sign-up is closed. Please sign up again.');
    case 'expired':
      sessionStorage.removeItem(KEY);
      return say($('verify-error'), 'This code has expired. Please sign up again for a new one.');
    default:
      showError(err, $('verify-error'), { code });
  }
}

function save(v) {
  sessionStorage.setItem(KEY, JSON.stringify(v));
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}
