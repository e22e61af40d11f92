'use strict';
// A staff member created with `reachline admin create`, enrolled (password + TOTP) and
// signed in, in a browser context of their own. Returns the signed-in page.

const { execFileSync } = require('node:child_process');
const { totp, nextStep } = require('./totp');

async function signedInStaff(browser, servers, username, role, password, extraArgs = []) {
  const out = execFileSync(
    servers.bin,
    ['admin', 'create', '--config', servers.configPath, '--data-dir', servers.dataDir, '--username', username, '--role', role, ...extraArgs],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
  const link = out.trim().split('\n').pop();
  const ctx = await browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(servers.base + link.slice(link.indexOf('/console/')));
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  await page.fill('#password', password);
  await page.fill('#password_again', password);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForSelector('#recovery-codes');
  await nextStep(); // the enrolment code's step is spent
  await page.goto(`${servers.base}/console/sign-in`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.fill('#code', totp(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(`${servers.base}/console`);
  return page;
}

module.exports = { signedInStaff };
