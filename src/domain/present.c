/* The answers' field sets and null rules (SPEC 4.2, 4.3, 11.11). */
#include "domain/present.h"

#include "core/clock.h"
#include "core/jsonw.h"
#include "domain/labels.h"

#include <stdio.h>
#include <string.h>

json_t *present_id(const char *id15)
{
    if (!id15 || !id15[0])
        return json_null();
    char id18[ID_LEN18 + 1];
    id_to18(id15, id18);
    return json_string(id18);
}

json_t *present_date(int64_t ms)
{
    char s[CLOCK_ISO_LEN + 1];
    clock_format(ms, s);
    return json_string(s);
}

json_t *present_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *url_json(const struct present_ctx *c, const char *what, const char *id15)
{
    char id18[ID_LEN18 + 1], url[256];
    id_to18(id15, id18);
    snprintf(url, sizeof(url), "%s/connect/%s/%s", c->api_root, what, id18);
    return json_string(url);
}

/* "<api root><infix><id18>" as a JSON string (the parts need no escaping). */
static void write_url(struct buf *b, const struct present_ctx *c, const char *infix,
                      const char *id15)
{
    char id18[ID_LEN18 + 1];
    id_to18(id15, id18);
    buf_puts(b, "\"");
    buf_puts(b, c->api_root);
    buf_puts(b, infix);
    buf_puts(b, id18);
    buf_puts(b, "\"");
}

static void write_id(struct buf *b, const char *id15)
{
    char id18[ID_LEN18 + 1];
    id_to18(id15, id18);
    jw_string(b, id18);
}

static void write_date(struct buf *b, int64_t ms)
{
    char s[CLOCK_ISO_LEN + 1];
    clock_format(ms, s);
    jw_string(b, s);
}

static void write_user_summary(struct buf *b, const struct present_ctx *c, const struct user *u)
{
    jw_raw(b, "{\"id\":");
    write_id(b, u->id);
    jw_raw(b, ",\"displayName\":");
    jw_string(b, u->name);
    jw_raw(b, ",\"username\":");
    jw_string(b, u->username);
    jw_raw(b, ",\"url\":");
    write_url(b, c, "/chatter/users/", u->id);
    jw_raw(b, "}");
}

static void write_id_or_null(struct buf *b, const char *id15)
{
    if (id15 && id15[0])
        write_id(b, id15);
    else
        jw_raw(b, "null");
}

static void write_link_definition(struct buf *b, const struct link *k)
{
    jw_raw(b, "{\"actionUrl\":");
    jw_string(b, k->action_url);
    jw_raw(b, ",\"createdDate\":");
    write_date(b, k->created_ms);
    jw_raw(b, ",\"excludedUserId\":");
    write_id_or_null(b, k->excluded_user_id);
    jw_raw(b, ",\"groupDefault\":");
    jw_bool(b, k->group_default);
    jw_raw(b, ",\"headers\":[");
    for (size_t i = 0; i < k->n_headers; i++) {
        jw_raw(b, i ? ",{\"name\":" : "{\"name\":");
        jw_string(b, k->headers[i].name);
        jw_raw(b, ",\"value\":");
        jw_string(b, k->headers[i].value);
        jw_raw(b, "}");
    }
    jw_raw(b, "],\"id\":");
    write_id_or_null(b, k->id);
    char label[300];
    jw_raw(b, ",\"label\":");
    jw_string(b, labels_for_link(k->label_key, k->label, STATUS_NEW, label, sizeof(label)));
    jw_raw(b, ",\"labelKey\":");
    jw_string(b, k->label_key);
    jw_raw(b, ",\"method\":");
    jw_string(b, method_name(k->method));
    jw_raw(b, ",\"modifiedDate\":");
    write_date(b, k->modified_ms);
    jw_raw(b, ",\"requestBody\":");
    jw_string_or_null(b, k->request_body);
    jw_raw(b, ",\"requiresConfirmation\":");
    jw_bool(b, k->requires_confirmation);
    jw_raw(b, ",\"templateId\":");
    write_id_or_null(b, k->template_id);
    jw_raw(b, ",\"type\":");
    jw_string(b, action_type_name(k->type));
    jw_raw(b, ",\"userId\":");
    write_id_or_null(b, k->user_id);
    jw_raw(b, "}");
}

