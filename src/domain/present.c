/* The answers' field sets and null rules (SPEC 4.2, 4.3, 11.11). */
#include "domain/present.h"

#include "core/clock.h"
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

static json_t *link_definition(const struct link *k)
{
    json_t *headers = json_array();
    for (size_t i = 0; i < k->n_headers; i++)
        json_array_append_new(headers, json_pack("{s:s, s:s}", "name", k->headers[i].name, "value",
                                                 k->headers[i].value));
    json_t *o = json_object();
    json_object_set_new(o, "actionUrl", json_string(k->action_url));
    json_object_set_new(o, "createdDate", present_date(k->created_ms));
    json_object_set_new(o, "excludedUserId", present_id(k->excluded_user_id));
    json_object_set_new(o, "groupDefault", json_boolean(k->group_default));
    json_object_set_new(o, "headers", headers);
    json_object_set_new(o, "id", present_id(k->id));
    char label[300];
    json_object_set_new(
        o, "label",
        json_string(labels_for_link(k->label_key, k->label, STATUS_NEW, label, sizeof(label))));
    json_object_set_new(o, "labelKey", json_string(k->label_key));
    json_object_set_new(o, "method", json_string(method_name(k->method)));
    json_object_set_new(o, "modifiedDate", present_date(k->modified_ms));
    json_object_set_new(o, "requestBody", present_text(k->request_body));
    json_object_set_new(o, "requiresConfirmation", json_boolean(k->requires_confirmation));
    json_object_set_new(o, "templateId", present_id(k->template_id));
    json_object_set_new(o, "type", json_string(action_type_name(k->type)));
    json_object_set_new(o, "userId", present_id(k->user_id));
    return o;
}

json_t *present_definition(const struct present_ctx *c, const struct group *g)
{
    json_t *links = json_array();
    for (size_t i = 0; i < g->n_links; i++)
        json_array_append_new(links, link_definition(&g->links[i]));
    json_t *o = json_object();
    json_object_set_new(o, "actionLinks", links);
    json_object_set_new(o, "category", json_string(category_name(g->category)));
    json_object_set_new(o, "createdDate", present_date(g->created_ms));
    json_object_set_new(o, "executionsAllowed", json_string(policy_name(g->policy)));
    json_object_set_new(o, "expirationDate",
                        g->expiration_ms ? present_date(g->expiration_ms) : json_null());
    json_object_set_new(o, "id", present_id(g->id));
    json_object_set_new(o, "modifiedDate", present_date(g->modified_ms));
    json_object_set_new(o, "templateId", present_id(g->template_id));
    json_object_set_new(o, "url", url_json(c, "action-link-group-definitions", g->id));
    return o;
}

json_t *present_user_summary(const struct present_ctx *c, const struct user *u)
{
    char id18[ID_LEN18 + 1], url[256];
    id_to18(u->id, id18);
    snprintf(url, sizeof(url), "%s/chatter/users/%s", c->api_root, id18);
    return json_pack("{s:s, s:s, s:s, s:s}", "id", id18, "displayName", u->name, "username",
                     u->username, "url", url);
}

json_t *present_action(const struct present_ctx *c, const struct action_view *v)
{
    const struct link *k = v->link;
    char buf[300];
    const char *label = labels_for_link(k->label_key, k->label, v->status, buf, sizeof(buf));
    json_t *confirm = json_null();
    if (k->requires_confirmation && v->status == STATUS_NEW) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Are you sure you want to %s?", label);
        confirm = json_string(msg);
    }
    json_t *o = json_object();
    json_object_set_new(o, "actionUrl", present_text(v->action_url));
    json_object_set_new(o, "apiName", json_null());
    json_object_set_new(o, "confirmationMessage", confirm);
    json_object_set_new(o, "createdRecords", json_array());
    json_object_set_new(o, "executingUser",
                        v->executing_user ? present_user_summary(c, v->executing_user)
                                          : json_null());
    json_object_set_new(o, "groupDefault", json_boolean(k->group_default));
    json_object_set_new(o, "iconUrl", json_null());
    json_object_set_new(o, "id", present_id(k->id));
    json_object_set_new(o, "label", json_string(label));
    json_object_set_new(o, "modifiedDate", present_date(v->modified_ms));
    json_object_set_new(o, "platformActionGroup",
                        json_pack("{s:o, s:o}", "id", present_id(v->group->id), "url",
                                  url_json(c, "action-link-groups", v->group->id)));
    json_object_set_new(o, "status", json_string(status_name(v->status)));
    json_object_set_new(o, "subtype", json_string(action_type_name(k->type)));
    json_object_set_new(o, "type", json_string("ActionLink"));
    json_object_set_new(o, "url", url_json(c, "action-links", k->id));
    return o;
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
