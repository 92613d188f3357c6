// Runs the graphql-http audit suite (the GraphQL-over-HTTP spec's
// conformance checks) against a live usestats server.
//
//   node audit.mjs URL TOKEN
//
// Every request carries the bearer token. Prints each audit that did not
// pass and one summary line; exits 1 when a MUST audit fails.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = {};
let mustFailed = 0;
for (const r of results) {
  const level = r.name.split(' ')[0]; // MUST, SHOULD or MAY
  counts[level] ??= { ok: 0, total: 0 };
  counts[level].total++;
  if (r.status === 'ok') {
    counts[level].ok++;
    continue;
  }
  if (level === 'MUST') mustFailed++;
  const why = r.reason ?? '';
  console.log(`${r.status.toUpperCase()} ${r.name}${why ? ': ' + why : ''}`);
}
const summary = Object.entries(counts)
  .map(([level, c]) => `${level} ${c.ok}/${c.total}`)
  .join(', ');
console.log(`graphql-http audit: ${summary} passed`);
process.exit(mustFailed > 0 ? 1 : 0);
