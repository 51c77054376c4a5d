// Browser tests of the web page (issue 5): headless Chromium, driven by playwright-core,
// against the real actionlinks binary, with a real HTTP sink in this process as the third
// party that the action links call.
//
// Run: AL_BIN=build/actionlinks AL_TMP=/tmp/al AL_SCREENSHOTS=/tmp/al/shots \
//      node tests/browser/page.test.mjs
// (after `npm ci` in tests/browser; Chromium from /usr/bin/chromium, or AL_CHROMIUM).
// The last line of the output is `N passed, M failed`; the exit status is non-zero when
// anything failed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.log(`not ok - load playwright-core (run \`npm ci\` in ${HERE})`);
  console.log(`    ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const AL_BIN = process.env.AL_BIN || path.join(HERE, '..', '..', 'build', 'actionlinks');
const AL_TMP = process.env.AL_TMP || os.tmpdir();
const SHOTS = process.env.AL_SCREENSHOTS || path.join(AL_TMP, 'screenshots');
const CHROMIUM = process.env.AL_CHROMIUM || '/usr/bin/chromium';
const API = '/services/data/v66.0';
const TEST_TIMEOUT_MS = 90000;
const WAIT_MS = 20000; // the longest a single expectation waits
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
  'SUMMARY: UndefinedBehaviorSanitizer'];
const EXPECTED_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const BROWSER_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

// ---------------------------------------------------------------------------------------
// The server process and the admin commands.

class Server {
  constructor() {
    fs.mkdirSync(AL_TMP, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(AL_TMP, 'al-browser-'));
    this.db = path.join(this.dir, 'actionlinks.db');
    this.stderr = '';
    this.proc = null;
    this.port = null;
  }

  env() {
    return {
      ...process.env,
      ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    };
  }

  // port: 0 for a free one, or the port of a previous run (a restart).
  start(port = 0) {
    this.port = null;
    this.proc = spawn(AL_BIN, ['serve', '--db', this.db, '--listen', `127.0.0.1:${port}`,
      '--allow-http-callouts', '--callout-allow', '127.0.0.1/32'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: this.env() });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.proc.stderr.setEncoding('utf8');
    this.stderr = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`server did not start:\n${this.stderr}`));
      }, 30000);
      this.proc.stderr.on('data', (chunk) => {
        this.stderr += chunk;
        const m = /listening on http:\/\/([^\s:]+):(\d+)/.exec(this.stderr);
        if (m && this.port === null) {
          this.port = Number(m[2]);
          clearTimeout(timer);
          resolve();
        }
      });
      this.proc.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`server exited before listening:\n${this.stderr}`));
      });
    });
  }

  get base() { return `http://127.0.0.1:${this.port}`; }

  admin(args, input) {
    const out = execFileSync(AL_BIN, [...args, '--db', this.db, '--json'],
      { input, env: this.env(), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return JSON.parse(out);
  }

  // SIGTERM; it must exit 0 without a sanitizer report.
  async stop() {
    this.proc.kill('SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 30000));
    const exit = await Promise.race([this.exited, timeout]);
    if (!exit) {
      this.proc.kill('SIGKILL');
      throw new Error('server did not exit within 30 s of SIGTERM');
    }
    const reports = SANITIZER_MARKERS.filter((m) => this.stderr.includes(m));
    if (exit.code !== 0 || reports.length) {
      throw new Error(`server exit ${JSON.stringify(exit)}, sanitizer reports ${JSON.stringify(reports)}:\n` +
        this.stderr.split('\n').slice(-80).join('\n'));
    }
  }
}

// ---------------------------------------------------------------------------------------
// The third party: a real HTTP server. /ok answers 200 after a short delay, /hold/KEY
// answers 200 when the test releases KEY, /fail answers 500, /page is an HTML page (the
// target of Ui links).

class Sink {
  constructor() {
    this.requests = [];
    this.holds = new Map(); // key -> [release functions]
    this.released = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  start() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = this.server.address().port;
      resolve();
    }));
  }

  url(p) { return `http://127.0.0.1:${this.port}${p}`; }

  handle(req, res) {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const u = new URL(req.url, 'http://sink');
      this.requests.push({ method: req.method, path: u.pathname, body });
      if (u.pathname === '/ok') {
        setTimeout(() => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"ok":true}');
        }, 400);
      } else if (u.pathname.startsWith('/hold/')) {
        const key = u.pathname.slice(6);
        const answer = () => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"held":true}');
        };
        if (this.released.has(key)) answer();
        else {
          if (!this.holds.has(key)) this.holds.set(key, []);
          this.holds.get(key).push(answer);
        }
      } else if (u.pathname === '/fail') {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('the sink says no');
      } else if (u.pathname === '/page') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><html><head><title>Sink page</title></head>' +
          '<body><h1>The sink\'s target page</h1></body></html>');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no such path');
      }
    });
  }

  release(key) {
    this.released.add(key);
    for (const answer of this.holds.get(key) || []) answer();
    this.holds.delete(key);
  }

  count(p) { return this.requests.filter((r) => r.path === p).length; }

  stop() {
    for (const key of [...this.holds.keys()]) this.release(key);
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------
// The API, as an integration uses it (an app's token issued by the CLI).

async function rest(server, token, method, p, body) {
  const res = await fetch(server.base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

function inDays(n) {
  return new Date(Date.now() + n * 86400000).toISOString().replace(/\.\d+Z$/, '.000Z');
}

function link(actionType, actionUrl, labelKey, extra = {}) {
  return {
    actionType,
    actionUrl,
    method: actionType === 'Ui' || actionType === 'Download' ? 'HttpGet' : 'HttpPost',
    labelKey,
    requiresConfirmation: false,
    ...extra,
  };
}

async function createGroup(server, token, links, category = 'Primary', executionsAllowed = 'Once') {
  const r = await rest(server, token, 'POST', `${API}/connect/action-link-group-definitions`,
    { actionLinks: links, category, executionsAllowed, expirationDate: inDays(7) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json;
}

async function createPost(server, token, text, groupIds) {
  const r = await rest(server, token, 'POST', `${API}/chatter/feed-elements`, {
    body: { messageSegments: [{ type: 'Text', text }] },
    subjectId: 'me',
    feedElementType: 'FeedItem',
    capabilities: { associatedActions: { actionLinkGroupIds: groupIds } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json;
}

// ---------------------------------------------------------------------------------------
// Browser helpers.

const consoleProblems = []; // CSP violations and script errors seen on any page

function watch(page, who) {
  page.on('console', (msg) => {
    const text = msg.text();
    // "Failed to load resource" is an HTTP error status or a dropped connection (tests
    // provoke both); anything else logged as an error (a CSP refusal, an exception) counts.
    if (msg.type() === 'error' && !text.startsWith('Failed to load resource')) {
      consoleProblems.push(`${who}: console error: ${text}`);
    }
  });
  page.on('pageerror', (err) => consoleProblems.push(`${who}: page error: ${err.message}`));
}

async function newSignedInPage(browser, server, username, password, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, ...options });
  const page = await context.newPage();
  watch(page, username);
  await page.goto(server.base + '/');
  await signIn(page, username, password);
  return { context, page };
}

async function signIn(page, username, password) {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('#signin-submit').click();
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
  // The live stream is connected before the test acts, so that no event is missed.
  await page.locator('#live-state[data-state="on"]').waitFor({ timeout: WAIT_MS });
}

// The post whose body is exactly `text`.
function post(page, text) {
  return page.locator('article.post', { has: page.locator('p.post-body', { hasText: new RegExp(`^${escapeRe(text)}$`) }) });
}

// A button of a post by its current label (exact).
function button(scope, label) {
  return scope.locator('button.action', { has: scope.page().locator('.label', { hasText: new RegExp(`^${escapeRe(label)}$`) }) });
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

async function waitFor(fn, what, timeout = WAIT_MS) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

// ---------------------------------------------------------------------------------------
// The tests.

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const ctx = {}; // shared: server, sink, tokens, browser, pages

test('the page is served with its CSP and nosniff headers, and has no inline code', async () => {
  const { server } = ctx;
  for (const [p, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/app.css', 'text/css']]) {
    const res = await fetch(server.base + p);
    assert.equal(res.status, 200, p);
    assert.ok(res.headers.get('content-type').startsWith(type), `${p}: ${res.headers.get('content-type')}`);
    assert.equal(res.headers.get('content-security-policy'), EXPECTED_CSP, p);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(res.headers.get('set-cookie'), null, p);
    await res.arrayBuffer();
  }
  const html = await (await fetch(server.base + '/')).text();
  // Every <script> has a src and no body; no <style> element, no style= or on…= attribute.
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1], /\bsrc=/, `inline script: ${m[0]}`);
    assert.equal(m[2].trim(), '', `script with a body: ${m[0]}`);
  }
  assert.doesNotMatch(html, /<style\b/i, 'a <style> element');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'a style attribute');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'an event handler attribute');
  assert.doesNotMatch(html, /javascript:/i, 'a javascript: URL');
  assert.doesNotMatch(html, /https?:\/\//i, 'a resource from elsewhere');

  // The same in the live DOM after signing in (nothing the script adds is inline either).
  const { page } = ctx.alice;
  const inline = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => !s.src || s.textContent.trim()).length,
    styles: document.querySelectorAll('style').length,
    styleAttrs: document.querySelectorAll('[style]').length,
    handlers: [...document.querySelectorAll('*')].filter((el) =>
      [...el.attributes].some((a) => a.name.startsWith('on'))).length,
    cookies: document.cookie,
  }));
  assert.deepEqual(inline, { scripts: 0, styles: 0, styleAttrs: 0, handlers: 0, cookies: '' });
  await shot(page, '01-headers');
});

