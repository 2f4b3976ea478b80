// The page's session. The access token lives only in this module's memory;
// the refresh token is in an HttpOnly cookie that no script can read, and
// /web/refresh turns it into a new access token (on load, and when the
// access token runs out). Nothing goes to web storage.

import { ApiError, call, web, WEB_HEADER } from './api.js';

let access = null; // { token, expiresAt (ms, this browser's clock) }

export function signedIn() {
  return access !== null;
}

export function setSession(answer) {
  access = { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
}

export function clearSession() {
  access = null;
}

// refresh asks for a new access token with the cookie; false when there is
// no session. Tabs of this origin refresh one at a time (Web Locks), since
// each refresh spends the cookie's token and a token presented twice
// revokes the whole session.
export async function refresh() {
  const run = async () => {
    try {
      const { data } = await web('refresh');
      setSession(data);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        clearSession();
        return false;
      }
      throw err;
    }
  };
  if (navigator.locks) return navigator.locks.request('approvald-refresh', run);
  return run();
}

// authed calls an endpoint with the access token, renewing it first when it
// is about to run out and once more if the server refuses it. web: true
// sends the /web/ endpoints' header too.
export async function authed(method, path, { body, web: isWeb = false } = {}) {
  if (!access || access.expiresAt - Date.now() < 30_000) {
    if (!(await refresh())) throw sessionEnded();
  }
  const send = () => call(method, path, {
    body,
    headers: { Authorization: 'Bearer ' + access.token, ...(isWeb ? WEB_HEADER : {}) },
  });
  try {
    return await send();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || err.code !== 'unauthorized') throw err;
    if (!(await refresh())) throw sessionEnded();
    return send();
  }
}

// logout ends the session on the server (by the access token, or by the
// cookie when that is stale) and forgets it here.
export async function logout() {
  const headers = access ? { Authorization: 'Bearer ' + access.token } : {};
  try {
    await web('logout', { headers });
  } finally {
    clearSession();
  }
}

function sessionEnded() {
  clearSession();
  return new ApiError(401, { error: { code: 'unauthorized', message: 'Your session has ended. Log in again.' } }, null);
}
