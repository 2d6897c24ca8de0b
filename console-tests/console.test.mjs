// The administration console in a real browser: Playwright driving
// Debian's Chromium (headless) against a `seatmeter serve` started here, on
// a fresh SQLite database in a temporary directory, with a license
// authority (`seatmeter authority serve`) beside it; all on loopback.
//
//   node --test console-tests/        (after `cargo build -p seatmeter`)
//
// SEATMETER_BIN names the binary (default: target/debug/seatmeter);
// CHROMIUM the browser (default: /usr/bin/chromium). With SCREENSHOTS=1 the
// dashboard and the users page are saved to docs/console-*.png.
//
// The tests run in order and build on each other, as an administrator
// would: set a password, sign in, enter a PAK, add a user, assign and
// unassign a license, lock a user out, erase a person's activities.

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
const MARIA_PASSWORD = 'maria has a long passphrase';
const screenshots = process.env.SCREENSHOTS === '1';

let dir, authority, server, base, browser, link, token, pak, admin, mariaLink;
// What the browser reported as errors (a script that failed, a resource the
// Content-Security-Policy blocked): none may happen.
const browserErrors = [];

/// Starts `args` and resolves with the URL it says it listens on.
function listening(args, env) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const url = new Promise((resolve, reject) => {
    let log = '';
    const look = (chunk) => {
      log += chunk;
      const found = log.match(/is listening on (http:\/\/[^\s]+)/);
      if (found) resolve(found[1]);
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`${args[0]} stopped (${code}): ${log}`)));
  });
  return { child, url };
}

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// Meetings for the charts: hosts counted in the last windows (the latest
/// above the 3 host licenses the PAK installs), and one running now.
async function seedMeetings() {
  const day = 86_400_000;
  const now = Date.now();
  const hosts = [(await api('GET', '/v1/me')).id];
  for (const [i, name] of ['Ana', 'Ben', 'Chen', 'Dara'].entries()) {
    hosts.push((await api('POST', '/v1/users', { email: `host${i}@example.com`, name: `${name} Host` })).id);
  }
  const plan = [[-75, 1], [-45, 3], [-15, 4], [-3, 2]];
  const events = [];
  let n = 0;
  for (const [offset, count] of plan) {
    for (let h = 0; h < count; h++) {
      const meeting = await api('POST', '/v1/meetings', { title: `Weekly sync ${++n}`, host_user_id: hosts[h] });
      const start = now + offset * day + h * 3_600_000;
      const at = (ms) => new Date(ms).toISOString();
      events.push(
        { meeting_id: meeting.id, idempotency_key: `s${n}`, type: 'started', at: at(start) },
        { meeting_id: meeting.id, idempotency_key: `j${n}`, type: 'attendee_joined', at: at(start + 60_000), attendee: `guest${n}@example.org`, portion: 'web' },
        { meeting_id: meeting.id, idempotency_key: `e${n}`, type: 'ended', at: at(start + 1_800_000) },
      );
    }
  }
  const running = await api('POST', '/v1/meetings', { title: 'Quarterly review', host_user_id: hosts[1] });
  const started = new Date(now - 600_000).toISOString();
  events.push(
    { meeting_id: running.id, idempotency_key: 'run-s', type: 'started', at: started },
    { meeting_id: running.id, idempotency_key: 'run-j', type: 'attendee_joined', at: started, attendee: 'guest@example.org', portion: 'web' },
  );
  const applied = await api('POST', '/v1/events', events);
  assert.equal(applied.applied, events.length, JSON.stringify(applied));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seatmeter-console-'));
  const authorityDir = join(dir, 'authority');
  const init = execFileSync(bin, ['authority', 'init', '--dir', authorityDir], { encoding: 'utf8' });
  const publicKey = init.match(/ed25519:[0-9a-f]+/)[0];
  const made = execFileSync(bin, ['authority', 'pak', 'create', '--dir', authorityDir, '--customer', 'Example Corp',
    '--license', 'scheduled_meetings=2', '--license', 'live_engagement=2', '--license', 'host=3'], { encoding: 'utf8' });
  pak = made.match(/PAK-[A-Z0-9-]+/)[0];
  const started = listening(['authority', 'serve', '--dir', authorityDir, '--listen', '127.0.0.1:0']);
  authority = started.child;
  const authorityUrl = await started.url;

  const serving = listening(['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')], {
    SEATMETER_AUTHORITY_URL: authorityUrl,
    SEATMETER_AUTHORITY_PUBLIC_KEY: publicKey,
  });
  server = serving.child;
  base = await serving.url;
  const created = execFileSync(bin, ['account', 'create', '--data-dir', join(dir, 'data'), '--name', 'Example Corp',
    '--admin-email', 'admin@example.com', '--admin-name', 'Alex Admin'], { encoding: 'utf8' });
  link = `${base}/set-password?token=${created.match(/set-password\?token=([0-9a-f]+)/)[1]}`;
  token = created.match(/smt_[A-Za-z0-9_]+/)[0];
  await seedMeetings();
  const launched = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  // Every page of every context reports its errors.
  browser = {
    close: () => launched.close(),
    newPage: async () => watch(await launched.newPage()),
    newContext: async (options) => {
      const context = await launched.newContext(options);
      context.on('page', watch);
      return context;
    },
  };
});

