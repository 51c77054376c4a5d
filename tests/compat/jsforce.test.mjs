// Client-compatibility test: drives the real actionlinks binary with jsforce 3 (the
// Salesforce client library for JavaScript) and with Node's own http module.
//
// Run: AL_BIN=build/actionlinks AL_TMP=/tmp/al node tests/compat/jsforce.test.mjs
// (after `npm ci` in tests/compat). The last line of the output is `N passed, M failed`;
// the exit status is non-zero when anything failed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// jsforce comes from tests/compat/node_modules (`npm ci` in tests/compat).
let jsforce;
try {
  jsforce = (await import('jsforce')).default;
} catch (e) {
  console.log(`not ok - load jsforce (run \`npm ci\` in ${path.dirname(fileURLToPath(import.meta.url))})`);
  console.log(`    ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AL_BIN = process.env.AL_BIN || path.join(HERE, '..', '..', 'build', 'actionlinks');
const AL_TMP = process.env.AL_TMP || os.tmpdir();
const VERSION = '66.0';
const API = `/services/data/v${VERSION}`;
const STOP_TIMEOUT_MS = 20000;
const START_TIMEOUT_MS = 30000;
const TEST_TIMEOUT_MS = 60000;
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
  'SUMMARY: UndefinedBehaviorSanitizer'];

// ---------------------------------------------------------------------------------------
// The server process and the admin commands.

class Server {
  constructor() {
    fs.mkdirSync(AL_TMP, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(AL_TMP, 'al-jsforce-'));
    this.db = path.join(this.dir, 'actionlinks.db');
    this.stderr = '';
    this.proc = null;
    this.port = null;
    this.exit = null; // {code, signal} once exited
  }

  env() {
    return {
      ...process.env,
      ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    };
  }

  start() {
    this.proc = spawn(AL_BIN, ['serve', '--db', this.db, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: this.env() });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
    });
    this.proc.stderr.setEncoding('utf8');
    return new Promise((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`server did not start within ${START_TIMEOUT_MS} ms:\n${this.stderr}`));
      }, START_TIMEOUT_MS);
      this.proc.stderr.on('data', (chunk) => {
        this.stderr += chunk;
        if (this.port !== null) return;
        pending += chunk;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          const m = /^listening on http:\/\/([^\s]+):(\d+)$/.exec(line);
          if (m) {
            this.host = m[1];
            this.port = Number(m[2]);
            clearTimeout(timer);
            resolve(this);
            return;
          }
        }
      });
      this.proc.on('error', (e) => { clearTimeout(timer); reject(e); });
      this.exited.then(({ code, signal }) => {
        if (this.port === null) {
          clearTimeout(timer);
          reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${this.stderr}`));
        }
      });
    });
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  admin(...args) {
    const out = execFileSync(AL_BIN, [...args, '--db', this.db, '--json'],
      { encoding: 'utf8', env: this.env(), timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out);
  }

  sanitizerReports() {
    return SANITIZER_MARKERS.filter((m) => this.stderr.includes(m));
  }

  // SIGTERM, then wait at most STOP_TIMEOUT_MS for a clean exit.
  async stop() {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
      return null;
    }
    return result;
  }
}

// ---------------------------------------------------------------------------------------
// A small runner: tests run in order, each one's outcome is printed, a summary ends it.

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

async function run() {
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    try {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS);
      });
      try {
        await Promise.race([t.fn(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      passed++;
      console.log(`ok - ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}`);
      const text = (e && e.stack) ? e.stack : String(e);
      console.log(text.split('\n').map((l) => `    ${l}`).join('\n'));
      if (e && e.data !== undefined) console.log(`    error.data: ${JSON.stringify(e.data)}`);
    }
  }
  return { passed, failed };
}

// ---------------------------------------------------------------------------------------
// Helpers.

function loadLabels() {
  const text = fs.readFileSync(path.join(HERE, '..', '..', 'data', 'labels.tsv'), 'utf8');
  const labels = new Map();
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const [key, NewStatus, PendingStatus, SuccessfulStatus, FailedStatus] = line.split('\t');
    labels.set(key, { NewStatus, PendingStatus, SuccessfulStatus, FailedStatus });
  }
  return labels;
}

