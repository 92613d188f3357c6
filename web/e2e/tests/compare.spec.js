import { test, expect, server, range, gql, signIn, settled, accessible, screenshot } from './fixtures.js';

const COURSE = `query($id: ID!, $range: TimeRange, $p: PolicyInput) { course(by: {id: $id}) {
  stats(range: $range, policy: $p) { learners activeLearners total mean median p90 events } } }`;

async function stats(policy) {
  return (await gql(server.siteToken, COURSE, { id: server.course, range, p: { name: policy } })).course.stats;
}

// The comparison table's column of one policy (1: A, 2: B), as numbers.
async function column(page, n) {
  return page.locator('[data-testid="compare"] tbody tr').evaluateAll((trs, i) => trs.map((tr) => {
    const el = tr.children[i].querySelector('[data-seconds], [data-value]');
    return el ? Number(el.dataset.seconds ?? el.dataset.value) : null;
  }), n);
}

const order = (s) => [s.learners, s.activeLearners, s.total, s.mean, s.median, s.p90, s.events];

test('the policy comparison shows both policies\' answers, and switches policy', async ({ page }) => {
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Compare policies' }).click();
  await expect(page.getByRole('heading', { name: 'Compare policies' })).toBeVisible();
  await accessible(page);
  const names = (await gql(server.siteToken, '{ policies { name } }')).policies.map((p) => p.name);
  expect(names.length).toBeGreaterThanOrEqual(3);

  await page.getByLabel('Compare a').selectOption('course');
  await page.getByLabel('Course id').fill(server.course);
  await page.getByLabel('Policy A').selectOption(names[0]);
  await page.getByLabel('Policy B').selectOption(names[1]);
  await page.getByRole('button', { name: 'Compare' }).click();
  await settled(page);
  const table = page.locator('[data-testid="compare"]');
  await expect(table.locator('thead th').nth(2)).toHaveText(names[1]);
  expect(await column(page, 1)).toEqual(order(await stats(names[0])));
  expect(await column(page, 2)).toEqual(order(await stats(names[1])));
  await accessible(page);
  await screenshot(page, 'compare');

  // Switch policy B: the column follows, with the new policy's numbers.
  const other = names[names.length - 1];
  await page.getByLabel('Policy B').selectOption(other);
  await page.getByRole('button', { name: 'Compare' }).click();
  await expect(table.locator('thead th').nth(2)).toHaveText(other);
  await settled(page);
  const b = await stats(other);
  expect(await column(page, 2)).toEqual(order(b));
  const a = await stats(names[0]);
  const diff = await table.locator('tbody tr').nth(2).locator('[data-diff]').getAttribute('data-diff');
  expect(Number(diff)).toBe(b.total - a.total);
});
