import { readFileSync } from 'node:fs';
import { test, expect, server, range, gql, signIn, settled, accessible, screenshot, figure } from './fixtures.js';

const STATS = `query($id: ID!, $range: TimeRange) { course(by: {id: $id}) {
  fullname groups { id name }
  stats(range: $range) { learners activeLearners total mean median p90 } } }`;

const PARTICIPANTS = `query($id: ID!, $range: TimeRange, $order: ParticipantOrder, $filter: ParticipantFilter) { course(by: {id: $id}) {
  participants(first: 100, range: $range, scope: COURSE, orderBy: $order, filter: $filter) {
    totalCount edges { node { user { id } stats { total } } } } } }`;

async function participants(order, filter = null) {
  const d = await gql(server.siteToken, PARTICIPANTS, { id: server.course, range, order, filter });
  const p = d.course.participants;
  return { count: p.totalCount, ids: p.edges.map((e) => e.node.user.id), totals: p.edges.map((e) => e.node.stats?.total ?? 0) };
}

// The participants table as shown: its caption's count, the rows' user ids
// and their time in seconds.
async function shown(page) {
  const table = page.locator('[data-testid="participants"]');
  const caption = await table.locator('caption').textContent();
  const rows = table.locator('tbody tr');
  return {
    count: Number(/^(\d+)/.exec(caption)[1]),
    ids: await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.user)),
    totals: await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.querySelector('td:nth-child(2) [data-seconds]').dataset.seconds))),
  };
}

test('the course page: figures and participants are the API\'s; sort, filter and CSV export', async ({ page }) => {
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Courses' }).click();
  const c = (await gql(server.siteToken, STATS, { id: server.course, range })).course;
  await page.getByRole('link', { name: c.fullname }).click();
  await expect(page).toHaveURL(new RegExp(`#/course/${server.course}$`));
  await settled(page);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(c.fullname);

  const s = c.stats;
  const got = {};
  for (const k of ['learners', 'activeLearners', 'total', 'mean', 'median', 'p90']) got[k] = await figure(page, { learners: 'learners', activeLearners: 'active' }[k] || k);
  expect(got).toEqual({ learners: s.learners, activeLearners: s.activeLearners, total: s.total, mean: s.mean, median: s.median, p90: s.p90 });
  expect(await shown(page)).toEqual(await participants({ field: 'ID', direction: 'ASC' }));
  await accessible(page);
  await screenshot(page, 'course');

  // Sort by time: most first, then least first; the order is the API's.
  const head = (name) => page.getByTestId('participants').getByRole('columnheader', { name });
  const timeHeader = head(/Time/);
  await timeHeader.getByRole('button').click();
  await expect(page).toHaveURL(/sort=time%3Adesc|sort=time:desc/);
  await expect(timeHeader).toHaveAttribute('aria-sort', 'descending');
  let t = await shown(page);
  expect(t.totals).toEqual([...t.totals].sort((a, b) => b - a));
  expect(t.totals).toEqual((await participants({ field: 'TOTAL', direction: 'DESC' })).totals);
  await head(/Time/).getByRole('button').click();
  await expect(head(/Time/)).toHaveAttribute('aria-sort', 'ascending');
  t = await shown(page);
  expect(t.totals).toEqual([...t.totals].sort((a, b) => a - b));
  await head(/Name/).getByRole('button').click();
  await expect(head(/Name/)).toHaveAttribute('aria-sort', 'ascending');
  const names = await page.locator('[data-testid="participants"] tbody tr td:first-child').allTextContents();
  expect(names.length).toBeGreaterThan(1);

  // Filter: at least 60 minutes, then one group; counts are the API's.
  await head(/Time/).getByRole('button').click();
  await page.getByLabel('Min time (minutes)').fill('60');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/minTotal=60/);
  await settled(page);
  t = await shown(page);
  const want = await participants({ field: 'TOTAL', direction: 'DESC' }, { minTotal: 3600 });
  expect(t).toEqual(want);
  expect(t.totals.every((x) => x >= 3600)).toBe(true);

  const group = c.groups[0];
  await page.getByLabel('Group').selectOption(group.id);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`group=${group.id}`));
  await settled(page);
  t = await shown(page);
  expect(t).toEqual(await participants({ field: 'TOTAL', direction: 'DESC' }, { minTotal: 3600, groups: [group.id] }));

  // The CSV export of what is shown: the same rows in the same order.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`course-${server.course}-participants.csv`);
  await expect(page.getByRole('status').filter({ hasText: 'CSV downloaded.' })).toBeVisible();
  const lines = readFileSync(await file.path(), 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  expect(header.slice(0, 6)).toEqual(['userid', 'username', 'firstname', 'lastname', 'total_seconds', 'total_hm']);
  expect(header).toContain('groups');
  const rows = lines.slice(1).map((l) => l.split(','));
  expect(rows.map((r) => r[0])).toEqual(t.ids);
  expect(rows.map((r) => Number(r[4]))).toEqual(t.totals);

  // Clear brings every participant back.
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page).not.toHaveURL(/minTotal/);
  await settled(page);
  expect((await shown(page)).count).toBe((await participants({ field: 'ID', direction: 'ASC' })).count);
});

test('the course page on a phone (375 px)', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 812 });
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await page.goto(`/#/course/${server.course}`);
  await settled(page);
  await accessible(page);
  await screenshot(page, 'course-375');
});

test('a course token opens on its course and reads no other page', async ({ page }) => {
  await signIn(page, server.courseToken);
  await expect(page).toHaveURL(new RegExp(`#/course/${server.course}$`));
  await settled(page);
  const s = (await gql(server.courseToken, STATS, { id: server.course, range })).course.stats;
  expect(await figure(page, 'total')).toBe(s.total);
  const nav = page.getByRole('navigation', { name: 'Pages' });
  await expect(nav.getByRole('link', { name: 'Site' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: `Course ${server.course}` })).toHaveAttribute('aria-current', 'page');
  await accessible(page);
  await screenshot(page, 'course-token');
});

// Viewer.groups names the group's course: a group token opens it with its
// group as the filter.
test('a group token opens its group\'s course with the group filter', async ({ page }) => {
  await signIn(page, server.groupToken);
  await expect(page).toHaveURL(new RegExp(`#/course/${server.course}\\?group=${server.group}$`));
  await settled(page);
  await expect(page.getByLabel('Group')).toHaveValue(server.group);
  const d = await gql(server.groupToken, PARTICIPANTS, { id: server.course, range, order: { field: 'ID', direction: 'ASC' }, filter: { groups: [server.group] } });
  expect((await shown(page)).count).toBe(d.course.participants.totalCount);
  await accessible(page);
  await screenshot(page, 'course-group-token');
});