function isoInDays(days) {
  return new Date(Date.now() + days * 86400000).toISOString();
}

const ID18 = /^[0-9A-Za-z]{15}[A-Z0-5]{3}$/;
function assertId(id, prefix, what) {
  assert.equal(typeof id, 'string', `${what} is not a string: ${JSON.stringify(id)}`);
  assert.match(id, ID18, `${what} is not an 18-character id: ${id}`);
  assert.equal(id.slice(0, 3), prefix, `${what} has the wrong key prefix: ${id}`);
}

// Expects `promise` (a jsforce call) to be rejected with an HttpApiError carrying errorCode.
async function expectApiError(promise, errorCode) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    assert.equal(e.errorCode, errorCode,
      `jsforce error has errorCode ${e.errorCode} (name ${e.name}, message ${JSON.stringify(e.message)}), expected ${errorCode}`);
    assert.equal(e.name, errorCode, 'jsforce names the error after its errorCode');
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, 'the error message is empty');
    // jsforce unwraps the one-element array into error.data.
    assert.equal(typeof e.data, 'object', `error.data is ${JSON.stringify(e.data)}`);
    assert.ok(!Array.isArray(e.data), 'error.data is an array: the body was not a one-element array');
    assert.equal(e.data.errorCode, errorCode);
    assert.equal(e.data.message, e.message);
    return e;
  }
  assert.fail(`expected a ${errorCode} error, got ${JSON.stringify(result)}`);
}

// One request with Node's http module; `chunks` (strings) are written one by one, so without
// a Content-Length header the body goes out chunked.
function rawRequest(port, { method = 'GET', path: p, headers = {}, chunks = [] }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => {
          const body = Buffer.concat(parts).toString('utf8');
          let json;
          try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, body, json });
        });
        res.on('error', reject);
      });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('request timed out')));
    let i = 0;
    const next = () => {
      if (i >= chunks.length) { req.end(); return; }
      req.write(chunks[i++]);
      setTimeout(next, 5); // separate writes, so separate chunks on the wire
    };
    next();
  });
}

function splitInto(text, sizes) {
  const out = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= text.length) break;
    out.push(text.slice(at, at + n));
    at += n;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

// ---------------------------------------------------------------------------------------
// The scenario.

const labels = loadLabels();
const server = new Server();
const state = {};

function definitionInput() {
  return {
    category: 'Primary',
    executionsAllowed: 'Once',
    expirationDate: isoInDays(1),
    actionLinks: [
      {
        actionType: 'Api',
        actionUrl: 'https://example.com/api/approve',
        method: 'HttpPost',
        labelKey: 'Approve',
        requiresConfirmation: true,
        headers: [{ name: 'X-Example', value: 'secret' }],
        requestBody: '{"approved":true}',
      },
      {
        actionType: 'Ui',
        actionUrl: 'https://example.com/view',
        method: 'HttpGet',
        labelKey: 'View',
        requiresConfirmation: false,
        groupDefault: true,
      },
    ],
  };
}

function need(...keys) {
  for (const k of keys) {
    if (state[k] === undefined) throw new Error(`skipped: an earlier step did not provide ${k}`);
  }
}

