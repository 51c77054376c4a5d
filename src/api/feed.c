/* Feed items and the news feed (SPEC 4.4, 11.9): posting a Feed Item that carries action
 * link groups, reading and deleting one, its associated-actions capability, and the
 * org-wide news feed, newest first, in pages. Groups are rendered for the reader at
 * read time; a group that has expired, been deleted, or of which the reader sees no
 * link is left out, so expiry needs no background job. */
#include "api/internal.h"

#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    FEED_MAX_TEXT = 10000,   /* characters (code points) of a post's text */
    FEED_MAX_SEGMENTS = 100, /* message segments in a post's body */
    PAGE_SIZE_DEFAULT = 25,
    PAGE_SIZE_MAX = 100,
    TOKEN_MAX = 64, /* a page token, encoded */
};

static const char groups_field[] = "capabilities.associatedActions.actionLinkGroupIds";

/* ---- rendering ---- */

static bool expired(const struct group *g, int64_t now_ms)
{
    return g->expiration_ms && now_ms >= g->expiration_ms;
}

/* The groups of item as the reader sees them (SPEC 4.4): a JSON array, or NULL on a
 * database failure (after replying). */
static json_t *groups_json(struct api_req *r, const struct feed_item *item)
{
    json_t *out = json_array();
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < item->n_groups; i++) {
        struct group g;
        enum err e = store_group_get(r->api->store, item->group_ids[i], r->a, &g);
        if (e == ERR_NOT_FOUND)
            continue; /* deleted since the page was read */
        if (e) {
            reply_store_error(r, e, "");
            json_decref(out);
            return NULL;
        }
        if (expired(&g, now))
            continue;
        bool failed = false;
        json_t *view = api_group_view(r, &g, &failed);
        if (failed) {
            json_decref(out);
            return NULL;
        }
        if (view)
            json_array_append_new(out, view);
    }
    return out;
}

/* Users already loaded while rendering one answer: a page often repeats its posters. */
struct actors {
    struct user users[PAGE_SIZE_MAX];
    size_t n;
};

/* The user summary of id, or JSON null if no such user; NULL on a database failure
 * (after replying). */
static json_t *actor_json(struct api_req *r, struct actors *cache, const char *id)
{
    for (size_t i = 0; i < cache->n; i++)
        if (strcmp(cache->users[i].id, id) == 0)
            return present_user_summary(&r->pc, &cache->users[i]);
    struct user u;
    enum err e = store_user_get(r->api->store, id, r->a, &u);
    if (e == ERR_NOT_FOUND)
        return json_null();
    if (e) {
        reply_store_error(r, e, "");
        return NULL;
    }
    if (cache->n < PAGE_SIZE_MAX)
        cache->users[cache->n++] = u;
    return present_user_summary(&r->pc, &u);
}

/* The Feed Item of SPEC 4.4 for the reader; NULL on a database failure (after
 * replying). */
static json_t *item_json(struct api_req *r, struct actors *cache, const struct feed_item *item)
{
    json_t *actor = actor_json(r, cache, item->actor_id);
    if (!actor)
        return NULL;
    json_t *groups = groups_json(r, item);
    if (!groups) {
        json_decref(actor);
        return NULL;
    }
    json_t *segments = json_loads(item->segments_json ? item->segments_json : "[]", 0, NULL);
    if (!json_is_array(segments)) {
        json_decref(segments);
        segments = json_array();
    }
    char id18[ID_LEN18 + 1], date[CLOCK_ISO_LEN + 1];
    id_to18(item->id, id18);
    clock_format(item->created_ms, date);
    json_t *o = json_object();
    json_object_set_new(o, "actor", actor);
    json_object_set_new(
        o, "body",
        json_pack("{s:s, s:o}", "text", item->text ? item->text : "", "messageSegments", segments));
    json_object_set_new(
        o, "capabilities",
        json_pack("{s:{s:o}}", "associatedActions", "platformActionGroups", groups));
    json_object_set_new(o, "createdDate", json_string(date));
    json_object_set_new(o, "feedElementType", json_string("FeedItem"));
    json_object_set_new(o, "id", json_string(id18));
    json_object_set_new(
        o, "url",
        json_string(arena_printf(r->a, "%s/chatter/feed-elements/%s", r->pc.api_root, id18)));
    return o;
}

/* ---- POST: the body (SPEC 4.4) ---- */

/* The number of characters (code points) in valid UTF-8 text. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* body.messageSegments: Text segments only, at least one character and at most
 * FEED_MAX_TEXT in all. Fills item->text and item->segments_json (arena). */
