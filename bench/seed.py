"""Seeding for bench/run.py: creates a database with the real binary (`user add`, which
creates and migrates it; `app add`; `token issue`), then writes the bulk rows directly
with SQLite (recursive CTEs), matching src/store/migrations/001_init.sql: 15-character
ids (prefix + 12 digits), enum columns as indexes into the tables of src/domain/model.h.
Going through the HTTP API would take longer than the benchmark itself.

Link numbers name everything: link n is 0An%012d; with L links per group, it is at
position n % L of group n // L (0Ag%012d); its Once execution, if any, is 0Ae%012d of
the group number.
"""
import hashlib
import json
import os
import secrets
import sqlite3
import string
import subprocess
import time

# src/domain/model.h
STATUS = {"New": 0, "Pending": 1, "Successful": 2, "Failed": 3}
TYPE = {"Api": 0, "ApiAsync": 1, "Download": 2, "Ui": 3}
METHOD = {"Delete": 0, "Get": 1, "Head": 2, "Patch": 3, "Post": 4, "Put": 5}
CATEGORY = {"Primary": 0, "Overflow": 1}
POLICY = {"Once": 0, "OncePerUser": 1, "Unlimited": 2}

# The JSON request body of the Api links and of the libcurl anchor (317 bytes, as in
# DEPENDENCIES §4.2).
CALLOUT_BODY = json.dumps({
    "orderId": "A-000017", "action": "approve", "amount": 1234.5, "currency": "EUR",
    "requestedBy": "bench", "note": "x" * 170, "items": [1, 2, 3]},
    separators=(",", ":"))


# The links of the scenarios (specs for links()): S1's groups (an Api and a Ui link), the
# one Ui link of S2's and S5's groups, and S3's one Api link to a sink.
S1_GROUP = [
    dict(type="Api", url="https://api.example.com/orders/approve", method="Post",
         label="Approve", headers=[["Content-Type", "application/json"]], body=CALLOUT_BODY),
    dict(type="Ui", url="https://example.com/orders/view", method="Get", label="View")]
JOIN = [dict(type="Ui", url="https://example.com/join", method="Get", label="Join")]


def sink_group(url):
    return [dict(type="Api", url=url, method="Post", label="Approve",
                 headers=[["Content-Type", "application/json"]], body=CALLOUT_BODY)]


