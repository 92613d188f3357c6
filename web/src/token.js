// The API token lives in this browser tab's session only (sessionStorage):
// it is gone when the tab closes and never reaches a cookie or the URL.
const KEY = 'usestats.token';

export function getToken() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

// A link such as /#token=… (the demo can print one) signs the tab in: the
// token moves to sessionStorage and leaves the address bar and history.
export function takeTokenFromHash() {
  const m = /(?:^#|[?&])token=([^&]+)/.exec(location.hash);
  if (!m) return false;
  setToken(decodeURIComponent(m[1]));
  const rest = location.hash.replace(/(^#|[?&])token=[^&]*&?/, '$1').replace(/[?&]$/, '');
  history.replaceState(null, '', location.pathname + location.search + (rest.length > 1 ? rest : '#/'));
  return true;
}