static bool parse_message(struct api_req *r, const json_t *in, struct feed_item *item)
{
    const json_t *body = json_object_get(in, "body");
    if (!json_is_object(body)) {
        reply_error(r, ERR_INPUT, "body: required, an object with messageSegments");
        return false;
    }
    const json_t *segs = json_object_get(body, "messageSegments");
    if (!json_is_array(segs) || json_array_size(segs) == 0) {
        reply_error(r, ERR_INPUT, "body.messageSegments: required, a non-empty array");
        return false;
    }
    if (json_array_size(segs) > FEED_MAX_SEGMENTS) {
        reply_error(r, ERR_INPUT, "body.messageSegments: at most %d segments", FEED_MAX_SEGMENTS);
        return false;
    }
    size_t chars = 0, bytes = 0, i;
    const json_t *seg;
    json_array_foreach(segs, i, seg)
    {
        const char *type = json_string_value(json_object_get(seg, "type"));
        const json_t *text = json_object_get(seg, "text");
        if (!json_is_object(seg) || !type) {
            reply_error(r, ERR_INPUT, "body.messageSegments[%zu]: an object with type and text", i);
            return false;
        }
        if (strcmp(type, "Text") != 0) {
            reply_error(r, ERR_INPUT,
                        "body.messageSegments[%zu].type: only Text segments are "
                        "supported",
                        i);
            return false;
        }
        if (!json_is_string(text)) {
            reply_error(r, ERR_INPUT, "body.messageSegments[%zu].text: required, a string", i);
            return false;
        }
        chars += utf8_chars(json_string_value(text));
        bytes += json_string_length(text);
        if (chars > FEED_MAX_TEXT) {
            reply_error(r, ERR_INPUT,
                        "body.messageSegments: the text is longer than %d "
                        "characters",
                        FEED_MAX_TEXT);
            return false;
        }
    }
    if (chars == 0) {
        reply_error(r, ERR_INPUT, "body.messageSegments: the text is empty");
        return false;
    }
    /* The text joined, and the segments as stored: type and text only. */
    char *text = arena_alloc(r->a, bytes + 1), *p = text;
    json_t *norm = json_array();
    json_array_foreach(segs, i, seg)
    {
        const json_t *t = json_object_get(seg, "text");
        memcpy(p, json_string_value(t), json_string_length(t));
        p += json_string_length(t);
        json_array_append_new(norm, json_pack("{s:s, s:O}", "type", "Text", "text", t));
    }
    *p = '\0';
    char *dumped = json_dumps(norm, JSON_COMPACT);
    json_decref(norm);
    if (!dumped) {
        reply_error(r, ERR_INTERNAL, "the message could not be stored");
        return false;
    }
    item->text = text;
    item->segments_json = arena_strdup(r->a, dumped);
    free(dumped);
    return true;
}

/* subjectId: "me" or a user's id (checked to exist later). */
static bool parse_subject(struct api_req *r, const json_t *in, struct feed_item *item)
{
    const char *s = json_string_value(json_object_get(in, "subjectId"));
    if (!s) {
        reply_error(r, ERR_INPUT, "subjectId: required, \"me\" or a user id");
        return false;
    }
    if (strcmp(s, "me") == 0) {
        memcpy(item->subject_id, r->who.user.id, sizeof(item->subject_id));
        return true;
    }
    if (!id_parse(s, ID_USER, item->subject_id)) {
        reply_error(r, ERR_ID,
                    "subjectId: invalid id: expected \"me\" or a user id (15 or 18 "
                    "characters starting %s)",
                    id_prefix(ID_USER));
        return false;
    }
    return true;
}

/* capabilities.associatedActions.actionLinkGroupIds: well-formed, at most
 * FEED_MAX_GROUPS, no repeats. */
static bool parse_group_ids(struct api_req *r, const json_t *in, struct feed_item *item)
{
    item->n_groups = 0;
    const json_t *caps = json_object_get(in, "capabilities");
    if (!caps || json_is_null(caps))
        return true;
    if (!json_is_object(caps)) {
        reply_error(r, ERR_INPUT, "capabilities: must be an object");
        return false;
    }
    const json_t *assoc = json_object_get(caps, "associatedActions");
    if (!assoc || json_is_null(assoc))
        return true;
    if (!json_is_object(assoc)) {
        reply_error(r, ERR_INPUT, "capabilities.associatedActions: must be an object");
        return false;
    }
    const json_t *ids = json_object_get(assoc, "actionLinkGroupIds");
    if (!ids || json_is_null(ids))
        return true;
    if (!json_is_array(ids)) {
        reply_error(r, ERR_INPUT, "%s: must be an array of action link group ids", groups_field);
        return false;
    }
    if (json_array_size(ids) > FEED_MAX_GROUPS) {
        reply_error(r, ERR_INPUT, "%s: at most %d action link groups per feed item", groups_field,
                    FEED_MAX_GROUPS);
        return false;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *s = json_string_value(v);
        if (!s) {
            reply_error(r, ERR_INPUT, "%s[%zu]: must be a string", groups_field, i);
            return false;
        }
        char *id = item->group_ids[item->n_groups];
        if (!id_parse(s, ID_GROUP, id)) {
            reply_error(r, ERR_ID,
                        "%s[%zu]: invalid id: expected an action link group id (15 "
                        "or 18 characters starting %s)",
                        groups_field, i, id_prefix(ID_GROUP));
            return false;
        }
        for (size_t j = 0; j < item->n_groups; j++)
            if (strcmp(item->group_ids[j], id) == 0) {
                reply_error(r, ERR_INPUT, "%s[%zu]: this action link group is already listed",
                            groups_field, i);
                return false;
            }
        item->n_groups++;
    }
    return true;
}