void present_definition_write(struct buf *b, const struct present_ctx *c, const struct group *g)
{
    jw_raw(b, "{\"actionLinks\":[");
    for (size_t i = 0; i < g->n_links; i++) {
        if (i)
            jw_raw(b, ",");
        write_link_definition(b, &g->links[i]);
    }
    jw_raw(b, "],\"category\":");
    jw_string(b, category_name(g->category));
    jw_raw(b, ",\"createdDate\":");
    write_date(b, g->created_ms);
    jw_raw(b, ",\"executionsAllowed\":");
    jw_string(b, policy_name(g->policy));
    jw_raw(b, ",\"expirationDate\":");
    if (g->expiration_ms)
        write_date(b, g->expiration_ms);
    else
        jw_raw(b, "null");
    jw_raw(b, ",\"id\":");
    write_id_or_null(b, g->id);
    jw_raw(b, ",\"modifiedDate\":");
    write_date(b, g->modified_ms);
    jw_raw(b, ",\"templateId\":");
    write_id_or_null(b, g->template_id);
    jw_raw(b, ",\"url\":");
    write_url(b, c, "/connect/action-link-group-definitions/", g->id);
    jw_raw(b, "}");
}

/* The tree of JSON text written into b (which is emptied). */
static json_t *tree_of(struct buf *b)
{
    json_t *o = json_loads(b->data, 0, NULL);
    buf_cleanup(b);
    return o;
}

json_t *present_user_summary(const struct present_ctx *c, const struct user *u)
{
    struct buf b;
    buf_init(&b, 0);
    write_user_summary(&b, c, u);
    return tree_of(&b);
}

void present_action_write(struct buf *b, const struct present_ctx *c, const struct action_view *v)
{
    const struct link *k = v->link;
    char label_buf[300];
    const char *label =
        labels_for_link(k->label_key, k->label, v->status, label_buf, sizeof(label_buf));
    jw_raw(b, "{\"actionUrl\":");
    jw_string_or_null(b, v->action_url);
    jw_raw(b, ",\"apiName\":null,\"confirmationMessage\":");
    if (k->requires_confirmation && v->status == STATUS_NEW) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Are you sure you want to %s?", label);
        jw_string(b, msg);
    } else {
        jw_raw(b, "null");
    }
    jw_raw(b, ",\"createdRecords\":[],\"executingUser\":");
    if (v->executing_user)
        write_user_summary(b, c, v->executing_user);
    else
        jw_raw(b, "null");
    jw_raw(b, ",\"groupDefault\":");
    jw_bool(b, k->group_default);
    jw_raw(b, ",\"iconUrl\":null,\"id\":");
    write_id(b, k->id);
    jw_raw(b, ",\"label\":");
    jw_string(b, label);
    jw_raw(b, ",\"modifiedDate\":");
    write_date(b, v->modified_ms);
    jw_raw(b, ",\"platformActionGroup\":{\"id\":");
    write_id(b, v->group->id);
    jw_raw(b, ",\"url\":");
    write_url(b, c, "/connect/action-link-groups/", v->group->id);
    jw_raw(b, "},\"status\":");
    jw_string(b, status_name(v->status));
    jw_raw(b, ",\"subtype\":");
    jw_string(b, action_type_name(k->type));
    jw_raw(b, ",\"type\":\"ActionLink\",\"url\":");
    write_url(b, c, "/connect/action-links/", k->id);
    jw_raw(b, "}");
}

json_t *present_action(const struct present_ctx *c, const struct action_view *v)
{
    struct buf b;
    buf_init(&b, 0);
    present_action_write(&b, c, v);
    return tree_of(&b);
}

json_t *present_action_group(const struct present_ctx *c, const struct group *g, json_t *actions)
{
    int64_t modified = g->modified_ms;
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        int64_t ms;
        const char *d = json_string_value(json_object_get(a, "modifiedDate"));
        if (d && clock_parse(d, &ms) && ms > modified)
            modified = ms;
    }
    json_t *o = json_object();
    json_object_set_new(o, "category", json_string(category_name(g->category)));
    json_object_set_new(o, "id", present_id(g->id));
    json_object_set_new(o, "modifiedDate", present_date(modified));
    json_object_set_new(o, "platformActions", actions);
    json_object_set_new(o, "url", url_json(c, "action-link-groups", g->id));
    return o;
}

json_t *present_error(const char *code, const char *message)
{
    return json_pack("[{s:s, s:s}]", "errorCode", code, "message", message);
}
