'use strict';
// Callback requests in real browsers: a help-seeker (JavaScript off, then on) asks for a
// call, gets a clear error for a bad number with everything kept, then the confirmation; a
// practitioner finds it in the worklist, claims it, sees the number and wraps it up.
// Pages are scanned with axe (in the JavaScript-on run: the HTML is the same).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { totp, nextStep } = require('../lib/totp');

const PASSWORD = 'violet kettle harbour 71';
let servers;
let browser;
let practitioner;

before(async () => {
  servers = await startServers();
  browser = await launchBrowser();
  const out = execFileSync(
    servers.bin,
    ['admin', 'create', '--config', servers.configPath, '--data-dir', servers.dataDir, '--username', 'pat', '--role', 'practitioner'],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
  const link = out.trim().split('\n').pop();
  const ctx = await browser.newContext({ bypassCSP: true });
  practitioner = await ctx.newPage();
  await practitioner.goto(servers.base + link.slice(link.indexOf('/console/')));
  const secret = (await practitioner.locator('#totp-secret').textContent()).trim();
  await practitioner.fill('#password', PASSWORD);
  await practitioner.fill('#password_again', PASSWORD);
  await practitioner.fill('#code', totp(secret));
  await practitioner.click('button[type=submit]');
  await practitioner.waitForSelector('#recovery-codes');
  await nextStep();
  await practitioner.goto(`${servers.base}/console/sign-in`);
  await practitioner.fill('#username', 'pat');
  await practitioner.fill('#password', PASSWORD);
  await practitioner.fill('#code', totp(secret));
  await practitioner.click('button[type=submit]');
  await practitioner.waitForURL(`${servers.base}/console`);
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

async function scan(page) {
  const v = await axeViolations(page);
  assert.equal(v.length, 0, formatViolations(page.url(), v));
}

for (const javaScriptEnabled of [false, true]) {
  test(`a callback request and the call (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, { timeout: 90_000 }, async () => {
    const number = javaScriptEnabled ? '0161 496 0871' : '0161 496 0870';
    const seekerCtx = await browser.newContext({ javaScriptEnabled, bypassCSP: true });
    const seeker = await seekerCtx.newPage();
    await seeker.goto(`${servers.base}/get-help`);
    await seeker.click('a[href="/contact/callback"]');
    await seeker.waitForSelector('#phone');
    if (javaScriptEnabled) await scan(seeker);
    await seeker.check('#statement');
    await seeker.fill('#phone', 'call me maybe');
    await seeker.check('#window-weekday-evening');
    await seeker.check('#who-else');
    await seeker.click('form[action="/contact/callback"] button[type=submit]');
    // Refused clearly, nothing lost, the error linked to the field.
    await seeker.waitForSelector('#callback-error');
    assert.match(await seeker.locator('#callback-error').textContent(), /only have digits/);
    assert.equal(await seeker.inputValue('#phone'), 'call me maybe');
    assert.equal(await seeker.isChecked('#window-weekday-evening'), true);
    assert.equal(await seeker.isChecked('#who-else'), true);
    assert.equal(await seeker.getAttribute('#phone', 'aria-invalid'), 'true');
    if (javaScriptEnabled) await scan(seeker);
    await seeker.fill('#phone', number);
    await seeker.click('form[action="/contact/callback"] button[type=submit]');
    await seeker.waitForSelector('text=We will call you');
    const sent = await seeker.locator('main').textContent();
    assert.match(sent, /Weekday evenings/);
    assert.match(sent, /delete your number/);
    assert.doesNotMatch(sent, /496 08/);
    if (javaScriptEnabled) await scan(seeker);
    await seekerCtx.close();

    // The practitioner claims the newest request, sees the number, wraps it up.
    await practitioner.goto(`${servers.base}/console/callbacks`);
    await scan(practitioner);
    await practitioner.locator('table a[href^="/console/callbacks/"]').last().click();
    await practitioner.click('form[action$="/claim"] button[type=submit]');
    await practitioner.waitForSelector('#phone-number');
    assert.equal((await practitioner.locator('#phone-number').textContent()).trim(), number);
    await scan(practitioner);
    await practitioner.check('#concern-other');
    await practitioner.click('form[action$="/done"] button[type=submit]');
    await practitioner.waitForURL(/\/console\/contacts\/\d+$/);
    assert.match(await practitioner.locator('main').textContent(), /Callback/);
  });
}
