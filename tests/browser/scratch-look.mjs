import { chromium } from 'playwright-core';
const BASE = process.env.BASE;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
for (const [w, lang] of [[1440, 'en'], [390, 'ja']]) {
  const ctx = await browser.newContext({ viewport: { width: w, height: 900 }, locale: lang === 'ja' ? 'ja-JP' : 'en-US' });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel(/Email|メールアドレス/).fill(process.env.EMAIL);
  await page.getByLabel(/Password|パスワード/).fill('mikawaya-demo');
  await Promise.all([page.waitForURL(/\/today/), page.getByRole('button', { name: /Log in|ログイン/ }).click()]);
  await page.screenshot({ path: `/tmp/shots/today-${w}.png`, fullPage: true });
  const first = page.locator('li.item a.account').first();
  if (await first.count()) { await first.click(); await page.waitForURL(/accounts/); }
  await page.screenshot({ path: `/tmp/shots/account-${w}.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(w, 'account scrollWidth', overflow);
  await page.goto(`${BASE}/portfolio?sort=health`);
  await page.screenshot({ path: `/tmp/shots/portfolio-${w}.png`, fullPage: true });
  console.log(w, 'portfolio scrollWidth', await page.evaluate(() => document.documentElement.scrollWidth));
  await ctx.close();
}
await browser.close();
