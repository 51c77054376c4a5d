// The actionlinks web page: sign in, the news feed with its action link buttons, live
// status updates, and a playground. Plain JavaScript, no dependencies, no inline code (the
// page is served with a strict Content-Security-Policy). Text from the server is only ever
// put into the page with textContent, never parsed as HTML.
'use strict';

(function () {
  const API = '/services/data/v66.0';
  const CLIENT_ID = 'actionlinks-web';
  const PAGE_SIZE = 10;
  const STORE_KEY = 'actionlinks.session'; // sessionStorage only: never a cookie
  const NEW = 'NewStatus';
  const PENDING = 'PendingStatus';
  const SUCCESS = 'SuccessfulStatus';
  const FAILED = 'FailedStatus';

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------------
  // State

  const state = {
    session: null,        // {accessToken, refreshToken}
    user: null,           // {id, name, username}
    actions: new Map(),   // link id -> Platform Action (the caller's view)
    groups: new Map(),    // group id -> {category, linkIds: [], locked: null|string, error: null|string}
    stash: new Map(),     // link id -> Platform Action from an event for a link not on the page yet
    busy: new Set(),      // link ids with a request under way from this page
    posts: new Set(),     // feed element ids on the page
    nextPageUrl: null,
    loadingPage: false,
    feedGeneration: 0,    // bumps on refresh/sign-out so that late answers are dropped
    stream: null,         // {controller}
    lastEventId: null,
  };

  // ---------------------------------------------------------------------------------
  // Small helpers

  // Builds an element: h('button', {class: 'x', type: 'button'}, 'text', child...).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  function announce(text) {
    const a = $('announcer');
    // Clear first so that the same text twice is announced twice.
    a.textContent = '';
    window.setTimeout(() => { a.textContent = text; }, 50);
  }

  function showBanner(text) {
    const b = $('banner');
    if (!text) { b.hidden = true; b.textContent = ''; return; }
    b.textContent = text;
    b.hidden = false;
  }

  const sleep = (ms) => new Promise((r) => window.setTimeout(r, ms));

  function formatDate(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '';
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // The server's error array ([{errorCode, message}]) or an OAuth error, as lines.
  function errorLines(err) {
    if (err && Array.isArray(err.body)) {
      return err.body.map((e) => (e && e.errorCode ? `${e.errorCode}: ${e.message || ''}` : JSON.stringify(e)));
    }
    if (err && err.body && err.body.error) return [`${err.body.error}: ${err.body.error_description || ''}`];
    return [err && err.message ? err.message : String(err)];
  }
  const errorCode = (err) => (err && Array.isArray(err.body) && err.body[0] ? err.body[0].errorCode : null);
  const errorText = (err) => errorLines(err).join('; ');

  class ApiError extends Error {
    constructor(status, body, message) {
      super(message || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  // ---------------------------------------------------------------------------------
  // Session and HTTP

  function saveSession() {
    try {
      if (state.session) sessionStorage.setItem(STORE_KEY, JSON.stringify(state.session));
      else sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* storage may be unavailable: the token then lives in memory only */ }
  }

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
      if (s && typeof s.accessToken === 'string') return s;
    } catch (e) { /* ignore */ }
    return null;
  }

  async function oauthToken(fields) {
    const res = await fetch('/services/oauth2/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, ...fields }).toString(),
      credentials: 'omit',
      cache: 'no-store',
    });
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok || !body || !body.access_token) {
      const err = new ApiError(res.status, body, body && body.error_description);
      err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
      throw err;
    }
    return body;
  }

  let refreshing = null;
  // Trades the refresh token for a new access token; one at a time.
  function refreshSession() {
    if (!state.session || !state.session.refreshToken) return Promise.resolve(false);
    if (!refreshing) {
      const refreshToken = state.session.refreshToken;
      refreshing = oauthToken({ grant_type: 'refresh_token', refresh_token: refreshToken })
        .then((t) => {
          if (!state.session || state.session.refreshToken !== refreshToken) return false;
          state.session.accessToken = t.access_token;
          saveSession();
          return true;
        })
        .catch(() => false)
        .finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // Calls the API with the token; parses JSON; throws ApiError with the error array.
  async function api(method, path, body, retried) {
    if (!state.session) throw new ApiError(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Not signed in' }]);
    const headers = { Authorization: `Bearer ${state.session.accessToken}`, Accept: 'application/json' };
    const init = { method, headers, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, [{ errorCode: 'NETWORK', message: 'The server cannot be reached' }]);
    }
    if (res.status === 401 && !retried) {
      if (await refreshSession()) return api(method, path, body, true);
      sessionExpired();
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) throw new ApiError(res.status, data, `HTTP ${res.status}`);
    return data;
  }

  function sessionExpired() {
    if (!state.session) return;
    signOutLocally();
    showBanner('Your session has ended. Please sign in again.');
  }

  // ---------------------------------------------------------------------------------
  // Sign in and out

  async function onSignIn(ev) {
    ev.preventDefault();
    const username = $('username').value.trim();
    const password = $('password').value;
    const errEl = $('signin-error');
    errEl.hidden = true;
    if (!username || !password) {
      errEl.textContent = 'Enter your username and password.';
      errEl.hidden = false;
      (username ? $('password') : $('username')).focus();
      return;
    }
    const submit = $('signin-submit');
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      const t = await oauthToken({ grant_type: 'password', username, password });
      state.session = { accessToken: t.access_token, refreshToken: t.refresh_token || null };
      saveSession();
      $('password').value = '';
      await startSession();
    } catch (e) {
      if (e.retryAfter) errEl.textContent = `Too many attempts. Try again in ${e.retryAfter} seconds.`;
      else if (e.body && e.body.error === 'invalid_grant') errEl.textContent = 'Wrong username or password.';
      else if (e.status === 0 || !e.status) errEl.textContent = 'The server cannot be reached.';
      else errEl.textContent = `Sign-in failed: ${errorText(e)}`;
      errEl.hidden = false;
      $('password').focus();
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  }

  async function startSession() {
    let me;
    try {
      me = await api('GET', '/services/oauth2/userinfo');
    } catch (e) {
      if (e.status === 401) { signOutLocally(); return; }
      showBanner(`Could not load your profile: ${errorText(e)}`);
      return;
    }
    if (!state.session) return;
    state.user = { id: me.user_id, name: me.name || me.preferred_username, username: me.preferred_username };
    showBanner(null);
    $('who-name').textContent = state.user.name;
    $('session').hidden = false;
    $('signin').hidden = true;
    $('app').hidden = false;
    fillExample(false);
    startStream();
    await reloadFeed();
    $('feed-title').setAttribute('tabindex', '-1');
    if (document.activeElement === document.body || document.activeElement === $('signin-submit')) {
      $('feed-title').focus();
    }
  }

  function signOutLocally() {
    stopStream();
    const session = state.session;
    state.session = null;
    state.user = null;
    saveSession();
    clearFeed();
    $('session').hidden = true;
    $('app').hidden = true;
    $('signin').hidden = false;
    return session;
  }

  async function onSignOut() {
    const session = signOutLocally();
    showBanner(null);
    announce('Signed out');
    $('username').focus();
    if (!session) return;
    // Revoke the tokens on the server too; the page has already forgotten them.
    for (const token of [session.accessToken, session.refreshToken]) {
      if (!token) continue;
      try {
        await fetch('/services/oauth2/revoke', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
          credentials: 'omit',
        });
      } catch (e) { /* best effort */ }
    }
  }

  // ---------------------------------------------------------------------------------
  // The feed

  function clearFeed() {
    state.feedGeneration++;
    state.actions.clear();
    state.groups.clear();
    state.stash.clear();
    state.busy.clear();
    state.posts.clear();
    state.nextPageUrl = null;
    state.loadingPage = false;
    closeOpenMenu(false);
    $('feed').replaceChildren();
    $('feed-status').textContent = '';
    $('feed-more').hidden = true;
  }

  async function reloadFeed() {
    clearFeed();
    await loadPage(`${API}/chatter/feeds/news/me/feed-elements?pageSize=${PAGE_SIZE}`);
  }

  async function loadPage(url) {
    if (state.loadingPage || !state.session) return;
    const generation = state.feedGeneration;
    state.loadingPage = true;
    const feed = $('feed');
    feed.setAttribute('aria-busy', 'true');
    $('feed-status').textContent = 'Loading posts…';
    try {
      const page = await api('GET', url);
      if (generation !== state.feedGeneration) return;
      for (const el of page.elements || []) {
        if (state.posts.has(el.id)) continue; // already on the page (posted from here)
        feed.append(renderPost(el));
      }
      state.nextPageUrl = page.nextPageUrl || null;
      $('feed-status').textContent = state.posts.size === 0
        ? 'No posts yet. Use the playground to post an action link group.'
        : (state.nextPageUrl ? '' : 'You have reached the end of the feed.');
    } catch (e) {
      if (generation !== state.feedGeneration) return;
      $('feed-status').textContent = `Could not load the feed: ${errorText(e)}`;
    } finally {
      if (generation === state.feedGeneration) {
        state.loadingPage = false;
        feed.setAttribute('aria-busy', 'false');
        $('feed-more').hidden = !state.nextPageUrl;
        // Observe again: if the sentinel is still in view (a short page), this fires at once.
        if (observer) {
          observer.unobserve($('feed-sentinel'));
          if (state.nextPageUrl) observer.observe($('feed-sentinel'));
        }
      }
    }
  }

  function loadMore() {
    if (state.nextPageUrl) loadPage(state.nextPageUrl);
  }

  let observer = null;
  function setUpInfiniteScroll() {
    if (!('IntersectionObserver' in window)) return; // the button still works
    observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { rootMargin: '0px 0px 600px 0px' });
  }

  function renderPost(el) {
    state.posts.add(el.id);
    const titleId = nextId('post');
    const actor = (el.actor && (el.actor.displayName || el.actor.username)) || 'Someone';
    const text = (el.body && el.body.text) || '';
    const groups = (el.capabilities && el.capabilities.associatedActions &&
      el.capabilities.associatedActions.platformActionGroups) || [];

    const article = h('article', { class: 'post card', 'aria-labelledby': titleId, dataset: { postId: el.id } },
      h('header', { class: 'post-head' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(actor)),
        h('div', { class: 'post-meta' },
          h('h3', { class: 'post-actor', id: titleId }, actor),
          h('time', { datetime: el.createdDate || '' }, formatDate(el.createdDate)))),
      h('p', { class: 'post-body' }, text));

    const primary = groups.filter((g) => g.category !== 'Overflow');
    const overflow = groups.filter((g) => g.category === 'Overflow');
    if (primary.length || overflow.length) {
      const actions = h('div', { class: 'post-actions' });
      const row = h('div', { class: 'action-row' });
      for (const g of primary) {
        registerGroup(g);
        const groupEl = h('div', { class: 'action-group', role: 'group', 'aria-label': `Actions for the post by ${actor}`, dataset: { groupId: g.id } });
        for (const id of state.groups.get(g.id).linkIds) groupEl.append(makeActionButton(id, false));
        row.append(groupEl);
      }
      if (overflow.length) row.append(makeMenu(overflow, actor));
      actions.append(row);
      for (const g of [...primary, ...overflow]) {
        actions.append(h('div', { class: 'group-status', dataset: { groupStatus: g.id } }));
      }
      article.append(actions);
      for (const g of [...primary, ...overflow]) updateGroup(g.id, false, article);
    }
    return h('li', { class: 'feed-item' }, article);
  }

  function initials(name) {
    const parts = String(name).trim().split(/\s+/).filter(Boolean);
    return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
  }

  function registerGroup(g) {
    let entry = state.groups.get(g.id);
    if (!entry) {
      entry = { category: g.category, linkIds: [], locked: null, error: null };
      state.groups.set(g.id, entry);
    }
    entry.linkIds = (g.platformActions || []).map((a) => a.id);
    for (const a of g.platformActions || []) {
      const stashed = state.stash.get(a.id);
      if (stashed && rank(stashed.status) > rank(a.status)) {
        state.actions.set(a.id, stashed);
      } else {
        state.actions.set(a.id, a);
      }
      state.stash.delete(a.id);
    }
  }

  // Statuses only move forward (SPEC 6): New, then Pending, then Successful or Failed.
  function rank(status) {
    return status === NEW ? 0 : status === PENDING ? 1 : 2;
  }

  // ---------------------------------------------------------------------------------
  // Buttons

  function makeActionButton(linkId, inMenu) {
    const btn = h('button', {
      type: 'button',
      class: inMenu ? 'menu-item action' : 'btn action',
      role: inMenu ? 'menuitem' : null,
      tabindex: inMenu ? '-1' : null,
      dataset: { linkId },
      onclick: () => onActionClick(linkId, btn),
    },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    h('span', { class: 'icon', 'aria-hidden': 'true' }),
    h('span', { class: 'label' }));
    return btn;
  }

  // Whether the caller can execute the link now (PATCH would not be refused).
  function executable(linkId) {
    const a = state.actions.get(linkId);
    if (!a || a.status !== NEW || state.busy.has(linkId)) return false;
    const g = state.groups.get(a.platformActionGroup && a.platformActionGroup.id);
    if (g && g.locked) return false;
    // Links of a group are mutually exclusive: once one has a status, the others are done.
    if (g && g.linkIds.some((id) => id !== linkId && state.actions.get(id) && state.actions.get(id).status !== NEW)) return false;
    return true;
  }

  function byWhom(a) {
    const u = a.executingUser;
    if (!u) return '';
    if (state.user && u.id === state.user.id) return ' (by you)';
    return ` (by ${u.displayName || u.username})`;
  }

  function updateButton(btn, a) {
    const busy = state.busy.has(a.id);
    const status = busy && a.status === NEW ? PENDING : a.status;
    const can = executable(a.id);
    btn.dataset.status = a.status;
    btn.dataset.type = a.subtype || '';
    btn.classList.toggle('is-default', !!a.groupDefault);
    btn.classList.toggle('is-pending', status === PENDING);
    btn.classList.toggle('is-success', status === SUCCESS);
    btn.classList.toggle('is-failed', status === FAILED);
    btn.classList.toggle('is-locked', !can && status === NEW);
    btn.querySelector('.label').textContent = a.label || '';
    btn.querySelector('.icon').textContent = status === SUCCESS ? '✓' : (status === FAILED ? '✕' : '');
    if (status === PENDING) btn.setAttribute('aria-busy', 'true');
    else btn.removeAttribute('aria-busy');
    const who = byWhom(a);
    const description = status === NEW ? (can ? '' : 'Not available') : `${a.label}${who}`;
    if (description && description !== a.label) btn.title = description;
    else btn.removeAttribute('title');
    if (btn.getAttribute('role') === 'menuitem') {
      // Menu items stay focusable when disabled (so the menu can be read in full).
      if (can) btn.removeAttribute('aria-disabled');
      else btn.setAttribute('aria-disabled', 'true');
      btn.setAttribute('aria-label', `${a.label}${who}${!can && status === NEW ? ', not available' : ''}`);
    } else {
      btn.disabled = !can;
      if (who) btn.setAttribute('aria-label', `${a.label}${who}`);
      else btn.removeAttribute('aria-label');
    }
  }

  // Re-renders every button and the status line of a group from the state. With
  // announceChanges, says the new status out loud.
  function updateGroup(groupId, announceChanges, root = document) {
    const g = state.groups.get(groupId);
    if (!g) return;
    for (const id of g.linkIds) {
      const a = state.actions.get(id);
      if (!a) continue;
      for (const btn of root.querySelectorAll(`[data-link-id="${cssEscape(id)}"]`)) updateButton(btn, a);
    }
    // The status line: the link that has a status, its executing user, and for a failure
    // a button that shows the diagnostic.
    const done = g.linkIds.map((id) => state.actions.get(id)).find((a) => a && a.status !== NEW);
    const busy = g.linkIds.map((id) => state.actions.get(id)).find((a) => a && state.busy.has(a.id));
    for (const line of root.querySelectorAll(`[data-group-status="${cssEscape(groupId)}"]`)) {
      const previous = line.dataset.shown || '';
      let shown = '';
      if (g.error) {
        shown = `error:${g.error}`;
        if (previous !== shown) {
          line.replaceChildren(h('span', { class: 'status-text status-error' }, g.error));
        }
      } else if (done) {
        shown = `${done.id}:${done.status}:${done.executingUser ? done.executingUser.id : ''}`;
        if (previous !== shown) {
          const children = [h('span', { class: `status-text status-${done.status}` },
            statusIcon(done.status), `${done.label}${byWhom(done)}`)];
          if (done.status === FAILED) children.push(makeDiagnosticToggle(done.id));
          line.replaceChildren(...children);
        }
      } else if (busy) {
        shown = `busy:${busy.id}`;
        if (previous !== shown) line.replaceChildren(h('span', { class: 'status-text' }, 'Working…'));
      } else if (g.locked) {
        shown = `locked:${g.locked}`;
        if (previous !== shown) line.replaceChildren(h('span', { class: 'status-text' }, g.locked));
      } else if (previous) {
        line.replaceChildren();
      }
      line.dataset.shown = shown;
      line.hidden = !shown;
    }
    if (announceChanges && done) {
      const key = `${done.id}:${done.status}`;
      if (g.lastAnnounced !== key) {
        g.lastAnnounced = key;
        announce(`${done.label}${byWhom(done)}`);
      }
    } else if (done) {
      g.lastAnnounced = `${done.id}:${done.status}`;
    }
  }

  function statusIcon(status) {
    const icon = status === SUCCESS ? '✓ ' : status === FAILED ? '✕ ' : status === PENDING ? '… ' : '';
    return icon ? h('span', { 'aria-hidden': 'true' }, icon) : null;
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/[^\w-]/g, '\\$&');
  }

  function makeDiagnosticToggle(linkId) {
    const panelId = nextId('diag');
    const panel = h('pre', { class: 'diagnostic', id: panelId, hidden: true, tabindex: '-1' });
    const btn = h('button', {
      type: 'button',
      class: 'btn btn-link diag-toggle',
      'aria-expanded': 'false',
      'aria-controls': panelId,
    }, 'Show details');
    btn.addEventListener('click', async () => {
      if (btn.getAttribute('aria-expanded') === 'true') {
        btn.setAttribute('aria-expanded', 'false');
        btn.textContent = 'Show details';
        panel.hidden = true;
        return;
      }
      btn.setAttribute('aria-expanded', 'true');
      btn.textContent = 'Hide details';
      panel.hidden = false;
      panel.textContent = 'Loading…';
      try {
        const a = state.actions.get(linkId);
        const d = await api('GET', `${a ? a.url : `${API}/connect/action-links/${linkId}`}/diagnostic-info`);
        panel.textContent = d && d.diagnosticInfo ? d.diagnosticInfo : 'No diagnostic information was recorded.';
      } catch (e) {
        panel.textContent = `Could not load the diagnostic: ${errorText(e)}`;
      }
    });
    return h('span', { class: 'diag-wrap' }, btn, panel);
  }

  // A new view of one link (from a PATCH answer, a GET or an event).
  function applyAction(a) {
    if (!a || !a.id) return;
    const old = state.actions.get(a.id);
    if (!old) {
      // Not on the page (yet): keep the newest for when its post is loaded.
      const stashed = state.stash.get(a.id);
      if (!stashed || rank(a.status) >= rank(stashed.status)) state.stash.set(a.id, a);
      return;
    }
    if (rank(a.status) < rank(old.status)) return; // an older view: statuses only move forward
    state.actions.set(a.id, a);
    const groupId = a.platformActionGroup && a.platformActionGroup.id;
    updateGroup(groupId, old.status !== a.status || (old.executingUser && old.executingUser.id) !== (a.executingUser && a.executingUser.id));
  }

  // Reloads one group (after a refusal, or when events may have been missed).
  async function refreshGroup(groupId) {
    try {
      const g = await api('GET', `${API}/connect/action-link-groups/${groupId}`);
      for (const a of g.platformActions || []) {
        const old = state.actions.get(a.id);
        if (old && rank(a.status) >= rank(old.status)) state.actions.set(a.id, a);
      }
      updateGroup(groupId, true);
    } catch (e) {
      if (e.status === 404) {
        const entry = state.groups.get(groupId);
        if (entry) { entry.locked = 'This action is no longer available.'; updateGroup(groupId, true); }
      }
    }
  }

  // ---------------------------------------------------------------------------------
  // Executing a link

  async function onActionClick(linkId, btn) {
    if (btn.getAttribute('aria-disabled') === 'true' || btn.disabled) return;
    if (btn.getAttribute('role') === 'menuitem') closeOpenMenu(true);
    if (!executable(linkId)) return;
    const a = state.actions.get(linkId);
    const groupId = a.platformActionGroup.id;
    const g = state.groups.get(groupId);
    if (a.confirmationMessage) {
      const ok = await confirmDialog(a.confirmationMessage, a.label);
      if (!ok || !executable(linkId)) return;
    }
    if (g) g.error = null;
    const navigates = a.subtype === 'Download' || a.subtype === 'Ui';
    // Opened now, while the click still counts as a user gesture; sent to the target once
    // the server has recorded the execution (or closed if it refuses).
    let win = null;
    if (navigates) {
      win = window.open('', '_blank');
      if (win) {
        try { win.opener = null; } catch (e) { /* ignore */ }
      }
    }
    state.busy.add(linkId);
    updateGroup(groupId, false);
    if (!navigates) announce(`${a.label}: sending`);
    try {
      const status = navigates ? SUCCESS : PENDING;
      let result;
      try {
        result = await api('PATCH', a.url, { status });
      } catch (e) {
        // An Unlimited group tracks no status: the link is simply followed.
        if (navigates && errorCode(e) === 'INVALID_STATUS_TRANSITION' && a.status === NEW) {
          result = await api('GET', a.url);
        } else {
          throw e;
        }
      }
      state.busy.delete(linkId);
      applyAction(result);
      if (navigates) {
        const target = result.actionUrl || a.actionUrl;
        if (win && target) {
          win.location.replace(target);
        } else if (target) {
          showOpenLink(groupId, target, result.label);
        }
      }
    } catch (e) {
      state.busy.delete(linkId);
      if (win) win.close();
      const code = errorCode(e);
      if (g) {
        if (code === 'ALREADY_EXECUTED') g.locked = 'Someone else has already done this.';
        else if (code === 'ACTION_LINK_EXPIRED') g.locked = 'This action has expired.';
        else g.error = `${a.label} did not work: ${errorText(e)}`;
      }
      updateGroup(groupId, false);
      announce(g && g.locked ? g.locked : `${a.label} did not work: ${errorText(e)}`);
      if (code === 'ALREADY_EXECUTED' || code === 'INVALID_STATUS_TRANSITION' || code === 'NOT_FOUND') {
        refreshGroup(groupId);
      }
    }
  }

  // When the browser blocked the new window: a link the user can follow instead.
  function showOpenLink(groupId, url, label) {
    for (const line of document.querySelectorAll(`[data-group-status="${cssEscape(groupId)}"]`)) {
      line.append(' ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, `Open ${label || 'the link'}`));
      line.hidden = false;
    }
  }

  // The confirmation dialog: resolves true when confirmed.
  function confirmDialog(message, label) {
    const dialog = $('confirm');
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = label || 'Confirm';
    const opener = document.activeElement;
    return new Promise((resolve) => {
      const finish = (value) => {
        $('confirm-ok').removeEventListener('click', onOk);
        $('confirm-cancel').removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onEscape);
        if (dialog.open) dialog.close();
        if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
        resolve(value);
      };
      const onOk = () => finish(true);
      const onCancel = () => finish(false);
      const onEscape = (ev) => { ev.preventDefault(); finish(false); };
      $('confirm-ok').addEventListener('click', onOk);
      $('confirm-cancel').addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onEscape);
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // ---------------------------------------------------------------------------------
  // The Overflow menu (menu button pattern: Enter/Space/ArrowDown open it, arrows move,
  // Escape closes it and returns focus to the button).

  let openMenu = null; // {button, menu}

  function makeMenu(groups, actor) {
    const menuId = nextId('menu');
    const buttonId = nextId('menubtn');
    const button = h('button', {
      type: 'button',
      class: 'btn menu-button',
      id: buttonId,
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      'aria-controls': menuId,
      'aria-label': `More actions for the post by ${actor}`,
    }, h('span', { 'aria-hidden': 'true', class: 'dots' }, '⋯'), h('span', { class: 'menu-button-text' }, 'More'));
    const menu = h('div', { class: 'menu', role: 'menu', id: menuId, 'aria-labelledby': buttonId, hidden: true });
    groups.forEach((g, i) => {
      registerGroup(g);
      if (i > 0) menu.append(h('div', { role: 'separator', class: 'menu-sep' }));
      const part = h('div', { role: 'group', class: 'menu-group', dataset: { groupId: g.id } });
      for (const id of state.groups.get(g.id).linkIds) part.append(makeActionButton(id, true));
      menu.append(part);
    });
    button.addEventListener('click', () => {
      if (openMenu && openMenu.menu === menu) closeOpenMenu(true);
      else showMenu(button, menu, 0);
    });
    button.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        showMenu(button, menu, ev.key === 'ArrowDown' ? 0 : -1);
      }
    });
    menu.addEventListener('keydown', (ev) => {
      const items = [...menu.querySelectorAll('[role="menuitem"]')];
      const i = items.indexOf(document.activeElement);
      let next = null;
      if (ev.key === 'ArrowDown') next = items[(i + 1) % items.length];
      else if (ev.key === 'ArrowUp') next = items[(i - 1 + items.length) % items.length];
      else if (ev.key === 'Home') next = items[0];
      else if (ev.key === 'End') next = items[items.length - 1];
      else if (ev.key === 'Escape') { ev.preventDefault(); closeOpenMenu(true); return; }
      else if (ev.key === 'Tab') { closeOpenMenu(false); return; }
      if (next) { ev.preventDefault(); next.focus(); }
    });
    return h('div', { class: 'menu-wrap' }, button, menu);
  }

  function showMenu(button, menu, focusIndex) {
    closeOpenMenu(false);
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    openMenu = { button, menu };
    // Keep the menu on screen on narrow displays.
    menu.classList.remove('menu-left');
    const rect = menu.getBoundingClientRect();
    if (rect.left < 0) menu.classList.add('menu-left');
    const items = [...menu.querySelectorAll('[role="menuitem"]')];
    const item = focusIndex < 0 ? items[items.length - 1] : items[focusIndex];
    if (item) item.focus();
  }

  function closeOpenMenu(returnFocus) {
    if (!openMenu) return;
    const { button, menu } = openMenu;
    openMenu = null;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (returnFocus && button.isConnected) button.focus();
  }

  document.addEventListener('pointerdown', (ev) => {
    if (openMenu && !openMenu.menu.contains(ev.target) && !openMenu.button.contains(ev.target)) closeOpenMenu(false);
  });

  // ---------------------------------------------------------------------------------
  // Live status: Server-Sent Events read with fetch (the stream needs the Authorization
  // header, which EventSource cannot send). Reconnects with Last-Event-ID.

  function setLiveState(s) {
    const el = $('live-state');
    el.dataset.state = s;
    el.textContent = s === 'on' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  }

  function stopStream() {
    if (state.stream) {
      state.stream.stopped = true;
      state.stream.controller.abort();
      state.stream = null;
    }
    state.lastEventId = null;
  }

  function startStream() {
    stopStream();
    const stream = { controller: new AbortController(), stopped: false };
    state.stream = stream;
    runStream(stream);
  }

  async function runStream(stream) {
    let delay = 2000;
    let failures = 0;
    let everConnected = false;
    while (!stream.stopped && state.session) {
      setLiveState(everConnected ? 'reconnecting' : 'connecting');
      let connected = false;
      try {
        const headers = { Authorization: `Bearer ${state.session.accessToken}`, Accept: 'text/event-stream' };
        if (state.lastEventId !== null) headers['Last-Event-ID'] = state.lastEventId;
        const res = await fetch(`${API}/connect/action-link-events`, {
          headers, cache: 'no-store', credentials: 'omit', signal: stream.controller.signal,
        });
        if (res.status === 401) {
          if (!(await refreshSession())) { sessionExpired(); return; }
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        connected = true;
        failures = 0;
        setLiveState('on');
        const resync = everConnected && state.lastEventId === null;
        everConnected = true;
        if (resync) resyncGroups(); // events may have been missed and cannot be replayed
        await readEvents(res.body, stream, (ms) => { delay = ms; });
      } catch (e) {
        if (stream.stopped) return;
      }
      if (stream.stopped) return;
      failures = connected ? 0 : failures + 1;
      setLiveState('reconnecting');
      const wait = Math.min(30000, delay * Math.pow(2, Math.min(failures, 4)));
      await sleep(wait * (0.75 + Math.random() * 0.5));
    }
  }

  async function readEvents(body, stream, setRetry) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let ev = { id: null, event: '', data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stream.stopped) return;
        buffer += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1));
          if (line === '') {
            if (ev.id !== null) state.lastEventId = ev.id;
            if (ev.data.length) dispatchEvent(ev.event || 'message', ev.data.join('\n'));
            ev = { id: null, event: '', data: [] };
            continue;
          }
          if (line.startsWith(':')) continue; // a comment (hello, heartbeat)
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value2 = colon < 0 ? '' : line.slice(colon + 1);
          if (value2.startsWith(' ')) value2 = value2.slice(1);
          if (field === 'data') ev.data.push(value2);
          else if (field === 'event') ev.event = value2;
          else if (field === 'id' && !value2.includes('\0')) ev.id = value2;
          else if (field === 'retry' && /^\d+$/.test(value2)) setRetry(Number(value2));
        }
      }
    } finally {
      reader.cancel().catch(() => { /* the stream is gone already */ });
    }
  }

  function dispatchEvent(type, data) {
    if (type !== 'status') return;
    let a;
    try { a = JSON.parse(data); } catch (e) { return; }
    applyAction(a);
  }

  async function resyncGroups() {
    const ids = [...state.groups.keys()];
    for (let i = 0; i < ids.length; i += 4) {
      await Promise.all(ids.slice(i, i + 4).map(refreshGroup));
    }
  }

  // ---------------------------------------------------------------------------------
  // The playground

  function exampleDefinition() {
    const expires = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, '.000Z');
    return {
      actionLinks: [
        {
          actionType: 'Api',
          actionUrl: 'https://example.com/api/orders/42/approve',
          method: 'HttpPost',
          labelKey: 'Approve',
          requiresConfirmation: true,
          groupDefault: true,
          headers: [{ name: 'Content-Type', value: 'application/json' }],
          requestBody: '{"approvedBy": "{!userId}"}',
        },
        {
          actionType: 'Ui',
          actionUrl: 'https://example.com/orders/42',
          method: 'HttpGet',
          labelKey: 'View',
          requiresConfirmation: false,
        },
      ],
      category: 'Primary',
      executionsAllowed: 'Once',
      expirationDate: expires,
    };
  }

  function fillExample(force) {
    const ta = $('pg-json');
    if (force || !ta.value.trim()) ta.value = JSON.stringify(exampleDefinition(), null, 2);
  }

  function showPlaygroundErrors(lines) {
    const box = $('pg-errors');
    if (!lines || !lines.length) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(h('p', null, 'The server refused it:'), h('ul', null, ...lines.map((l) => h('li', null, l))));
    box.hidden = false;
  }

  async function onPlayground(ev) {
    ev.preventDefault();
    const result = $('pg-result');
    result.hidden = true;
    showPlaygroundErrors(null);
    let parsed;
    try {
      parsed = JSON.parse($('pg-json').value);
    } catch (e) {
      const box = $('pg-errors');
      box.replaceChildren(h('p', null, `That is not valid JSON: ${e.message}`));
      box.hidden = false;
      $('pg-json').setAttribute('aria-invalid', 'true');
      $('pg-json').focus();
      return;
    }
    $('pg-json').removeAttribute('aria-invalid');
    const definitions = Array.isArray(parsed) ? parsed : [parsed];
    if (!definitions.length) {
      showPlaygroundErrors(['Give at least one group definition.']);
      return;
    }
    const submit = $('pg-submit');
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    const created = [];
    try {
      for (const [i, d] of definitions.entries()) {
        try {
          const g = await api('POST', `${API}/connect/action-link-group-definitions`, d);
          created.push(g.id);
        } catch (e) {
          const prefix = definitions.length > 1 ? `Group ${i + 1}: ` : '';
          throw Object.assign(e, { lines: errorLines(e).map((l) => prefix + l) });
        }
      }
      const message = $('pg-message').value.trim() || 'Action links';
      const item = await api('POST', `${API}/chatter/feed-elements`, {
        body: { messageSegments: [{ type: 'Text', text: message }] },
        subjectId: 'me',
        feedElementType: 'FeedItem',
        capabilities: { associatedActions: { actionLinkGroupIds: created } },
      });
      // The new post goes on top of the feed at once.
      if (!state.posts.has(item.id)) {
        $('feed').prepend(renderPost(item));
        if ($('feed-status').textContent.startsWith('No posts')) $('feed-status').textContent = '';
      }
      result.textContent = `Created ${created.length === 1 ? `group ${created[0]}` : `groups ${created.join(', ')}`} and posted it to the feed.`;
      result.hidden = false;
    } catch (e) {
      showPlaygroundErrors(e.lines || errorLines(e));
      // Do not leave groups behind that no post shows.
      for (const id of created) {
        try { await api('DELETE', `${API}/connect/action-link-group-definitions/${id}`); } catch (e2) { /* ignore */ }
      }
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  }

  // ---------------------------------------------------------------------------------
  // Start

  function init() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('sign-out').addEventListener('click', onSignOut);
    $('feed-more').addEventListener('click', loadMore);
    $('feed-refresh').addEventListener('click', () => { reloadFeed(); announce('Feed refreshed'); });
    $('pg-form').addEventListener('submit', onPlayground);
    $('pg-example').addEventListener('click', () => fillExample(true));
    setUpInfiniteScroll();
    state.session = loadSession();
    if (state.session) {
      startSession();
    } else {
      $('signin').hidden = false;
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
