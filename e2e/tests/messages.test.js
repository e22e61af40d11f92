'use strict';
// Secure messages in real browsers: a help-seeker (JavaScript off, then on) writes without
// an account, a practitioner replies in the console, the help-seeker comes back with the
// return code in a fresh browser and reads the reply. Pages are scanned with axe.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { signedInStaff } = require('../lib/staff');

const PASSWORD = 'violet kettle harbour 71';
let servers;
let browser;
let practitioner;

before(async () => {
  servers = await startServers();
  browser = await launchBrowser();
  // One practitioner, enrolled and signed in once for the whole file.
  practitioner = await signedInStaff(browser, servers, 'pat', 'practitioner', PASSWORD);
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

async function scan(page) {
  const v = await axeViolations(page);
  assert.equal(v.length, 0, formatViolations(page.url(), v));
}

// axe runs inside the page, so pages are scanned in the JavaScript-on run (same HTML).
for (const javaScriptEnabled of [false, true]) {
  test(`a secure message and its reply (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, { timeout: 90_000 }, async () => {
    const marker = `bluepineapple note ${javaScriptEnabled ? 'js' : 'nojs'} 5521`;
    const seekerCtx = await browser.newContext({ javaScriptEnabled, bypassCSP: true });
    const seeker = await seekerCtx.newPage();
    await seeker.goto(`${servers.base}/contact/message`);
    if (javaScriptEnabled) await scan(seeker);
    await seeker.check('#statement');
    await seeker.check('#who-self');
    await seeker.fill('#message', marker);
    await seeker.click('form[action="/contact/message"] button[type=submit]');
    const code = (await seeker.locator('#return-code code').textContent()).trim();
    assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
    if (javaScriptEnabled) await scan(seeker);
    await seekerCtx.close();

    // The practitioner finds it, replies.
    await practitioner.goto(`${servers.base}/console/inbox`);
    await scan(practitioner);
    const links = practitioner.locator('table a[href^="/console/inbox/"]');
    await links.last().click();
    await practitioner.waitForSelector('.thread');
    assert.match(await practitioner.locator('.thread').textContent(), new RegExp(marker));
    await scan(practitioner);
    await practitioner.fill('#message', `Reply to ${marker}: you did the right thing writing.`);
    await practitioner.click('form[action$="/reply"] button[type=submit]');
    await practitioner.waitForSelector('text=you did the right thing');

    // The help-seeker comes back in a fresh browser with the code (typed sloppily).
    const laterCtx = await browser.newContext({ javaScriptEnabled, bypassCSP: true });
    const later = await laterCtx.newPage();
    await later.goto(`${servers.base}/contact/continue`);
    await later.fill('#code', code.toLowerCase().replaceAll('-', ' '));
    await later.click('form[action="/contact/continue"] button[type=submit]');
    await later.waitForSelector('.thread');
    const thread = await later.locator('.thread').textContent();
    assert.match(thread, /you did the right thing/);
    if (javaScriptEnabled) await scan(later);
    await later.fill('#message', 'Thank you.');
    await later.click('form[action="/contact/thread"] button[type=submit]');
    await later.waitForSelector('text=Thank you.');
    await laterCtx.close();
  });
}
