// The fixtures every browser test uses: the server's address and tokens
// (from global-setup.js), a page whose every request is recorded and must
// stay on the server's origin, and helpers to sign in, ask the API
// directly, check accessibility and save screenshots.
import { test as base, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { mkdirSync } from 'node:fs';
import { screenshots } from './paths.js';
import { lastDays } from './range.js';

export { expect };

export const server = {
  get url() { return process.env.USESTATS_E2E_URL; },
  get siteToken() { return process.env.USESTATS_E2E_SITE_TOKEN; },
  get learner() { return process.env.USESTATS_E2E_LEARNER; },
  get learnerToken() { return process.env.USESTATS_E2E_LEARNER_TOKEN; },
  get course() { return process.env.USESTATS_E2E_COURSE; },
  get courseToken() { return process.env.USESTATS_E2E_COURSE_TOKEN; },
  get group() { return process.env.USESTATS_E2E_GROUP; },
  get groupToken() { return process.env.USESTATS_E2E_GROUP_TOKEN; },
};

export const range = lastDays(30);

// The API asked directly, as the page would, with a given token.
export async function gql(token, query, variables = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// Whether a request stays on the server: its own origin, or a blob: or
// data: URL made in the page (no network).
export function onServer(url) {
  if (url.startsWith('data:')) return true;
  const u = new URL(url.startsWith('blob:') ? url.slice(5) : url);
  return u.origin === new URL(server.url).origin;
}

export const test = base.extend({
  // Every request of the context (pages, popups, workers) is recorded; one
  // to another host is stopped before it leaves and fails the test.
  context: async ({ context }, use) => {
    const requests = [];
    context.on('request', (r) => requests.push(r.url()));
    await context.route((u) => !onServer(u.href), (route) => route.abort('blockedbyclient'));
    await use(context);
    const away = requests.filter((u) => !onServer(u));
    expect(away, 'requests to a host other than the server').toEqual([]);
    expect(requests.length, 'requests recorded').toBeGreaterThan(0);
  },
  baseURL: async ({}, use) => use(server.url),
});

// Signs in through the form, as a person would.
export async function signIn(page, token) {
  await page.goto('/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Waits until the page has left "Loading…" and drawn its charts.
export async function settled(page) {
  await expect(page.locator('main .loading')).toHaveCount(0);
  await expect(page.locator('main h1').first()).toBeVisible();
  const charts = page.locator('main .chart');
  const n = await charts.count();
  for (let i = 0; i < n; i += 1) await expect(charts.nth(i).locator('canvas').first()).toBeAttached();
}

// axe-core on the page as shown: no serious or critical violation.
export async function accessible(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')}: ${n.failureSummary}`).join('\n')}`);
  expect(text, `axe-core: serious or critical violations on ${page.url()}`).toEqual([]);
}

export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: `${screenshots}/${name}.png`, fullPage: true });
}

// The numbers a figure or cell shows, exactly: data-seconds for durations,
// data-value for counts.
export async function figure(page, testid) {
  const el = page.locator(`[data-testid="${testid}"] dd > *`);
  const [s, v] = [await el.getAttribute('data-seconds'), await el.getAttribute('data-value')];
  if (s !== null) return Number(s);
  if (v !== null) return Number(v);
  return null;
}
