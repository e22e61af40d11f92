'use strict';
// 1. Accessibility: axe-core (WCAG 2.0/2.1/2.2 A and AA, and best practice) finds nothing on
// any public page, in English and in both pseudo-locales, and nothing scrolls sideways on
// a 320px-wide screen.

const test = require('node:test');
const assert = require('node:assert/strict');
const { useSite, openPage, expectedStatus, exerciseChapters, CODE_PAGE } = require('../lib/site');
const { axeViolations, formatViolations } = require('../lib/browser');

const env = useSite(__filename);

/** A chapter with an exercise (the richest page), found once. */
let richChapter;
async function chapterWithExercise() {
  if (!richChapter) {
    const found = await exerciseChapters(env.browser, env.base, env.modules);
    assert.ok(found.length > 0, 'no chapter with an exercise form was found');
    // Prefer a checklist or a plan: they have the most form controls.
    richChapter = (found.find((c) => c.kinds.some((k) => k !== 'reflection')) ?? found[0]).path;
  }
  return richChapter;
}

/** A context showing the site in `locale` (chosen the way a person would, via /language). */
async function contextIn(locale, options = {}) {
  const context = await env.browser.newContext({ bypassCSP: true, ...options });
  if (locale !== 'en-GB') {
    const page = await context.newPage();
    const resp = await page.goto(`${env.base}/language?l=${locale}&next=/`);
    assert.equal(resp.status(), 200, `choosing ${locale} did not land on a page`);
    assert.equal(await page.getAttribute('html', 'lang'), locale, `the language switch to ${locale} did not take`);
    await page.close();
  }
  return context;
}

test('the site has modules, each with chapters', () => {
  assert.ok(env.modules.length > 0, 'no modules linked from /modules');
  for (const m of env.modules) {
    assert.ok(m.chapters.length > 0, `module ${m.overview} links to no chapters`);
  }
});

test('every public page has no axe violations (en-GB)', async () => {
  const context = await contextIn('en-GB');
  const page = await context.newPage();
  const failures = [];
  try {
    for (const name of env.pages) {
      const resp = await openPage(page, env.base, name);
      assert.equal(resp.status(), expectedStatus(name), `${name} answered ${resp.status()}`);
      const violations = await axeViolations(page);
      if (violations.length) failures.push(formatViolations(name, violations));
    }
  } finally {
    await context.close();
  }
  assert.equal(env.pages.length > 15, true, `only ${env.pages.length} pages were checked`);
  if (failures.length) assert.fail(`axe found violations on ${failures.length} page(s):\n${failures.join('\n')}`);
});

for (const locale of ['en-XA', 'ar-XB']) {
  test(`home and a chapter have no axe violations in ${locale}`, async () => {
    const chapter = await chapterWithExercise();
    const context = await contextIn(locale);
    const page = await context.newPage();
    const failures = [];
    try {
      for (const name of ['/', chapter]) {
        const resp = await page.goto(env.base + name);
        assert.equal(resp.status(), 200, `${name} answered ${resp.status()} in ${locale}`);
        assert.equal(await page.getAttribute('html', 'lang'), locale);
        const violations = await axeViolations(page);
        if (violations.length) failures.push(formatViolations(`${name} (${locale})`, violations));
      }
    } finally {
      await context.close();
    }
    if (failures.length) assert.fail(`axe found violations:\n${failures.join('\n')}`);
  });
}