function checkPlatformAction(pa, { id, subtype, labelKey, status, confirm, groupId }) {
  assert.equal(pa.id, id);
  assert.equal(pa.type, 'ActionLink');
  assert.equal(pa.subtype, subtype);
  assert.equal(pa.status, status, `status of ${subtype} link`);
  assert.equal(pa.label, labels.get(labelKey)[status], `label of ${subtype} link in ${status}`);
  assert.equal(pa.url, `${API}/connect/action-links/${id}`);
  assert.equal(pa.apiName, null);
  assert.equal(pa.iconUrl, null);
  assert.deepEqual(pa.createdRecords, []);
  assert.equal(typeof pa.groupDefault, 'boolean');
  assert.equal(typeof pa.modifiedDate, 'string');
  assert.equal(pa.platformActionGroup?.id, groupId);
  assert.equal(typeof pa.platformActionGroup?.url, 'string');
  if (confirm && status === 'NewStatus') {
    assert.equal(pa.confirmationMessage, `Are you sure you want to ${pa.label}?`);
  } else {
    assert.equal(pa.confirmationMessage, null);
  }
  if (subtype === 'Api' || subtype === 'ApiAsync') {
    assert.equal(pa.actionUrl, null, 'an Api link must not reveal its actionUrl');
  } else {
    // Its form (the redirect URL of SPEC 7.5) is checked by a test of its own.
    assert.notEqual(pa.actionUrl, 'https://example.com/view',
      'a Ui link gives the redirect URL, not its actionUrl');
  }
  if (status === 'NewStatus') {
    assert.equal(pa.executingUser, null);
  } else {
    assert.equal(pa.executingUser?.id, state.userId);
    assert.equal(pa.executingUser?.username, state.username);
  }
}

test('server starts and admin commands create a user, an app and a token', async () => {
  await server.start();
  state.username = 'jsforce.user@example.com';
  const user = server.admin('user', 'add', state.username, '--name', 'Jsforce User');
  assertId(user.id, '005', 'user id');
  state.userId = user.id;
  const app = server.admin('app', 'add', 'jsforce-compat');
  assertId(app.id, '0H4', 'app id');
  const tok = server.admin('token', 'issue', state.username, '--app', 'jsforce-compat');
  assert.match(tok.access_token, /^00D\w{12,15}![.\w]*$/, 'token matches the pattern clients use');
  assert.equal(typeof tok.expires_at, 'string');
  state.token = tok.access_token;
  state.conn = new jsforce.Connection({
    instanceUrl: server.url,
    accessToken: state.token,
    version: VERSION,
  });
});

test('jsforce: GET /services/data lists versions up to 66.0', async () => {
  need('conn');
  const versions = await state.conn.requestGet('/services/data');
  assert.ok(Array.isArray(versions), `not a JSON array (jsforce parsed ${typeof versions})`);
  const v66 = versions.find((v) => v.version === VERSION);
  assert.ok(v66, 'version 66.0 is listed');
  assert.equal(v66.url, API);
});

