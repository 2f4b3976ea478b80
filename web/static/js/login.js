// The login form: phone or email and password, then either a session at
// once (two-factor off) or the approval modal.

import { web } from './api.js';
import { startApproval } from './approval.js';
import { authRequest } from './handoff.js';
import { setSession } from './session.js';
import { fillCountries, isInternational, phoneFields } from './phone.js';
import { $, busy, clearErrors, fieldError, showError, showView } from './ui.js';

export function initLogin({ onSession }) {
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
}

// showLogin shows the login form, with the identifier filled in when given.
export function showLogin(identifier) {
  clearErrors($('login-form'));
  if (identifier) $('login-id').value = identifier;
  $('login-id').dispatchEvent(new Event('input'));
  showView('login');
  if (identifier) $('login-password').focus();
}