/* The checks that need the store: the subject exists; each group exists, may be
 * attached by the caller (SPEC 4.2), has not expired; at most one is Primary. */
static bool check_references(struct api_req *r, const struct feed_item *item)
{
    struct user u;
    enum err e = store_user_get(r->api->store, item->subject_id, r->a, &u);
    if (e == ERR_NOT_FOUND) {
        reply_error(r, ERR_INPUT, "subjectId: no user has this id");
        return false;
    }
    if (e) {
        reply_store_error(r, e, "");
        return false;
    }
    int64_t now = clock_now_ms();
    size_t primaries = 0;
    for (size_t i = 0; i < item->n_groups; i++) {
        struct group g;
        e = store_group_get(r->api->store, item->group_ids[i], r->a, &g);
        if (e == ERR_NOT_FOUND) {
            reply_error(r, ERR_NOT_FOUND, "%s[%zu]: this action link group does not exist",
                        groups_field, i);
            return false;
        }
        if (e) {
            reply_store_error(r, e, "");
            return false;
        }
        if (!api_may_read_definition(r, &g)) {
            reply_error(r, ERR_ACCESS,
                        "%s[%zu]: only the app that created this action link "
                        "group, as its creator or a user with viewAllData, may "
                        "attach it to a post",
                        groups_field, i);
            return false;
        }
        if (expired(&g, now)) {
            reply_error(r, ERR_INPUT, "%s[%zu]: this action link group has expired", groups_field,
                        i);
            return false;
        }
        if (g.category == CATEGORY_PRIMARY && ++primaries > 1) {
            reply_error(r, ERR_INPUT,
                        "%s[%zu]: at most one Primary action link group per "
                        "feed item",
                        groups_field, i);
            return false;
        }
    }
    return true;
}

void h_feed_create(struct api_req *r)
{
    json_t *body = NULL;
    if (read_json_body(r, false, &body))
        return;
    struct feed_item item;
    memset(&item, 0, sizeof(item));
    if (!json_is_object(body)) {
        reply_error(r, ERR_INPUT, "the body must be a JSON object");
        goto out;
    }
    const char *type = json_string_value(json_object_get(body, "feedElementType"));
    if (!parse_message(r, body, &item) || !parse_subject(r, body, &item))
        goto out;
    if (!type || strcmp(type, "FeedItem") != 0) {
        reply_error(r, ERR_INPUT, "feedElementType: required, and must be FeedItem");
        goto out;
    }
    if (!parse_group_ids(r, body, &item) || !check_references(r, &item))
        goto out;
    id_new(ID_FEED_ITEM, item.id);
    memcpy(item.actor_id, r->who.user.id, sizeof(item.actor_id));
    item.created_ms = clock_now_ms();
    enum err e = store_feed_item_create(r->api->store, &item);
    if (e == ERR_NOT_FOUND) {
        reply_error(r, ERR_NOT_FOUND, "%s: an action link group was deleted meanwhile",
                    groups_field);
        goto out;
    }
    if (e) {
        reply_store_error(r, e, "");
        goto out;
    }
    struct actors *cache = arena_alloc(r->a, sizeof(*cache));
    json_t *o = item_json(r, cache, &item);
    if (o)
        reply_json(r, 201, o);
out:
    json_decref(body);
}

/* ---- one item ---- */

/* Loads the item named by r->param. */
static bool load_item(struct api_req *r, struct feed_item *item)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_FEED_ITEM, id))
        return false;
    enum err e = store_feed_item_get(r->api->store, id, r->a, item);
    if (e) {
        reply_store_error(r, e, "this feed element");
        return false;
    }
    return true;
}

void h_feed_get(struct api_req *r)
{
    struct feed_item item;
    if (!load_item(r, &item))
        return;
    struct actors *cache = arena_alloc(r->a, sizeof(*cache));
    json_t *o = item_json(r, cache, &item);
    if (o)
        reply_json(r, 200, o);
}

