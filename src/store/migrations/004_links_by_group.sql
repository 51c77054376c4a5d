-- Schema version 4: links stored in their group's order. The table's key becomes
-- (group_id, position, id), so a group's links sit side by side in one leaf and are read
-- with one descent; the link id gets a unique index of its own, small enough for its
-- upper levels to stay cached. Reading a link with its group took five B-tree descents
-- (the link by id, the group, the group's index entry, then each link by id); now three.
-- With ten million links most descents miss SQLite's page cache, so this is most of the
-- cost of a GET (docs/PERFORMANCE.md, S4).
CREATE TABLE links_new (
    id                    TEXT NOT NULL,
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
    modified_ms           INTEGER NOT NULL,
    PRIMARY KEY (group_id, position, id)
) STRICT, WITHOUT ROWID;
INSERT INTO links_new (id, group_id, position, type, action_url, method, label_key, label,
                       requires_confirmation, group_default, headers, request_body, user_id,
                       excluded_user_id, template_id, created_ms, modified_ms)
SELECT id, group_id, position, type, action_url, method, label_key, label,
       requires_confirmation, group_default, headers, request_body, user_id,
       excluded_user_id, template_id, created_ms, modified_ms FROM links;
DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
CREATE UNIQUE INDEX links_by_id ON links (id);
CREATE INDEX links_by_template ON links (template_id) WHERE template_id IS NOT NULL;
