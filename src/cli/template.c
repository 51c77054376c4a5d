/* actionlinks template import FILE.json: creates a group template with its link templates
 * from one JSON document, with the rules of the sObject endpoints (domain/template.c):
 *
 *   {"DeveloperName": ..., "MasterLabel": ..., "Category": ..., "ExecutionsAllowed": ...,
 *    "HoursUntilExpiration": ..., "IsPublished": ...,
 *    "ActionLinkTemplates": [{"LinkType": ..., "ActionUrl": ..., "Method": ..., ...}]}
 *
 * The link templates take the fields of ActionLinkTemplate (ActionLinkGroupTemplateId is
 * ignored); Position defaults to the order of the array. Everything is checked before
 * anything is written; a failure while writing removes what was written. */
#include "cli/cli.h"

#include "cli/opts.h"
#include "core/clock.h"
#include "domain/template.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int import(const char *path, const struct opt *o, size_t n_opts)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        fprintf(stderr, "actionlinks: %s: line %d, column %d: %s\n", path, je.line, je.column,
                je.text);
        return 1;
    }
    int rc = 1;
    struct store *s = NULL;
    struct arena a;
    arena_init(&a);
    struct validate_error ve;
    struct validate_opts vo = {.now_ms = clock_now_ms(),
                               .allow_http = opts_flag(o, n_opts, "allow-http-callouts")};
    struct group_template gt;
    struct link_template *lts = NULL;
    size_t n = 0;
    bool created = false;
    char where[48] = ""; /* which link template a refusal is about */
    enum err e = template_group_read(doc, true, &gt, &ve);
    if (e)
        goto refused;
    if (opts_flag(o, n_opts, "publish"))
        gt.published = true;
    const json_t *links = json_object_get(doc, "ActionLinkTemplates");
    if (links && !json_is_array(links)) {
        snprintf(ve.msg, sizeof(ve.msg), "ActionLinkTemplates: must be an array");
        goto refused;
    }
    n = json_array_size(links);
    if (n > GROUP_MAX_LINKS) {
        snprintf(ve.msg, sizeof(ve.msg), "ActionLinkTemplates: at most %d link templates",
                 GROUP_MAX_LINKS);
        goto refused;
    }
    lts = n ? arena_alloc(&a, n * sizeof(*lts)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if ((e = template_link_read(json_array_get(links, i), true, (int)i, &vo, &lts[i], &ve))) {
            snprintf(where, sizeof(where), "ActionLinkTemplates[%zu].", i);
            goto refused;
        }
    }
    if (gt.published && (e = template_publish_check(&gt, lts, n, &ve)))
        goto refused;

    char why[512];
    if (store_open(opts_get(o, n_opts, "db"), &s, why, sizeof(why))) {
        fprintf(stderr, "actionlinks: %s\n", why);
        goto out;
    }
    const char *username = opts_get(o, n_opts, "user");
    if (username) {
        struct user u;
        if ((e = store_user_by_name(s, username, &a, &u))) {
            fprintf(stderr, "actionlinks: %s\n",
                    e == ERR_NOT_FOUND ? "no such user" : "the database failed");
            goto out;
        }
        memcpy(gt.creator_id, u.id, sizeof(gt.creator_id));
    }
    bool publish = gt.published;
    gt.published = false; /* link templates are added to an unpublished template */
    id_new(ID_GROUP_TEMPLATE, gt.id);
    gt.created_ms = gt.modified_ms = vo.now_ms;
    if ((e = store_gtemplate_create(s, &gt))) {
        fprintf(stderr, "actionlinks: %s\n",
                e == ERR_EXISTS ? "DeveloperName: a template of this name already exists"
                                : "the database failed");
        goto out;
    }
    created = true;
    for (size_t i = 0; i < n; i++) {
        id_new(ID_LINK_TEMPLATE, lts[i].id);
        memcpy(lts[i].group_template_id, gt.id, sizeof(gt.id));
        lts[i].created_ms = lts[i].modified_ms = vo.now_ms;
        if ((e = store_ltemplate_create(s, &lts[i]))) {
            fprintf(stderr, "actionlinks: the database failed (%s)\n", err_code(e));
            goto out;
        }
    }
    if (publish) {
        gt.published = true;
        if ((e = store_gtemplate_update(s, &gt))) {
            fprintf(stderr, "actionlinks: the database failed (%s)\n", err_code(e));
            goto out;
        }
    }
    created = false; /* done: keep it */
    rc = 0;
    char id18[ID_LEN18 + 1];
    id_to18(gt.id, id18);
    if (opts_flag(o, n_opts, "json")) {
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++) {
            char lid[ID_LEN18 + 1];
            id_to18(lts[i].id, lid);
            json_array_append_new(ids, json_string(lid));
        }
        json_t *out = json_pack("{s:s, s:s, s:b, s:o}", "id", id18, "developerName",
                                gt.developer_name, "published", publish, "linkTemplateIds", ids);
        char *text = json_dumps(out, JSON_COMPACT);
        if (text)
            puts(text);
        free(text);
        json_decref(out);
    } else {
        printf("created group template %s (%s) with %zu link templates%s\n", gt.developer_name,
               id18, n, publish ? ", published" : "");
    }
    goto out;
refused:
    fprintf(stderr, "actionlinks: %s: %s%s\n", path, where, ve.msg);
out:
    if (created)
        store_gtemplate_delete(s, gt.id);
    store_close(s);
    arena_cleanup(&a);
    json_decref(doc); /* the records borrowed their strings from it */
    return rc;
}

int cli_template(int argc, char **argv)
{
    static const char usage[] =
        "usage: actionlinks template import FILE.json [--publish] [--user USERNAME]\n"
        "         [--allow-http-callouts] [--db LOCATION] [--json]\n";
    struct opt o[] = {{"publish", true, NULL},
                      {"user", false, NULL},
                      {"allow-http-callouts", true, NULL},
                      {"db", false, "./actionlinks.db"},
                      {"json", true, NULL}};
    size_t n = sizeof(o) / sizeof(o[0]), n_pos;
    const char *pos[2];
    char why[256] = "";
    if (!opts_parse(argc, argv, o, n, pos, 2, &n_pos, why, sizeof(why)) || n_pos != 2 ||
        strcmp(pos[0], "import") != 0) {
        fprintf(stderr, "%s%s%s", why, why[0] ? "\n" : "", usage);
        return 2;
    }
    return import(pos[1], o, n);
}
