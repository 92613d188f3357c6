import './style.css';
import { h, field, select } from './dom.js';
import { gql, APIError } from './api.js';
import { getToken, setToken, takeTokenFromHash } from './token.js';
import { state, href, withParams, navigate } from './state.js';
import { setDisplayZone } from './format.js';
import { disposeAll } from './charts.js';
import { sitePage } from './pages/site.js';
import { coursePage } from './pages/course.js';
import { learnerPage } from './pages/learner.js';
import { comparePage } from './pages/compare.js';
import { VIEWER, getViewer, setViewer, homeOf } from './viewer.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const controls = document.getElementById('controls');
let policies = null;

const pages = { site: sitePage, course: coursePage, learner: learnerPage, compare: comparePage };

function zones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

function renderControls(st) {
  const p = st.params;
  const from = h('input', { type: 'date', name: 'from', value: p.from });
  const to = h('input', { type: 'date', name: 'to', value: p.to });
  const tz = select([['', 'service default'], ...zones().map((z) => [z, z])], p.tz, { name: 'tz' });
  const pol = select([['', 'default'], ...(policies || []).map((x) => [x.name, x.name])], p.policy, { name: 'policy' });
  const g = select([['HOUR', 'hour'], ['DAY', 'day'], ['WEEK', 'week'], ['MONTH', 'month']], p.g, { name: 'g' });
  controls.replaceChildren(
    field('From', from), field('To', to), field('Time zone', tz), field('Policy', pol), field('Series by', g),
    h('button', { type: 'submit' }, 'Apply'),
  );
}

controls.addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData(controls);
  navigate(withParams(Object.fromEntries(f.entries())));
});
// Selects apply at once; dates wait for Apply or Enter (typing a year
// would otherwise reload four times).
controls.addEventListener('change', (e) => {
  if (e.target.tagName === 'SELECT') controls.requestSubmit();
});

function renderNav(st) {
  const keep = st.params;
  const v = getViewer();
  const link = (page, id, text) => h('a', { href: href(page, id, keep), 'aria-current': st.page === page && (!id || st.id === id) ? 'page' : null }, text);
  // Only the pages the token can read: a learner's token has its own page,
  // a course token its courses, a site token everything.
  const links = [];
  if (v.site) links.push(link('site', '', 'Site'), link('course', '', 'Courses'), link('learner', '', 'Learners'));
  for (const id of v.userIds) links.push(link('learner', id, v.userIds.length > 1 ? `My time (${id})` : 'My time'));
  if (!v.site) {
    for (const id of v.courseIds) links.push(link('course', id, `Course ${id}`));
    for (const g of v.groups || []) {
      if (!v.courseIds.includes(g.courseId)) links.push(link('course', g.courseId, `Course ${g.courseId} (group ${g.id})`));
    }
    if (v.groupIds.length && !(v.groups || []).length && !v.courseIds.length) links.push(link('course', '', 'Group\u2019s course'));
  }
  links.push(link('compare', '', 'Compare policies'));
  nav.replaceChildren(...links, h('button.link', { type: 'button', onclick: signOut }, 'Sign out'));
}

// Drops the token and what was learnt about it.
function forget() {
  setToken('');
  policies = null;
  setViewer(null);
}

function signOut() {
  forget();
  navigate('#/');
  route();
}

function signIn(message) {
  nav.replaceChildren();
  controls.replaceChildren();
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form.signin', { 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', 'Paste an API token (usestats token …, or the one the demo prints). It is kept in this tab only.'),
    message ? h('p.error', { role: 'alert' }, message) : null,
    field('API token', input),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    forget();
    setToken(input.value.trim());
    route();
  });
  main.replaceChildren(form);
  input.focus();
}

// Where a token opens when the address names no page, from what Query.viewer
// says it reads: the site for site:read, its own page for user:<id>:self,
// its course for course:<id>:read, its group's course for group:<id>:read.
function home(st) {
  const to = homeOf(getViewer());
  if (!to) {
    const scopes = getViewer()?.scopes?.join(', ') || 'none';
    forget();
    return signIn(`This token reads nothing the dashboard shows (scopes: ${scopes}).`);
  }
  const [page, id, params] = to;
  return navigate(href(page, id, { ...st.params, ...params }));
}

let generation = 0;

async function route() {
  const gen = ++generation;
  if (takeTokenFromHash()) {
    policies = null;
    setViewer(null);
  }
  if (!getToken()) return signIn();
  const st = state();
  setDisplayZone(st.params.tz);
  disposeAll();
  try {
    if (!policies || !getViewer()) {
      // Apart: a token refused the policy list (a group token, today) still
      // learns what it reads, and the Policy control offers the default.
      const [v, ps] = await Promise.all([gql(VIEWER), gql('{ policies { name version } }').catch((e) => e)]);
      if (ps instanceof APIError && ps.code === 'UNAUTHENTICATED') throw ps;
      setViewer(v.data.viewer);
      policies = ps instanceof Error ? [] : ps.data.policies;
    }
    if (gen !== generation) return;
    if (!pages[st.page]) return home(st);
    renderNav(st);
    renderControls(st);
    main.replaceChildren(h('p.loading', { role: 'status' }, 'Loading…'));
    const view = await pages[st.page](st);
    if (gen !== generation) return;
    main.replaceChildren(view);
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof APIError && e.code === 'UNAUTHENTICATED') {
      forget();
      return signIn('That token was refused (expired, revoked or mistyped).');
    }
    main.replaceChildren(h('div.error', { role: 'alert' }, h('h1', 'Could not load this page'), h('p', e.message), e.code ? h('p', `code: ${e.code}`) : null));
  }
}

window.addEventListener('hashchange', route);
route();
