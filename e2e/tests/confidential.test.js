'use strict';
// 2. Confidential by construction: public pages load nothing from anywhere but the site
// itself, point nowhere else in their markup, and stay small (HTML + CSS + JS < 60 KB).

const test = require('node:test');
const assert = require('node:assert/strict');
const { useSite, openPage, expectedStatus } = require('../lib/site');

const env = useSite(__filename);
const BUDGET = 60 * 1024;

/** Attributes that make a browser fetch or go somewhere. */
const URL_ATTRS = ['src', 'href', 'action', 'formaction', 'srcset', 'poster', 'data', 'background', 'cite', 'ping'];
/** In raw HTML: any of those attributes whose value starts with a scheme or `//`. */
const FOREIGN_IN_HTML = new RegExp(
  `\\s(${URL_ATTRS.join('|')})\\s*=\\s*["']?\\s*((?:https?:)?//[^"'\\s>]*)`,
  'gi',
);

/**
 * A page that records what it loads. The browser cache is switched off (as DevTools'
 * "Disable cache" does), so every resource of every page is really fetched and counted.
 */
async function recordingPage(contextOptions = {}) {
  const context = await env.browser.newContext(contextOptions);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const rec = { requests: [], assets: new Map(), pending: [] };
  page.on('request', (r) => rec.requests.push(r.url()));
  page.on('response', (r) => {
    const type = r.request().resourceType();
    if (type === 'stylesheet' || type === 'script') {
      rec.pending.push(
        r.body().then(
          (b) => rec.assets.set(r.url(), b.length),
          () => {},
        ),
      );
    }
  });
  return { context, page, rec };
}

/**
 * Loads `name` in the recording page and returns what it saw: every request URL, the
 * HTML, the sizes of the CSS and JS loaded, and every URL-valued attribute in the DOM.
 */
async function inspect({ context, page, rec }, name) {
  rec.requests = [];
  rec.assets = new Map();
  rec.pending = [];
  const resp = await openPage(page, env.base, name);
  assert.equal(resp.status(), expectedStatus(name), `${name} answered ${resp.status()}`);
  await page.waitForLoadState('load');
  const html = await resp.body();
  // Stylesheets and scripts the final document uses; any not seen loading are fetched to
  // be counted too, so nothing escapes the budget.
  const used = await page.evaluate(() => [
    ...[...document.querySelectorAll('link[rel~="stylesheet"][href]')].map((l) => l.href),
    ...[...document.querySelectorAll('script[src]')].map((s) => s.src),
  ]);
  await Promise.all(rec.pending);
  const assets = new Map(rec.assets);
  for (const url of used) {
    if (!assets.has(url)) {
      const r = await context.request.get(url);
      assets.set(url, (await r.body()).length);
    }
  }
  const domUrls = await page.evaluate((attrs) => {
    const out = [];
    for (const el of document.querySelectorAll('*')) {
      for (const a of attrs) {
        const v = el.getAttribute(a);
        if (v === null) continue;
        const values = a === 'srcset' ? v.split(',').map((s) => s.trim().split(/\s+/)[0]) : [v];
        for (const value of values) {
          try {
            out.push({ attr: a, value, resolved: new URL(value, document.baseURI).href });
          } catch {
            out.push({ attr: a, value, resolved: null });
          }
        }
      }
    }
    return out;
  }, URL_ATTRS);
  return { requests: [...rec.requests], html, assets, domUrls };
}

function sameOrigin(url) {
  try {
    return new URL(url).origin === env.server.origin;
  } catch {
    return false;
  }
}

test('every public page talks only to its own origin, links nowhere else and stays under 60 KB', async (t) => {
  const problems = [];
  const sizes = [];
  const recorder = await recordingPage();
  for (const name of env.pages) {
    const { requests, html, assets, domUrls } = await inspect(recorder, name);
    assert.ok(requests.length > 0, `no requests were recorded for ${name}`);
    for (const url of requests) {
      if (!sameOrigin(url)) problems.push(`${name}: requested ${url}`);
    }
    const text = html.toString('utf8');
    for (const m of text.matchAll(FOREIGN_IN_HTML)) {
      problems.push(`${name}: HTML has ${m[1]}="${m[2]}"`);
    }
    for (const { attr, value, resolved } of domUrls) {
      // Fragment-only and relative URLs resolve to this origin; anything else is foreign.
      if (resolved === null || !sameOrigin(resolved)) problems.push(`${name}: element has ${attr}="${value}"`);
    }
    const assetBytes = [...assets.values()].reduce((a, b) => a + b, 0);
    assert.ok(assets.size >= 1, `${name}: no stylesheet or script was loaded`);
    const total = html.length + assetBytes;
    sizes.push([name, total]);
    if (total >= BUDGET) {
      problems.push(
        `${name}: ${total} bytes (HTML ${html.length} + ${[...assets].map(([u, b]) => `${new URL(u).pathname} ${b}`).join(' + ')}) >= ${BUDGET}`,
      );
    }
  }
  await recorder.context.close();
  if (problems.length) assert.fail(`confidentiality/size problems:\n${problems.join('\n')}`);
  const [heaviest, bytes] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
  t.diagnostic(`heaviest page: ${heaviest} at ${bytes} bytes of ${BUDGET}`);
});

test('a chapter loads only from its own origin with JavaScript off too', async () => {
  const chapter = env.modules[0].chapters[0];
  const recorder = await recordingPage({ javaScriptEnabled: false });
  const { requests } = await inspect(recorder, chapter);
  await recorder.context.close();
  const foreign = requests.filter((u) => !sameOrigin(u));
  assert.deepEqual(foreign, [], `requests to other origins: ${foreign.join(', ')}`);
});

test('the foreign-URL checks notice a foreign URL (self-test of the checker)', () => {
  const sample = '<a href="https://example.org/x">x</a><img src=//cdn.example/y.png><form action="/ok">';
  const found = [...sample.matchAll(FOREIGN_IN_HTML)].map((m) => m[2]);
  assert.deepEqual(found, ['https://example.org/x', '//cdn.example/y.png']);
  assert.equal(sameOrigin('https://example.org/'), false);
  assert.equal(sameOrigin(`${env.base}/static/site.css`), true);
});

test('the server log carries no user agent', () => {
  const logs = env.server.logs();
  assert.ok(logs.includes('request'), 'the server wrote no request log lines: is logging on?');
  for (const needle of ['HeadlessChrome', 'Mozilla/', 'Chrome/']) {
    assert.ok(!logs.includes(needle), `the server log contains "${needle}"`);
  }
});