test('sign in: a wrong password is refused, the right one shows the feed', async () => {
  const { browser, server } = ctx;
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  watch(page, 'signin');
  await page.goto(server.base + '/');
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.locator('label[for="username"]').textContent(), 'Username');
  await page.locator('#username').fill('alice');
  await page.locator('#password').fill('not her password');
  await page.locator('#password').press('Enter'); // the keyboard submits the form
  await page.locator('#signin-error').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match(await page.locator('#signin-error').textContent(), /wrong username or password/i);
  assert.equal(await page.locator('#app').isVisible(), false);
  await shot(page, '02-signin-refused');

  await signIn(page, 'alice', ctx.passwords.alice);
  assert.equal(await page.locator('#who-name').textContent(), 'Alice Example');
  await post(page, 'Filler post 30').waitFor({ timeout: WAIT_MS });
  // The token is in sessionStorage, never in a cookie.
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('actionlinks.session')));
  assert.match(stored.accessToken, /^00D\w{15}!\w{43,}$/);
  assert.deepEqual(await context.cookies(), []);
  // A reload keeps the session (sessionStorage), then sign out forgets it.
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
  await shot(page, '02-signed-in');
  await page.locator('#sign-out').click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('actionlinks.session')), null);
  // The page revokes the token on its way out (after forgetting it): it soon stops working.
  await waitFor(async () => (await rest(server, stored.accessToken, 'GET',
    `${API}/chatter/feeds/news/me/feed-elements`)).status === 401, 'the token to be revoked');
  await context.close();
});

