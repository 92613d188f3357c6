import { test, expect, server, range, gql, signIn, settled, accessible, screenshot, figure } from './fixtures.js';

const SITE = `query($range: TimeRange) { site { stats(range: $range) {
  users activeUsers total events siteTime mean median p90
  topCourses(first: 10) { courseId total events activeLearners } } } }`;

test('a refused token shows the sign-in form again with the reason', async ({ page }) => {
  await signIn(page, 'ust_not-a-real-token');
  await expect(page.getByRole('alert')).toContainText('refused');
  await expect(page.getByLabel('API token')).toBeVisible();
  await accessible(page);
  await screenshot(page, 'sign-in');
});

test('the site token opens the site page, whose numbers are the API\'s', async ({ page }) => {
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await settled(page);
  await expect(page.getByLabel('From', { exact: true })).toHaveValue(range.from);
  await expect(page.getByLabel('To', { exact: true })).toHaveValue(range.to);

  const s = (await gql(server.siteToken, SITE, { range })).site.stats;
  expect(s.activeUsers).toBeGreaterThan(0);
  const want = { active: s.activeUsers, users: s.users, total: s.total, siteTime: s.siteTime, mean: s.mean, median: s.median, p90: s.p90, events: s.events };
  const got = {};
  for (const k of Object.keys(want)) got[k] = await figure(page, k);
  expect(got).toEqual(want);

  const rows = page.locator('[data-testid="top-courses"] tbody tr');
  await expect(rows).toHaveCount(s.topCourses.length);
  for (let i = 0; i < s.topCourses.length; i += 1) {
    const c = s.topCourses[i];
    const cells = rows.nth(i).locator('td');
    await expect(cells.nth(0).locator('a')).toHaveAttribute('href', new RegExp(`^#/course/${c.courseId}\\b`));
    await expect(cells.nth(1).locator('[data-seconds]')).toHaveAttribute('data-seconds', String(c.total));
    await expect(cells.nth(2).locator('[data-value]')).toHaveAttribute('data-value', String(c.activeLearners));
    await expect(cells.nth(3).locator('[data-value]')).toHaveAttribute('data-value', String(c.events));
  }
  await expect(page.locator('[aria-label="Site time by weekday and hour"] canvas').first()).toBeAttached();
  await accessible(page);
  await screenshot(page, 'site');
});

test('the site page on a phone (375 px)', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 812 });
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await settled(page);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, 'no sideways scrolling of the whole page').toBeLessThanOrEqual(375);
  await accessible(page);
  await screenshot(page, 'site-375');
});

test('a link with the token signs in and keeps the view, and the token leaves the address', async ({ page }) => {
  await page.goto(`/#/site?g=WEEK&token=${server.siteToken}`);
  await settled(page);
  await expect(page).toHaveURL(/#\/site\?g=WEEK$/);
  await expect(page.getByLabel('Series by')).toHaveValue('WEEK');
});
