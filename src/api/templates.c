/* Action link templates through the sObject endpoints (SPEC 8, 11.8):
 * /sobjects/ActionLinkGroupTemplate[/{id}] and /sobjects/ActionLinkTemplate[/{id}], and
 * the templateId branch of POST action-link-group-definitions. Every template endpoint,
 * reading included, needs the customizeApplication permission: templates hold the headers
 * and bodies of callouts. The rules themselves are in domain/template.c. */
#include "api/internal.h"

#include "core/clock.h"
#include "domain/template.h"

#include <stdio.h>
#include <string.h>

static const char GT_TYPE[] = "ActionLinkGroupTemplate";
static const char LT_TYPE[] = "ActionLinkTemplate";

static bool may_customize(struct api_req *r)
{
    if (r->who.user.customize_application)
        return true;
    reply_error(r, ERR_ACCESS, "templates need the customizeApplication permission");
    return false;
}

static struct validate_opts vopts(struct api_req *r)
{
    return (struct validate_opts){.now_ms = clock_now_ms(),
                                  .allow_http = r->api->cfg.allow_http_callouts};
}

/* ---- JSON shapes of the records, as Salesforce shapes sObjects ---- */

/* The sObject head: attributes, Id, IsDeleted and the system dates. */
static json_t *sobject_new(struct api_req *r, const char *type, const char *id15,
                           int64_t created_ms, int64_t modified_ms)
{
    char id18[ID_LEN18 + 1];
    id_to18(id15, id18);
    json_t *o = json_object();
    json_object_set_new(
        o, "attributes",
        json_pack("{s:s, s:s}", "type", type, "url",
                  arena_printf(r->a, "%s/sobjects/%s/%s", r->pc.api_root, type, id18)));
    json_object_set_new(o, "Id", json_string(id18));
    json_object_set_new(o, "IsDeleted", json_false());
    json_object_set_new(o, "CreatedDate", present_date(created_ms));
    json_object_set_new(o, "LastModifiedDate", present_date(modified_ms));
    json_object_set_new(o, "SystemModstamp", present_date(modified_ms));
    return o;
}

static json_t *gt_json(struct api_req *r, const struct group_template *t)
{
    json_t *o = sobject_new(r, GT_TYPE, t->id, t->created_ms, t->modified_ms);
    json_object_set_new(o, "CreatedById", present_id(t->creator_id));
    json_object_set_new(o, "DeveloperName", json_string(t->developer_name));
    json_object_set_new(o, "MasterLabel", json_string(t->master_label));
    json_object_set_new(o, "Language", json_string("en_US"));
    json_object_set_new(o, "NamespacePrefix", json_null());
    json_object_set_new(o, "Category", json_string(category_name(t->category)));
    json_object_set_new(o, "ExecutionsAllowed", json_string(policy_name(t->policy)));
    json_object_set_new(o, "HoursUntilExpiration",
                        t->hours_until_expiration < 0 ? json_null()
                                                      : json_integer(t->hours_until_expiration));
    json_object_set_new(o, "IsPublished", json_boolean(t->published));
    return o;
}

static json_t *lt_json(struct api_req *r, const struct link_template *t)
{
    json_t *o = sobject_new(r, LT_TYPE, t->id, t->created_ms, t->modified_ms);
    json_object_set_new(o, "ActionLinkGroupTemplateId", present_id(t->group_template_id));
    json_object_set_new(o, "ActionUrl", present_text(t->action_url));
    json_object_set_new(o, "Headers", present_text(t->headers));
    json_object_set_new(o, "IsConfirmationRequired", json_boolean(t->requires_confirmation));
    json_object_set_new(o, "IsGroupDefault", json_boolean(t->group_default));
    json_object_set_new(o, "Label", present_text(t->label));
    json_object_set_new(o, "LabelKey", present_text(t->label_key));
    json_object_set_new(o, "LinkType", json_string(action_type_name(t->type)));
    json_object_set_new(o, "Method", json_string(method_name(t->method)));
    json_object_set_new(o, "Position", json_integer(t->position));
    json_object_set_new(o, "RequestBody", present_text(t->request_body));
    json_object_set_new(o, "UserAlias", present_text(t->user_alias));
    json_object_set_new(o, "UserVisibility", json_string(visibility_name(t->visibility)));
    return o;
}

static void reply_created(struct api_req *r, const char *id15)
{
    reply_json(r, 201,
               json_pack("{s:o, s:b, s:[]}", "id", present_id(id15), "success", 1, "errors"));
}

