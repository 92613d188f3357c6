// The public API only: POST /graphql and GET /export/…, both with the
// signed-in token as a bearer token, both on this origin.
import { getToken } from './token.js';

export class APIError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function headers(extra = {}) {
  const hs = { ...extra };
  const token = getToken();
  if (token) hs.Authorization = `Bearer ${token}`;
  return hs;
}

// gql resolves to { data, errors }: a partial answer (say sessions FORBIDDEN
// to a course token) still shows what it has. It throws only when there is
// no data at all.
export async function gql(query, variables = {}) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' }),
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new APIError(`HTTP ${res.status}`, res.status === 401 ? 'UNAUTHENTICATED' : 'HTTP', res.status);
  }
  const errors = body.errors || [];
  if (!body.data) {
    const e = errors[0] || { message: `HTTP ${res.status}` };
    throw new APIError(e.message, e.extensions?.code || 'HTTP', res.status);
  }
  return { data: body.data, errors };
}

// Exports take the token as a header only, so the file is fetched here and
// handed to the browser as a Blob.
export async function download(path, params, filename) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of [].concat(v)) if (one !== undefined && one !== null && one !== '') q.append(k, one);
  }
  const url = `${path}${q.toString() ? `?${q}` : ''}`;
  const res = await fetch(url, { headers: headers() });
  if (!res.ok) throw new APIError(`${res.status}: ${(await res.text()).trim()}`, 'HTTP', res.status);
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return url;
}
