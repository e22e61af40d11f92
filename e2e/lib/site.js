'use strict';
// What the tests visit: every public page of the site, discovered from the site's own links
// where they come from content (modules and chapters), so new content is covered too.

const fs = require('node:fs');
const path = require('node:path');
const { before, after } = require('node:test');
const { startServers } = require('./server');
const { launchBrowser } = require('./browser');

/** Pages with a fixed address. */
const FIXED_PAGES = [
  '/',
  '/modules',
  '/get-help',
  '/confidentiality',
  '/worried-about-someone-else',
  '/under-18',
  '/the-law',
  '/progress',
  '/progress/resume',
  '/progress/delete',
  '/no-such-page',
];

/** Name of the page reached only by POST /progress/save (the return code). */
const CODE_PAGE = 'POST /progress/save';

/** Hrefs on the current page, as paths on this site, in document order, without repeats. */
async function localLinks(page) {
  const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
  const origin = new URL(page.url()).origin;
  const seen = new Set();
  for (const href of hrefs) {
    const u = new URL(href);
    if (u.origin === origin && !seen.has(u.pathname)) seen.add(u.pathname);
  }
  return [...seen];
}

/**
 * Modules and their chapters, as found by following links from /modules.
 * Returns `[{ slug, overview: '/modules/slug', chapters: ['/modules/slug/1', ...] }]`.
 */
async function discoverModules(browser, base) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const resp = await page.goto(`${base}/modules`);
    if (!resp || resp.status() !== 200) throw new Error(`/modules answered ${resp && resp.status()}`);
    const overviews = (await page.$$eval('main a[href]', (as) => as.map((a) => a.getAttribute('href'))))
      .filter((h) => /^\/modules\/[a-z0-9-]+$/.test(h))
      .filter((h, i, all) => all.indexOf(h) === i);
    const modules = [];
    for (const overview of overviews) {
      const r = await page.goto(base + overview);
      if (!r || r.status() !== 200) throw new Error(`${overview} answered ${r && r.status()}`);
      const chapters = (await localLinks(page))
        .filter((p) => p.startsWith(`${overview}/`) && /\/\d+$/.test(p))
        .sort((a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop()));
      modules.push({ slug: overview.split('/').pop(), overview, chapters });
    }
    return modules;
  } finally {
    await context.close();
  }
}

/**
 * Chapters that hold at least one exercise form, in site order:
 * `[{ path, kinds: ['reflection' | 'checklist' | 'plan', ...] }]`.
 */
async function exerciseChapters(browser, base, modules) {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const found = [];
    for (const m of modules) {
      for (const ch of m.chapters) {
        await page.goto(base + ch);
        const kinds = await page.$$eval('form[action*="/exercises/"]', (forms) =>
          forms.map((f) =>
            f.querySelector('input[type=checkbox]')
              ? 'checklist'
              : f.querySelectorAll('textarea').length > 1
                ? 'plan'
                : 'reflection',
          ),
        );
        if (kinds.length) found.push({ path: ch, kinds });
      }
    }
    return found;
  } finally {
    await context.close();
  }
}

/** Every public page: fixed pages, module overviews and chapters, plus the code page. */
function allPages(modules) {
  const pages = [...FIXED_PAGES];
  for (const m of modules) pages.push(m.overview, ...m.chapters);
  pages.push(CODE_PAGE);
  return pages;
}

/**
 * Opens `name` (a path, or CODE_PAGE) in `page` and returns the main document's response.
 * The code page is reached as a person would: /progress, then "Save my progress".
 */
async function openPage(page, base, name) {
  if (name !== CODE_PAGE) return page.goto(base + name);
  await page.goto(`${base}/progress`);
  if ((await page.locator('form[action="/progress/save"]').count()) === 0) {
    // Nothing answered yet, so nothing to save: answer the first exercise, as a person would.
    await answerFirstExercise(page, base);
    await page.goto(`${base}/progress`);
  }
  const responded = page.waitForResponse(
    (r) => r.url() === `${base}/progress/save` && r.request().method() === 'POST',
  );
  await page.locator('form[action="/progress/save"] button[type="submit"], form[action="/progress/save"] button').first().click();
  const resp = await responded;
  await page.waitForLoadState('load');
  return resp;
}

/** Follows the modules' links to the first chapter with a written exercise and answers it. */
async function answerFirstExercise(page, base) {
  await page.goto(`${base}/modules`);
  const overview = await page.locator('main a[href^="/modules/"]').first().getAttribute('href');
  await page.goto(base + overview);
  const chapters = (await localLinks(page)).filter((p) => p.startsWith(`${overview}/`) && /\/\d+$/.test(p));
  for (const ch of chapters) {
    await page.goto(base + ch);
    const form = page.locator('form[action*="/exercises/"]:has(textarea)').first();
    if ((await form.count()) === 0) continue;
    await form.locator('textarea').first().fill('bluepineapple: an answer to save');
    await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
    return;
  }
  throw new Error(`no chapter of ${overview} has a written exercise`);
}

/** The HTTP status a page should answer with. */
function expectedStatus(name) {
  return name === '/no-such-page' ? 404 : 200;
}

/**
 * Registers before/after hooks that start the servers and the browser and discover the
 * site's modules; returns an object whose fields are filled in once `before` has run.
 * Server logs are written to e2e/test-results/<test file>.log at the end.
 */
function useSite(testFile, options = {}) {
  const env = { server: null, browser: null, modules: null, pages: null, base: null };
  before(async () => {
    env.server = await startServers(options);
    env.base = env.server.base;
    env.browser = await launchBrowser();
    env.modules = await discoverModules(env.browser, env.base);
    env.pages = allPages(env.modules);
  });
  after(async () => {
    await env.browser?.close();
    if (env.server) {
      const dir = path.resolve(__dirname, '..', 'test-results');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${path.basename(testFile, '.js')}.log`), env.server.logs());
      await env.server.stop();
    }
  });
  return env;
}

/** The last lines of the server log, for failure messages. */
function logTail(env, lines = 30) {
  return `\n--- last server log lines ---\n${env.server.logs().split('\n').slice(-lines).join('\n')}`;
}

module.exports = {
  FIXED_PAGES,
  CODE_PAGE,
  discoverModules,
  exerciseChapters,
  allPages,
  openPage,
  expectedStatus,
  useSite,
  logTail,
  localLinks,
};