/* ---- loading ---- */

static bool load_gt(struct api_req *r, const char *id, struct group_template *t)
{
    enum err e = store_gtemplate_get(r->api->store, id, r->a, t);
    if (e)
        reply_store_error(r, e, "this action link group template");
    return e == ERR_OK;
}

static bool load_lt(struct api_req *r, struct link_template *t)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_LINK_TEMPLATE, id))
        return false;
    enum err e = store_ltemplate_get(r->api->store, id, r->a, t);
    if (e)
        reply_store_error(r, e, "this action link template");
    return e == ERR_OK;
}

static bool load_lts(struct api_req *r, const char *gt_id, struct link_template **lts, size_t *n)
{
    enum err e = store_ltemplates_of(r->api->store, gt_id, r->a, lts, n);
    if (e)
        reply_store_error(r, e, "");
    return e == ERR_OK;
}

/* ---- ActionLinkGroupTemplate ---- */

static void reply_gt_store_error(struct api_req *r, enum err e, const struct group_template *t)
{
    if (e == ERR_EXISTS)
        reply_error(r, ERR_EXISTS, "DeveloperName: a template named %s already exists",
                    t->developer_name);
    else
        reply_store_error(r, e, "this action link group template");
}

void h_gtemplate_create(struct api_req *r)
{
    json_t *body = NULL;
    if (!may_customize(r) || read_json_body(r, false, &body))
        return;
    struct group_template t;
    struct validate_error ve;
    enum err e = template_group_read(body, true, &t, &ve);
    if (!e && t.published)
        e = template_publish_check(&t, NULL, 0, &ve); /* it has no link templates yet */
    if (e) {
        reply_error(r, e, "%s", ve.msg);
        goto out;
    }
    id_new(ID_GROUP_TEMPLATE, t.id);
    memcpy(t.creator_id, r->who.user.id, sizeof(t.creator_id));
    t.created_ms = t.modified_ms = clock_now_ms();
    if ((e = store_gtemplate_create(r->api->store, &t)))
        reply_gt_store_error(r, e, &t);
    else
        reply_created(r, t.id);
out:
    json_decref(body);
}

void h_gtemplate_get(struct api_req *r)
{
    char id[ID_LEN + 1];
    struct group_template t;
    if (may_customize(r) && parse_id_or_reply(r, r->param, ID_GROUP_TEMPLATE, id) &&
        load_gt(r, id, &t))
        reply_json(r, 200, gt_json(r, &t));
}

void h_gtemplate_update(struct api_req *r)
{
    char id[ID_LEN + 1];
    json_t *body = NULL;
    struct group_template old, t;
    if (!may_customize(r) || !parse_id_or_reply(r, r->param, ID_GROUP_TEMPLATE, id) ||
        !load_gt(r, id, &old) || read_json_body(r, false, &body))
        return;
    struct validate_error ve;
    t = old;
    enum err e = template_group_read(body, false, &t, &ve);
    if (!e)
        e = template_group_change_check(&old, &t, &ve);
    if (!e && t.published && !old.published) {
        struct link_template *lts;
        size_t n;
        if (!load_lts(r, id, &lts, &n))
            goto out;
        e = template_publish_check(&t, lts, n, &ve);
    }
    if (e) {
        reply_error(r, e, "%s", ve.msg);
        goto out;
    }
    t.modified_ms = clock_now_ms();
    if ((e = store_gtemplate_update(r->api->store, &t)))
        reply_gt_store_error(r, e, &t);
    else
        reply_no_content(r);
out:
    json_decref(body);
}

void h_gtemplate_delete(struct api_req *r)
{
    char id[ID_LEN + 1];
    if (!may_customize(r) || !parse_id_or_reply(r, r->param, ID_GROUP_TEMPLATE, id))
        return;
    enum err e = store_gtemplate_delete(r->api->store, id);
    if (e)
        reply_store_error(r, e, "this action link group template");
    else
        reply_no_content(r);
}

/* ---- ActionLinkTemplate ---- */

static void reply_published(struct api_req *r)
{
    reply_error(r, ERR_INPUT,
                "ActionLinkGroupTemplateId: the group template is published; "
                "link templates cannot be added or removed");
}

