// The pages' entry point: one document whose views are chosen by the URL's
// hash (#/login, #/signup, #/verify, #/account), so the access token stays
// in memory while the user moves between them.

import { initAccount, showAccount } from './account.js';
import { describe, loadSettings } from './api.js';
import { initApproval } from './approval.js';
import * as handoff from './handoff.js';
import { initLogin, showLogin, stopPasskeyAutofill } from './login.js';
import { refresh, signedIn } from './session.js';
import { initSignup, showVerify } from './signup.js';
import { $, flash, showView } from './ui.js';

let loginPrefill = '';

function toAccount() {
  if (handoff.pending()) {
    handoff.finish();
    return;
  }
  flash('');
  if (location.hash === '#/account') route();
  else location.hash = '#/account';
}

function signedOut(message, identifier) {
  loginPrefill = identifier || '';
  flash(message);
  if (location.hash === '#/login') route();
  else location.hash = '#/login';
}

async function route() {
  const view = location.hash.replace(/^#\/?/, '') || 'login';
  if (view !== 'login') stopPasskeyAutofill();
  switch (view) {
    case 'signup':
      flash('');
      showView('signup');
      $('signup-name').focus();
      return;
    case 'verify':
      showVerify();
      return;
    case 'done':
      showView('done');
      return;
    case 'account':
      if (signedIn() || (await haveSession())) {
        await showAccount();
        return;
      }
      location.hash = '#/login';
      return;
    default:
      // A login for another application always asks: the server sent the
      // browser here because its single sign-on did not do.
      if (handoff.pending()) {
        await showHandoffLogin();
        return;
      }
      // A visitor who still has a session goes straight to the account.
      if (signedIn() || (await haveSession())) {
        location.hash = '#/account';
        return;
      }
      showLogin(loginPrefill);
      loginPrefill = '';
  }
}

// showHandoffLogin shows the login form titled with the application's name
// and pre-filled with the login_hint it sent.
async function showHandoffLogin() {
  let about = null;
  try {
    about = await handoff.describe();
  } catch (err) {
    flash(describe(err));
  }
  if (about && about.app) $('login-title').textContent = 'Sign in to ' + about.app;
  showLogin((about && about.login_hint) || loginPrefill);
  loginPrefill = '';
}

// haveSession tries the refresh cookie once per page load.
let triedCookie = false;
async function haveSession() {
  if (triedCookie) return false;
  triedCookie = true;
  try {
    return await refresh();
  } catch (err) {
    flash(describe(err));
    return false;
  }
}

async function start() {
  await loadSettings();
  initApproval();
  initLogin({ onSession: toAccount });
  initSignup({
    onVerified: (phone) => {
      loginPrefill = phone.replace(/\s+/g, '');
      location.hash = '#/done';
    },
  });
  initAccount({ onSignedOut: signedOut });
  $('done-login').addEventListener('click', () => flash(''));
  window.addEventListener('hashchange', route);
  route();
}

start();
