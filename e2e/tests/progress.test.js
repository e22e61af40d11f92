'use strict';
// 4. Save → resume → delete: an answer written in one browser comes back in another with
// the return code (typed sloppily), is gone for good after deletion, and a wrong code gets
// a calm error without breaking the page. Once with JavaScript and once without.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useSite, exerciseChapters, logTail } = require('../lib/site');

const env = useSite(__filename);
const CODE_SHAPE = /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/;

let chaptersWithExercises;
/** A chapter holding an exercise of `kind` if there is one, else any exercise chapter. */
async function chapterFor(kind) {
  chaptersWithExercises ??= await exerciseChapters(env.browser, env.base, env.modules);
  assert.ok(chaptersWithExercises.length > 0, 'no chapter has an exercise form');
  const c = chaptersWithExercises.find((ch) => ch.kinds.includes(kind)) ?? chaptersWithExercises[0];
  return { path: c.path, index: c.kinds.includes(kind) ? c.kinds.indexOf(kind) : 0 };
}

/** Exercise form number `index` on the page and the section around it. */
function exercise(page, index) {
  const form = page.locator('form[action*="/exercises/"]').nth(index);
  return { form, section: page.locator('section.exercise').filter({ has: form }) };
}

/** The answer as the chapter page shows it: textarea values and ticked boxes. */
async function shownAnswer(page, index) {
  const { form } = exercise(page, index);
  return {
    texts: await form.locator('textarea').evaluateAll((ts) => ts.map((t) => t.value)),
    checked: await form.locator('input[type=checkbox]').evaluateAll((cs) => cs.map((c) => c.checked)),
  };
}

/** Submits `form` (by its submit button, as a person would) and waits for the next page. */
async function submit(page, form) {
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.locator('button[type=submit], button:not([type])').first().click(),
  ]);
  return resp;
}

async function resumeWith(page, code) {
  await page.goto(`${env.base}/progress/resume`);
  const form = page.locator('form[action="/progress/resume"]');
  await form.locator('input[name=code]').fill(code);
  return submit(page, form);
}