void h_ltemplate_create(struct api_req *r)
{
    json_t *body = NULL;
    if (!may_customize(r) || read_json_body(r, false, &body))
        return;
    struct link_template t;
    struct group_template gt;
    struct link_template *lts;
    size_t n;
    char gt_id[ID_LEN + 1];
    const json_t *gid = json_object_get(body, "ActionLinkGroupTemplateId");
    if (!gid || json_is_null(gid)) {
        reply_error(r, ERR_INPUT, "ActionLinkGroupTemplateId: is required");
        goto out;
    }
    if (!json_is_string(gid) || !id_parse(json_string_value(gid), ID_GROUP_TEMPLATE, gt_id)) {
        reply_error(r, ERR_ID,
                    "ActionLinkGroupTemplateId: must be an action link group "
                    "template id (07g...)");
        goto out;
    }
    enum err e = store_gtemplate_get(r->api->store, gt_id, r->a, &gt);
    if (e == ERR_NOT_FOUND) {
        reply_error(r, ERR_INPUT, "ActionLinkGroupTemplateId: no group template has this id");
        goto out;
    }
    if (e) {
        reply_store_error(r, e, "");
        goto out;
    }
    if (gt.published) {
        reply_published(r);
        goto out;
    }
    if (!load_lts(r, gt_id, &lts, &n))
        goto out;
    if (n >= GROUP_MAX_LINKS) {
        reply_error(r, ERR_INPUT,
                    "ActionLinkGroupTemplateId: a group template has at most %d "
                    "link templates",
                    GROUP_MAX_LINKS);
        goto out;
    }
    int next = 0;
    for (size_t i = 0; i < n; i++)
        if (lts[i].position >= next)
            next = lts[i].position + 1;
    struct validate_opts vo = vopts(r);
    struct validate_error ve;
    if ((e = template_link_read(body, true, next, &vo, &t, &ve))) {
        reply_error(r, e, "%s", ve.msg);
        goto out;
    }
    id_new(ID_LINK_TEMPLATE, t.id);
    memcpy(t.group_template_id, gt_id, sizeof(t.group_template_id));
    t.created_ms = t.modified_ms = vo.now_ms;
    e = store_ltemplate_create(r->api->store, &t);
    if (e == ERR_CONFLICT)
        reply_published(r);
    else if (e)
        reply_store_error(r, e, "");
    else
        reply_created(r, t.id);
out:
    json_decref(body);
}

void h_ltemplate_get(struct api_req *r)
{
    struct link_template t;
    if (may_customize(r) && load_lt(r, &t))
        reply_json(r, 200, lt_json(r, &t));
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The new texts of the links made from t, each with its group's bindings. False when one
 * cannot be made (a reply was made). */
static bool rerender(struct api_req *r, const struct link_template *t,
                     const struct validate_opts *vo, struct link_render **out, size_t *n_out)
{
    struct templated_link *links;
    size_t n;
    enum err e = store_links_of_template(r->api->store, t->id, r->a, &links, &n);
    if (e) {
        reply_store_error(r, e, "");
        return false;
    }
    *out = n ? arena_alloc(r->a, n * sizeof(**out)) : NULL;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        struct template_bindings b;
        struct link k;
        struct validate_error ve;
        memset(&k, 0, sizeof(k));
        template_bindings_from_json(links[i].bindings_json, r->a, &b);
        if ((e = template_render_link(t, &b, vo, r->a, &k, &ve))) {
            char gid[ID_LEN18 + 1];
            id_to18(links[i].group_id, gid);
            reply_error(r, e, "%s (with the bindings of group %s)", ve.msg, gid);
            return false;
        }
        struct link_render *x = &(*out)[i];
        memcpy(x->link_id, links[i].link_id, sizeof(x->link_id));
        x->action_url = k.action_url;
        x->headers = k.headers;
        x->n_headers = k.n_headers;
        x->request_body = k.request_body;
    }
    return true;
}

