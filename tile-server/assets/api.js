// The token and API helpers every page of the console uses (index, review, docs):
// one copy, imported as an ES module. The token lives in sessionStorage: gone with the tab.

export const TOKEN_KEY = "cadastre.token";
export const $ = (id) => document.getElementById(id);

let expired = () => {};

/// The page's reaction to a 401 (hide what needs a login, show the form).
export function onSessionExpired(handler) { expired = handler; }

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

/// fetch with the bearer token; a 401 ends the session.
export async function api(path, init) {
  const resp = await fetch(path, { ...(init || {}), headers: { Authorization: "Bearer " + token(), ...((init && init.headers) || {}) } });
  if (resp.status === 401) { endSession(); expired(); throw new Error("登录已失效 session expired"); }
  return resp;
}

/// The server's JSON error as "message (code)", else the HTTP status.
export async function errorText(resp) {
  try { const b = await resp.json(); return b.error.message + " (" + b.error.code + ")"; } catch (_) { return "HTTP " + resp.status; }
}

/// POST /api/auth/login with `body`; keeps the token, or throws with the server's error text.
export async function login(body) {
  const resp = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!resp.ok) throw new Error(await errorText(resp));
  sessionStorage.setItem(TOKEN_KEY, (await resp.json()).token);
}

/// Forget the token and tell the server (best effort).
export function endSession() {
  const t = token();
  sessionStorage.removeItem(TOKEN_KEY);
  if (t) { fetch("/api/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + t } }).catch(() => {}); }
}
