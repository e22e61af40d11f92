'use strict';
// 3. Quick exit: on every page, visible without scrolling; with JavaScript it replaces the
// current history entry and Esc works; without JavaScript the plain link still leaves; the
// exit response asks the browser to forget the site.

const test = require('node:test');
const assert = require('node:assert/strict');
const { useSite, openPage, expectedStatus } = require('../lib/site');
const { NEUTRAL_MARKER } = require('../lib/server');

const env = useSite(__filename);

/** Waits for the neutral page and checks it is really it. */
async function expectNeutral(page, how) {
  await page.waitForURL((u) => u.href === env.server.neutral.url, { timeout: 10_000 }).catch(() => {});
  assert.equal(page.url(), env.server.neutral.url, `${how}: expected the neutral page, got ${page.url()}`);
  assert.equal(await page.locator(`#${NEUTRAL_MARKER}`).count(), 1, `${how}: the neutral page's content is missing`);
  // The neutral site must not learn where the person came from. (Its own pages may send
  // their own address, e.g. when the browser asks it for a favicon.)
  const leaks = env.server.neutral
    .requests()
    .filter((r) => r.headers.referer !== undefined && !r.headers.referer.startsWith(`${env.server.neutral.origin}/`));
  assert.deepEqual(leaks.map((r) => r.headers.referer), [], `${how}: the neutral site was sent a Referer`);
}

/** The quick exit control of the current page: a link to /exit or a form posting there. */
function exitControl(page) {
  return page.locator('a[href="/exit"], form[action="/exit"] button, button[formaction="/exit"]');
}

/** Where the first quick exit control is and whether it can be seen, measured in the page. */
async function exitInfo(page) {
  return page.evaluate(() => {
    const el = document.querySelector('a[href="/exit"], form[action="/exit"] button, button[formaction="/exit"]');
    if (!el) return null;
    const r = el.getBoundingClientRect();
    let visible = r.width > 0 && r.height > 0;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const cs = getComputedStyle(n);
      if (cs.display === 'none' || cs.visibility === 'hidden' || Number(cs.opacity) === 0) visible = false;
    }
    return {
      visible,
      text: el.innerText.trim(),
      inFirstScreen: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth,
      box: [r.left, r.top, r.width, r.height].map(Math.round),
    };
  });
}

// Every page in both set-ups; the narrow screen is paired with JavaScript off, the
// desktop with JavaScript on, to keep the run short while covering both of each.
for (const { javaScriptEnabled, viewport } of [
  { javaScriptEnabled: true, viewport: { width: 1280, height: 720 } },
  { javaScriptEnabled: false, viewport: { width: 320, height: 568 } },
]) {
  test(`every page shows a quick exit in the first screen (JavaScript ${javaScriptEnabled ? 'on' : 'off'}, ${viewport.width}px)`, async () => {
    const context = await env.browser.newContext({ javaScriptEnabled, viewport });
    const problems = [];
    try {
      const page = await context.newPage();
      const visits = env.pages.map((name) => ({ name, locale: 'en-GB' }));
      for (const locale of ['en-XA', 'ar-XB']) {
        visits.push({ name: '/', locale }, { name: env.modules[0].chapters[0], locale });
      }
      for (const { name, locale } of visits) {
        await context.addCookies([{ name: 'rl_lang', value: locale, url: env.base }]);
        const resp = await openPage(page, env.base, name);
        assert.equal(resp.status(), expectedStatus(name), `${name} answered ${resp.status()}`);
        assert.equal(await page.getAttribute('html', 'lang'), locale, `${name} is not in ${locale}`);
        const where = `${name} (${locale})`;
        const info = await exitInfo(page);
        if (!info) problems.push(`${where}: no link or button to /exit`);
        else if (!info.visible) problems.push(`${where}: the quick exit is not visible`);
        else if (!info.inFirstScreen) problems.push(`${where}: the quick exit is outside the first screen ${info.box}`);
        else if (!info.text) problems.push(`${where}: the quick exit has no text`);
      }
    } finally {
      await context.close();
    }
    if (problems.length) assert.fail(problems.join('\n'));
  });
}

test('JavaScript on: the quick exit replaces the page in history, so Back skips it', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.base}/`);
    await page.goto(`${env.base}/modules`);
    await page.waitForFunction(() => document.documentElement.classList.contains('js'));
    const before = await page.evaluate(() => history.length);
    await exitControl(page).first().click();
    await expectNeutral(page, 'clicking the quick exit');
    const afterLength = await page.evaluate(() => history.length);
    assert.equal(afterLength, before, `history grew from ${before} to ${afterLength}: the page was not replaced`);
    await page.goBack();
    assert.equal(page.url(), `${env.base}/`, `Back went to ${page.url()}, not the page before the one left`);
  } finally {
    await context.close();
  }
});

test('JavaScript on: pressing Escape leaves for the neutral page, even while typing', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.base}/`);
    await page.goto(`${env.base}/modules`);
    await page.waitForFunction(() => document.documentElement.classList.contains('js'));
    await page.keyboard.press('Escape');
    await expectNeutral(page, 'Escape on /modules');
    await page.goBack();
    assert.equal(page.url(), `${env.base}/`, 'Escape did not replace the page in history');

    // In a form field too (where a person is most likely to be when someone walks in).
    await page.goto(`${env.base}/progress/resume`);
    await page.waitForFunction(() => document.documentElement.classList.contains('js'));
    await page.locator('#code').fill('ABCD');
    await page.locator('#code').press('Escape');
    await expectNeutral(page, 'Escape in the return code field');
  } finally {
    await context.close();
  }
});

test('JavaScript off: the quick exit link reaches the neutral page and clears site data', async () => {
  const context = await env.browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(`${env.base}/`);
    await page.goto(`${env.base}/modules`);
    const exitResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/exit');
    await exitControl(page).first().click();
    const resp = await exitResponse;
    await expectNeutral(page, 'following the quick exit link without JavaScript');
    assert.ok([302, 303, 307].includes(resp.status()), `/exit answered ${resp.status()}, not a redirect`);
    const csd = (await resp.headerValue('clear-site-data')) ?? '';
    assert.match(csd, /"cookies"/, `/exit has no Clear-Site-Data for cookies (got "${csd}")`);
  } finally {
    await context.close();
  }
});

test('/exit redirects to the neutral site with Clear-Site-Data and stores nothing', async () => {
  const context = await env.browser.newContext();
  try {
    const resp = await context.request.get(`${env.base}/exit`, { maxRedirects: 0 });
    assert.ok([302, 303, 307].includes(resp.status()), `/exit answered ${resp.status()}`);
    assert.equal(resp.headers().location, env.server.neutral.url);
    const csd = resp.headers()['clear-site-data'] ?? '';
    for (const kind of ['"cache"', '"cookies"', '"storage"']) {
      assert.ok(csd.includes(kind), `Clear-Site-Data "${csd}" lacks ${kind}`);
    }
    assert.match(resp.headers()['cache-control'] ?? '', /no-store/, '/exit may be cached');
  } finally {
    await context.close();
  }
});

test('after the quick exit, the site has forgotten the visitor (cookies cleared)', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.base}/language?l=en-XA&next=/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en-XA');
    const before = await context.cookies(env.base);
    assert.ok(before.length > 0, 'the site set no cookie to forget: nothing to test');
    await exitControl(page).first().click();
    await expectNeutral(page, 'quick exit');
    const left = await context.cookies(env.base);
    assert.deepEqual(left.map((c) => c.name), [], 'cookies survived the quick exit');
  } finally {
    await context.close();
  }
});
