// The login form: phone or email and password, then either a session at
// once (two-factor off) or the approval modal; or a passkey, with the
// button or from the identifier field's autofill (conditional mediation).

import { web } from './api.js';
import { startApproval } from './approval.js';
import { authRequest } from './handoff.js';
import { setSession } from './session.js';
import * as passkey from './passkey.js';
import { fillCountries, isInternational, phoneFields } from './phone.js';
import { $, busy, clearErrors, fieldError, say, showError, showView } from './ui.js';

let sessionHook = null;
let autofill = null; // the AbortController of the conditional passkey request

export function initLogin({ onSession }) {
  sessionHook = onSession;
  fillCountries($('login-country'));
  const form = $('login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const id = $('login-id'), password = $('login-password');
    const who = id.value.trim();
    if (!who) return fieldError(id, 'Please enter your phone number or email.');
    // No password: a passwordless login. The server answers the same for
    // everyone (an approval that only a user with passwordless sign-in on
    // can approve), and so does this page: "check your phone, or enter
    // your password".
    const body = password.value ? { password: password.value } : {};
    if (authRequest()) body.auth_request = authRequest();
    Object.assign(body, who.includes('@') ? { email: who } : phoneFields($('login-country'), who));
    await busy(form, async () => {
      try {
        const { status, data, serverTime } = await web('login', { body });
        if (status === 200) {
          password.value = '';
          setSession(data);
          onSession();
          return;
        }
        startApproval(data, serverTime, {
          onSession: () => {
            password.value = '';
            onSession();
          },
          onCancel: () => password.focus(),
          onPassword: (value) => {
            password.value = value;
            form.requestSubmit();
          },
        });
      } catch (err) {
        showError(err, $('login-error'), { phone: id, email: id, country_code: id, password });
      }
    });
  });

  // The country picker matters only for a phone number typed without "+".
  const syncCountry = () => {
    const v = $('login-id').value.trim();
    $('login-country').disabled = v.includes('@') || isInternational(v);
  };
  $('login-id').addEventListener('input', syncCountry);

  $('passkey-login').addEventListener('click', async () => {
    stopPasskeyAutofill();
    clearErrors(form);
    await busy(form, async () => {
      try {
        passkeySession(await passkey.login('optional'));
      } catch (err) {
        passkeyFailed(err);
      }
    });
  });
}

function passkeySession(answer) {
  $('login-password').value = '';
  setSession(answer);
  sessionHook();
}

function passkeyFailed(err) {
  if (passkey.cancelled(err)) {
    say($('login-error'), 'No passkey was used: the request was cancelled, or this browser has no passkey for this site.');
    return;
  }
  showError(err, $('login-error'));
}

// startPasskeyAutofill lets the browser propose passkeys in the identifier
// field's autofill, while the login form is shown.
async function startPasskeyAutofill() {
  if (autofill || !(await passkey.conditionalAvailable())) return;
  const ctl = new AbortController();
  autofill = ctl;
  try {
    const answer = await passkey.login('conditional', ctl.signal);
    if (autofill === ctl) passkeySession(answer);
  } catch (err) {
    // The browser's own refusals of an autofill request (nothing picked,
    // no passkey here) are no news to the user; the server's are.
    if (autofill === ctl && !ctl.signal.aborted && !passkey.cancelled(err)) passkeyFailed(err);
  } finally {
    if (autofill === ctl) autofill = null;
  }
}

// stopPasskeyAutofill ends the autofill request (before a request of the
// button, or when the login form is left).
export function stopPasskeyAutofill() {
  if (!autofill) return;
  const ctl = autofill;
  autofill = null;
  ctl.abort();
}

// showLogin shows the login form, with the identifier filled in when given.
export function showLogin(identifier) {
  clearErrors($('login-form'));
  if (identifier) $('login-id').value = identifier;
  $('login-id').dispatchEvent(new Event('input'));
  $('passkey-login').hidden = !passkey.available();
  showView('login');
  if (identifier) $('login-password').focus();
  startPasskeyAutofill();
}