test('an Api link with confirmation: dialog, Pending with a spinner, then the success label', async () => {
  const { server, sink, appToken } = ctx;
  const g = await createGroup(server, appToken, [
    link('Api', sink.url('/hold/approve'), 'Approve', { requiresConfirmation: true, groupDefault: true }),
    link('Api', sink.url('/fail'), 'Reject'),
  ]);
  await createPost(server, appToken, 'Approve the order 1001?', [g.id]);
  const { page } = ctx.alice;
  await page.locator('#feed-refresh').click();
  const p = post(page, 'Approve the order 1001?');
  await p.waitFor({ timeout: WAIT_MS });
  const approve = button(p, 'Approve');
  assert.ok(await approve.evaluate((b) => b.classList.contains('is-default')), 'group default styled as the main button');
  assert.equal(await button(p, 'Reject').evaluate((b) => b.classList.contains('is-default')), false);

  // Cancel first: nothing is sent.
  await approve.click();
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.locator('#confirm-message').textContent(), 'Are you sure you want to Approve?');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(sink.count('/hold/approve'), 0);
  assert.equal(await approve.isEnabled(), true);

  await approve.click();
  await dialog.waitFor({ state: 'visible' });
  await shot(page, '03-confirm-dialog');
  await page.locator('#confirm-ok').click();
  const pending = p.locator('button.action[data-status="PendingStatus"]');
  await pending.waitFor({ timeout: WAIT_MS });
  assert.equal((await pending.locator('.label').textContent()), 'Approval Pending');
  assert.ok(await pending.locator('.spinner').isVisible(), 'a spinner while Pending');
  assert.equal(await pending.getAttribute('aria-busy'), 'true');
  assert.equal(await pending.isDisabled(), true);
  assert.equal(await button(p, 'Reject').isDisabled(), true, 'the other link of the group is disabled');
  await waitFor(() => sink.count('/hold/approve') === 1, 'the callout');
  await shot(page, '03-pending');

  sink.release('approve');
  const done = button(p, 'Approved');
  await done.waitFor({ timeout: WAIT_MS });
  assert.equal(await done.getAttribute('data-status'), 'SuccessfulStatus');
  assert.ok(await done.evaluate((b) => b.classList.contains('is-success')));
  assert.equal(await done.isDisabled(), true);
  assert.equal(await done.locator('.spinner').isVisible(), false);
  assert.match(await p.locator('.group-status').textContent(), /Approved \(by you\)/);
  // The status change was announced for screen readers.
  await waitFor(async () => /Approved/.test(await page.locator('#announcer').textContent()), 'the announcement');
  assert.equal(await page.locator('#announcer').getAttribute('aria-live'), 'polite');
  assert.equal(sink.count('/hold/approve'), 1);
  assert.equal(sink.count('/fail'), 0);
  await shot(page, '03-success');
});

