// The view lives in the hash: #/page/id?from=…&to=…&tz=…&policy=…&g=…, so
// a link or a reload keeps it. Pages read state() and navigate() to change it.

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function defaults() {
  const to = new Date();
  const from = new Date(to);
  from.setDate(from.getDate() - 29);
  return { from: isoDay(from), to: isoDay(to), tz: '', policy: '', g: 'DAY' };
}

export function state() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query));
  return { page: parts[0] || '', id: parts[1] || '', params: { ...defaults(), ...params } };
}

export function href(page, id, params) {
  const d = defaults();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '' && d[k] !== v) q.set(k, v);
  }
  const qs = q.toString();
  return `#/${[page, id].filter(Boolean).map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}

// Same page with some parameters changed (undefined or '' removes one).
export function withParams(changes) {
  const s = state();
  return href(s.page, s.id, { ...s.params, ...changes });
}

export function navigate(to) {
  if (location.hash !== to) location.hash = to;
}

// The variables every page sends: range, policy, series granularity, zone.
export function common(params) {
  return {
    range: { from: params.from || null, to: params.to || null },
    policy: params.policy ? { name: params.policy } : null,
    g: params.g || 'DAY',
    tz: params.tz || null,
  };
}
