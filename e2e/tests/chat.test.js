'use strict';
// Live chat in real browsers, both sides at once: a help-seeker (JavaScript on, over the
// WebSocket; then JavaScript off, with form posts and the self-reloading transcript) and a
// practitioner in the console, who takes the chat from the queue, answers, ends it and
// wraps it up into a contact record. Pages are scanned with axe.

const fs = require('node:fs');
const path = require('node:path');
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServers } = require('../lib/server');
const { launchBrowser, axeViolations, formatViolations } = require('../lib/browser');
const { signedInStaff } = require('../lib/staff');

const PASSWORD = 'amber lantern meadow 38';
let servers;
let browser;
let practitioner;

before(async () => {
  servers = await startServers({ extraConfig: '[helpline]\nopening_hours = ["mon-sun 00:00-24:00"]\n' });
  browser = await launchBrowser();
  practitioner = await signedInStaff(browser, servers, 'cam', 'practitioner', PASSWORD);
  await practitioner.goto(`${servers.base}/console/chats`);
  await practitioner.click('form[action="/console/chats/availability"] button');
  await practitioner.waitForSelector('text=You are available for chats.');
});

after(async () => {
  await browser?.close();
  if (servers) {
    // The server's log, kept for a failed run (CI prints where it is).
    const dir = path.resolve(__dirname, '..', 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'chat.log'), `${servers.logs()}\n--- seeker side ---\n${seekerTrace.join('\n')}\n`);
    await servers.stop();
  }
});

