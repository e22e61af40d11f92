'use strict';
// Every console page, for every role, is free of axe violations. Each role signs in and
// follows every console link from its home (the way staff get anywhere), with work waiting
// so that the pages have something in them: demo contacts for the reports, a chat the
// practitioner has taken, a secure message and a callback request. Pages that differ only by
// a record's number are scanned twice at most.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { signedInStaff } = require('../lib/staff');

const PASSWORD = 'amber lantern meadow 52';
let servers;
let browser;

before(async () => {
  servers = await startServers({ extraConfig: '[helpline]\nopening_hours = ["mon-sun 00:00-24:00"]\n' });
  browser = await launchBrowser();
  execFileSync(
    servers.bin,
    ['demo', 'seed', '--config', servers.configPath, '--data-dir', servers.dataDir, '--year', String(new Date().getUTCFullYear()), '--area', 'E23000015', '--people', '40'],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

/** A help-seeker starts a chat, writes a secure message and asks for a callback. */
async function workArrives() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(servers.base);
  await page.getByRole('link', { name: 'Start a chat' }).first().click();
  await page.check('#statement');
  await page.click('form[action="/chat/start"] button[type=submit]');
  await page.waitForSelector('#chat-status');
  const msg = await browser.newContext();
  const m = await msg.newPage();
  await m.goto(`${servers.base}/contact/message`);
  await m.check('#statement');
  await m.fill('#message', 'bluepineapple: a first message for the console pages test');
  await m.click('form[action="/contact/message"] button[type=submit]');
  await m.waitForSelector('code');
  await m.goto(`${servers.base}/contact/callback`);
  await m.check('#statement');
  await m.fill('#phone', '07700 900456');
  await m.check('input[name^="window-"]');
  await m.click('form[action="/contact/callback"] button[type=submit]');
  await m.waitForLoadState('load');
  return [ctx, msg];
}

/** Console pages linked from `page` (paths), without sign-out forms' targets. */
async function consoleLinks(page) {
  const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
  const origin = new URL(servers.base).origin;
  return hrefs
    .map((h) => new URL(h))
    .filter((u) => u.origin === origin && u.pathname.startsWith('/console'))
    .map((u) => u.pathname + u.search);
}

/** Follows console links breadth-first from the home page and scans each page with axe. */
async function scanEveryPage(page, role) {
  const seen = new Set();
  const perShape = new Map();
  const queue = ['/console'];
  const failures = [];
  let scanned = 0;
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const shape = path.replace(/\d+/g, 'N');
    if ((perShape.get(shape) ?? 0) >= 2) continue;
    // Downloads (CSV) and printable documents are not console pages.
    const head = await page.request.get(servers.base + path);
    if (!(head.headers()['content-type'] ?? '').startsWith('text/html')) continue;
    perShape.set(shape, (perShape.get(shape) ?? 0) + 1);
    const resp = await page.goto(servers.base + path);
    assert.equal(resp.status(), 200, `${role}: ${path} answered ${resp.status()}`);
    const violations = await axeViolations(page);
    if (violations.length) failures.push(formatViolations(`${path} (${role})`, violations));
    scanned += 1;
    for (const next of await consoleLinks(page)) if (!seen.has(next)) queue.push(next);
  }
  return { scanned, failures };
}

test('every console page for every role has no axe violations', { timeout: 300_000 }, async () => {
  const contexts = await workArrives();
  const totals = [];
  const failures = [];
  for (const role of ['practitioner', 'supervisor', 'administrator', 'analyst']) {
    // An analyst is given an area, as the README says (`admin create --areas`).
    const extra = role === 'analyst' ? ['--areas', 'E23000015'] : [];
    const page = await signedInStaff(browser, servers, `axe-${role}`, role === 'administrator' ? 'admin' : role, PASSWORD, extra);
    if (role === 'practitioner') {
      // Take the chat, from the home page, so the chat page is among those linked.
      await page.click('#home-state button[type=submit]');
      await page.getByRole('link', { name: /chats? waiting in the queue/ }).click();
      await page.click('form[action$="/take"] button[type=submit]');
      await page.waitForURL(/\/console\/chats\/\d+$/);
      await page.goto(`${servers.base}/console`);
    }
    const r = await scanEveryPage(page, role);
    totals.push(`${role}: ${r.scanned}`);
    failures.push(...r.failures);
    await page.context().close();
  }
  for (const c of contexts) await c.close();
  console.log(`console pages scanned: ${totals.join(', ')}`);
  const count = (role) => Number(totals.find((t) => t.startsWith(role)).split(': ')[1]);
  assert.ok(count('practitioner') >= 10, totals.join(', '));
  assert.ok(count('administrator') >= 6, totals.join(', '));
  assert.ok(count('analyst') >= 3, totals.join(', '));
  if (failures.length) assert.fail(`axe found violations on ${failures.length} console page(s):\n${failures.join('\n')}`);
});
