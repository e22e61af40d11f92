'use strict';
// The practitioner console in a real browser: the first administrator is created with the
// CLI, enrols (TOTP computed here, like an authenticator app), signs in, invites a
// practitioner and a supervisor; the practitioner logs a contact and raises a concern, and
// the supervisor decides it. Every console page met on the way is scanned with axe.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { totp, nextStep } = require('../lib/totp');

const PASSWORD = 'violet kettle harbour 71';
let servers;
let browser;
const scanned = new Map();

before(async () => {
  servers = await startServers();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

async function scan(page, name) {
  const violations = await axeViolations(page);
  scanned.set(name, violations);
  assert.equal(violations.length, 0, formatViolations(page.url(), violations));
}

/** Enrols through a one-time link; returns the TOTP secret. */
async function enrol(page, link, name) {
  const path = link.slice(link.indexOf('/console/'));
  await page.goto(servers.base + path);
  await scan(page, `enrol (${name})`);
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  await page.fill('#password', PASSWORD);
  await page.fill('#password_again', PASSWORD);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForSelector('#recovery-codes');
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await scan(page, `recovery codes (${name})`);
  return secret;
}

async function signIn(page, username, secret) {
  await page.goto(`${servers.base}/console/sign-in`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(`${servers.base}/console`);
}

test('invite → enrol → sign in → raise a concern → a second account decides', { timeout: 150_000 }, async () => {
  const out = execFileSync(
    servers.bin,
    ['admin', 'create', '--config', servers.configPath, '--data-dir', servers.dataDir, '--username', 'ada', '--role', 'admin'],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
  const adminLink = out.trim().split('\n').pop();
  assert.match(adminLink, /\/console\/enrol\/[0-9a-f]{64}$/);

  const adminCtx = await browser.newContext({ bypassCSP: true });
  const admin = await adminCtx.newPage();
  await admin.goto(`${servers.base}/console/sign-in`);
  await scan(admin, 'sign-in');
  const adaSecret = await enrol(admin, adminLink, 'ada');
  // A used link is refused.
  const again = await admin.goto(servers.base + adminLink.slice(adminLink.indexOf('/console/')));
  assert.equal(again.status(), 410);

  await nextStep(); // the enrolment code's step is spent
  // Password alone is not enough.
  await admin.goto(`${servers.base}/console/sign-in`);
  await admin.fill('#username', 'ada');
  await admin.fill('#password', PASSWORD);
  await admin.fill('#code', '000000');
  await admin.click('button[type=submit]');
  await admin.waitForSelector('#sign-in-error');
  await signIn(admin, 'ada', adaSecret);
  await scan(admin, 'overview (administrator)');

  // Invite a practitioner and a supervisor.
  const links = {};
  for (const [username, role] of [['pat', 'practitioner'], ['sam', 'supervisor']]) {
    await admin.goto(`${servers.base}/console/staff`);
    await admin.fill('#new-username', username);
    await admin.selectOption('#new-role', role);
    await admin.click('form[action="/console/staff"] button[type=submit]');
    links[username] = (await admin.locator('#enrolment-link').textContent()).trim();
  }
  await scan(admin, 'staff accounts');
  for (const p of ['/console/settings', '/console/audit']) {
    await admin.goto(servers.base + p);
    await scan(admin, p);
  }

  const patCtx = await browser.newContext({ bypassCSP: true });
  const pat = await patCtx.newPage();
  const samCtx = await browser.newContext({ bypassCSP: true });
  const sam = await samCtx.newPage();
  const patSecret = await enrol(pat, links.pat, 'pat');
  const samSecret = await enrol(sam, links.sam, 'sam');
  await nextStep();
  await signIn(pat, 'pat', patSecret);
  await signIn(sam, 'sam', samSecret);

  // The practitioner logs a phone contact and raises a concern.
  await pat.goto(`${servers.base}/console/contacts`);
  await scan(pat, 'contacts');
  await pat.fill('#started', '2026-03-02T09:00');
  await pat.fill('#ended', '2026-03-02T09:30');
  await pat.check('#concern-other');
  await pat.fill('#note', 'Caller worried about bluepineapple.');
  await pat.click('form[action="/console/contacts"] button[type=submit]');
  await pat.waitForURL(/\/console\/contacts\/\d+$/);
  await scan(pat, 'contact');
  await pat.selectOption('#category', 'child-at-risk');
  await pat.fill('#facts', 'Named an identifiable child at risk (test: quietharbour).');
  await pat.click('form[action$="/concerns"] button[type=submit]');
  await pat.waitForURL(/\/console\/concerns\/\d+$/);
  const concernUrl = pat.url();
  await scan(pat, 'concern (practitioner)');
  assert.equal(await pat.locator('form[action$="/decision"]').count(), 0, 'the raiser can decide');

  // The supervisor sees it waiting, and decides.
  await sam.goto(`${servers.base}/console`);
  assert.match(await sam.locator('.alert-concerns').textContent(), /waiting for a decision/);
  await sam.goto(`${servers.base}/console/concerns`);
  // The live badge (console.js) shows the count without a reload.
  await sam.waitForFunction(() => document.getElementById('live-concerns')?.textContent === '1');
  await scan(sam, 'concerns');
  await sam.goto(concernUrl);
  await sam.check('#d-refer');
  await sam.selectOption('#destination', 'police');
  await sam.fill('#reason', 'An identifiable child is at risk.');
  await scan(sam, 'concern (supervisor)');
  await sam.click('form[action$="/decision"] button[type=submit]');
  await sam.waitForURL(concernUrl);
  assert.equal((await sam.locator('#concern-status').textContent()).trim(), 'Referred');
  const timeline = await sam.locator('.timeline').textContent();
  for (const step of ['Raised', 'Viewed by a supervisor', 'Referred']) assert.match(timeline, new RegExp(step));
  await sam.goto(`${servers.base}/console/canned`);
  await scan(sam, 'canned responses');

  // The log holds it all and verifies.
  const verify = execFileSync(
    servers.bin,
    ['audit', 'verify', '--config', servers.configPath, '--data-dir', servers.dataDir],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
  assert.match(verify, /audit log intact/);
  for (const ctx of [adminCtx, patCtx, samCtx]) await ctx.close();
  assert.ok(scanned.size >= 14, `only ${scanned.size} console pages scanned`);
});
