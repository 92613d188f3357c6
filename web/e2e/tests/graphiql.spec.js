import { test, expect, server, gql, signIn, accessible, screenshot } from './fixtures.js';

test('GraphiQL loads offline, runs a query with the signed-in token and shows the answer', async ({ page }) => {
  await signIn(page, server.siteToken);
  await expect(page).toHaveURL(/#\/site$/);
  await page.getByRole('link', { name: 'GraphiQL' }).click();
  await expect(page).toHaveURL(/\/graphiql$/);
  const run = page.getByRole('button', { name: /Execute query/ });
  await expect(run).toBeVisible();
  await expect(page.locator('.graphiql-query-editor')).toContainText('policies');

  const answer = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() || '').includes('activeUsers'));
  await run.click();
  const body = await (await answer).json();
  expect(body.errors).toBeUndefined();
  const direct = await gql(server.siteToken, `{ policies { name version } site { stats(range: { from: "2025-01-01" }) { users activeUsers total } } }`);
  expect(body.data).toEqual(direct);
  const response = page.locator('.graphiql-response');
  await expect(response).toContainText('"activeUsers"');
  await expect(response).toContainText(String(direct.site.stats.total));
  await accessible(page);
  await screenshot(page, 'graphiql');
});