function watch(page) {
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => browserErrors.push(`${page.url()}: ${error.message}`));
  return page;
}

after(async () => {
  await browser?.close();
  server?.kill();
  authority?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, email, password) {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  // By keyboard, as a person without a mouse would.
  await page.getByLabel('Password').press('Enter');
  await page.waitForLoadState();
}

/// What the last form did, as the page shows it.
async function flash(page) {
  const shown = page.locator('.flash, .error');
  await shown.first().waitFor();
  return shown.first().innerText();
}

test('the first administrator sets a password, signs in, and sees the dashboard with its charts', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
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

  await signIn(page, 'admin@example.com', PASSWORD);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Dashboard');
  assert.match(await page.getByRole('status').first().innerText(), /Free trial: 180 days left/);
  const usage = page.getByRole('img', { name: /Host licenses used and installed/ });
  assert.ok(await usage.isVisible(), 'the usage chart is shown');
  // A bar per window with meetings (three), each described for people who cannot see it.
  assert.equal(await usage.locator('rect').count(), 3);
  assert.match(await usage.locator('desc').textContent(), /4 used of 0 installed/);
  assert.ok(await page.getByRole('img', { name: /Meetings started per day/ }).isVisible());
  assert.ok(await page.getByRole('cell', { name: 'Quarterly review' }).isVisible(), 'the running meeting');
  assert.ok(await page.getByRole('cell', { name: 'scheduled_meetings' }).isVisible());
  admin = context;
});

test('an administrator enters a PAK from the license authority', async () => {
  const page = await admin.newPage();
  await page.goto(`${base}/`);
  await page.getByRole('navigation').getByRole('link', { name: 'Licenses' }).click();
  await page.getByRole('textbox', { name: 'Product Authorization Key' }).fill(pak);
  await page.getByRole('button', { name: 'Register and install' }).click();
  assert.match(await flash(page), new RegExp(`The license file of ${pak} is installed: 2 scheduled_meetings, 2 live_engagement, 3 host`));
  const pools = page.getByRole('region', { name: 'Pools' });
  assert.match(await pools.getByRole('row', { name: /^scheduled_meetings/ }).innerText(), /scheduled_meetings\s+2\s+0\s+2/);
  const history = page.getByRole('region', { name: 'History' });
  assert.match(await history.innerText(), new RegExp(`${pak}\\s+pak[\\s\\S]*current`));
  // Host licenses now installed: the dashboard's chart draws them, and the window above them in red.
  await page.goto(`${base}/`);
  const usage = page.getByRole('img', { name: /Host licenses used and installed/ });
  assert.match(await usage.locator('desc').textContent(), /4 used of 3 installed/);
  if (screenshots) await page.screenshot({ path: join(root, 'docs', 'console-dashboard.png'), fullPage: true });
  await page.close();
});

test('assigning a license, then unassigning it, says which booking page it disables and does', async () => {
  const page = await admin.newPage();
  await page.goto(`${base}/users`);
  await page.getByLabel('E-mail', { exact: true }).fill('maria@example.com');
  await page.getByLabel('Name', { exact: true }).fill('Maria Lopez');
  await page.getByRole('button', { name: 'Add user' }).click();
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'maria@example.com is added');
  assert.match(await page.getByRole('status').innerText(), /Send maria@example.com this one-time link/);
  mariaLink = await page.getByLabel('One-time password link').inputValue();
  assert.match(mariaLink, /^http:\/\/127\.0\.0\.1:\d+\/set-password\?token=[0-9a-f]+$/);
  await page.getByRole('link', { name: "Go to Maria Lopez's page" }).click();

  await page.getByRole('button', { name: 'Assign scheduled_meetings' }).click();
  assert.match(await flash(page), /A scheduled_meetings license is assigned/);

  await page.getByRole('navigation').getByRole('link', { name: 'Booking pages' }).click();
  await page.getByLabel('Title').fill('Intro calls');
  await page.getByLabel('Owner', { exact: true }).selectOption({ label: 'Maria Lopez <maria@example.com>' });
  await page.getByLabel(/Enable it now/).check();
  await page.getByRole('button', { name: 'Create' }).click();
  assert.match(await flash(page), /"Intro calls" is created and enabled/);

  await page.goto(`${base}/users`);
  // The search answers as one types (htmx), and without JavaScript on submit.
  await page.getByLabel('Search by name or e-mail').fill('lopez');
  await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
  if (screenshots) {
    await page.getByLabel('Search by name or e-mail').fill('');
    await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length > 1);
    await page.screenshot({ path: join(root, 'docs', 'console-users.png'), fullPage: true });
    await page.getByLabel('Search by name or e-mail').fill('lopez');
    await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
  }
  await page.getByRole('link', { name: 'Maria Lopez' }).click();
  await page.getByRole('link', { name: 'Unassign scheduled_meetings…' }).click();
  const warning = await page.getByRole('alert').innerText();
  assert.match(warning, /disables 1 booking page Maria Lopez owns/);
  assert.ok(await page.getByRole('listitem').filter({ hasText: 'Intro calls' }).isVisible());
  await page.getByRole('button', { name: 'Unassign scheduled_meetings' }).click();
  assert.match(await flash(page), /The scheduled_meetings license is unassigned; 1 booking page is disabled/);

  await page.getByRole('navigation').getByRole('link', { name: 'Booking pages' }).click();
  assert.match(await page.getByRole('row', { name: /Intro calls/ }).innerText(), /disabled/);
  await page.close();
});