void h_ltemplate_update(struct api_req *r)
{
    json_t *body = NULL;
    struct link_template old, t;
    struct group_template gt;
    if (!may_customize(r) || !load_lt(r, &old) || !load_gt(r, old.group_template_id, &gt) ||
        read_json_body(r, false, &body))
        return;
    const json_t *gid = json_object_get(body, "ActionLinkGroupTemplateId");
    char gt_id[ID_LEN + 1];
    if (gid &&
        (!json_is_string(gid) || !id_parse(json_string_value(gid), ID_GROUP_TEMPLATE, gt_id) ||
         strcmp(gt_id, old.group_template_id) != 0)) {
        reply_error(r, ERR_INPUT, "ActionLinkGroupTemplateId: cannot be changed");
        goto out;
    }
    struct validate_opts vo = vopts(r);
    struct validate_error ve;
    t = old;
    enum err e = template_link_read(body, false, old.position, &vo, &t, &ve);
    if (!e)
        e = template_link_change_check(&old, &t, gt.published, &ve);
    if (e) {
        reply_error(r, e, "%s", ve.msg);
        goto out;
    }
    t.modified_ms = vo.now_ms;
    struct link_render *links = NULL;
    size_t n = 0;
    /* SPEC 8: an edit of a published template applies to the groups already made */
    if (gt.published &&
        !(same_text(old.action_url, t.action_url) && same_text(old.headers, t.headers) &&
          same_text(old.request_body, t.request_body)) &&
        !rerender(r, &t, &vo, &links, &n))
        goto out;
    e = store_ltemplate_update(r->api->store, &t, links, n);
    if (e == ERR_INPUT)
        reply_error(r, e, "Headers: a value cannot be stored");
    else if (e)
        reply_store_error(r, e, "this action link template");
    else
        reply_no_content(r);
out:
    json_decref(body);
}

void h_ltemplate_delete(struct api_req *r)
{
    struct link_template t;
    if (!may_customize(r) || !load_lt(r, &t))
        return;
    enum err e = store_ltemplate_delete(r->api->store, t.id);
    if (e == ERR_CONFLICT)
        reply_published(r);
    else if (e)
        reply_store_error(r, e, "this action link template");
    else
        reply_no_content(r);
}

/* ---- instantiation ---- */

/* template_user_cb: a user id (15 or 18 characters) or a username. */
static enum err resolve_user(void *arg, const char *alias, char out[ID_LEN + 1])
{
    struct api_req *r = arg;
    struct user u;
    char id[ID_LEN + 1];
    enum err e = ERR_NOT_FOUND;
    if (id_parse(alias, ID_USER, id))
        e = store_user_get(r->api->store, id, r->a, &u);
    if (e == ERR_NOT_FOUND)
        e = store_user_by_name(r->api->store, alias, r->a, &u);
    if (e == ERR_OK)
        memcpy(out, u.id, ID_LEN + 1);
    return e;
}

void definition_from_template(struct api_req *r, json_t *body)
{
    int64_t now = clock_now_ms(), expiration;
    char tid[ID_LEN + 1];
    struct template_bindings b;
    struct validate_error ve;
    enum err e = template_instance_input(body, now, r->a, tid, &b, &expiration, &ve);
    if (e) {
        reply_error(r, e, "%s", ve.msg);
        return;
    }
    struct group_template gt;
    e = store_gtemplate_get(r->api->store, tid, r->a, &gt);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !gt.published)) {
        reply_error(r, ERR_INPUT, "templateId: no published template has this id");
        return;
    }
    if (e) {
        reply_store_error(r, e, "");
        return;
    }
    struct link_template *lts;
    size_t n;
    if (!load_lts(r, tid, &lts, &n))
        return;
    struct template_instance_opts o = {
        .creator = &r->who.user,
        .nobody_id = store_org_id(r->api->store),
        .now_ms = now,
        .expiration_ms = expiration,
        .allow_http = r->api->cfg.allow_http_callouts,
        .resolve_user = resolve_user,
        .resolve_arg = r,
    };
    struct group g;
    e = template_instantiate(&gt, lts, n, &b, &o, r->a, &g, &ve);
    if (e == ERR_INPUT || e == ERR_ID) {
        reply_error(r, e, "%s", ve.msg);
        return;
    }
    if (e) {
        reply_store_error(r, e == ERR_NOT_FOUND ? ERR_UNAVAILABLE : e, "");
        return;
    }
    id_new(ID_GROUP, g.id);
    memcpy(g.app_id, r->who.app.id, sizeof(g.app_id));
    g.created_ms = g.modified_ms = now;
    for (size_t i = 0; i < g.n_links; i++) {
        id_new(ID_LINK, g.links[i].id);
        memcpy(g.links[i].group_id, g.id, sizeof(g.id));
        g.links[i].created_ms = g.links[i].modified_ms = now;
    }
    if ((e = store_group_create(r->api->store, &g)))
        reply_store_error(r, e, "");
    else
        reply_definition(r, 201, &g);
}
