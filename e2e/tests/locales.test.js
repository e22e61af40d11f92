'use strict';
// 5. Right-to-left and localisation: ar-XB turns the whole page right-to-left; in en-XA
// every visible label of the page chrome differs from en-GB's, so none is hard-coded.

const test = require('node:test');
const assert = require('node:assert/strict');
const { useSite } = require('../lib/site');

const env = useSite(__filename);

/** A page showing the site in `locale`, chosen via GET /language as a person would. */
async function pageIn(locale, options = {}) {
  const context = await env.browser.newContext(options);
  const page = await context.newPage();
  const resp = await page.goto(`${env.base}/language?l=${encodeURIComponent(locale)}&next=/`);
  assert.equal(resp.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/', 'the language switch did not return to the page asked for');
  return { context, page };
}

/**
 * Every visible label of the page chrome (everything outside <main>, and every navigation
 * block): link, button, label and legend texts, landmark names, and the title. Language
 * names in the language menu (<option>s) are not counted: each is written in its own
 * language on purpose.
 */
async function chromeLabels(page) {
  return page.evaluate(() => {
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none';
    };
    const out = [];
    const main = document.querySelector('main');
    const inChrome = (el) => !main || !main.contains(el);
    for (const el of document.querySelectorAll('a, button, label, legend, .exit-hint, footer p')) {
      if (!(inChrome(el) || el.closest('nav'))) continue;
      // The skip link is visible only when focused: include it anyway, it is chrome text.
      if (!visible(el) && !el.classList.contains('skip-link')) continue;
      // The element's own text, without the text of links inside it (counted separately).
      const own = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      if (own) out.push({ what: `${el.tagName.toLowerCase()}${el.getAttribute('href') ? `[href=${el.getAttribute('href')}]` : ''}`, text: own });
    }
    for (const el of document.querySelectorAll('nav[aria-label], [role=navigation][aria-label], [aria-label]')) {
      if (inChrome(el) || el.tagName === 'NAV') out.push({ what: `aria-label of ${el.tagName.toLowerCase()}`, text: el.getAttribute('aria-label') });
    }
    out.push({ what: 'title', text: document.title });
    return out;
  });
}

test('ar-XB turns the pages right-to-left', async () => {
  const { context, page } = await pageIn('ar-XB', { viewport: { width: 1280, height: 720 } });
  try {
    for (const path of ['/', '/modules', env.modules[0].chapters[0], '/progress/resume', '/no-such-page']) {
      await page.goto(env.base + path);
      assert.equal(await page.getAttribute('html', 'dir'), 'rtl', `${path}: <html dir> is not rtl`);
      assert.equal(await page.getAttribute('html', 'lang'), 'ar-XB', `${path}: <html lang> is not ar-XB`);
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).direction), 'rtl', `${path}: the body is not laid out right-to-left`);
    }
    // The layout really mirrors: the quick exit sits at the inline end, which is the left.
    await page.goto(`${env.base}/`);
    const box = await page.locator('.quick-exit').boundingBox();
    assert.ok(box.x + box.width / 2 < 640, `in ar-XB the quick exit is on the right (x=${box.x})`);
  } finally {
    await context.close();
  }
  // And the default is left-to-right, with the quick exit on the right.
  const { context: ltr, page: p2 } = await pageIn('en-GB', { viewport: { width: 1280, height: 720 } });
  try {
    assert.equal(await p2.getAttribute('html', 'dir'), 'ltr');
    const box = await p2.locator('.quick-exit').boundingBox();
    assert.ok(box.x + box.width / 2 > 640, `in en-GB the quick exit is on the left (x=${box.x})`);
  } finally {
    await ltr.close();
  }
});

test('en-XA changes every visible label of the page chrome (nothing hard-coded)', async () => {
  const problems = [];
  const chapter = env.modules[0].chapters[0];
  for (const path of ['/', '/modules', env.modules[0].overview, chapter, '/progress', '/no-such-page']) {
    const labels = {};
    for (const locale of ['en-GB', 'en-XA']) {
      const { context, page } = await pageIn(locale);
      try {
        await page.goto(env.base + path);
        assert.equal(await page.getAttribute('html', 'lang'), locale);
        labels[locale] = await chromeLabels(page);
      } finally {
        await context.close();
      }
    }
    const [gb, xa] = [labels['en-GB'], labels['en-XA']];
    assert.ok(gb.length >= 10, `${path}: only ${gb.length} chrome labels found in en-GB`);
    if (gb.length !== xa.length) {
      problems.push(`${path}: en-GB has ${gb.length} chrome labels, en-XA ${xa.length}`);
      continue;
    }
    gb.forEach((g, i) => {
      if (xa[i].text === g.text) problems.push(`${path}: ${g.what} "${g.text}" is the same in en-XA`);
    });
  }
  if (problems.length) assert.fail(`labels that bypass localisation:\n${problems.join('\n')}`);
});
