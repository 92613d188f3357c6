// GraphiQL bundled from npm: its editor workers, styles and fonts are files
// of this origin, so the page works offline and under default-src 'self'.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { getToken } from './token.js';

const defaultQuery = `# usestats GraphQL API: press Ctrl-Enter to run.
# Signed in on the dashboard (same tab)? Its token is sent for you;
# otherwise add {"Authorization": "Bearer <token>"} under Headers.
{
  policies { name version }
  site {
    stats(range: { from: "2025-01-01" }) { users activeUsers total }
  }
}
`;

// Posts to this origin's /graphql. Headers typed in the editor win over the
// signed-in token.
async function fetcher(params, opts = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  Object.assign(headers, opts.headers || {});
  const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(params), credentials: 'same-origin' });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${res.status}: ${text.slice(0, 500)}` }] };
  }
}

// GraphiQL marks each tab's <li> role="tab" around the tab's own <button>
// (a control inside a control, which screen readers announce badly). The
// button is the tab: its <li> becomes a plain item and hands it the role and
// aria-selected, again whenever React sets them on the <li>.
function fixTabs(container) {
  for (const li of container.querySelectorAll('.graphiql-tabs > li')) {
    const button = li.querySelector('.graphiql-tab-button');
    if (!button) continue;
    if (li.getAttribute('role') !== 'none') li.setAttribute('role', 'none');
    const selected = li.getAttribute('aria-selected');
    if (selected !== null) {
      button.setAttribute('role', 'tab');
      button.setAttribute('aria-selected', selected);
      li.removeAttribute('aria-selected');
    }
  }
}

const root = document.getElementById('graphiql');
root.textContent = '';
new MutationObserver(() => fixTabs(root)).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-selected', 'role'] });
createRoot(root).render(createElement(GraphiQL, { fetcher, defaultQuery, shouldPersistHeaders: false }));
