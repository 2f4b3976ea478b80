// Small DOM helpers shared by the views. No inline styles anywhere: the CSP
// forbids them, so visibility is the hidden attribute and looks are classes.

import { describe } from './api.js';

export const $ = (id) => document.getElementById(id);

const VIEWS = ['login', 'signup', 'verify', 'done', 'account'];
const TITLES = {
  login: 'Log in', signup: 'Create your account', verify: 'Check your phone',
  done: 'Your account is ready', account: 'Your account',
};

// showView shows one view, hides the others and moves the focus to its
// heading, so a screen reader announces the new page.
export function showView(name) {
  $('booting').hidden = true;
  for (const v of VIEWS) $('view-' + v).hidden = v !== name;
  document.title = `${TITLES[name]} · approvald`;
  const heading = $(name + '-title');
  if (heading) heading.focus();
}

// flash shows a message above the current view until the next one.
export function flash(text) {
  const el = $('flash');
  el.textContent = text || '';
  el.hidden = !text;
}

// say writes a message into an element (or hides it when text is empty).
export function say(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

// clearErrors removes a form's error messages and invalid marks.
export function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const p of form.querySelectorAll('.field-error, .error')) say(p, '');
}

// fieldError marks one input invalid, says why beside it and focuses it.
export function fieldError(input, text) {
  input.setAttribute('aria-invalid', 'true');
  const p = $(input.id + '-error');
  if (p) say(p, text);
  input.focus();
}

// showError puts an API error beside its field when the answer names one
// (fields maps the API's field names to inputs), else in the form's box.
export function showError(err, box, fields = {}) {
  const input = err && err.field ? fields[err.field] : null;
  if (input) {
    fieldError(input, describe(err));
    return;
  }
  say(box, describe(err));
}

// busy disables a form's buttons while its request runs.
export async function busy(form, fn) {
  const buttons = form.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    for (const b of buttons) b.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

// Countdown keeps a button disabled until a moment, showing the seconds left
// in its label; label(seconds) gives the text (seconds 0: ready).
export class Countdown {
  constructor(button, label) {
    this.button = button;
    this.label = label;
    this.timer = null;
    this.until = 0;
  }

  start(seconds) {
    this.until = Date.now() + seconds * 1000;
    this.stop();
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
  }

  tick() {
    const left = Math.max(0, Math.ceil((this.until - Date.now()) / 1000));
    this.button.disabled = left > 0;
    this.button.textContent = this.label(left);
    if (left === 0) this.stop();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

// clock formats seconds as m:ss.
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