test('jsforce: POST action-link-group-definitions creates a Once group (Api + Ui)', async () => {
  need('conn');
  const input = definitionInput();
  const def = await state.conn.requestPost('/connect/action-link-group-definitions', input);
  assert.equal(typeof def, 'object', `response not parsed as JSON: ${JSON.stringify(def)}`);
  assertId(def.id, '0Ag', 'group id');
  assert.equal(def.category, 'Primary');
  assert.equal(def.executionsAllowed, 'Once');
  assert.equal(def.templateId, null);
  assert.equal(def.url, `${API}/connect/action-link-group-definitions/${def.id}`);
  assert.match(def.expirationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(Date.parse(def.expirationDate), Date.parse(input.expirationDate),
    'expirationDate round-trips');
  assert.ok(Array.isArray(def.actionLinks) && def.actionLinks.length === 2, 'two action links');
  const [api, ui] = def.actionLinks;
  assertId(api.id, '0An', 'Api link id');
  assertId(ui.id, '0An', 'Ui link id');
  assert.equal(api.type, 'Api');
  assert.equal(api.actionUrl, 'https://example.com/api/approve');
  assert.equal(api.method, 'HttpPost');
  assert.equal(api.labelKey, 'Approve');
  assert.equal(api.requiresConfirmation, true);
  assert.equal(api.groupDefault, false);
  assert.deepEqual(api.headers, [{ name: 'X-Example', value: 'secret' }]);
  assert.equal(api.requestBody, '{"approved":true}');
  assert.equal(api.userId, null);
  assert.equal(api.excludedUserId, null);
  assert.equal(ui.type, 'Ui');
  assert.equal(ui.method, 'HttpGet');
  assert.equal(ui.labelKey, 'View');
  assert.equal(ui.groupDefault, true);
  assert.deepEqual(ui.headers, []);
  assert.equal(ui.requestBody, null);
  state.definition = def;
  state.groupId = def.id;
  state.apiId = api.id;
  state.uiId = ui.id;
});

test('jsforce: GET the definition back', async () => {
  need('conn', 'groupId');
  const def = await state.conn.requestGet(`/connect/action-link-group-definitions/${state.groupId}`);
  assert.deepEqual(def, state.definition);
});

test('jsforce: HEAD the definition answers without a body', async () => {
  need('conn', 'groupId');
  const body = await state.conn.request({
    method: 'HEAD',
    url: `/connect/action-link-group-definitions/${state.groupId}`,
  });
  assert.ok(body === '' || body === undefined, `HEAD gave a body: ${JSON.stringify(body)}`);
});

test('jsforce: GET the action link group: both links NewStatus with their labels', async () => {
  need('conn', 'groupId');
  const g = await state.conn.requestGet(`/connect/action-link-groups/${state.groupId}`);
  assert.equal(g.id, state.groupId);
  assert.equal(g.category, 'Primary');
  assert.equal(g.url, `${API}/connect/action-link-groups/${state.groupId}`);
  assert.equal(typeof g.modifiedDate, 'string');
  assert.equal(g.platformActions.length, 2);
  checkPlatformAction(g.platformActions[0], { id: state.apiId, subtype: 'Api', labelKey: 'Approve',
    status: 'NewStatus', confirm: true, groupId: state.groupId });
  checkPlatformAction(g.platformActions[1], { id: state.uiId, subtype: 'Ui', labelKey: 'View',
    status: 'NewStatus', confirm: false, groupId: state.groupId });
  assert.equal(g.platformActions[0].label, 'Approve');
  assert.equal(g.platformActions[0].confirmationMessage, 'Are you sure you want to Approve?');
});

test('jsforce: the Ui link\'s actionUrl is the redirect URL, which answers 302 (SPEC 7.5)', async () => {
  need('conn', 'uiId');
  const pa = await state.conn.requestGet(`/connect/action-links/${state.uiId}`);
  assert.equal(typeof pa.actionUrl, 'string',
    `a Ui link's actionUrl is ${JSON.stringify(pa.actionUrl)}, not the redirect URL`);
  const prefix = `${server.url}/action-link-redirect/000000000000000000/${state.uiId}?_bearer=`;
  assert.ok(pa.actionUrl.startsWith(prefix), `actionUrl ${pa.actionUrl} does not start with ${prefix}`);
  const r = await rawRequest(server.port, { path: pa.actionUrl.slice(server.url.length) });
  assert.equal(r.status, 302, `status ${r.status}: ${r.body}`);
  assert.equal(r.headers.location, 'https://example.com/view');
});

test('jsforce: PATCH the Ui link to PendingStatus', async () => {
  need('conn', 'uiId');
  const pa = await state.conn.requestPatch(`/connect/action-links/${state.uiId}`,
    { status: 'PendingStatus' });
  checkPlatformAction(pa, { id: state.uiId, subtype: 'Ui', labelKey: 'View',
    status: 'PendingStatus', confirm: false, groupId: state.groupId });
  assert.equal(pa.label, 'View Pending');
});

test('jsforce: PATCH the Ui link to SuccessfulStatus', async () => {
  need('conn', 'uiId');
  const pa = await state.conn.requestPatch(`/connect/action-links/${state.uiId}`,
    { status: 'SuccessfulStatus' });
  checkPlatformAction(pa, { id: state.uiId, subtype: 'Ui', labelKey: 'View',
    status: 'SuccessfulStatus', confirm: false, groupId: state.groupId });
  assert.equal(pa.label, 'Viewed');
});

test('jsforce: the group now shows Ui SuccessfulStatus and Api NewStatus', async () => {
  need('conn', 'groupId');
  const g = await state.conn.requestGet(`/connect/action-link-groups/${state.groupId}`);
  checkPlatformAction(g.platformActions[0], { id: state.apiId, subtype: 'Api', labelKey: 'Approve',
    status: 'NewStatus', confirm: true, groupId: state.groupId });
  checkPlatformAction(g.platformActions[1], { id: state.uiId, subtype: 'Ui', labelKey: 'View',
    status: 'SuccessfulStatus', confirm: false, groupId: state.groupId });
  const one = await state.conn.requestGet(`/connect/action-links/${state.uiId}`);
  // The redirect URL carries a fresh expiry each time it is made; the rest is the same.
  const withoutUrl = ({ actionUrl, ...rest }) => rest;
  assert.deepEqual(withoutUrl(one), withoutUrl(g.platformActions[1]));
  assert.ok(one.actionUrl.split('?')[0] === g.platformActions[1].actionUrl.split('?')[0]);
});

test('jsforce: a 409 surfaces as errorCode ALREADY_EXECUTED (other link of a Once group)', async () => {
  need('conn', 'apiId');
  await expectApiError(state.conn.requestPatch(`/connect/action-links/${state.apiId}`,
    { status: 'PendingStatus' }), 'ALREADY_EXECUTED');
});

test('jsforce: a 409 surfaces as errorCode INVALID_STATUS_TRANSITION (terminal to New)', async () => {
  need('conn', 'uiId');
  await expectApiError(state.conn.requestPatch(`/connect/action-links/${state.uiId}`,
    { status: 'NewStatus' }), 'INVALID_STATUS_TRANSITION');
});

test('jsforce: a 400 surfaces as errorCode INVALID_STATUS', async () => {
  need('conn', 'uiId');
  await expectApiError(state.conn.requestPatch(`/connect/action-links/${state.uiId}`,
    { status: 'Bogus' }), 'INVALID_STATUS');
});

test('jsforce: GET diagnostic-info gives {"diagnosticInfo":null,...}', async () => {
  need('conn', 'uiId');
  const d = await state.conn.requestGet(`/connect/action-links/${state.uiId}/diagnostic-info`);
  assert.equal(typeof d, 'object');
  assert.ok('diagnosticInfo' in d, 'diagnosticInfo key present');
  assert.equal(d.diagnosticInfo, null);
  assert.ok('url' in d, 'url key present');
  assert.equal(typeof d.url, 'string');
});

test('jsforce: GET /services/oauth2/userinfo names the token\'s user', async () => {
  need('conn');
  const info = await state.conn.requestGet('/services/oauth2/userinfo');
  assert.equal(info.user_id, state.userId);
  assert.equal(info.preferred_username, state.username);
  assert.equal(info.name, 'Jsforce User');
  assertId(info.organization_id, '00D', 'organization_id');
  assert.equal(state.token.split('!')[0], info.organization_id, 'the token starts with the org id');
});

test('jsforce: conn.identity() (GET /services/data/v66.0 -> identity URL -> ?format=json)', async () => {
  need('conn');
  // jsforce 3 reads the "identity" URL from the version root, then GETs it with
  // ?format=json&oauth_token=..., and expects user_id, organization_id and id in the answer.
  const root = await state.conn.requestGet(API);
  assert.equal(typeof root, 'object');
  assert.equal(root.connect, `${API}/connect`);
  assert.equal(typeof root.identity, 'string',
    `the version root has no "identity" URL, which conn.identity() needs: ${JSON.stringify(root)}`);
  // Salesforce's identity URL is absolute (https://login.salesforce.com/id/00D…/005…);
  // jsforce would turn a relative "/id/…" into "<instance>/services/data/v66.0/id/…".
  assert.match(root.identity, /^https?:\/\//, 'the identity URL is absolute');
  const id = await state.conn.identity();
  assert.equal(id.user_id, state.userId);
  assertId(id.organization_id, '00D', 'organization_id');
  assert.equal(typeof id.id, 'string');
  assert.equal(state.conn.userInfo.id, state.userId);
});

test('jsforce: a bad token surfaces as errorCode INVALID_SESSION_ID', async () => {
  need('conn', 'groupId');
  const bad = new jsforce.Connection({ instanceUrl: server.url, version: VERSION,
    accessToken: `${state.token.split('!')[0]}!${'x'.repeat(50)}` });
  await expectApiError(bad.requestGet(`/connect/action-link-groups/${state.groupId}`),
    'INVALID_SESSION_ID');
});

test('jsforce: DELETE the definition', async () => {
  need('conn', 'groupId');
  const res = await state.conn.requestDelete(`/connect/action-link-group-definitions/${state.groupId}`);
  assert.equal(res, undefined, `jsforce returns undefined for 204, got ${JSON.stringify(res)}`);
  state.deleted = true;
});

test('jsforce: after DELETE, GETs are 404 with errorCode NOT_FOUND', async () => {
  need('conn', 'groupId', 'deleted');
  await expectApiError(state.conn.requestGet(`/connect/action-link-group-definitions/${state.groupId}`), 'NOT_FOUND');
  await expectApiError(state.conn.requestGet(`/connect/action-link-groups/${state.groupId}`), 'NOT_FOUND');
  await expectApiError(state.conn.requestGet(`/connect/action-links/${state.uiId}`), 'NOT_FOUND');
  // The wire shape behind it: 404 and a one-element array.
  const r = await rawRequest(server.port, { path: `${API}/connect/action-link-groups/${state.groupId}`,
    headers: { Authorization: `Bearer ${state.token}` } });
  assert.equal(r.status, 404);
  assert.ok(Array.isArray(r.json) && r.json.length === 1, `body: ${r.body}`);
  assert.equal(r.json[0].errorCode, 'NOT_FOUND');
  assert.equal(typeof r.json[0].message, 'string');
});

test('jsforce: an unknown API version is 404 NOT_FOUND', async () => {
  need('conn');
  await expectApiError(state.conn.requestGet('/services/data/v99.0/connect/action-links/0An000000000000'),
    'NOT_FOUND');
});

// --- Node's http module: what other clients (jsforce 2 among them) send. -----------------

test('http: a chunked request body (Transfer-Encoding: chunked) creates a definition', async () => {
  need('token');
  const text = JSON.stringify(definitionInput());
  const r = await rawRequest(server.port, {
    method: 'POST',
    path: `${API}/connect/action-link-group-definitions`,
    headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked' },
    chunks: splitInto(text, [1, 7, 64, 3, 200]),
  });
  assert.equal(r.status, 201, `status ${r.status}: ${r.body}`);
  assert.match(r.headers['content-type'] || '', /^application\/json;\s*charset=UTF-8$/i);
  assertId(r.json?.id, '0Ag', 'group id');
  assert.equal(r.json.actionLinks.length, 2);
  state.group2 = r.json.id;
  state.ui2 = r.json.actionLinks[1].id;
});

test('http: a chunked PATCH body changes a status', async () => {
  need('token', 'ui2');
  const r = await rawRequest(server.port, {
    method: 'PATCH',
    path: `${API}/connect/action-links/${state.ui2}`,
    headers: { Authorization: `Bearer ${state.token}`, 'Transfer-Encoding': 'chunked' },
    chunks: ['{"sta', 'tus":"Pendin', 'gStatus"}'],
  });
  assert.equal(r.status, 200, `status ${r.status}: ${r.body}`);
  assert.equal(r.json.status, 'PendingStatus');
});

test('http: a body with no Content-Type header is parsed as JSON', async () => {
  need('token');
  const text = JSON.stringify(definitionInput());
  const r = await rawRequest(server.port, {
    method: 'POST',
    path: `${API}/connect/action-link-group-definitions`,
    headers: { Authorization: `Bearer ${state.token}`, 'Content-Length': Buffer.byteLength(text) },
    chunks: [text],
  });
  assert.equal(r.status, 201, `status ${r.status}: ${r.body}`);
  assertId(r.json?.id, '0Ag', 'group id');
  state.group3 = r.json.id;
});

test('http: a //services/... path is accepted as if normalised', async () => {
  need('token', 'group2');
  const r = await rawRequest(server.port, {
    path: `/${API}/connect/action-link-groups/${state.group2}`,
    headers: { Authorization: `Bearer ${state.token}` },
  });
  assert.equal(r.status, 200, `status ${r.status}: ${r.body}`);
  assert.equal(r.json.id, state.group2);
  assert.equal(r.json.platformActions[1].status, 'PendingStatus');
  const r2 = await rawRequest(server.port, {
    path: `//services//data/v${VERSION}//connect/action-link-group-definitions/${state.group2}`,
    headers: { Authorization: `Bearer ${state.token}` },
  });
  assert.equal(r2.status, 200, `status ${r2.status}: ${r2.body}`);
  assert.equal(r2.json.id, state.group2);
});

test('http: a trailing slash is accepted as if normalised', async () => {
  need('token', 'group3');
  const r = await rawRequest(server.port, {
    path: `${API}/connect/action-link-groups/${state.group3}/`,
    headers: { Authorization: `Bearer ${state.token}` },
  });
  assert.equal(r.status, 200, `status ${r.status}: ${r.body}`);
  assert.equal(r.json.id, state.group3);
});

// --- The feed (SPEC 4.4): a post carrying a group, through jsforce's chatter API. ------

test('jsforce: conn.chatter posts a feed item carrying an action link group', async () => {
  need('conn');
  const def = await state.conn.requestPost('/connect/action-link-group-definitions',
    definitionInput());
  assertId(def.id, '0Ag', 'group id');
  const item = await state.conn.chatter.resource('/feed-elements').create({
    body: { messageSegments: [{ type: 'Text', text: 'Please approve the order' }] },
    subjectId: 'me',
    feedElementType: 'FeedItem',
    capabilities: { associatedActions: { actionLinkGroupIds: [def.id] } },
  });
  assertId(item.id, '0D5', 'feed item id');
  assert.equal(item.feedElementType, 'FeedItem');
  assert.equal(item.url, `${API}/chatter/feed-elements/${item.id}`);
  assert.equal(item.actor?.id, state.userId);
  assert.equal(item.body?.text, 'Please approve the order');
  const groups = item.capabilities?.associatedActions?.platformActionGroups;
  assert.ok(Array.isArray(groups) && groups.length === 1, JSON.stringify(item));
  assert.equal(groups[0].id, def.id);
  state.feedGroup = def;
  state.feedItemId = item.id;
});

test('jsforce: the news feed holds the post with its platformActionGroups', async () => {
  need('conn', 'feedItemId', 'feedGroup');
  const page = await state.conn.chatter.resource('/feeds/news/me/feed-elements',
    { pageSize: 10 }).retrieve();
  assert.ok(Array.isArray(page.elements), JSON.stringify(page));
  assert.equal(page.currentPageUrl, `${API}/chatter/feeds/news/me/feed-elements?pageSize=10`);
  const post = page.elements.find((e) => e.id === state.feedItemId);
  assert.ok(post, 'the post is in the news feed');
  const [group] = post.capabilities.associatedActions.platformActionGroups;
  assert.equal(group.id, state.feedGroup.id);
  const [api, ui] = state.feedGroup.actionLinks;
  checkPlatformAction(group.platformActions[0], { id: api.id, subtype: 'Api',
    labelKey: 'Approve', status: 'NewStatus', confirm: true, groupId: state.feedGroup.id });
  checkPlatformAction(group.platformActions[1], { id: ui.id, subtype: 'Ui',
    labelKey: 'View', status: 'NewStatus', confirm: false, groupId: state.feedGroup.id });
  // The same through conn.requestGet, and the item's associated-actions capability.
  const caps = await state.conn.requestGet(
    `${API}/chatter/feed-elements/${state.feedItemId}/capabilities/associated-actions`);
  assert.deepEqual(caps.platformActionGroups.map((g) => g.id), [state.feedGroup.id]);
});

test('jsforce: deleting the feed item answers 204, then 404 NOT_FOUND', async () => {
  need('conn', 'feedItemId');
  const res = await state.conn.chatter.resource(`/feed-elements/${state.feedItemId}`).destroy();
  assert.equal(res, undefined, `jsforce returns undefined for 204, got ${JSON.stringify(res)}`);
  await expectApiError(state.conn.requestGet(`${API}/chatter/feed-elements/${state.feedItemId}`),
    'NOT_FOUND');
});

test('jsforce: the OAuth2 password flow logs in, and the earlier calls work with it', async () => {
  need('conn');
  const username = 'oauth.user@example.com';
  execFileSync(AL_BIN, ['user', 'add', username, '--name', 'OAuth User', '--password-stdin',
    '--db', server.db, '--json'], { input: 's3cret pass\n', env: server.env(), encoding: 'utf8' });
  const app = server.admin('app', 'add', 'jsforce-oauth');
  const oauth2 = { loginUrl: server.url, clientId: app.client_id, clientSecret: app.client_secret };
  const conn = new jsforce.Connection({ oauth2, loginUrl: server.url, version: VERSION });
  const info = await conn.login(username, 's3cret pass');
  assertId(info.id, '005', 'the logged-in user id');
  assertId(info.organizationId, '00D', 'the org id');
  assert.equal(conn.instanceUrl, server.url);
  assert.match(conn.accessToken, /^00D\w{12,15}![.\w]*$/);
  const me = await conn.requestGet('/services/oauth2/userinfo');
  assert.equal(me.preferred_username, username);

  const def = await conn.requestPost(`${API}/connect/action-link-group-definitions`, definitionInput());
  const ui = def.actionLinks.find((l) => l.type === 'Ui');
  const group = await conn.requestGet(`${API}/connect/action-link-groups/${def.id}`);
  assert.equal(group.platformActions.length, 2);
  const pa = await conn.requestPatch(`${API}/connect/action-links/${ui.id}`, { status: 'SuccessfulStatus' });
  assert.equal(pa.status, 'SuccessfulStatus');
  assert.equal(pa.executingUser.username, username);
  const diag = await conn.requestGet(`${API}/connect/action-links/${ui.id}/diagnostic-info`);
  assert.equal(diag.diagnosticInfo, null);
  await conn.requestDelete(`${API}/connect/action-link-group-definitions/${def.id}`);
  await expectApiError(conn.requestGet(`${API}/connect/action-link-group-definitions/${def.id}`), 'NOT_FOUND');

  // the password grant's refresh token gives a new access token
  const granted = await conn.oauth2.authenticate(username, 's3cret pass');
  assert.equal(typeof granted.refresh_token, 'string');
  const refreshed = await conn.oauth2.refreshToken(granted.refresh_token);
  assert.match(refreshed.access_token, /^00D\w{12,15}![.\w]*$/);
  assert.notEqual(refreshed.access_token, conn.accessToken);

  // a wrong password says only "authentication failure"
  const wrong = new jsforce.Connection({ oauth2, loginUrl: server.url, version: VERSION });
  await assert.rejects(wrong.login(username, 'nope'), (e) => /authentication failure/.test(String(e.message)));
});

test('server exits 0 within 20 s of SIGTERM, with no sanitizer report', async () => {
  if (!server.proc) throw new Error('skipped: the server never started');
  const result = await server.stop();
  assert.ok(result !== null, `server did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);
  assert.equal(result.signal, null, `server died of signal ${result.signal}`);
  assert.equal(result.code, 0, `server exit code ${result.code}\n${server.stderr.slice(-4000)}`);
  const reports = server.sanitizerReports();
  assert.deepEqual(reports, [], `sanitizer reports in stderr:\n${server.stderr.slice(-8000)}`);
});

// ---------------------------------------------------------------------------------------

process.on('exit', () => {
  if (server.proc && !server.exit) server.proc.kill('SIGKILL');
});

const { passed, failed } = await run();
if (server.proc && !server.exit) await server.stop();
if (failed === 0) {
  fs.rmSync(server.dir, { recursive: true, force: true });
} else {
  console.log(`# server directory kept: ${server.dir}`);
  const tail = server.stderr.split('\n').slice(-40).join('\n');
  if (tail.trim()) console.log(`# server stderr (last lines):\n${tail.replace(/^/gm, '#   ')}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
