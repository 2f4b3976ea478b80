// A login on behalf of another application: the OpenID provider sends the
// browser here with ?oidc=<authorization request id>, forward auth with
// ?rd=<the address the user wanted>. Once a session is set the browser goes
// back through the server, which checks the request or the address and
// redirects (the single sign-on cookie proves the login).

import { call, WEB_HEADER } from './api.js';

const params = new URLSearchParams(location.search);
const oidc = params.get('oidc') || '';
const rd = params.get('rd') || '';

// pending says whether this page load logs in for another application.
export function pending() {
  return oidc !== '' || rd !== '';
}

// authRequest is the OpenID Connect request id the login names, so the
// push and the modal can say which application is asking.
export function authRequest() {
  return oidc;
}

// describe returns {app, login_hint} of the OpenID Connect request, or null.
export async function describe() {
  if (!oidc) return null;
  const { data } = await call('GET', 'web/authorization/' + encodeURIComponent(oidc), { headers: WEB_HEADER });
  return data;
}

// finish sends the browser back to the application through the server.
export function finish() {
  if (oidc) location.assign('oidc/login?id=' + encodeURIComponent(oidc));
  else location.assign('sso/continue?rd=' + encodeURIComponent(rd));
}
