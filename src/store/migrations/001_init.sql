-- actionlinks schema, version 1. Enum columns hold the index of the value in the
-- X-macro tables of src/domain/model.h: those tables only ever grow at the end.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id                    TEXT PRIMARY KEY,
    username              TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    manager_id            TEXT,
    view_all_data         INTEGER NOT NULL,
    customize_application INTEGER NOT NULL,
    password_hash         TEXT,
    created_ms            INTEGER NOT NULL
) STRICT;

CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    client_id   TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    public      INTEGER NOT NULL DEFAULT 0, -- cannot keep a secret (the built-in web app)
    created_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    hash                  TEXT PRIMARY KEY,
    user_id               TEXT NOT NULL,
    app_id                TEXT NOT NULL,
    expires_ms            INTEGER NOT NULL,
    revoked               INTEGER NOT NULL DEFAULT 0,
    callback_execution_id TEXT,
    refresh_hash          TEXT -- the refresh token it came with or from
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_by_refresh ON tokens (refresh_hash) WHERE refresh_hash IS NOT NULL;

-- OAuth refresh tokens (SPEC 3), by the hex SHA-256 of the token.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE groups (
    id            TEXT PRIMARY KEY,
    category      INTEGER NOT NULL,
    policy        INTEGER NOT NULL,
    expiration_ms INTEGER NOT NULL,
    creator_id    TEXT NOT NULL,
    app_id        TEXT NOT NULL,
    template_id   TEXT,
    bindings      TEXT,          -- the templateBindings it was made with: JSON object
    created_ms    INTEGER NOT NULL,
    modified_ms   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX groups_by_template ON groups (template_id) WHERE template_id IS NOT NULL;

CREATE TABLE links (
    id                    TEXT PRIMARY KEY,
    group_id              TEXT NOT NULL,
    position              INTEGER NOT NULL,
    type                  INTEGER NOT NULL,
    action_url            TEXT NOT NULL,
    method                INTEGER NOT NULL,
    label_key             TEXT NOT NULL,
    label                 TEXT,  -- a template's custom Label (LabelKey None)
    requires_confirmation INTEGER NOT NULL,
    group_default         INTEGER NOT NULL,
    headers               TEXT NOT NULL, -- JSON array of [name, value]
    request_body          TEXT,
    user_id               TEXT,
    excluded_user_id      TEXT,
    template_id           TEXT,
    created_ms            INTEGER NOT NULL,
    modified_ms           INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX links_by_group ON links (group_id, position);
CREATE INDEX links_by_template ON links (template_id) WHERE template_id IS NOT NULL;

CREATE TABLE executions (
    id            TEXT PRIMARY KEY,
    group_id      TEXT NOT NULL,
    scope_user_id TEXT NOT NULL, -- '' for Once
    link_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    status        INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    modified_ms   INTEGER NOT NULL,
    deadline_ms   INTEGER NOT NULL DEFAULT 0, -- ApiAsync: fails if still Pending then
    diagnostic    TEXT,
    UNIQUE (group_id, scope_user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX executions_deadline ON executions (deadline_ms) WHERE status = 1 AND deadline_ms > 0;

-- A callout as rendered at PATCH time. state: 0 queued, 1 started (owner may have sent
-- it: never send it again), 2 done (the snapshot is then scrubbed of secrets).
CREATE TABLE callouts (
    execution_id TEXT PRIMARY KEY,
    state        INTEGER NOT NULL,
    type         INTEGER NOT NULL,
    user_id      TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    method       INTEGER NOT NULL,
    url          TEXT NOT NULL,
    host         TEXT NOT NULL,
    headers      TEXT NOT NULL, -- JSON array of [name, value]
    body         TEXT,
    created_ms   INTEGER NOT NULL,
    owner        TEXT,          -- the node that started it
    started_ms   INTEGER,
    finished_ms  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX callouts_queued ON callouts (created_ms) WHERE state = 0;
CREATE INDEX callouts_started ON callouts (owner) WHERE state = 1;

-- The nodes sending callouts, with their last sign of life: the started callouts of a
-- node that stopped beating were interrupted.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    heartbeat_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Templates (SPEC 8).
CREATE TABLE group_templates (
    id                     TEXT PRIMARY KEY,
    developer_name         TEXT NOT NULL UNIQUE,
    master_label           TEXT NOT NULL,
    category               INTEGER NOT NULL,
    policy                 INTEGER NOT NULL,
    hours_until_expiration INTEGER NOT NULL, -- -1: not set
    published              INTEGER NOT NULL,
    creator_id             TEXT NOT NULL,
    created_ms             INTEGER NOT NULL,
    modified_ms            INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE link_templates (
    id                    TEXT PRIMARY KEY,
    group_template_id     TEXT NOT NULL,
    action_url            TEXT NOT NULL,
    headers               TEXT,   -- "Name: value" lines, as the client wrote them
    requires_confirmation INTEGER NOT NULL,
    group_default         INTEGER NOT NULL,
    label                 TEXT,
    label_key             TEXT NOT NULL,
    type                  INTEGER NOT NULL,
    method                INTEGER NOT NULL,
    position              INTEGER NOT NULL,
    request_body          TEXT,
    user_alias            TEXT,
    visibility            INTEGER NOT NULL,
    created_ms            INTEGER NOT NULL,
    modified_ms           INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX link_templates_by_group ON link_templates (group_template_id, position);

-- Feed items (SPEC 4.4): posts, newest first, carrying action link groups.
CREATE TABLE feed_items (
    id         TEXT PRIMARY KEY,
    actor_id   TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    segments   TEXT NOT NULL, -- JSON array of message segments
    created_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX feed_items_newest ON feed_items (created_ms DESC, id DESC);

CREATE TABLE feed_item_groups (
    item_id  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX feed_item_groups_by_group ON feed_item_groups (group_id);

-- Status changes, for the live event stream (SPEC 9): one row per change of an
-- execution's status, written by the database itself so that no write path can forget
-- one. Kept a few hours (readers resume with Last-Event-ID within one hour).
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id      TEXT NOT NULL,
    link_id       TEXT NOT NULL,
    scope_user_id TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_time ON events (created_ms);

CREATE TRIGGER executions_created AFTER INSERT ON executions BEGIN
    INSERT INTO events (group_id, link_id, scope_user_id, created_ms)
    VALUES (NEW.group_id, NEW.link_id, NEW.scope_user_id, NEW.modified_ms);
END;

CREATE TRIGGER executions_changed AFTER UPDATE OF status ON executions
WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO events (group_id, link_id, scope_user_id, created_ms)
    VALUES (NEW.group_id, NEW.link_id, NEW.scope_user_id, NEW.modified_ms);
END;
