// End-to-end tests of the web app in headless Chromium (Playwright through playwright-core,
// with the Debian chromium binary). Started by crates/cli/tests/cli/browser.rs against a
// real server holding the demo company; exits non-zero on the first failure.
//
// Environment: BASE (server URL), EMAIL and PASSWORD (an admin), CSM_EMAIL and
// LEADER_EMAIL (a CSM and a CS leader with the same password), PARTNER_EMAIL and PARTNER_PASSWORD (a partner user), FOREIGN_ACCOUNT (an
// account id outside that partner), SHOTS (folder for screenshots), CHROMIUM (default
// /usr/bin/chromium).

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
  await Promise.all([page.waitForURL(/\/today$/), page.getByRole('button', { name: /Log in|ログイン/ }).click()]);
}

// No horizontal overflow: the page is no wider than the viewport.
async function fits(page, name) {
  const { width, scroll } = await page.evaluate(() => ({ width: window.innerWidth, scroll: document.documentElement.scrollWidth }));
  check(scroll <= width, `${name} overflows: ${scroll} px wide in a ${width} px window`);
  const header = await page.evaluate(() => document.querySelector('header').getBoundingClientRect().height);
  check(header < 130, `${name}: the header is ${header} px tall`);
}

function isoDay(offsetDays) {
  const day = new Date(Date.now() + offsetDays * 86400000);
  return day.toISOString().slice(0, 10);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let planPath = '/plans';
try {
  // bypassCSP lets the test inject axe-core; the pages themselves run no inline script.
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();

  // Log in.
  await page.goto(`${BASE}/login`);
  await accessible(page, 'login');
  await shot(page, 'login');
  await login(page, env('EMAIL'), env('PASSWORD'));
  await page.goto(`${BASE}/portfolio`);
  await accessible(page, 'portfolio');
  await shot(page, 'portfolio');

  // Portfolio → filter → open an account.
  await page.locator('form.filters').getByLabel('Tier').selectOption('high');
  await Promise.all([page.waitForURL(/tier=high/), page.getByRole('button', { name: 'Filter' }).click()]);
  const tiers = await page.locator('tbody tr td.tier').allInnerTexts();
  check(tiers.length > 0 && tiers.every((t) => t.trim() === 'High touch'), `filtered rows: ${tiers}`);
  // Save the filter as a view; it is listed and reopens the same filter.
  await page.getByLabel('Save this view as').fill('High touch');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save view' }).click()]);
  const view = page.getByRole('navigation', { name: 'Saved views' }).getByRole('link', { name: 'High touch' });
  check(await view.count() === 1, 'the saved view is listed');
  check((await view.getAttribute('href')).includes('tier=high'), 'the saved view keeps the filter');
  const first = page.locator('tbody tr td a[href^="/accounts/"]').first();
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

  // Invite a partner user by the partner's external id; the first password is shown once.
  const invite = page.locator('[data-testid=invite]');
  const partnerEmail = `reseller${Date.now() % 100000}@ptn1.example`;
  await invite.getByLabel('Email').fill(partnerEmail);
  await invite.locator('input[name=name]').fill('Reseller One');
  await invite.locator('select[name=role]').selectOption('partner');
  await invite.locator('select[name=partner]').selectOption('PTN-1');
  await Promise.all([page.waitForLoadState('load'), invite.getByRole('button', { name: 'Invite someone' }).click()]);
  const firstPassword = (await page.locator('[data-testid=new-secret]').innerText()).trim();
  check(firstPassword.length >= 16, `a first password is shown: ${firstPassword.length} characters`);
  check((await page.locator('[data-testid=audit]').innerText()).includes(partnerEmail), 'the invitation is in the change log');
  // The audit trail: the task completed above is there, by this admin, with what changed;
  // filtered by kind of object; as CSV; readable on a phone.
  await Promise.all([page.waitForURL(/\/audit$/), page.locator('[data-testid=audit-link]').click()]);
  await page.locator('[data-testid=audit-filters] select[name=object]').selectOption('task');
  await Promise.all([page.waitForURL(/object=task/), page.locator('[data-testid=audit-filters] button[type=submit]').click()]);
  const completed = page.locator('[data-testid=audit-table] tr[data-object=task][data-action=update]', { hasText: 'done' }).first();
  check(await completed.count() === 1, 'the completed task is in the audit trail');
  check((await completed.innerText()).includes('status'), `the change names its field: ${await completed.innerText()}`);
  check(await page.locator('[data-testid=audit-table] tbody tr:not([data-object=task])').count() === 0, 'the filter keeps tasks only');
  check((await page.locator('[data-testid=audit-csv]').getAttribute('href')).includes('format=csv'), 'a CSV link');
  await accessible(page, 'audit');
  await page.setViewportSize({ width: 390, height: 844 });
  await fits(page, 'audit-390');
  await shot(page, 'audit-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${BASE}/settings`);

  const invited = await browser.newContext({ locale: 'en-US' });
  const invitedPage = await invited.newPage();
  await login(invitedPage, partnerEmail, firstPassword);
  await invitedPage.goto(`${BASE}/portfolio`);
  check(await invitedPage.locator('tbody tr').count() > 0, 'the invited partner user sees their partner\'s accounts');
  const foreignReply = await invitedPage.goto(`${BASE}/accounts/${env('FOREIGN_ACCOUNT')}`);
  check(foreignReply.status() === 404, `the invited partner user reached another partner's account: ${foreignReply.status()}`);
  await invited.close();

  // Switch to Japanese: Japanese labels, kept for the next pages.
  await page.goto(`${BASE}/portfolio`);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: '日本語' }).click()]);
  check(await page.locator('h1', { hasText: 'ポートフォリオ' }).count() === 1, 'Japanese portfolio heading');
  check(await page.getByRole('link', { name: 'マイタスク' }).count() === 1, 'Japanese menu');
  await accessible(page, 'portfolio (ja)');
  await shot(page, 'portfolio-ja');
  await page.locator('tbody tr td a[href^="/accounts/"]').first().click();
  await page.waitForURL(/\/accounts\/\d+$/);
  check(await page.getByRole('heading', { name: 'ヘルススコアの推移（26週）' }).count() === 1, 'Japanese account page');
  await shot(page, 'account-ja');
  await context.close();

  // The leader's desk: edit the default scorecard, backtest the draft beside the cards in
  // force, save it as a new version, see the history and put the earlier version back.
  const leader = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 }, bypassCSP: true });
  const desk = await leader.newPage();
  await login(desk, env('LEADER_EMAIL'), env('PASSWORD'));
  await desk.getByRole('link', { name: 'Health scorecards' }).first().click();
  await desk.waitForURL(/\/scorecards$/);
  const inForce = (await desk.locator('[data-testid=in-force]').innerText()).trim();
  check(/v1/.test(inForce), `the demo's learned card is version 1: ${inForce}`);
  const editor = desk.locator('[data-testid=card-editor]');
  await editor.getByLabel('Card name').fill('leader-draft');
  await editor.getByLabel('Measure 1', { exact: true }).selectOption('idle_days');
  await editor.getByLabel('Mapping 1', { exact: true }).selectOption('thresholds');
  await editor.getByLabel('Red at (scores 0) 1', { exact: true }).fill('21');
  await editor.getByLabel('Green at (scores 100) 1', { exact: true }).fill('1');
  await editor.getByLabel('Weight 1', { exact: true }).fill('2');
  await Promise.all([desk.waitForLoadState('load'), editor.getByRole('button', { name: 'Backtest the draft' }).click()]);
  const compared = desk.locator('[data-testid=draft-backtest]');
  check(await compared.count() === 1, 'the draft is backtested');
  const aucs = (await compared.locator('[data-testid=auc]').allInnerTexts()).map(Number);
  check(aucs.length === 2 && aucs.every((a) => a > 0.5 && a <= 1), `AUC of the cards in force and of the draft: ${aucs}`);
  check(await compared.locator('svg#calibration-chart').count() === 1, 'a calibration chart');
  check(await editor.getByLabel('Card name').inputValue() === 'leader-draft', 'the draft stays in the form');
  await accessible(desk, 'scorecard editor');
  await fits(desk, 'scorecard editor');
  await shot(desk, 'scorecards');
  await Promise.all([desk.waitForURL(/saved=2/), editor.getByRole('button', { name: 'Save as a new version' }).click()]);
  check((await desk.locator('[data-testid=in-force]').innerText()).includes('v2'), 'version 2 is in force');
  check((await desk.locator('[data-testid=in-force]').innerText()).includes('CS Leader'), 'who saved it');
  const versions = desk.locator('[data-testid=versions] tbody tr');
  check(await versions.count() === 2, 'two versions listed');
  check((await versions.first().innerText()).includes('leader-draft'), 'the newest first');
  await Promise.all([desk.waitForURL(/saved=3/), desk.getByRole('button', { name: 'Put back v1' }).click()]);
  check((await desk.locator('[data-testid=versions] tbody tr').first().innerText()).includes('suggested'), 'version 1 is back, saved as v3');
  // Playbooks: effect against the holdout from a year of history, a dry run of a changed
  // trigger listing the accounts that would have fired, saved as a new version.
  await desk.getByRole('link', { name: 'Playbooks' }).first().click();
  await desk.waitForURL(/\/playbooks$/);
  const uplifts = await desk.locator('[data-testid=playbook-list] [data-testid=uplift]').allInnerTexts();
  check(uplifts.some((u) => /^[+-]\d/.test(u)), `measured uplifts on the list: ${uplifts}`);
  await accessible(desk, 'playbooks');
  await desk.goto(`${BASE}/playbooks/renewal-90`);
  check(await desk.locator('[data-testid=effectiveness]').count() === 1, 'the playbook shows its effect');
  const playbookEditor = desk.locator('[data-testid=playbook-editor]');
  await playbookEditor.locator('input[name=trigger_days]').fill('100');
  await Promise.all([desk.waitForLoadState('load'), playbookEditor.getByRole('button', { name: 'Dry run on the past 90 days' }).click()]);
  const fired = await desk.locator('[data-testid=dry-run] tbody tr').count();
  check(fired > 0, `the dry run lists the accounts that would have fired: ${fired}`);
  check(await desk.locator('[data-testid=playbook-editor] input[name=trigger_days]').inputValue() === '100', 'the draft stays in the form');
  await accessible(desk, 'playbook dry run');
  await shot(desk, 'playbook');
  await Promise.all([desk.waitForURL(/\/playbooks\/renewal-90$/), desk.locator('[data-testid=playbook-editor]').getByRole('button', { name: 'Save as a new version' }).click()]);
  check(await desk.locator('[data-testid=playbook-versions] li').count() === 2, 'the saved change is version 2');

  // A segment saved with a health filter keeps it.
  await desk.goto(`${BASE}/portfolio`);
  await desk.locator('form.filters select[name=health]').selectOption('red');
  await Promise.all([desk.waitForURL(/health=red/), desk.getByRole('button', { name: 'Filter' }).click()]);
  await desk.getByLabel('Save this view as').fill('Red accounts');
  await Promise.all([desk.waitForLoadState('load'), desk.getByRole('button', { name: 'Save view' }).click()]);
  const redView = desk.getByRole('navigation', { name: 'Saved views' }).getByRole('link', { name: 'Red accounts' });
  check((await redView.getAttribute('href')).includes('health=red'), 'the saved segment keeps the health filter');

  // The team: workload per person by name, the task board overdue first.
  await desk.getByRole('link', { name: 'Team' }).first().click();
  await desk.waitForURL(/\/team$/);
  const people = await desk.locator('[data-testid=workload] tbody th').allInnerTexts();
  check(people.length >= 2 && people.every((p) => !p.includes('@')), `people by name: ${people}`);
  check((await desk.locator('[data-testid=effort-formula]').innerText()).includes('Effort ='), 'the effort formula');
  await accessible(desk, 'team');
  await shot(desk, 'team');
  // The forecast: the model card and accounts by churn risk, riskiest first.
  await desk.getByRole('link', { name: 'Churn forecast' }).first().click();
  await desk.waitForURL(/\/forecast$/);
  const validation = Number(await desk.locator('[data-testid=validation-auc]').innerText());
  check(validation > 0.5 && validation <= 1, `a validation AUC on the model card: ${validation}`);
  const risks = (await desk.locator('[data-testid=risk]').allInnerTexts()).map((t) => parseFloat(t));
  check(risks.length > 5 && risks.every((r, i) => i === 0 || risks[i - 1] >= r), `riskiest first: ${risks}`);
  await Promise.all([desk.waitForLoadState('load'), desk.getByRole('button', { name: 'Backtest on held-out dates' }).click()]);
  check(await desk.locator('[data-testid=forecast-backtest] [data-testid=auc]').count() === 2, 'the forecast beside the scorecards on held-out dates');
  await accessible(desk, 'forecast');
  await shot(desk, 'forecast');
  // Cohorts by the tier each account had when the year began: churn shows in every tier.
  await desk.goto(`${BASE}/dashboards`);
  await desk.getByRole('link', { name: 'Churn cohorts' }).click();
  await desk.waitForURL(/\/cohorts$/);
  const cohortRows = await desk.locator('[data-testid=cohorts] tbody tr').allInnerTexts();
  check(cohortRows.length >= 3, `cohorts by tier: ${cohortRows}`);
  await desk.getByLabel('Cohort by').selectOption('owner');
  await Promise.all([desk.waitForURL(/by=owner/), desk.getByRole('button', { name: 'Show' }).click()]);
  const owners = await desk.locator('[data-testid=cohorts] tbody th').allInnerTexts();
  check(owners.length >= 2 && owners.every((o) => !o.includes('@')), `cohorts by owner, by name: ${owners}`);
  check((await desk.locator('[data-testid=churn-equivalents]').innerText()).includes('a year'), 'the logo churn as a yearly rate');
  await desk.getByLabel('Days without events (activity churn)').fill('30');
  await Promise.all([desk.waitForURL(/activity_days=30/), desk.getByRole('button', { name: 'Show' }).click()]);
  const activity = await desk.locator('[data-testid=activity-churn]').innerText();
  check(activity.includes('30 days') && /Active at the start\s+\d+/.test(activity), `activity churn over 30 days: ${activity}`);
  await accessible(desk, 'cohorts');
  // The metric explorer: define a metric in the browser and see its proof.
  await desk.goto(`${BASE}/explore`);
  const define = desk.locator('[data-testid=define-metric]');
  await define.getByLabel('Name (a-z, 0-9, _)').fill('exports_28d');
  await define.locator('select[name=kind]').selectOption('count');
  await define.locator('select[name=event]').selectOption('Report Exported');
  await Promise.all([desk.waitForURL(/name=exports_28d/), define.getByRole('button', { name: 'Define and explore' }).click()]);
  check(await desk.locator('svg#distribution-chart').count() === 1, 'a distribution');
  check(await desk.locator('svg#trend-chart').count() === 1, 'a trend');
  const metricAuc = Number(await desk.locator('[data-testid=metric-auc]').innerText());
  check(metricAuc > 0.5 && metricAuc <= 1, `the metric's backtest AUC: ${metricAuc}`);
  await accessible(desk, 'metric explorer');
  await shot(desk, 'metrics');
  // A ratio of two defined metrics, from the same form.
  await desk.goto(`${BASE}/explore`);
  const defineRatio = desk.locator('[data-testid=define-metric]');
  await defineRatio.getByLabel('Name (a-z, 0-9, _)').fill('exports_per_user');
  await defineRatio.locator('select[name=kind]').selectOption('ratio');
  await defineRatio.locator('select[name=first]').selectOption('exports_28d');
  await defineRatio.locator('select[name=second]').selectOption('active-users-28d');
  await Promise.all([desk.waitForURL(/name=exports_per_user/), defineRatio.getByRole('button', { name: 'Define and explore' }).click()]);
  check((await desk.locator('[data-testid=exploration] h2').innerText()).startsWith('exports_per_user'), 'the ratio explored');
  await desk.goto(`${BASE}/explore?name=exports_28d`);
  // Renamed with its stored values, then deleted, from the same page.
  const change = desk.locator('[data-testid=change-metric]');
  await change.getByLabel('New name').fill('report_exports_28d');
  await Promise.all([desk.waitForURL(/name=report_exports_28d/), change.getByRole('button', { name: 'Rename' }).click()]);
  check((await desk.locator('[data-testid=exploration] h2').innerText()).startsWith('report_exports_28d'), 'the renamed metric explored');
  // A table of the metric for every account, as an observation dataset, downloaded.
  const tableForm = desk.locator('[data-testid=metric-table]');
  check(await tableForm.getByLabel('Metrics (comma-separated)').inputValue() === 'report_exports_28d', 'the table names the explored metric');
  await tableForm.getByLabel('Churn within (days)').fill('90');
  const [download] = await Promise.all([desk.waitForEvent('download'), tableForm.getByRole('button', { name: 'Download' }).click()]);
  const tableLines = fs.readFileSync(await download.path(), 'utf8').trim().split('\n');
  check(tableLines[0] === 'account_id,external_id,date,report_exports_28d,churned', `the table's header: ${tableLines[0]}`);
  check(tableLines.length > 100 && tableLines.slice(1).every((line) => /,[01]$/.test(line)), `labelled rows: ${tableLines.length}`);
  await Promise.all([desk.waitForURL(/\/explore$/), desk.locator('[data-testid=change-metric]').getByRole('button', { name: 'Delete' }).click()]);
  check(!(await desk.locator('body').innerText()).includes('report_exports_28d'), 'the deleted metric is gone');
  await desk.goto(`${BASE}/scorecards`);
  await Promise.all([desk.waitForLoadState('load'), desk.getByRole('button', { name: '日本語' }).click()]);
  check(await desk.locator('h1', { hasText: 'ヘルススコアカード' }).count() === 1, 'the editor in Japanese');
  await accessible(desk, 'scorecard editor (ja)');
  await shot(desk, 'scorecards-ja');
  // The customer journey: the funnel from the replayed history, stuck accounts in the
  // portfolio, and the leader's editor saving a new version.
  await desk.goto(`${BASE}/journey`);
  await Promise.all([desk.waitForLoadState('load'), desk.getByRole('button', { name: 'English' }).click()]);
  const funnelRows = desk.locator('[data-testid=journey-funnel] tbody tr');
  check(await funnelRows.count() === 6, `six stages in the funnel: ${await funnelRows.count()}`);
  const counts = (await desk.locator('[data-testid=journey-funnel] tbody tr td:nth-child(2)').allInnerTexts()).map(Number);
  check(counts.filter((n) => n > 0).length >= 4, `accounts in most stages: ${counts}`);
  const medians = await desk.locator('[data-testid=journey-funnel] tbody tr td:nth-child(4)').allInnerTexts();
  check(medians.some((m) => /^\d/.test(m)), `median days in stage from the history: ${medians}`);
  const rates = await desk.locator('[data-testid=journey-funnel] tbody tr td:nth-child(8)').allInnerTexts();
  check(rates.some((r) => r.endsWith('%')), `conversion to the next stage: ${rates}`);
  await accessible(desk, 'journey');
  await fits(desk, 'journey');
  await shot(desk, 'journey');
  const journeyEditor = desk.locator('[data-testid=journey-editor]');
  await journeyEditor.locator('input[name=target_0]').fill('５０');
  await Promise.all([desk.waitForURL(/saved=2/), journeyEditor.getByRole('button', { name: 'Save the journey' }).click()]);
  check((await desk.locator('[data-testid=journey-version]').innerText()).includes('v2'), 'the edited journey is version 2');
  check(await desk.locator('[data-testid=journey-editor] input[name=target_0]').inputValue() === '50', 'full-width digits read as 50');
  if (await desk.locator('[data-testid=stuck-accounts] tbody tr').count() > 0) {
    await Promise.all([desk.waitForURL(/journey=stuck/), desk.getByRole('link', { name: 'Open them in the portfolio' }).click()]);
    check(await desk.locator('tbody tr').count() > 0, 'the stuck accounts in the portfolio');
  }
  // The voice of the customer: NPS from the demo's answers, friction apart from delight.
  await desk.goto(`${BASE}/voice`);
  const nps = Number(await desk.locator('[data-testid=nps]').innerText());
  check(nps >= -100 && nps <= 100, `an NPS: ${nps}`);
  const months = await desk.locator('[data-testid=voice-months] tbody tr').count();
  check(months >= 6, `friction and delight month by month: ${months}`);
  check(await desk.locator('[data-testid=verbatims] [data-experience=friction]').count() > 0, 'friction among the verbatims');
  check(await desk.locator('[data-testid=verbatims] [data-experience=delight]').count() > 0, 'delight among the verbatims');
  await accessible(desk, 'voice');
  await shot(desk, 'voice');
  await leader.close();

  // A CSM's day: Today with reasons; log a touchpoint and snooze from it.
  const csm = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 }, bypassCSP: true });
  const csmPage = await csm.newPage();
  await login(csmPage, env('CSM_EMAIL'), env('PASSWORD'));
  check(await csmPage.locator('h1', { hasText: 'Today' }).count() === 1, 'Today is the home page');
  const items = csmPage.locator('[data-testid=today-item]');
  check(await items.count() >= 2, `a CSM has accounts that need attention: ${await items.count()}`);
  const reasons = await items.first().locator('ul.reasons li').allInnerTexts();
  check(reasons.length > 0 && reasons.every((r) => /\d|never/.test(r)), `reasons in words and numbers: ${reasons}`);
  await csmPage.locator('details.formula summary').click();
  check((await csmPage.locator('details.formula').innerText()).includes('priority ='), 'the formula is shown');
  await accessible(csmPage, 'today');
  await fits(csmPage, 'today');
  await shot(csmPage, 'today');
  const touched = items.first();
  const touchedHref = await touched.locator('a.account').getAttribute('href');
  await touched.locator('summary', { hasText: 'Log touchpoint' }).click();
  const note = `Called from Today ${Date.now()}`;
  await touched.getByLabel('Summary').fill(note);
  await Promise.all([csmPage.waitForURL(/\/today$/), touched.getByRole('button', { name: 'Log touchpoint' }).click()]);
  await csmPage.goto(`${BASE}${touchedHref}`);
  check((await csmPage.locator('ul.timeline').innerText()).includes(note), 'the touchpoint logged from Today is on the account');
  await csmPage.goto(`${BASE}/today`);
  const snoozed = csmPage.locator('[data-testid=today-item]').first();
  const snoozedName = (await snoozed.locator('a.account').innerText()).trim();
  await snoozed.locator('summary', { hasText: 'Snooze' }).click();
  await snoozed.getByLabel('Until').fill(isoDay(7));
  await snoozed.getByLabel('Reason').fill('Waiting for their budget meeting');
  await Promise.all([csmPage.waitForURL(/\/today$/), snoozed.getByRole('button', { name: 'Snooze' }).click()]);
  const snoozedList = await csmPage.locator('ul.snoozed').innerText();
  check(snoozedList.includes(snoozedName) && snoozedList.includes('Waiting for their budget meeting'), `snoozed with its reason: ${snoozedList}`);
  check(!(await csmPage.locator('[data-testid=today-item] a.account').allInnerTexts()).includes(snoozedName), 'a snoozed account leaves the list');

  // The portfolio sorted by health: lowest first, accounts without a score last.
  await csmPage.goto(`${BASE}/portfolio?sort=health`);
  const scores = (await csmPage.locator('td[data-testid=portfolio-health]').allInnerTexts())
    .map((t) => parseInt(t, 10)).filter((n) => !Number.isNaN(n));
  check(scores.length > 3 && scores.every((s, i) => i === 0 || scores[i - 1] <= s), `sorted by health: ${scores}`);
  await fits(csmPage, 'portfolio by health');

  // Customer 360: edit the account and a stakeholder in place.
  await csmPage.locator('tbody tr td a[href^="/accounts/"]').first().click();
  await csmPage.waitForURL(/\/accounts\/\d+$/);
  await csmPage.locator('summary', { hasText: 'Edit the account' }).click();
  await csmPage.locator('details.edit').getByLabel('Stage').selectOption('expansion');
  await Promise.all([csmPage.waitForLoadState('load'), csmPage.locator('details.edit').getByRole('button', { name: 'Save' }).click()]);
  check((await csmPage.locator('section.facts').innerText()).includes('Expansion'), 'the stage was edited in place');
  const stakeholder = csmPage.locator('[data-testid=stakeholders] tbody tr').first();
  await stakeholder.locator('summary', { hasText: 'Edit' }).click();
  const goal = `Close the books in two days ${Date.now() % 1000}`;
  await stakeholder.getByLabel('Personal success').fill(goal);
  await stakeholder.getByLabel('Influence').selectOption('high');
  await Promise.all([csmPage.waitForLoadState('load'), stakeholder.getByRole('button', { name: 'Save' }).click()]);
  check((await csmPage.locator('[data-testid=stakeholders]').innerText()).includes(goal), 'the stakeholder was edited in place');
  check(await csmPage.locator('[data-testid=product-users]').count() === 1, 'product users apart from stakeholders');
  await accessible(csmPage, 'customer 360 (csm)');

  // A success plan: the CSM starts one from a template in the customer's language, hands
  // over the first deliverable and shares the plan; the customer opens the link in
  // Japanese on a phone, accepts the deliverable and comments; the CSM sees both on the
  // account's timeline, and the milestone it gated has closed.
  const accountPath = new URL(csmPage.url()).pathname;
  const plans = csmPage.locator('#plans');
  await plans.locator('summary', { hasText: 'Start a success plan' }).click();
  await plans.locator('select[name=template]').selectOption('onboarding');
  await plans.locator('select[name=language]').selectOption('ja');
  await Promise.all([csmPage.waitForURL(/\/plans\/\d+$/), plans.getByRole('button', { name: 'Start a success plan' }).click()]);
  planPath = new URL(csmPage.url()).pathname;
  check((await csmPage.locator('h1').innerText()).includes('導入から初回の価値実現まで'), 'the plan is in the customer\'s language');
  check((await csmPage.locator('ol.milestones > li').count()) === 3, 'the template\'s three milestones');
  await accessible(csmPage, 'success plan');
  await fits(csmPage, 'success plan');
  await Promise.all([csmPage.waitForLoadState('load'), csmPage.getByRole('button', { name: 'Hand over' }).first().click()]);
  check((await csmPage.locator('ol.milestones').innerText()).includes('Waiting for the customer'), 'the deliverable was handed over');
  await Promise.all([csmPage.waitForLoadState('load'), csmPage.getByRole('button', { name: 'Make a link' }).click()]);
  const link = (await csmPage.locator('div.notice code').innerText()).trim();
  const sharedPath = link.slice(link.indexOf('/shared/plans/'));
  check(sharedPath.startsWith('/shared/plans/pl_'), `a shared link: ${link}`);
  await shot(csmPage, 'plan');
  const customer = await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 }, bypassCSP: true });
  const visitor = await customer.newPage();
  await visitor.goto(`${BASE}${sharedPath}`);
  check((await visitor.locator('html').getAttribute('lang')) === 'ja', 'the shared plan is in Japanese');
  check(await visitor.locator('header nav').count() === 0, 'no menu for the customer');
  await fits(visitor, 'shared plan (ja, 390)');
  await accessible(visitor, 'shared plan (ja, 390)');
  await visitor.locator('summary', { hasText: '確認する' }).first().click();
  await Promise.all([visitor.waitForLoadState('load'), visitor.getByRole('button', { name: /^承認する/ }).first().click()]);
  check((await visitor.locator('div.notice').innerText()).includes('ありがとうございます'), 'the customer is thanked');
  const said = `キックオフ資料を確認しました ${Date.now() % 1000}`;
  await visitor.getByLabel('コメント').fill(said);
  await Promise.all([visitor.waitForLoadState('load'), visitor.getByRole('button', { name: 'コメントする' }).click()]);
  check((await visitor.locator('ul.timeline').innerText()).includes(said), 'the comment is on the shared plan');
  check((await visitor.locator('ol.milestones').innerText()).includes('完了'), 'the milestone closed for the customer too');
  await shot(visitor, 'shared-plan-ja-390');
  await customer.close();
  await csmPage.goto(`${BASE}${accountPath}`);
  const timeline = await csmPage.locator('[data-testid=timeline]').innerText();
  check(timeline.includes('Deliverable accepted') && timeline.includes(said), `the customer's actions on the timeline: ${timeline.slice(0, 400)}`);
  await csmPage.goto(`${BASE}${planPath}`);
  const kickoff = csmPage.locator('ol.milestones > li').first();
  check((await kickoff.innerText()).includes('Closed'), 'the milestone closed when its deliverable was accepted');
  // A stage set by hand: the journey card shows it with the day it was entered.
  await csmPage.goto(`${BASE}${accountPath}`);
  const journeyCard = csmPage.locator('[data-testid=journey-card]');
  const before = await journeyCard.locator('p').first().innerText();
  const [target, label] = before.includes('Advocacy') ? ['expansion', 'Expansion'] : ['advocacy', 'Advocacy'];
  await journeyCard.getByText('Move to another stage').click();
  await journeyCard.locator('select[name=stage]').selectOption(target);
  await Promise.all([csmPage.waitForLoadState('load'), journeyCard.getByRole('button', { name: 'Move' }).click()]);
  const now = await csmPage.locator('[data-testid=journey-card] p').first().innerText();
  check(now.includes(label) && now.includes('0 days'), `the account moved by hand: ${now}`);
  check((await csmPage.locator('[data-testid=journey-card] tbody tr').first().innerText()).includes(label), 'the latest stay first');
  await csm.close();

  // A contact answers the NPS survey emailed to them (received by a real SMTP listener), in
  // Japanese on a phone; the answer shows on Customer 360, the comment becomes a feedback
  // item classed as friction, and the detractor playbook starts.
  const respondent = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 }, bypassCSP: true });
  const form = await respondent.newPage();
  await form.goto(env('SURVEY_URL'));
  check((await form.locator('html').getAttribute('lang')) === 'ja', 'the survey is in Japanese');
  check(await form.locator('header nav').count() === 0, 'no menu for the respondent');
  await fits(form, 'survey (ja, 390)');
  await accessible(form, 'survey (ja, 390)');
  await form.getByLabel('3', { exact: true }).check();
  const comment = `レポートのCSV出力が遅くて困っています ${Date.now() % 1000}`;
  await form.locator('textarea[name=comment]').fill(comment);
  await Promise.all([form.waitForLoadState('load'), form.locator('[data-testid=survey-submit]').click()]);
  check((await form.locator('[data-testid=survey-notice]').innerText()).includes('ありがとうございました'), 'the respondent is thanked');
  check(await form.getByLabel('3', { exact: true }).isChecked(), 'the answer can be changed for a while');
  await shot(form, 'survey-ja-390');
  const forged = await form.goto(`${env('SURVEY_URL')}x`);
  check(forged.status() === 404, `a forged link: HTTP ${forged.status()}`);
  await respondent.close();

  const lead = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 }, bypassCSP: true });
  const leadPage = await lead.newPage();
  await login(leadPage, env('LEADER_EMAIL'), env('PASSWORD'));
  const surveyed = `${BASE}/accounts/${env('SURVEY_ACCOUNT')}`;
  await leadPage.goto(surveyed);
  check((await leadPage.locator('[data-testid=survey-answers] tbody tr').first().innerText()).includes('NPS'), 'the answer is on Customer 360');
  const item = leadPage.locator('[data-testid=account-feedback-item]', { hasText: comment });
  check(await item.count() === 1, 'the comment is a feedback item');
  check(await item.locator('[data-experience=friction]').count() === 1, 'classed as friction');
  let started = false;
  for (let i = 0; i < 40 && !started; i++) {
    await leadPage.goto(surveyed);
    const runs = leadPage.locator('[data-testid=runs]');
    started = (await runs.count()) > 0 && (await runs.innerText()).includes('detractor-recovery');
    if (!started) await leadPage.waitForTimeout(250);
  }
  check(started, 'the detractor playbook started');
  const answerRow = leadPage.locator('[data-testid=survey-answers] tbody tr').first();
  await answerRow.locator('summary').click();
  await answerRow.locator('select[name=experience]').selectOption('neutral');
  await Promise.all([leadPage.waitForLoadState('load'), answerRow.getByRole('button', { name: 'Set class' }).click()]);
  check(await leadPage.locator('[data-testid=survey-answers] tbody tr').first().locator('[data-experience=neutral]').count() === 1, "a person's class of an answer wins");
  // Product managers' ranked requests; shipping one closes the loop.
  await leadPage.goto(`${BASE}/requests`);
  check(await leadPage.locator('[data-testid=requests] tbody tr').count() > 5, 'requests are ranked');
  const reviewing = leadPage.locator('[data-testid=requests] tbody tr', { hasText: 'Under review' }).first();
  const requestHref = await reviewing.locator('a').first().getAttribute('href');
  await leadPage.goto(`${BASE}${requestHref}`);
  check(await leadPage.locator('[data-testid=requesters] tbody tr').count() > 0, 'requesting accounts with ARR');
  await leadPage.locator('[data-testid=request-form] select[name=status]').selectOption('shipped');
  await leadPage.locator('[data-testid=request-form] input[name=issue_url]').fill('https://github.com/mikawaya-demo/product/issues/999');
  await Promise.all([leadPage.waitForLoadState('load'), leadPage.locator('[data-testid=request-form] button[type=submit]').click()]);
  check(await leadPage.locator('[data-testid=loop-closed]').count() === 1, 'the requesters are told: the loop is closed');
  await shot(leadPage, 'request');
  // The feedback inbox: a suggested request confirmed.
  await leadPage.goto(`${BASE}/feedback`);
  const confirm = leadPage.locator('[data-testid=confirm-suggestion]').first();
  check(await confirm.count() === 1, 'the inbox suggests requests');
  const confirmed = await leadPage.locator('[data-testid=feedback-item]', { has: confirm }).first().getAttribute('data-item');
  await Promise.all([leadPage.waitForLoadState('load'), confirm.click()]);
  check(await leadPage.locator(`[data-testid=feedback-item][data-item="${confirmed}"]`).count() === 0, 'a confirmed item leaves the inbox');
  // A leader defines a survey with a custom question.
  await leadPage.goto(`${BASE}/surveys`);
  await leadPage.locator('summary', { hasText: 'New survey' }).click();
  const surveyEditor = leadPage.locator('[data-testid=survey-editor]').last();
  await surveyEditor.locator('input[name=name]').fill('onboarding-pulse');
  await surveyEditor.locator('select[name=kind]').selectOption('csat');
  await surveyEditor.locator('input[name=title_en]').fill('How was your onboarding?');
  await surveyEditor.locator('input[name=title_ja]').fill('オンボーディングはいかがでしたか');
  await surveyEditor.locator('input[name=question_en]').fill('How satisfied are you?');
  await surveyEditor.locator('textarea[name=questions]').fill('role | choice | Your role | ご担当 | Admin/管理者, User/利用者');
  await Promise.all([leadPage.waitForLoadState('load'), surveyEditor.getByRole('button', { name: 'Save' }).click()]);
  check((await leadPage.locator('[data-testid=surveys]').innerText()).includes('onboarding-pulse'), 'the new survey is listed');
  // The keyword lists are the leader's to edit.
  await leadPage.goto(`${BASE}/voice`);
  check(await leadPage.locator('[data-testid=keywords-form]').count() === 1, 'the keyword editor');
  await lead.close();

  // Every page, in both languages, at 390 and 1440 px: nothing overflows, the menu
  // collapses on a phone, chart labels stay legible, axe passes.
  for (const [locale, width] of [['ja-JP', 390], ['en-US', 390], ['ja-JP', 1440]]) {
    const lang = locale.slice(0, 2);
    const context = await browser.newContext({ locale, viewport: { width, height: 844 }, bypassCSP: true });
    const phone = await context.newPage();
    await login(phone, env('CSM_EMAIL'), env('PASSWORD'));
    if (width < 500) {
      check(await phone.locator('details.menu summary').isVisible(), 'the menu collapses');
      check(!(await phone.locator('nav.wide').isVisible()), 'the wide menu is hidden');
    }
    const accountLink = await phone.locator('[data-testid=today-item] a.account').first().getAttribute('href');
    for (const [path, page] of [['/today', 'today'], ['/portfolio', 'portfolio'], [accountLink, 'account'],
      ['/tasks', 'tasks'], ['/plans', 'plans'], [planPath, 'plan'], ['/journey', 'journey'], ['/voice', 'voice'], ['/feedback', 'feedback'], ['/requests', 'requests'], ['/surveys', 'surveys'], ['/dashboards', 'dashboards'], ['/team', 'team'], ['/scorecards', 'scorecards'], ['/forecast', 'forecast'], ['/cohorts', 'cohorts'], ['/explore?name=activity', 'explore'], ['/playbooks', 'playbooks'], ['/playbooks/renewal-90', 'playbook'], ['/settings', 'settings']]) {
      const name = `${page}-${lang}-${width}`;
      await phone.goto(`${BASE}${path}`);
      check((await phone.locator('html').getAttribute('lang')) === lang, `${name} is in its language`);
      await fits(phone, name);
      const labels = await phone.evaluate(() => [...document.querySelectorAll('figure.chart svg text')]
        .map((t) => t.getBoundingClientRect().height).filter((h) => h > 0));
      check(labels.every((h) => h >= 9), `${name}: chart labels ${Math.min(...labels)} px tall`);
      await accessible(phone, name);
      if (lang === 'ja' && width === 390) await shot(phone, `${page}-ja-390`);
    }
    if (width < 500) {
      await phone.locator('details.menu summary').click();
      await Promise.all([phone.waitForURL(/\/portfolio$/), phone.locator('details.menu nav a[href="/portfolio"]').click()]);
    }
    await context.close();
  }

  // A CSM imports a CRM export from the web app on a phone, in Japanese: a wrong row is
  // named by line and column and nothing is imported; the fixed file goes in.
  const importer = await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 }, bypassCSP: true });
  const importPage = await importer.newPage();
  await login(importPage, env('CSM_EMAIL'), env('PASSWORD'));
  await importPage.goto(`${BASE}/settings`);
  await Promise.all([importPage.waitForURL(/\/import$/), importPage.locator('[data-testid=import-link]').click()]);
  await accessible(importPage, 'import');
  await fits(importPage, 'import');
  const crm = (amount) => Buffer.from(`顧客コード,会社名,月額\r\nWEB-1,ウェブ取込株式会社,"￥70,000"\r\nWEB-2,二番目商事,${amount}\r\n`);
  await importPage.locator('select[name=kind]').selectOption('accounts');
  await importPage.locator('input[name=file]').setInputFiles({ name: 'crm.csv', mimeType: 'text/csv', buffer: crm('abc') });
  await importPage.locator('summary').filter({ hasText: '列と値の対応づけ' }).click();
  await importPage.locator('textarea[name=map]').fill('会社名=name\n月額=mrr');
  await importPage.locator('input[name=currency]').fill('JPY');
  await Promise.all([importPage.waitForLoadState('load'), importPage.getByRole('button', { name: '取り込む' }).click()]);
  const refusedText = await importPage.locator('[data-testid=import-refused]').innerText();
  check(refusedText.includes('何も取り込んでいません') && /\b3\b/.test(refusedText) && refusedText.includes('月額')
    && refusedText.includes("'abc' は金額ではありません"),
    `the wrong row by line and column: ${refusedText}`);
  await fits(importPage, 'import refused');
  await shot(importPage, 'import-refused-ja-390');
  check((await (await importPage.request.get(`${BASE}/api/v1/accounts?external_id=WEB-1`)).json()).data.length === 0,
    'nothing was imported');
  await importPage.locator('input[name=file]').setInputFiles({ name: 'crm.csv', mimeType: 'text/csv', buffer: crm('"50,000"') });
  await Promise.all([importPage.waitForLoadState('load'), importPage.getByRole('button', { name: '取り込む' }).click()]);
  const doneText = await importPage.locator('[data-testid=import-done]').innerText();
  check(doneText.includes('2 行') && doneText.includes('2 件を新規作成'), `imported: ${doneText}`);
  const webAccount = (await (await importPage.request.get(`${BASE}/api/v1/accounts?external_id=WEB-1`)).json()).data[0];
  check(webAccount && webAccount.name === 'ウェブ取込株式会社' && webAccount.mrr === 70000 && webAccount.currency === 'JPY',
    `the account as imported: ${JSON.stringify(webAccount)}`);
  await importer.close();

  // Single sign-on through a real OpenID provider (npm's oidc-provider): a person the
  // provider puts in mikawaya-admins lands as an admin (provisioned on first sign-in),
  // makes a change, and finds it on the audit trail under their name.
  const sso = await browser.newContext({ locale: 'en-US' });
  // The provider's development pages ask Google for a font: there is no internet here.
  await sso.route(/fonts\.googleapis\.com/, (route) => route.abort());
  const ssoPage = await sso.newPage();
  await ssoPage.goto(`${BASE}/login`);
  await Promise.all([ssoPage.waitForURL(/\/interaction\//), ssoPage.locator('[data-testid=sso-login]').click()]);
  await ssoPage.locator('input[name=login]').fill('sso.admin@mikawaya.example');
  await ssoPage.locator('input[name=password]').fill('any password the provider accepts');
  await Promise.all([ssoPage.waitForLoadState('load'), ssoPage.locator('button[type=submit]').click()]);
  if (ssoPage.url().includes('/interaction/')) {
    await Promise.all([ssoPage.waitForURL(/\/today$/), ssoPage.locator('button[type=submit]').click()]);
  }
  check(ssoPage.url().endsWith('/today'), `single sign-on lands on Today: ${ssoPage.url()}`);
  const me = await (await ssoPage.request.get(`${BASE}/api/v1/me`)).json();
  check(me.role === 'admin' && me.user.email === 'sso.admin@mikawaya.example', `signed in as ${JSON.stringify(me)}`);
  await ssoPage.goto(`${BASE}/portfolio`);
  const ssoAccount = await ssoPage.locator('tbody a[href^="/accounts/"]').first().getAttribute('href');
  await ssoPage.goto(`${BASE}${ssoAccount}`);
  const ssoTask = `Single sign-on task ${Date.now()}`;
  await ssoPage.getByLabel('New task').fill(ssoTask);
  await Promise.all([ssoPage.waitForLoadState('load'), ssoPage.getByRole('button', { name: 'Add task' }).click()]);
  await ssoPage.goto(`${BASE}/audit?object=task`);
  const ssoRow = ssoPage.locator('[data-testid=audit-table] tr[data-action=create]', { hasText: ssoTask }).first();
  check(await ssoRow.count() === 1, 'the task made after single sign-on is on the audit trail');
  check((await ssoRow.innerText()).includes('SSO sso.admin'), `by the signed-in person: ${await ssoRow.innerText()}`);
  await shot(ssoPage, 'audit-sso');
  await sso.close();
  // A second person in cs-leaders is a leader; a forged callback signs nobody in.
  const lead2 = await browser.newContext({ locale: 'ja-JP' });
  await lead2.route(/fonts\.googleapis\.com/, (route) => route.abort());
  const lead2Page = await lead2.newPage();
  await lead2Page.goto(`${BASE}/login/sso`);
  await lead2Page.locator('input[name=login]').fill('sso.lead@mikawaya.example');
  await lead2Page.locator('input[name=password]').fill('any');
  await Promise.all([lead2Page.waitForLoadState('load'), lead2Page.locator('button[type=submit]').click()]);
  if (lead2Page.url().includes('/interaction/')) {
    await Promise.all([lead2Page.waitForURL(/\/today$/), lead2Page.locator('button[type=submit]').click()]);
  }
  const lead2Me = await (await lead2Page.request.get(`${BASE}/api/v1/me`)).json();
  check(lead2Me.role === 'leader', `a cs-leaders member is a leader: ${JSON.stringify(lead2Me)}`);
  await lead2.close();
  const forgedSso = await browser.newContext({ locale: 'en-US' });
  const forgedPage = await forgedSso.newPage();
  const forgedReply = await forgedPage.goto(`${BASE}/login/sso/callback?code=stolen&state=guessed`);
  check(forgedReply.status() === 401, `a forged callback: HTTP ${forgedReply.status()}`);
  check((await (await forgedPage.request.get(`${BASE}/api/v1/me`)).status()) === 401, 'nobody is signed in by a forged callback');
  await forgedSso.close();

  // A partner user cannot reach another partner's account by URL.
  const partner = await browser.newContext({ locale: 'en-US' });
  const partnerPage = await partner.newPage();
  await login(partnerPage, env('PARTNER_EMAIL'), env('PARTNER_PASSWORD'));
  const response = await partnerPage.goto(`${BASE}/accounts/${env('FOREIGN_ACCOUNT')}`);
  check(response.status() === 404, `a partner reached a foreign account: HTTP ${response.status()}`);
  check((await partnerPage.content()).includes('Page not found.'), 'the not-found page');
  const own = await partnerPage.locator('tbody tr td a[href^="/accounts/"]').count();
  await partnerPage.goto(`${BASE}/portfolio`);
  check(await partnerPage.locator('tbody tr').count() > 0, 'the partner sees their own accounts');
  check(own === 0, 'the 404 page lists no accounts');
  await shot(partnerPage, 'partner-404');
  await partner.close();
  console.log('browser tests passed');
} finally {
  await browser.close();
}