void h_feed_delete(struct api_req *r)
{
    struct feed_item item;
    if (!load_item(r, &item))
        return;
    if (strcmp(item.actor_id, r->who.user.id) != 0 && !r->who.user.view_all_data) {
        reply_error(r, ERR_ACCESS,
                    "only the user who posted this feed element, or a user "
                    "with viewAllData, may delete it");
        return;
    }
    enum err e = store_feed_item_delete(r->api->store, item.id);
    if (e)
        reply_store_error(r, e, "this feed element");
    else
        reply_no_content(r);
}

void h_feed_actions(struct api_req *r)
{
    struct feed_item item;
    if (!load_item(r, &item))
        return;
    json_t *groups = groups_json(r, &item);
    if (groups)
        reply_json(r, 200, json_pack("{s:o}", "platformActionGroups", groups));
}

/* ---- the news feed ---- */

/* A page token names the last item of the page before: base64url (no padding) of
 * "1.<created_ms>.<15-character id>". It only places a cursor in a feed every reader
 * may walk whole, so it is not signed. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void token_encode(int64_t ms, const char *id, char out[TOKEN_MAX])
{
    char raw[48];
    int n = snprintf(raw, sizeof(raw), "1.%lld.%s", (long long)ms, id);
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

static bool token_decode(const char *in, int64_t *ms, char id[ID_LEN + 1])
{
    size_t len = strlen(in);
    if (len == 0 || len >= TOKEN_MAX || len % 4 == 1)
        return false;
    char raw[TOKEN_MAX];
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = strchr(b64, in[i]);
        if (!p || !in[i])
            return false;
        acc = (acc << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    raw[o] = '\0';
    if (strlen(raw) != o || strncmp(raw, "1.", 2) != 0)
        return false;
    char *end;
    const char *digits = raw + 2;
    if (*digits < '0' || *digits > '9')
        return false;
    long long v = strtoll(digits, &end, 10);
    if (*end != '.' || end - digits > 15 || v < 0)
        return false;
    const char *idp = end + 1;
    if (strlen(idp) != ID_LEN || !id_parse(idp, ID_FEED_ITEM, id))
        return false;
    *ms = v;
    return true;
}

/* pageSize: absent → the default; else a whole number in 1..PAGE_SIZE_MAX. */
static bool page_size(const char *s, size_t *out)
{
    if (!s) {
        *out = PAGE_SIZE_DEFAULT;
        return true;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 3 || strspn(s, "0123456789") != n)
        return false;
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > PAGE_SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

void h_news_feed(struct api_req *r)
{
    const char *size_q = http_query(r->http, "pageSize");
    const char *token_q = http_query(r->http, "pageToken");
    size_t size;
    if (!page_size(size_q, &size)) {
        reply_error(r, ERR_INPUT, "pageSize: must be a whole number from 1 to %d", PAGE_SIZE_MAX);
        return;
    }
    if (token_q && !*token_q)
        token_q = NULL; /* an empty token asks for the first page */
    int64_t before_ms = 0;
    char before_id[ID_LEN + 1] = "";
    if (token_q && !token_decode(token_q, &before_ms, before_id)) {
        reply_error(r, ERR_INPUT, "pageToken: not a page token of this feed");
        return;
    }
    struct feed_item *items;
    size_t n;
    /* One more than the page: whether it exists says whether there is a next page. */
    enum err e = store_feed_page(r->api->store, before_ms, token_q ? before_id : NULL, size + 1,
                                 r->a, &items, &n);
    if (e) {
        reply_store_error(r, e, "");
        return;
    }
    struct actors *cache = arena_alloc(r->a, sizeof(*cache));
    json_t *elements = json_array();
    for (size_t i = 0; i < n && i < size; i++) {
        json_t *o = item_json(r, cache, &items[i]);
        if (!o) {
            json_decref(elements);
            return;
        }
        json_array_append_new(elements, o);
    }
    const char *base = arena_printf(r->a, "%s/chatter/feeds/news/me/feed-elements", r->pc.api_root);
    const char *size_part = size_q ? arena_printf(r->a, "pageSize=%zu", size) : NULL;
    const char *current = base;
    if (size_q && token_q)
        current = arena_printf(r->a, "%s?%s&pageToken=%s", base, size_part, token_q);
    else if (size_q)
        current = arena_printf(r->a, "%s?%s", base, size_part);
    else if (token_q)
        current = arena_printf(r->a, "%s?pageToken=%s", base, token_q);
    json_t *next = json_null();
    if (n > size) {
        char token[TOKEN_MAX];
        token_encode(items[size - 1].created_ms, items[size - 1].id, token);
        next = json_string(arena_printf(r->a, "%s?%s%spageToken=%s", base,
                                        size_part ? size_part : "", size_part ? "&" : "", token));
    }
    reply_json(r, 200,
               json_pack("{s:o, s:s, s:o}", "elements", elements, "currentPageUrl", current,
                         "nextPageUrl", next));
}
