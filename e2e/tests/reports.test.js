'use strict';
// The analyst dashboard in a real browser: synthetic data seeded with the CLI, the report
// filtered by quarter and by dimension, scanned with axe; the inline SVG charts render under
// the real Content-Security-Policy without a violation, carry a name, and print (the filters
// and navigation are hidden in print, the charts and tables stay).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { signedInStaff } = require('../lib/staff');

const PASSWORD = 'violet kettle harbour 71';
let servers;
let browser;

before(async () => {
  servers = await startServers();
  browser = await launchBrowser();
  execFileSync(
    servers.bin,
    ['demo', 'seed', '--config', servers.configPath, '--data-dir', servers.dataDir,
      '--year', '2025', '--area', 'E23000015', '--people', '400'],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

test('the dashboard with charts passes axe, keeps the CSP and prints', { timeout: 120_000 }, async () => {
  const page = await signedInStaff(browser, servers, 'sam', 'supervisor', PASSWORD);
  const url = `${servers.base}/console/reports?area=E23000015&period=quarter&year=2025&quarter=2`;
  // Reached from the console's menu, with the filters as a person uses them: only the
  // chosen period's fields are shown.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Reports' }).click();
  await page.waitForURL(/\/console\/reports$/);
  assert.ok(await page.locator('#r-month').isHidden() && await page.locator('#r-quarter').isHidden(), 'month and quarter shown for a calendar year');
  await page.selectOption('#r-area', 'E23000015');
  await page.selectOption('#r-period', 'quarter');
  assert.ok(await page.locator('#r-quarter').isVisible() && await page.locator('#r-month').isHidden());
  await page.fill('#r-year', '2025');
  await page.selectOption('#r-quarter', '2');
  await page.click('.report-filters button[type=submit]');
  await page.waitForURL(/period=quarter/);
  assert.match(await page.locator('#headline').textContent(), /April to June 2025/);
  await page.goto(url);
  assert.match(await page.locator('#headline').textContent(), /April to June 2025/);
  let violations = await axeViolations(page);
  assert.equal(violations.length, 0, formatViolations(page.url(), violations));
  await page.goto(`${url}&dimension=channel-who-age`);
  violations = await axeViolations(page);
  assert.equal(violations.length, 0, formatViolations(page.url(), violations));

  // The same page with the CSP enforced: no violation reported, the charts drawn.
  const ctx = await browser.newContext({ storageState: await page.context().storageState() });
  const strict = await ctx.newPage();
  const refused = [];
  strict.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  await strict.goto(url);
  const charts = strict.locator('svg.chart[role=img]');
  assert.equal(await charts.count(), 2);
  for (const i of [0, 1]) {
    const box = await charts.nth(i).boundingBox();
    assert.ok(box && box.width > 200 && box.height > 80, `chart ${i} is drawn`);
    const name = await charts.nth(i).evaluate((el) => el.querySelector('title').textContent);
    assert.match(name, /Staffordshire, April to June 2025/);
  }
  assert.ok(await strict.locator('#monthly tbody tr').count() === 3, 'three months in the table');
  assert.deepEqual(refused, []);

  // Printable: filters and navigation hidden, charts and tables kept.
  await strict.emulateMedia({ media: 'print' });
  assert.equal(await strict.locator('form.report-filters').isVisible(), false);
  assert.equal(await strict.locator('.console-header').isVisible(), false);
  assert.equal(await charts.first().isVisible(), true);
  assert.equal(await strict.locator('#monthly').isVisible(), true);
  const pdf = await strict.pdf({ format: 'A4' });
  assert.ok(pdf.length > 10_000, 'a PDF came out');
  await ctx.close();
});
