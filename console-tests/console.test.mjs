// The administration console in a real browser: Playwright driving
// Debian's Chromium (headless) against a `seatmeter serve` started here, on
// a fresh SQLite database in a temporary directory, on loopback.
//
//   node --test console-tests/        (after `cargo build -p seatmeter`)
//
// SEATMETER_BIN names the binary (default: target/debug/seatmeter);
// CHROMIUM the browser (default: /usr/bin/chromium). With SCREENSHOTS=1 the
// dashboard is saved to docs/console-dashboard.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.SEATMETER_BIN ?? join(root, 'target', 'debug', 'seatmeter');
const PASSWORD = 'correct horse battery staple';

let dir, server, base, browser, link;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seatmeter-console-'));
  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  base = await new Promise((resolve, reject) => {
    let log = '';
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const found = log.match(/is listening on (http:\/\/[^\s]+)/);
      if (found) resolve(found[1]);
    });
    server.on('exit', (code) => reject(new Error(`the server stopped (${code}): ${log}`)));
  });
  const created = execFileSync(bin, ['account', 'create', '--data-dir', dir, '--name', 'Example Corp',
    '--admin-email', 'admin@example.com'], { encoding: 'utf8' });
  const token = created.match(/set-password\?token=([0-9a-f]+)/)[1];
  link = `${base}/set-password?token=${token}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, password) {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('E-mail').fill('admin@example.com');
  await page.getByLabel('Password').fill(password);
  // By keyboard, as a person without a mouse would.
  await page.getByLabel('Password').press('Enter');
  await page.waitForLoadState();
}

test('the first administrator sets a password, signs in, and sees the dashboard with its chart', async () => {
  const page = await browser.newPage();
  await page.goto(link);
  // Long enough for the form, but one of the most common passwords: the server says so.
  await page.getByLabel('New password').fill('1qaz2wsx3edc');
  await page.getByLabel('The same again').fill('1qaz2wsx3edc');
  await page.getByRole('button', { name: 'Set password' }).click();
  assert.match(await page.getByRole('alert').innerText(), /one of the most common/);

  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('The same again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.waitForURL(/\/sign-in\?done=password$/);
  assert.match(await page.getByRole('status').innerText(), /Your password is set/);

  await signIn(page, PASSWORD);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Dashboard');
  assert.match(await page.getByRole('status').first().innerText(), /Free trial: 180 days left/);
  const chart = page.getByRole('img', { name: /Host licenses used and installed/ });
  assert.ok(await chart.isVisible(), 'the usage chart is shown');
  assert.ok(await page.getByRole('cell', { name: 'scheduled_meetings' }).isVisible());
  if (process.env.SCREENSHOTS === '1') {
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.screenshot({ path: join(root, 'docs', 'console-dashboard.png'), fullPage: true });
  }

  // Signing out ends the session.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/sign-in\?done=signed-out$/);
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await page.close();
});

test('repeated bad passwords are throttled', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  for (let i = 0; i < 3; i++) {
    await signIn(page, 'not the password');
    assert.match(await page.getByRole('alert').innerText(), /the e-mail address or the password is wrong/);
  }
  // The fourth, at once: wait first, even with the right password.
  await signIn(page, PASSWORD);
  assert.match(await page.getByRole('alert').innerText(), /wait \d+ seconds? before trying again/);
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await context.close();
});