test('a user is locked out after repeated bad passwords', async () => {
  // The security administrator lowers the lockout threshold to 3.
  const page = await admin.newPage();
  await page.goto(`${base}/security`);
  await page.getByLabel(/Lock a user after this many failed sign-ins/).fill('3');
  await page.getByRole('button', { name: 'Save policies' }).click();
  assert.match(await flash(page), /The security settings are saved/);
  await page.close();

  const context = await browser.newContext();
  const maria = await context.newPage();
  await maria.goto(mariaLink);
  await maria.getByLabel('New password').fill(MARIA_PASSWORD);
  await maria.getByLabel('The same again').fill(MARIA_PASSWORD);
  await maria.getByRole('button', { name: 'Set password' }).click();
  await maria.waitForURL(/\/sign-in\?done=password$/);
  for (let i = 0; i < 3; i++) {
    await signIn(maria, 'maria@example.com', 'not the password');
    assert.match(await maria.getByRole('alert').innerText(), /the e-mail address or the password is wrong/);
  }
  // Every address, known or not, waits a second after a third failure in a row.
  await signIn(maria, 'maria@example.com', MARIA_PASSWORD);
  assert.match(await maria.getByRole('alert').innerText(), /wait 1 second before trying again/);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // Locked now: even the right password answers as a wrong one does (so
  // that a guesser learns nothing), with a word on locks.
  await signIn(maria, 'maria@example.com', MARIA_PASSWORD);
  assert.match(await maria.getByRole('alert').innerText(), /the e-mail address or the password is wrong \(after many failed sign-ins a user is also locked for a while/);
  assert.equal(new URL(maria.url()).pathname, '/sign-in');
  await context.close();
});

test("a privacy administrator erases a person's activities", async () => {
  const page = await admin.newPage();
  await page.goto(`${base}/activities?actor=`);
  const stream = page.getByRole('region', { name: 'Newest first' });
  assert.match(await stream.innerText(), /user Maria Lopez/);
  await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Maria Lopez <maria@example.com>' });
  await page.getByRole('button', { name: 'Review the erasure…' }).click();
  assert.match(await page.getByRole('alert').innerText(), /\d+ activities done by maria@example.com/);
  // Not confirmed (another address typed): refused, and nothing is erased.
  await page.getByLabel(/Type maria@example.com to confirm/).fill('someone@example.com');
  await page.getByRole('button', { name: 'Erase their activities' }).click();
  assert.match(await flash(page), /type the person's e-mail address exactly/);
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Erase the activities about Maria Lopez/);
  await page.getByLabel(/Type maria@example.com to confirm/).fill('maria@example.com');
  await page.getByRole('button', { name: 'Erase their activities' }).click();
  assert.match(await flash(page), /\d+ activities about the person are erased/);
  const after = await page.getByRole('region', { name: 'Newest first' }).innerText();
  assert.doesNotMatch(after, /Maria|maria@/);
  assert.match(after, /privacy\.erased/);
  assert.match(after, /user erased/);
  // The CSV says the same.
  const csv = await (await page.request.get(`${base}/activities.csv`)).text();
  assert.match(csv, /^at,actor_user_id,action/);
  assert.doesNotMatch(csv, /maria@/);
  const maria = (await api('GET', '/v1/users?q=maria')).find((u) => u.email === 'maria@example.com');
  assert.ok(maria && !csv.includes(maria.id), 'her id is in no activity');
  await page.close();
});

// Last: the pages above reported no error (refused sign-ins answer 401 and
// 429, a refused password 422, on purpose; the browser logs those statuses,
// and nothing else may be).
test('no page made the browser report an error', () => {
  const unexpected = browserErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4(01|22|29)/.test(e));
  assert.deepEqual(unexpected, []);
});