test('a failing Api link shows the failure label and, on demand, its diagnostic', async () => {
  const { server, sink, appToken } = ctx;
  const g = await createGroup(server, appToken, [link('Api', sink.url('/fail'), 'Confirm')], 'Primary', 'OncePerUser');
  await createPost(server, appToken, 'Confirm the shipment 77', [g.id]);
  const { page } = ctx.alice;
  await page.locator('#feed-refresh').click();
  const p = post(page, 'Confirm the shipment 77');
  await p.waitFor({ timeout: WAIT_MS });
  await button(p, 'Confirm').click(); // no confirmation asked
  const failed = button(p, 'Confirmation Failed');
  await failed.waitFor({ timeout: WAIT_MS });
  assert.ok(await failed.evaluate((b) => b.classList.contains('is-failed')));
  assert.equal(await failed.isDisabled(), true);
  const toggle = p.getByRole('button', { name: 'Show details' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  const diag = p.locator('pre.diagnostic');
  await waitFor(async () => /HTTP 500/.test(await diag.textContent()), 'the diagnostic');
  const text = await diag.textContent();
  assert.match(text, /^POST http:\/\/127\.0\.0\.1:\d+\/fail -> HTTP 500 Internal Server Error in \d+ ms; response: the sink says no$/);
  assert.equal(await p.getByRole('button', { name: 'Hide details' }).getAttribute('aria-expanded'), 'true');
  await shot(page, '04-failed-diagnostic');
});

test('another user sees a Once link change live, without reloading', async () => {
  const { server, sink, appToken, browser } = ctx;
  const g = await createGroup(server, appToken, [
    link('Api', sink.url('/hold/join'), 'Join', { groupDefault: true }),
    link('Api', sink.url('/ok'), 'Decline'),
  ]);
  await createPost(server, appToken, 'Join the release party?', [g.id]);
  const { page: alice } = ctx.alice;
  await alice.locator('#feed-refresh').click();
  ctx.bob = await newSignedInPage(browser, server, 'bob', ctx.passwords.bob);
  const bob = ctx.bob.page;
  const pb = post(bob, 'Join the release party?');
  await pb.waitFor({ timeout: WAIT_MS });
  await bob.evaluate(() => { window.notReloaded = true; });
  assert.equal(await button(pb, 'Join').isEnabled(), true);

  const pa = post(alice, 'Join the release party?');
  await button(pa, 'Join').click();
  // Bob's page: Pending by Alice, both links disabled.
  const bobPending = pb.locator('button.action[data-status="PendingStatus"]');
  await bobPending.waitFor({ timeout: WAIT_MS });
  assert.equal(await bobPending.locator('.label').textContent(), 'Join Pending');
  assert.equal(await bobPending.isDisabled(), true);
  assert.equal(await button(pb, 'Decline').isDisabled(), true);
  assert.match(await pb.locator('.group-status').textContent(), /Join Pending \(by Alice Example\)/);
  await shot(bob, '05-other-user-pending');

  sink.release('join');
  await button(pb, 'Joined').waitFor({ timeout: WAIT_MS });
  assert.match(await pb.locator('.group-status').textContent(), /Joined \(by Alice Example\)/);
  assert.equal(await bob.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await button(pa, 'Joined').waitFor({ timeout: WAIT_MS });
  assert.equal(sink.count('/hold/join'), 1);
  assert.equal(sink.count('/ok'), 0);
  await shot(bob, '05-other-user-success');
});

test('the live stream reconnects with Last-Event-ID and replays what it missed', async () => {
  const { server, sink, appToken } = ctx;
  const g = await createGroup(server, appToken, [link('Api', sink.url('/ok'), 'Accept')]);
  await createPost(server, appToken, 'Accept the new terms?', [g.id]);
  const { page } = ctx.alice;
  await page.locator('#feed-refresh').click();
  const p = post(page, 'Accept the new terms?');
  await button(p, 'Accept').waitFor({ timeout: WAIT_MS });
  // Hold the page's next stream request until the change below has been made.
  let openGate;
  const gate = new Promise((resolve) => { openGate = resolve; });
  const held = [];
  await page.route('**/connect/action-link-events', async (route) => {
    held.push(route.request().headers()['last-event-id'] || null);
    await gate;
    await route.continue();
  });
  try {
    const port = server.port;
    await server.stop(); // drops the stream (and checks a clean exit)
    await server.start(port);
    await page.locator('#live-state[data-state="reconnecting"]').waitFor({ timeout: WAIT_MS });
    await waitFor(() => held.length > 0, 'the page to reconnect');
    // Bob executes the Once link while Alice's page is not connected.
    const bobToken = server.admin(['token', 'issue', 'bob', '--app', 'feedbot']).access_token;
    const r = await rest(server, bobToken, 'PATCH', `${API}/connect/action-links/${g.actionLinks[0].id}`,
      { status: 'PendingStatus' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await waitFor(() => sink.count('/ok') >= 1, 'the callout');
    openGate();
    await page.locator('#live-state[data-state="on"]').waitFor({ timeout: WAIT_MS });
    assert.match(held[0] || '', /^\d+$/, 'the reconnection sends Last-Event-ID');
    // Replayed: Alice's page shows Bob's execution without a reload.
    await waitFor(async () => /Accept(ed| Pending) \(by Bob Builder\)/.test(await p.locator('.group-status').textContent()),
      "Bob's execution on Alice's page");
    await button(p, 'Accepted').waitFor({ timeout: WAIT_MS });
    assert.equal(await button(p, 'Accepted').isDisabled(), true);
    await shot(page, '06-replayed-after-reconnect');
  } finally {
    openGate();
    await page.unroute('**/connect/action-link-events');
  }
});

test('an Overflow menu opens from the keyboard and its button works', async () => {
  const { server, sink, appToken } = ctx;
  const primary = await createGroup(server, appToken, [link('Ui', sink.url('/page'), 'View')], 'Primary', 'Unlimited');
  const overflow = await createGroup(server, appToken, [
    link('Api', sink.url('/ok'), 'Accept'),
    link('Api', sink.url('/fail'), 'Decline'),
  ], 'Overflow', 'OncePerUser');
  await createPost(server, appToken, 'Invitation: planning meeting', [primary.id, overflow.id]);
  const { page } = ctx.alice;
  await page.locator('#feed-refresh').click();
  const p = post(page, 'Invitation: planning meeting');
  await p.waitFor({ timeout: WAIT_MS });
  const menuButton = p.locator('button[aria-haspopup="menu"]');
  const menu = p.getByRole('menu');
  assert.equal(await menuButton.getAttribute('aria-expanded'), 'false');
  assert.equal(await menu.isVisible(), false);
  assert.equal(await p.getByRole('menuitem').count(), 0, 'the Overflow links are behind the menu');

  // Keyboard: Enter opens it with focus on the first item, arrows move, Escape closes.
  await menuButton.focus();
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'visible' });
  assert.equal(await menuButton.getAttribute('aria-expanded'), 'true');
  const focused = () => page.evaluate(() => document.activeElement.textContent.trim());
  assert.equal(await focused(), 'Accept');
  await page.keyboard.press('ArrowDown');
  assert.equal(await focused(), 'Decline');
  await page.keyboard.press('ArrowDown');
  assert.equal(await focused(), 'Accept');
  await shot(page, '06-menu-open');
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-haspopup')), 'menu');

  // Open again and activate the first item with the keyboard.
  await page.keyboard.press('ArrowDown');
  await menu.waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'hidden' });
  await waitFor(async () => /Accepted \(by you\)/.test(await p.locator('.group-status').allTextContents()),
    'the Overflow link to succeed');
  await menuButton.click();
  await menu.waitFor({ state: 'visible' });
  const accepted = p.getByRole('menuitem', { name: /Accepted/ });
  assert.equal(await accepted.getAttribute('data-status'), 'SuccessfulStatus');
  assert.equal(await accepted.getAttribute('aria-disabled'), 'true');
  assert.equal(await p.getByRole('menuitem', { name: /Decline/ }).getAttribute('aria-disabled'), 'true');
  await shot(page, '06-menu-after');
  await page.keyboard.press('Escape');
  assert.equal(sink.count('/ok'), 2); // this one, and the reconnect test's
  assert.equal(sink.count('/fail'), 1); // only the earlier test's call
});

test('a Ui link opens its target in a new page, through the signed redirect', async () => {
  const { server, sink, appToken } = ctx;
  const g = await createGroup(server, appToken, [link('Ui', sink.url('/page?order=42'), 'View')], 'Primary', 'OncePerUser');
  await createPost(server, appToken, 'Order 42 is ready for review', [g.id]);
  const { page, context } = ctx.alice;
  await page.locator('#feed-refresh').click();
  const p = post(page, 'Order 42 is ready for review');
  await p.waitFor({ timeout: WAIT_MS });
  const [popup] = await Promise.all([context.waitForEvent('page', { timeout: WAIT_MS }), button(p, 'View').click()]);
  await popup.waitForURL(sink.url('/page?order=42'), { timeout: WAIT_MS });
  assert.equal(await popup.title(), 'Sink page');
  assert.equal(await popup.evaluate(() => window.opener), null, 'the target gets no opener');
  await shot(popup, '07-ui-target');
  await popup.close();
  const viewed = button(p, 'Viewed');
  await viewed.waitFor({ timeout: WAIT_MS });
  assert.ok(await viewed.evaluate((b) => b.classList.contains('is-success')));
  assert.equal(await viewed.isDisabled(), true);

  // An Unlimited Ui link (from the Overflow test's post) opens every time and stays enabled.
  const q = post(page, 'Invitation: planning meeting');
  for (let i = 0; i < 2; i++) {
    const [again] = await Promise.all([context.waitForEvent('page', { timeout: WAIT_MS }), button(q, 'View').click()]);
    await again.waitForURL(sink.url('/page'), { timeout: WAIT_MS });
    await again.close();
  }
  assert.equal(await button(q, 'View').isEnabled(), true);
  await shot(page, '07-ui-after');
});

test('the playground creates a group and posts it; errors come from the server', async () => {
  const { page } = ctx.alice;
  const { sink } = ctx;
  await page.locator('#playground > summary').click();
  const ta = page.locator('#pg-json');
  await ta.waitFor({ state: 'visible' });
  // The example is there and valid JSON.
  JSON.parse(await ta.inputValue());

  // Refused by the server: its error array is shown.
  await ta.fill(JSON.stringify({ category: 'Primary', executionsAllowed: 'Once', expirationDate: inDays(3),
    actionLinks: [{ actionType: 'Ui', actionUrl: sink.url('/page'), method: 'HttpPost', labelKey: 'View', requiresConfirmation: false }] }));
  await page.locator('#pg-submit').click();
  const errors = page.locator('#pg-errors');
  await errors.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match(await errors.textContent(), /INVALID_API_INPUT: actionLinks\[0\]\.method/);
  await shot(page, '08-playground-error');

  // Not JSON at all.
  await ta.fill('{"category": ');
  await page.locator('#pg-submit').click();
  await waitFor(async () => /not valid JSON/.test(await errors.textContent()), 'the JSON error');
  assert.equal(await ta.getAttribute('aria-invalid'), 'true');

  const definition = { category: 'Primary', executionsAllowed: 'OncePerUser', expirationDate: inDays(3),
    actionLinks: [
      { actionType: 'Api', actionUrl: sink.url('/ok'), method: 'HttpPost', labelKey: 'Add', requiresConfirmation: false, groupDefault: true },
      { actionType: 'Ui', actionUrl: sink.url('/page'), method: 'HttpGet', labelKey: 'View', requiresConfirmation: false },
    ] };
  await ta.fill(JSON.stringify(definition, null, 2));
  await page.locator('#pg-message').fill('Posted from the playground');
  await page.locator('#pg-submit').click();
  const result = page.locator('#pg-result');
  await result.waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match(await result.textContent(), /Created group 0Ag\w{15} and posted it/);
  assert.equal(await errors.isVisible(), false);
  const p = post(page, 'Posted from the playground');
  await p.waitFor({ timeout: WAIT_MS });
  assert.equal(await page.locator('#feed > li').first().locator('p.post-body').textContent(), 'Posted from the playground');
  await shot(page, '08-playground-posted');
  // It works, and it is in the server's feed (a reload shows it).
  await button(p, 'Add').click();
  await button(p, 'Added').waitFor({ timeout: WAIT_MS });
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
  await button(post(page, 'Posted from the playground'), 'Added').waitFor({ timeout: WAIT_MS });
  await page.locator('#live-state[data-state="on"]').waitFor({ timeout: WAIT_MS });
});

test('the feed is newest first and scrolls to older pages (infinite scroll)', async () => {
  const { page } = ctx.alice;
  await page.locator('#feed-refresh').click();
  await post(page, 'Posted from the playground').waitFor({ timeout: WAIT_MS });
  const count = () => page.locator('#feed > li').count();
  const first = await count();
  assert.equal(first, 10, 'one page of 10');
  await waitFor(async () => {
    await page.locator('#feed-sentinel').scrollIntoViewIfNeeded();
    return (await post(page, 'Filler post 1').count()) === 1;
  }, 'the oldest post after scrolling');
  const bodies = await page.locator('#feed p.post-body').allTextContents();
  assert.equal(new Set(bodies).size, bodies.length, 'no post twice');
  assert.equal(bodies.length, ctx.postCount());
  const fillers = bodies.filter((b) => b.startsWith('Filler post ')).map((b) => Number(b.slice(12)));
  assert.deepEqual(fillers, [...fillers].sort((a, b) => b - a), 'newest first');
  await waitFor(async () => /end of the feed/.test(await page.locator('#feed-status').textContent()), 'the end');
  await shot(page, '09-feed-end');
});

test('on a phone-sized screen the page fits and the buttons are usable', async () => {
  const { browser, server } = ctx;
  const { context, page } = await newSignedInPage(browser, server, 'bob', ctx.passwords.bob,
    { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const p = post(page, 'Posted from the playground');
  await p.waitFor({ timeout: WAIT_MS });
  await p.scrollIntoViewIfNeeded();
  const overflowX = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflowX <= 0, `no horizontal scrolling (${overflowX}px)`);
  const box = await button(p, 'Add').boundingBox();
  assert.ok(box.height >= 40, `a touch-sized button (${box.height}px)`);
  await button(p, 'Add').tap();
  await button(p, 'Added').waitFor({ timeout: WAIT_MS }); // OncePerUser: Bob's own execution
  const menuPost = post(page, 'Invitation: planning meeting');
  await menuPost.scrollIntoViewIfNeeded();
  await menuPost.locator('button[aria-haspopup="menu"]').tap();
  await menuPost.getByRole('menu').waitFor({ state: 'visible' });
  const menuBox = await menuPost.getByRole('menu').boundingBox();
  assert.ok(menuBox.x >= 0 && menuBox.x + menuBox.width <= 375, `the menu is on screen (${JSON.stringify(menuBox)})`);
  await shot(page, '10-phone');
  await context.close();
});

// ---------------------------------------------------------------------------------------

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

async function setUp() {
  const server = new Server();
  await server.start();
  const sink = new Sink();
  await sink.start();
  ctx.server = server;
  ctx.sink = sink;
  ctx.passwords = { alice: 'correct horse battery staple', bob: 'b0b-the-builder-pw' };
  server.admin(['user', 'add', 'alice', '--name', 'Alice Example', '--password-stdin'], `${ctx.passwords.alice}\n`);
  server.admin(['user', 'add', 'bob', '--name', 'Bob Builder', '--password-stdin'], `${ctx.passwords.bob}\n`);
  server.admin(['app', 'add', 'feedbot']);
  ctx.appToken = server.admin(['token', 'issue', 'alice', '--app', 'feedbot']).access_token;
  // 30 older posts, so that the feed has several pages.
  for (let i = 1; i <= 30; i++) await createPost(server, ctx.appToken, `Filler post ${i}`, []);
  ctx.postCount = () => ctx.posts;
  ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  ctx.alice = await newSignedInPage(ctx.browser, server, 'alice', ctx.passwords.alice);
}

async function countPosts() {
  const r = await rest(ctx.server, ctx.appToken, 'GET', `${API}/chatter/feeds/news/me/feed-elements?pageSize=100`);
  ctx.posts = r.json.elements.length;
}

let passed = 0;
let failed = 0;
const report = (ok, name, err) => {
  if (ok) { passed++; console.log(`ok - ${name}`); return; }
  failed++;
  console.log(`not ok - ${name}`);
  for (const line of String(err && err.stack ? err.stack : err).split('\n').slice(0, 12)) console.log(`    ${line}`);
};

try {
  await withTimeout(setUp(), 120000, 'set-up');
  report(true, 'set-up: server, sink, users, 30 posts, browser');
} catch (e) {
  report(false, 'set-up: server, sink, users, 30 posts, browser', e);
}

if (!failed) {
  for (const t of tests) {
    try {
      if (t.name.startsWith('the feed is newest first')) await countPosts();
      await withTimeout(t.fn(), TEST_TIMEOUT_MS, t.name);
      report(true, t.name);
    } catch (e) {
      report(false, t.name, e);
      for (const [who, page] of [['alice', ctx.alice && ctx.alice.page], ['bob', ctx.bob && ctx.bob.page]]) {
        if (page && !page.isClosed()) {
          try { await shot(page, `failed-${tests.indexOf(t) + 1}-${who}`); } catch (e2) { /* ignore */ }
        }
      }
    }
  }
  report(consoleProblems.length === 0, 'no CSP violation or script error on any page',
    consoleProblems.join('\n'));
}

try { if (ctx.browser) await ctx.browser.close(); } catch (e) { /* ignore */ }
try { if (ctx.sink) await ctx.sink.stop(); } catch (e) { /* ignore */ }
if (ctx.server && ctx.server.proc) {
  try {
    await ctx.server.stop();
    report(true, 'the server exits 0 on SIGTERM with no sanitizer report');
  } catch (e) {
    report(false, 'the server exits 0 on SIGTERM with no sanitizer report', e);
  }
}
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