/** A calm, usable refusal on the resume page: an alert, the form still there to try again. */
async function expectRefusal(page, resp, what) {
  assert.ok(resp.status() >= 400 && resp.status() < 500, `${what}: answered ${resp.status()}${logTail(env)}`);
  assert.equal(new URL(page.url()).pathname, '/progress/resume', `${what}: left the resume page`);
  const alert = page.getByRole('alert');
  assert.equal(await alert.count(), 1, `${what}: expected one role=alert message`);
  assert.ok(await alert.isVisible(), `${what}: the error message is not visible`);
  const text = (await alert.innerText()).trim();
  assert.ok(text.length > 20, `${what}: the error message is too short to help: "${text}"`);
  assert.doesNotMatch(text, /\b(error|exception|invalid|failed|forbidden|denied|40\d|50\d)\b/i, `${what}: not a calm message: "${text}"`);
  const input = page.locator('form[action="/progress/resume"] input[name=code]');
  assert.ok(await input.isVisible(), `${what}: the code field is gone`);
  assert.ok(await input.isEditable(), `${what}: the code field cannot be used`);
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `${what}: the field is not marked invalid`);
  const described = (await input.getAttribute('aria-describedby')) ?? '';
  const alertId = await alert.getAttribute('id');
  assert.ok(alertId && described.split(/\s+/).includes(alertId), `${what}: the field is not described by the error`);
  return text;
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';
  test(`save, resume on another device, delete (${mode})`, async () => {
    const options = { javaScriptEnabled };
    const unique = `e2e-${javaScriptEnabled ? 'js' : 'nojs'}-${crypto.randomBytes(6).toString('hex')}`;
    const { path, index } = await chapterFor(javaScriptEnabled ? 'checklist' : 'plan');
    const contexts = [];
    const newPage = async () => {
      const c = await env.browser.newContext(options);
      contexts.push(c);
      return c.newPage();
    };
    try {
      // --- Context A: answer an exercise and save progress under a return code.
      const a = await newPage();
      await a.goto(env.base + path);
      const { form, section } = exercise(a, index);
      const areas = form.locator('textarea');
      const n = await areas.count();
      assert.ok(n > 0, `the exercise on ${path} has no textarea`);
      const typed = [];
      for (let i = 0; i < n; i++) {
        typed.push(`${unique} part ${i + 1}`);
        await areas.nth(i).fill(typed[i]);
      }
      const boxes = form.locator('input[type=checkbox]');
      const hasBoxes = (await boxes.count()) > 0;
      if (hasBoxes) await boxes.first().check();
      const saved = await submit(a, form);
      assert.equal(saved.status(), 200, `saving the answer answered ${saved.status()}${logTail(env)}`);
      const notice = section.locator('[role=status]');
      assert.ok(await notice.isVisible(), 'no "saved" notice after saving the answer');
      assert.deepEqual((await shownAnswer(a, index)).texts, typed, 'the saved answer is not shown back');

      await a.goto(`${env.base}/progress`);
      const listed = await a.locator('main a[href*="#ex-"]').count();
      assert.ok(listed >= 1, '/progress does not list the answered exercise');
      const codePage = await submit(a, a.locator('form[action="/progress/save"]'));
      assert.equal(codePage.status(), 200, `saving progress answered ${codePage.status()}${logTail(env)}`);
      const code = (await a.locator('#return-code').innerText()).trim();
      assert.match(code, CODE_SHAPE, `the return code "${code}" is not in the shape shown to people`);

      // --- Context B (another device): a mistyped code first, then the code as someone
      // might type it: lower case, spaces for dashes.
      const b = await newPage();
      const last = code.at(-1);
      const mistyped = code.slice(0, -1) + (last === 'A' ? 'B' : 'A');
      await expectRefusal(b, await resumeWith(b, mistyped), 'a mistyped code');
      const sloppy = code.toLowerCase().replaceAll('-', ' ');
      const form2 = b.locator('form[action="/progress/resume"]');
      await form2.locator('input[name=code]').fill(sloppy); // same page, after the error
      const resumed = await submit(b, form2);
      assert.equal(resumed.status(), 200, `resuming answered ${resumed.status()}${logTail(env)}`);
      assert.equal(new URL(b.url()).pathname, '/progress', `resuming landed on ${b.url()}`);
      assert.ok(await b.getByRole('status').first().isVisible(), 'no welcome-back notice after resuming');
      await b.goto(env.base + path);
      const back = await shownAnswer(b, index);
      assert.deepEqual(back.texts, typed, 'the answer did not come back on the other device');
      if (hasBoxes) assert.equal(back.checked[0], true, 'the ticked box did not come back');

      // --- B deletes everything.
      await b.goto(`${env.base}/progress/delete`);
      const deleted = await submit(b, b.locator('form[action="/progress/delete"]'));
      assert.equal(deleted.status(), 200, `deleting answered ${deleted.status()}${logTail(env)}`);
      assert.ok(await b.getByRole('status').isVisible(), 'no confirmation after deleting');
      await b.goto(env.base + path);
      assert.ok((await shownAnswer(b, index)).texts.every((t) => t === ''), 'the answer is still shown after deleting');

      // --- Context C (a third device): the code no longer opens anything.
      const c = await newPage();
      await expectRefusal(c, await resumeWith(c, code), 'the code of deleted answers');
      await c.goto(env.base + path);
      assert.ok((await shownAnswer(c, index)).texts.every((t) => t === ''), 'a failed resume shows answers');
      await c.goto(`${env.base}/progress`);
      assert.equal(await c.locator('main a[href*="#ex-"]').count(), 0, '/progress lists answers after deletion');

      // A still holds its cookie, but the answers behind it are gone too.
      await a.goto(env.base + path);
      const inA = await shownAnswer(a, index);
      assert.ok(inA.texts.every((t) => t === ''), 'the first device still shows the deleted answer');
      if (hasBoxes) assert.ok(inA.checked.every((x) => !x), 'the first device still shows a ticked box');

      // Nothing typed, and not the code, ever reaches the server's log.
      const logs = env.server.logs();
      for (const secret of [unique, code, code.replaceAll('-', ''), code.toLowerCase()]) {
        assert.ok(!logs.includes(secret), `the server log contains "${secret}"`);
      }
    } finally {
      for (const c of contexts) await c.close();
    }
  });
}

test('a wrong code gets a calm error and the page stays usable', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    for (const wrong of ['hello', 'ABCD-EFGH-JKMN-PQRS-TVW!', '0000-0000-0000-0000-0000']) {
      await expectRefusal(page, await resumeWith(page, wrong), `the code "${wrong}"`);
    }
    // After errors, the rest of the page still works: the navigation leads on.
    await page.locator('header nav a[href="/modules"]').click();
    await page.waitForURL(`${env.base}/modules`);
    assert.ok((await page.locator('h1').innerText()).trim().length > 0);
  } finally {
    await context.close();
  }
});
