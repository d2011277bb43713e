// End-to-end tests of the web app in headless Chromium (Playwright through playwright-core,
// with the Debian chromium binary). Started by crates/cli/tests/cli/browser.rs against a
// real server holding the demo company; exits non-zero on the first failure.
//
// Environment: BASE (server URL), EMAIL and PASSWORD (an admin), PARTNER_EMAIL and
// PARTNER_PASSWORD (a partner user), FOREIGN_ACCOUNT (an account id outside that
// partner), SHOTS (folder for screenshots), CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env('BASE');
const SHOTS = env('SHOTS');
fs.mkdirSync(SHOTS, { recursive: true });
const axeSource = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// axe-core in the page: no serious or critical WCAG 2 A/AA violation.
async function accessible(page, name) {
  await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const detail = bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  check(bad.length === 0, `${name} has accessibility violations:\n  ${detail.join('\n  ')}`);
  console.log(`axe: ${name} ok (${results.passes.length} rules pass)`);
}

async function login(page, email, password) {
  await page.goto(`${BASE}/portfolio`);
  check(page.url().endsWith('/login'), `not sent to the login page: ${page.url()}`);
  await page.getByLabel(/Email|メールアドレス/).fill(email);
  await page.getByLabel(/Password|パスワード/).fill(password);
  await Promise.all([page.waitForURL(/\/portfolio$/), page.getByRole('button', { name: /Log in|ログイン/ }).click()]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  // bypassCSP lets the test inject axe-core; the pages themselves run no inline script.
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();

  // Log in.
  await page.goto(`${BASE}/login`);
  await accessible(page, 'login');
  await shot(page, 'login');
  await login(page, env('EMAIL'), env('PASSWORD'));
  await accessible(page, 'portfolio');
  await shot(page, 'portfolio');

  // Portfolio → filter → open an account.
  await page.getByLabel('Tier').selectOption('high');
  await Promise.all([page.waitForURL(/tier=high/), page.getByRole('button', { name: 'Filter' }).click()]);
  const tiers = await page.locator('tbody tr td:nth-child(7)').allInnerTexts();
  check(tiers.length > 0 && tiers.every((t) => t.trim() === 'High touch'), `filtered rows: ${tiers}`);
  // Save the filter as a view; it is listed and reopens the same filter.
  await page.getByLabel('Save this view as').fill('High touch');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save view' }).click()]);
  const view = page.getByRole('navigation', { name: 'Saved views' }).getByRole('link', { name: 'High touch' });
  check(await view.count() === 1, 'the saved view is listed');
  check((await view.getAttribute('href')).includes('tier=high'), 'the saved view keeps the filter');
  const first = page.locator('tbody tr td:first-child a').first();
  const name = (await first.innerText()).trim();
  await Promise.all([page.waitForURL(/\/accounts\/\d+$/), first.click()]);
  check((await page.locator('h1').innerText()).trim() === name, 'the account page shows the account');

  // Its health chart.
  const chart = page.locator('svg#health-chart');
  check(await chart.count() === 1, 'a health chart');
  check(await chart.locator('polyline').count() === 1, 'the health chart has a line');
  check(await page.locator('[data-testid=health-score]').count() === 1, 'a health score');
  check(await page.locator('svg#mrr-chart polyline').count() === 1, 'an MRR timeline');
  await accessible(page, 'customer 360');
  await shot(page, 'account');

  // Usage of one event.
  await page.getByLabel('Event').selectOption('Report Created');
  await Promise.all([page.waitForURL(/event=Report/), page.getByRole('button', { name: 'Show' }).click()]);
  check(await page.locator('svg#usage-chart').count() === 1, 'a usage chart for one event');

  // Create a task and complete it.
  const title = `Browser test task ${Date.now()}`;
  await page.getByLabel('New task').fill(title);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Add task' }).click()]);
  const row = page.locator('tr', { hasText: title });
  check(await row.count() === 1, 'the new task is listed');
  await row.getByLabel('Outcome').fill('Called; renewal confirmed');
  await Promise.all([page.waitForLoadState('load'), row.getByRole('button', { name: 'Complete' }).click()]);
  const done = page.locator('tr', { hasText: title });
  check((await done.innerText()).includes('Done: Called; renewal confirmed'), `task completed: ${await done.innerText()}`);
  await page.goto(`${BASE}/tasks`);
  await accessible(page, 'my tasks');
  await shot(page, 'tasks');

  // Dashboards: every chart present, with its numbers.
  await page.getByRole('link', { name: 'Dashboards' }).click();
  await page.waitForURL(/\/dashboards$/);
  for (const id of ['health-distribution', 'retention-chart', 'health-cohorts']) {
    check(await page.locator(`svg#${id}`).count() === 1, `dashboard chart ${id}`);
  }
  check((await page.locator('[data-testid=arr-at-risk]').innerText()).startsWith('$'), 'ARR at risk in dollars');
  const book = page.locator('section', { has: page.getByRole('heading', { name: 'Book of business per CSM' }) });
  check(await book.locator('tbody tr').count() > 0, 'a book of business per CSM');
  await accessible(page, 'dashboards');
  await shot(page, 'dashboards');

  // Settings: create an API token; its secret is shown once.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.waitForURL(/\/settings$/);
  await page.getByLabel('Token name').fill('browser test');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create token' }).click()]);
  check((await page.locator('[data-testid=new-secret]').innerText()).startsWith('mkw_'), 'a new token is shown');
  await accessible(page, 'settings');
  await shot(page, 'settings');

  // Switch to Japanese: Japanese labels, kept for the next pages.
  await page.goto(`${BASE}/portfolio`);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: '日本語' }).click()]);
  check(await page.locator('h1', { hasText: 'ポートフォリオ' }).count() === 1, 'Japanese portfolio heading');
  check(await page.getByRole('link', { name: 'マイタスク' }).count() === 1, 'Japanese menu');
  await accessible(page, 'portfolio (ja)');
  await shot(page, 'portfolio-ja');
  await page.locator('tbody tr td:first-child a').first().click();
  await page.waitForURL(/\/accounts\/\d+$/);
  check(await page.getByRole('heading', { name: 'ヘルススコアの推移（26週）' }).count() === 1, 'Japanese account page');
  await shot(page, 'account-ja');
  await context.close();

  // A partner user cannot reach another partner's account by URL.
  const partner = await browser.newContext({ locale: 'en-US' });
  const partnerPage = await partner.newPage();
  await login(partnerPage, env('PARTNER_EMAIL'), env('PARTNER_PASSWORD'));
  const response = await partnerPage.goto(`${BASE}/accounts/${env('FOREIGN_ACCOUNT')}`);
  check(response.status() === 404, `a partner reached a foreign account: HTTP ${response.status()}`);
  check((await partnerPage.content()).includes('Page not found.'), 'the not-found page');
  const own = await partnerPage.locator('tbody tr td:first-child a').count();
  await partnerPage.goto(`${BASE}/portfolio`);
  check(await partnerPage.locator('tbody tr').count() > 0, 'the partner sees their own accounts');
  check(own === 0, 'the 404 page lists no accounts');
  await shot(partnerPage, 'partner-404');
  await partner.close();
  console.log('browser tests passed');
} finally {
  await browser.close();
}