/** What the help-seeker's page saw: console lines and WebSocket frames, for a failure. */
const seekerTrace = [];
function traceSeeker(page) {
  const t0 = Date.now();
  const note = (s) => seekerTrace.push(`${String(Date.now() - t0).padStart(6)} ms ${s}`);
  page.on('console', (m) => note(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => note(`page error: ${e.message}`));
  page.on('websocket', (ws) => {
    note(`socket open ${ws.url()}`);
    ws.on('framesent', (f) => note(`  sent ${String(f.payload).slice(0, 200)}`));
    ws.on('framereceived', (f) => note(`  received ${String(f.payload).slice(0, 200)}`));
    ws.on('socketerror', (e) => note(`  socket error ${e}`));
    ws.on('close', () => note('  socket closed'));
  });
}

async function scan(page) {
  const v = await axeViolations(page);
  assert.equal(v.length, 0, formatViolations(page.url(), v));
}

/** Reaches the chat as a help-seeker does: from the home page, by following links
 *  ("Start a chat" on the home page, or "Get help now" and then "Start a chat"). */
async function openChatFromHome(seeker, via = 'home') {
  await seeker.goto(`${servers.base}/`);
  if (via === 'get-help') {
    await seeker.locator('main').getByRole('link', { name: 'Get help now' }).click();
    await seeker.waitForURL(/\/get-help$/);
  }
  await seeker.getByRole('link', { name: 'Start a chat' }).first().click();
  await seeker.waitForURL(/\/chat$/);
  await seeker.waitForSelector('form[action="/chat/start"]');
}

async function startChat(seeker, via = 'home') {
  if (!/\/chat$/.test(seeker.url())) await openChatFromHome(seeker, via);
  await seeker.check('#statement');
  await seeker.check('#who-self');
  await seeker.click('form[action="/chat/start"] button[type=submit]');
  await seeker.waitForSelector('#chat-status');
}

async function takeNewest() {
  await practitioner.goto(`${servers.base}/console/chats`);
  const take = practitioner.locator('form[action$="/take"] button');
  await take.last().click();
  await practitioner.waitForURL(/\/console\/chats\/\d+$/);
  await practitioner.waitForSelector('#chat.live', { state: 'attached' });
}

async function wrapUp() {
  await practitioner.click('form[action$="/end"] button');
  await practitioner.waitForURL(/\/console\/inbox\/\d+/);
  await practitioner.check('#concern-viewing-images');
  await practitioner.click('form[action$="/close"] button[type=submit]');
  await practitioner.waitForURL(/\/console\/contacts\/\d+$/);
  assert.match(await practitioner.locator('main').textContent(), /chat/i);
}

test('a chat over the WebSocket, with typing and delivery state', { timeout: 90_000 }, async () => {
  const marker = 'bluepineapple live chat marker 6620';
  const seekerCtx = await browser.newContext({ bypassCSP: true });
  const seeker = await seekerCtx.newPage();
  traceSeeker(seeker);
  await openChatFromHome(seeker);
  await scan(seeker);
  await startChat(seeker);
  await seeker.waitForSelector('#chat-status:has-text("number 1 in the queue")');
  assert.equal(await seeker.locator('#chat-frame').isVisible(), false, 'the live list replaces the frame');
  await scan(seeker);
  await scan(practitioner);

  await takeNewest();
  await seeker.waitForSelector('#chat-status:has-text("talking with a practitioner")');
  await scan(practitioner);

  await seeker.fill('#message', marker);
  await seeker.press('#message', 'Enter');
  await practitioner.waitForSelector(`#chat-log li:has-text("${marker}")`);
  // The practitioner's browser received it, so the help-seeker sees "delivered".
  await seeker.waitForSelector(`#chat-log li[data-state="delivered"]:has-text("${marker}")`);

  await practitioner.locator('#message').pressSequentially('Thank you for writing');
  await seeker.waitForSelector('#chat-typing:has-text("typing")');
  await practitioner.press('#message', 'Enter');
  await seeker.waitForSelector('#chat-log li:has-text("Thank you for writing")');
  await scan(seeker);

  await wrapUp();
  await seeker.waitForSelector('form[action="/chat/continue"]');
  await scan(seeker);
  await seekerCtx.close();
});

test('two chats at once: the other one is listed with its unread messages, and a draft survives switching', { timeout: 90_000 }, async () => {
  const contexts = [];
  const seekers = [];
  for (const _ of [1, 2]) {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await startChat(page);
    contexts.push(ctx);
    seekers.push(page);
  }
  await takeNewest(); // the second chat
  const second = practitioner.url();
  await takeNewest(); // then the first
  const first = practitioner.url();
  assert.notEqual(first, second);
  // A draft in the first chat, then to the second by its link in the list.
  await practitioner.fill('#message', 'a draft not sent yet (bluepineapple)');
  const secondId = second.split('/').pop();
  await practitioner.locator(`#held-chats a[href="/console/chats/${secondId}"]`).click();
  await practitioner.waitForURL(second);
  await practitioner.waitForSelector('#chat.live', { state: 'attached' });
  assert.equal(await practitioner.locator('#held-chats [aria-current="page"]').getAttribute('href'), `/console/chats/${secondId}`);
  await scan(practitioner);
  // The first chat's help-seeker writes: the list marks it without a reload.
  const firstId = first.split('/').pop();
  // The newest chat was taken first: the first one is the first help-seeker's.
  const firstSeeker = seekers[0];
  await firstSeeker.fill('#message', 'are you still there? (bluepineapple)');
  await firstSeeker.press('#message', 'Enter');
  await practitioner.waitForSelector(`[data-unread="${firstId}"]:not([hidden]):has-text("1 new message")`, { timeout: 15_000 });
  // Back to the first chat: the draft is still there and the message is read.
  await practitioner.locator(`#held-chats a[href="/console/chats/${firstId}"]`).click();
  await practitioner.waitForURL(first);
  assert.equal(await practitioner.inputValue('#message'), 'a draft not sent yet (bluepineapple)');
  await practitioner.waitForSelector('#chat-log li:has-text("are you still there?")');
  // Both are wrapped up, so later tests start with none held.
  await practitioner.fill('#message', '');
  await wrapUp();
  await practitioner.goto(second);
  await wrapUp();
  for (const c of contexts) await c.close();
});

test('the same chat with JavaScript off on the help-seeker side', { timeout: 90_000 }, async () => {
  const marker = 'bluepineapple form chat marker 7731';
  const seekerCtx = await browser.newContext({ javaScriptEnabled: false, bypassCSP: true });
  const seeker = await seekerCtx.newPage();
  await startChat(seeker, 'get-help');
  assert.match(await seeker.locator('#chat-status').textContent(), /number 1 in the queue/);
  await takeNewest();

  await seeker.fill('#message', marker);
  await seeker.click('#compose button[type=submit]');
  await seeker.waitForURL(/\/chat#compose$/);
  await practitioner.waitForSelector(`#chat-log li:has-text("${marker}")`);
  await practitioner.fill('#message', 'Hello, take your time. www.quietharbour.example');
  await practitioner.press('#message', 'Enter');
  // The transcript frame reloads itself and shows the reply; the link is plain text.
  const frame = seeker.frameLocator('#chat-frame');
  await frame.locator('.thread li:has-text("Hello, take your time")').waitFor({ timeout: 15_000 });
  assert.equal(await frame.locator('.thread a').count(), 0);

  await wrapUp();
  await seeker.reload();
  assert.match(await seeker.locator('#chat-status').textContent(), /ended/);
  await seekerCtx.close();
});