def admin(binary, db, *args):
    out = subprocess.run([binary] + list(args) + ["--db", db, "--json"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (args, out.returncode, out.stderr))
    return json.loads(out.stdout)


def create(binary, db):
    """A fresh database with one user, one app and a day-long token."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    user = admin(binary, db, "user", "add", "bench", "--name", "Bench User")
    app = admin(binary, db, "app", "add", "bench-app")
    tok = admin(binary, db, "token", "issue", "bench", "--app", "bench-app", "--ttl", "86400")
    return {"user_id": user["id"][:15], "app_id": app["id"][:15],
            "token": tok["access_token"]}


def connect(db):
    c = sqlite3.connect(db, timeout=60, isolation_level=None)
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA cache_size=-262144")
    return c


def links(db, ident, first, count, per_group, specs, policy="Once", category="Primary"):
    """Groups of `per_group` links for link numbers [first, first + count); specs[pos]
    describes the link at each position: dict(type, url, method, label, headers, body)."""
    assert first % per_group == 0 and count % per_group == 0 and len(specs) == per_group
    now = int(time.time() * 1000)
    c = connect(db)
    c.execute("BEGIN")
    c.execute(
        "WITH RECURSIVE g(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?2) "
        "INSERT INTO groups (id, category, policy, expiration_ms, creator_id, app_id, "
        "template_id, bindings, created_ms, modified_ms) "
        "SELECT printf('0Ag%012d', n), ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8, ?8 FROM g",
        (first // per_group, (first + count) // per_group, CATEGORY[category], POLICY[policy],
         now + 30 * 86400 * 1000, ident["user_id"], ident["app_id"], now))

    def case(key, conv=lambda v: v):
        parts, args = [], []
        for pos, sp in enumerate(specs):
            parts.append("WHEN %d THEN ?" % pos)
            args.append(conv(sp.get(key)))
        return "CASE n %% %d %s END" % (per_group, " ".join(parts)), args

    cols = []
    args = [first, first + count]
    for key, conv in (("type", lambda v: TYPE[v]), ("url", None), ("method", lambda v: METHOD[v]),
                      ("label", None), ("confirm", lambda v: int(bool(v))),
                      ("headers", lambda v: json.dumps(v or [], separators=(",", ":"))),
                      ("body", None)):
        expr, a = case(key, conv or (lambda v: v))
        cols.append(expr)
        args += a
    args.append(now)
    c.execute(
        "WITH RECURSIVE g(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?2) "
        "INSERT INTO links (id, group_id, position, type, action_url, method, label_key, "
        "label, requires_confirmation, group_default, headers, request_body, user_id, "
        "excluded_user_id, template_id, created_ms, modified_ms) "
        "SELECT printf('0An%%012d', n), printf('0Ag%%012d', n / %d), n %% %d, %s, %s, %s, "
        "%s, NULL, %s, 0, %s, %s, NULL, NULL, NULL, ?, ? FROM g"
        % (per_group, per_group, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5],
           cols[6]),
        args + [now])
    c.execute("COMMIT")
    c.close()


def executions(db, ident, first_group, count, per_group, status="Successful", age_days=2):
    """Once executions of the first link of groups [first_group, first_group + count),
    dated age_days ago; the events their trigger writes are dropped, as the server's
    trim would (events are kept a few hours)."""
    then = int((time.time() - age_days * 86400) * 1000)
    c = connect(db)
    c.execute("BEGIN")
    c.execute(
        "WITH RECURSIVE g(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?2) "
        "INSERT INTO executions (id, group_id, scope_user_id, link_id, user_id, status, "
        "created_ms, modified_ms, deadline_ms, diagnostic) "
        "SELECT printf('0Ae%%012d', n), printf('0Ag%%012d', n), '', "
        "printf('0An%%012d', n * %d), ?3, ?4, ?5, ?5, 0, NULL FROM g" % per_group,
        (first_group, first_group + count, ident["user_id"], STATUS[status], then))
    c.execute("DELETE FROM events WHERE created_ms < ?", (then + 1,))
    c.execute("COMMIT")
    c.close()


def users_with_tokens(db, ident, n):
    """n more users, each with a day-long token through the bench app (written directly:
    a token is the org's 18-character id, '!', random base-62; the store keeps its hex
    SHA-256). Returns the tokens."""
    prefix, rand = ident["token"].split("!", 1)
    alphabet = string.ascii_letters + string.digits
    now = int(time.time() * 1000)
    toks = []
    c = connect(db)
    c.execute("BEGIN")
    for i in range(n):
        uid = "005%012d" % (900000000000 + i)
        c.execute("INSERT INTO users (id, username, name, manager_id, view_all_data, "
                  "customize_application, password_hash, created_ms) "
                  "VALUES (?, ?, ?, NULL, 0, 0, NULL, ?)",
                  (uid, "viewer%05d" % i, "Viewer %d" % i, now))
        tok = prefix + "!" + "".join(secrets.choice(alphabet) for _ in range(len(rand)))
        c.execute("INSERT INTO tokens (hash, user_id, app_id, expires_ms) VALUES (?, ?, ?, ?)",
                  (hashlib.sha256(tok.encode()).hexdigest(), uid, ident["app_id"],
                   now + 86400 * 1000))
        toks.append(tok)
    c.execute("COMMIT")
    c.close()
    return toks


def checkpoint(db):
    c = sqlite3.connect(db, timeout=60)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
