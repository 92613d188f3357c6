import { test, expect, server, range, gql, signIn, settled, accessible, screenshot, figure } from './fixtures.js';

const LEARNER = `query($id: ID!, $range: TimeRange) { user(by: {id: $id}) { fullname
  stats(range: $range, scope: MODULE) { total events site { elapsed } sessionSummary { count max }
    courses { courseId total courseTime activityTime otherTime } explain(limit: 100) { eventId } } } }`;

async function checkLearner(page, token) {
  const u = (await gql(token, LEARNER, { id: server.learner, range })).user;
  await expect(page.getByRole('heading', { level: 1 })).toContainText(u.fullname);
  const s = u.stats;
  expect(s.total).toBeGreaterThan(0);
  const got = {};
  for (const k of ['total', 'siteTime', 'sessions', 'maxSession', 'events']) got[k] = await figure(page, k);
  expect(got).toEqual({ total: s.total, siteTime: s.site.elapsed, sessions: s.sessionSummary.count, maxSession: s.sessionSummary.max, events: s.events });
  const rows = page.locator('[data-testid="courses"] tbody tr');
  await expect(rows).toHaveCount(s.courses.length);
  for (let i = 0; i < s.courses.length; i += 1) {
    const secs = await rows.nth(i).locator('[data-seconds]').evaluateAll((els) => els.map((e) => Number(e.dataset.seconds)));
    const c = s.courses[i];
    expect(secs).toEqual([c.total, c.courseTime, c.activityTime, c.otherTime]);
  }
  await expect(page.locator('[data-testid="explain"] tbody tr')).toHaveCount(s.explain.length);
}

test('the learner page: the numbers are the API\'s', async ({ page }) => {
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Learners' }).click();
  await expect(page.getByRole('heading', { name: 'Learners' })).toBeVisible();
  await expect(page.locator('.results li').first()).toBeVisible();
  await accessible(page);
  await screenshot(page, 'learners');
  await page.getByLabel('Open learner by id').fill(server.learner);
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page).toHaveURL(new RegExp(`#/learner/${server.learner}$`));
  await settled(page);
  await checkLearner(page, server.siteToken);
  await accessible(page);
  await screenshot(page, 'learner');
});

test('a user:<id>:self token opens straight on its own learner page', async ({ page }) => {
  await signIn(page, server.learnerToken);
  await expect(page).toHaveURL(new RegExp(`#/learner/${server.learner}$`));
  await settled(page);
  await checkLearner(page, server.learnerToken);
  const nav = page.getByRole('navigation', { name: 'Pages' });
  await expect(nav.getByRole('link', { name: 'My time' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'Site' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Courses' })).toHaveCount(0);
  await accessible(page);
  await screenshot(page, 'learner-self');
});