test('nothing scrolls sideways at 320px wide (home and a chapter, every locale)', async () => {
  const chapter = await chapterWithExercise();
  const problems = [];
  for (const locale of ['en-GB', 'en-XA', 'ar-XB']) {
    const context = await contextIn(locale, { viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    try {
      for (const name of ['/', chapter]) {
        const resp = await page.goto(env.base + name);
        assert.equal(resp.status(), 200);
        const { scrollWidth, wide } = await page.evaluate(() => {
          const limit = document.documentElement.clientWidth;
          // The widest offenders, to say what overflows.
          const wide = [...document.querySelectorAll('body *')]
            .filter((el) => {
              const r = el.getBoundingClientRect();
              return r.width > 0 && (r.right > limit + 0.5 || r.left < -0.5);
            })
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/\s+/g, '.')}` : ''}`);
          return { scrollWidth: document.documentElement.scrollWidth, wide };
        });
        if (scrollWidth > 320) {
          problems.push(`${name} (${locale}): scrollWidth ${scrollWidth} > 320; overflowing: ${wide.join(', ')}`);
        }
      }
    } finally {
      await context.close();
    }
  }
  if (problems.length) assert.fail(`horizontal scrolling at 320px:\n${problems.join('\n')}`);
});

test('pages in their notice and error states have no axe violations', async () => {
  const chapter = await chapterWithExercise();
  const context = await contextIn('en-GB');
  const page = await context.newPage();
  const failures = [];
  const scan = async (what) => {
    const violations = await axeViolations(page);
    if (violations.length) failures.push(formatViolations(what, violations));
  };
  const submit = async (form) => {
    await Promise.all([page.waitForNavigation(), form.locator('button').first().click()]);
  };
  try {
    // A saved answer: the chapter with its "saved" notice, /progress listing it.
    await page.goto(env.base + chapter);
    const form = page.locator('form[action*="/exercises/"]').first();
    await form.locator('textarea').first().fill('An answer written by the accessibility test.');
    await submit(form);
    assert.equal(await page.locator('.exercise [role=status]').count(), 1, 'no saved notice to check');
    await scan(`${chapter} (answer saved)`);
    await page.goto(`${env.base}/progress`);
    assert.ok((await page.locator('main a[href*="#ex-"]').count()) > 0, '/progress lists no answer');
    await scan('/progress (with answers)');
    // A wrong code: the resume page with its alert and the field marked invalid.
    await page.goto(`${env.base}/progress/resume`);
    await page.locator('#code').fill('not a code');
    await submit(page.locator('form[action="/progress/resume"]'));
    assert.equal(await page.getByRole('alert').count(), 1, 'no error shown for a wrong code');
    await scan('/progress/resume (wrong code)');
    // Deleting: the confirmation page after deletion.
    await page.goto(`${env.base}/progress/delete`);
    await submit(page.locator('form[action="/progress/delete"]'));
    assert.equal(await page.getByRole('status').count(), 1, 'no confirmation after deleting');
    await scan('/progress/delete (done)');
  } finally {
    await context.close();
  }
  if (failures.length) assert.fail(`axe found violations:\n${failures.join('\n')}`);
});

test('the return code breaks only between its groups, at 320px and at 1280px', async () => {
  for (const width of [320, 1280]) {
    const context = await contextIn('en-GB', { viewport: { width, height: 800 } });
    const page = await context.newPage();
    try {
      const resp = await openPage(page, env.base, CODE_PAGE);
      assert.equal(resp.status(), 200);
      // Each group (a text node such as "97M3-") must sit on one line; a break may fall only
      // where a group ends. Copying gives the code without anything added.
      const lines = await page.$eval('#return-code code', (code) =>
        [...code.childNodes]
          .filter((n) => n.nodeType === Node.TEXT_NODE)
          .map((n) => {
            const r = document.createRange();
            r.selectNodeContents(n);
            const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
            return { text: n.textContent, lines: tops.size };
          }),
      );
      assert.equal(lines.length, 5, `five groups expected: ${JSON.stringify(lines)}`);
      for (const g of lines) assert.equal(g.lines, 1, `at ${width}px the group ${g.text} is split: ${JSON.stringify(lines)}`);
      const text = (await page.locator('#return-code code').innerText()).trim();
      assert.match(text, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/, `the code reads ${text}`);
    } finally {
      await context.close();
    }
  }
});
