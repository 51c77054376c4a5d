/* Templates (SPEC 8, 11.8): field rules, publishing, bindings and instantiation. A
 * template's texts hold two kinds of placeholders: {!Bindings.key}, filled once when a
 * group is made from the template, and the context variables of SPEC 7.2, filled at each
 * execution. The checks of a definition's link (validate.c) are reused on the texts with
 * every binding replaced: by a neutral placeholder when a template is saved, by the bound
 * values when a group is made. */
#include "domain/template.h"

#include "core/clock.h"
#include "domain/labels.h"
#include "domain/render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char BINDINGS_PREFIX[] = "Bindings.";
enum { PREFIX_LEN = sizeof(BINDINGS_PREFIX) - 1 };

static enum err fail(struct validate_error *e, enum err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err fail(struct validate_error *e, enum err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

/* ---- placeholders ---- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

/* Whether the placeholder name is a binding; then *key and *key_len name its key. */
static bool binding_key(const char *name, size_t len, const char **key, size_t *key_len)
{
    if (len <= PREFIX_LEN || memcmp(name, BINDINGS_PREFIX, PREFIX_LEN) != 0)
        return false;
    *key = name + PREFIX_LEN;
    *key_len = len - PREFIX_LEN;
    return true;
}

static const struct template_binding *find_binding(const struct template_bindings *b,
                                                   const char *key, size_t len)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (strlen(b->v[i].key) == len && memcmp(b->v[i].key, key, len) == 0)
            return &b->v[i];
    return NULL;
}

/* Replaces bindings with their values, or every binding with placeholder when b is NULL. */
static char *bind(struct arena *a, const char *s, const struct template_bindings *b,
                  const char *placeholder, char *missing, size_t cap)
{
    if (!s)
        return NULL;
    /* two passes: the size, then the text */
    size_t out_len = 0;
    const char *p = s, *name, *key;
    size_t len, key_len;
    for (const char *v = render_next_var(p, &name, &len); v; v = render_next_var(p, &name, &len)) {
        out_len += (size_t)(v - p);
        if (binding_key(name, len, &key, &key_len)) {
            const struct template_binding *x = b ? find_binding(b, key, key_len) : NULL;
            if (b && !x) {
                if (cap) {
                    size_t n = key_len < cap - 1 ? key_len : cap - 1;
                    memcpy(missing, key, n);
                    missing[n] = '\0';
                }
                return NULL;
            }
            out_len += strlen(x ? x->value : placeholder);
        } else {
            out_len += len + 3;
        }
        p = name + len + 1;
    }
    out_len += strlen(p);
    char *out = arena_alloc(a, out_len + 1), *w = out;
    p = s;
    for (const char *v = render_next_var(p, &name, &len); v; v = render_next_var(p, &name, &len)) {
        memcpy(w, p, (size_t)(v - p));
        w += v - p;
        const char *text = v;
        size_t text_len = len + 3;
        if (binding_key(name, len, &key, &key_len)) {
            const struct template_binding *x = b ? find_binding(b, key, key_len) : NULL;
            text = x ? x->value : placeholder;
            text_len = strlen(text);
        }
        memcpy(w, text, text_len);
        w += text_len;
        p = name + len + 1;
    }
    strcpy(w, p);
    return out;
}

char *template_bind(struct arena *a, const char *s, const struct template_bindings *b,
                    char *missing, size_t cap)
{
    static const struct template_bindings none = {NULL, 0};
    return bind(a, s, b ? b : &none, NULL, missing, cap);
}

/* The text with bindings replaced by a neutral placeholder, for the checks made when a
 * template is saved (the values are not known yet). */
static char *unbound(struct arena *a, const char *s)
{
    return bind(a, s, NULL, "x", NULL, 0);
}

/* Whether every binding key used in s is used in one of the texts of old. */
static bool keys_subset(const char *s, const char *const *old, size_t n_old, char *bad, size_t cap)
{
    const char *name, *key;
    size_t len, key_len;
    for (const char *v = s ? render_next_var(s, &name, &len) : NULL; v;
         v = render_next_var(name + len + 1, &name, &len)) {
        if (!binding_key(name, len, &key, &key_len))
            continue;
        bool found = false;
        for (size_t i = 0; !found && i < n_old; i++) {
            const char *oname, *okey;
            size_t olen, okey_len;
            for (const char *ov = old[i] ? render_next_var(old[i], &oname, &olen) : NULL;
                 ov && !found; ov = render_next_var(oname + olen + 1, &oname, &olen))
                found = binding_key(oname, olen, &okey, &okey_len) && okey_len == key_len &&
                        memcmp(okey, key, key_len) == 0;
        }
        if (!found) {
            size_t m = key_len < cap - 1 ? key_len : cap - 1;
            memcpy(bad, key, m);
            bad[m] = '\0';
            return false;
        }
    }
    return true;
}

/* ---- small checks ---- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static enum err check_vars(const char *s, const char *field, struct validate_error *e)
{
    char bad[64];
    if (!render_check(s, bad, sizeof(bad)))
        return fail(e, ERR_INPUT, "%s: unknown variable {!%s}", field, bad);
    return ERR_OK;
}

/* A JSON string without NUL inside, as a C string; NULL if v is not one. */
static const char *json_cstr(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

/* The field's value: *present says whether o has it; null is present with NULL. */
static const json_t *get(const json_t *o, const char *name, bool *present)
{
    const json_t *v = json_object_get(o, name);
    *present = v != NULL;
    return json_is_null(v) ? NULL : v;
}

static enum err read_text(const json_t *o, const char *name, bool creating, bool required,
                          const char **out, struct validate_error *e)
{
    bool present;
    const json_t *v = get(o, name, &present);
    if (!present && !creating)
        return ERR_OK;
    if (!v) {
        if (required)
            return fail(e, ERR_INPUT, "%s: is required", name);
        *out = NULL;
        return ERR_OK;
    }
    if (!(*out = json_cstr(v)))
        return fail(e, ERR_INPUT, "%s: must be a string", name);
    return ERR_OK;
}

static enum err read_enum(const json_t *o, const char *name, bool creating, bool required,
                          int (*from_name)(const char *), const char *allowed, int *out,
                          struct validate_error *e)
{
    bool present;
    const json_t *v = get(o, name, &present);
    if (!present && !creating)
        return ERR_OK;
    if (!v) {
        if (required)
            return fail(e, ERR_INPUT, "%s: is required", name);
        return ERR_OK; /* the caller's default stays */
    }
    int x = json_is_string(v) ? from_name(json_string_value(v)) : -1;
    if (x < 0)
        return fail(e, ERR_INPUT, "%s: must be one of %s", name, allowed);
    *out = x;
    return ERR_OK;
}

static enum err read_bool(const json_t *o, const char *name, bool creating, bool *out,
                          struct validate_error *e)
{
    bool present;
    const json_t *v = get(o, name, &present);
    if (!present && !creating)
        return ERR_OK;
    if (!v) {
        *out = false;
        return ERR_OK;
    }
    if (!validate_bool(v, out))
        return fail(e, ERR_INPUT, "%s: must be a boolean", name);
    return ERR_OK;
}

/* An integer in lo..hi: a JSON integer, or a number with no fraction. */
static bool int_value(const json_t *v, int lo, int hi, int *out)
{
    double d;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < lo || i > hi)
            return false;
        *out = (int)i;
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    if (!(d >= lo && d <= hi) || d != (double)(int)d)
        return false;
    *out = (int)d;
    return true;
}

/* ---- group templates ---- */

static enum err check_name(const char *s, const char *field, struct validate_error *e)
{
    if (!*s)
        return fail(e, ERR_INPUT, "%s: is required", field);
    if (utf8_chars(s) > TEMPLATE_MAX_NAME)
        return fail(e, ERR_INPUT, "%s: must be at most %d characters", field, TEMPLATE_MAX_NAME);
    if (validate_has_control(s, false))
        return fail(e, ERR_INPUT, "%s: must not contain control characters", field);
    return ERR_OK;
}

enum err template_group_read(const json_t *o, bool creating, struct group_template *t,
                             struct validate_error *e)
{
    if (!json_is_object(o))
        return fail(e, ERR_INPUT, "body: must be a JSON object");
    if (creating) {
        memset(t, 0, sizeof(*t));
        t->hours_until_expiration = -1;
    }
    enum err r;
    int x = 0;
    if ((r = read_text(o, "DeveloperName", creating, true, &t->developer_name, e)))
        return r;
    if (!t->developer_name)
        return fail(e, ERR_INPUT, "DeveloperName: is required");
    size_t n = strlen(t->developer_name);
    if (n == 0)
        return fail(e, ERR_INPUT, "DeveloperName: is required");
    if (n > TEMPLATE_MAX_NAME)
        return fail(e, ERR_INPUT, "DeveloperName: must be at most %d characters",
                    TEMPLATE_MAX_NAME);
    for (const char *p = t->developer_name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return fail(e, ERR_INPUT, "DeveloperName: only letters, digits and _ are allowed");

    if ((r = read_text(o, "MasterLabel", creating, true, &t->master_label, e)))
        return r;
    if (!t->master_label)
        return fail(e, ERR_INPUT, "MasterLabel: is required");
    if ((r = check_name(t->master_label, "MasterLabel", e)))
        return r;

    x = (int)t->category;
    if ((r = read_enum(o, "Category", creating, true, category_from_name, "Primary, Overflow", &x,
                       e)))
        return r;
    t->category = (enum category)x;
    x = (int)t->policy;
    if ((r = read_enum(o, "ExecutionsAllowed", creating, true, policy_from_name,
                       "Once, OncePerUser, Unlimited", &x, e)))
        return r;
    t->policy = (enum policy)x;

    bool present;
    const json_t *h = get(o, "HoursUntilExpiration", &present);
    if (present) {
        if (!h)
            t->hours_until_expiration = -1;
        else if (!int_value(h, 0, TEMPLATE_MAX_HOURS, &t->hours_until_expiration))
            return fail(e, ERR_INPUT, "HoursUntilExpiration: must be an integer from 0 to %d",
                        TEMPLATE_MAX_HOURS);
    }
    return read_bool(o, "IsPublished", creating, &t->published, e);
}

enum err template_group_change_check(const struct group_template *old,
                                     const struct group_template *now, struct validate_error *e)
{
    if (!old->published)
        return ERR_OK;
    if (!now->published)
        return fail(e, ERR_INPUT, "IsPublished: a published template cannot be unpublished");
    if (strcmp(old->developer_name, now->developer_name) != 0)
        return fail(e, ERR_INPUT,
                    "DeveloperName: cannot change after the template is "
                    "published");
    if (old->category != now->category)
        return fail(e, ERR_INPUT, "Category: cannot change after the template is published");
    if (old->policy != now->policy)
        return fail(e, ERR_INPUT,
                    "ExecutionsAllowed: cannot change after the template is published");
    if (old->hours_until_expiration != now->hours_until_expiration)
        return fail(e, ERR_INPUT,
                    "HoursUntilExpiration: cannot change after the template is published");
    return ERR_OK;
}

/* ---- link templates ---- */

enum err template_headers_parse(const char *text, const char *field, struct arena *a,
                                struct header **out, size_t *n, struct validate_error *e)
{
    static const char *const refused[] = {"Host", "Content-Length", "Transfer-Encoding",
                                          "Connection"};
    *out = NULL;
    *n = 0;
    if (!text)
        return ERR_OK;
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    struct header *h = arena_alloc(a, lines * sizeof(*h));
    size_t count = 0, line_no = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *next = end ? end + 1 : p + len;
        line_no++;
        if (len && p[len - 1] == '\r')
            len--;
        size_t blank = 0;
        while (blank < len && (p[blank] == ' ' || p[blank] == '\t'))
            blank++;
        if (blank == len) {
            p = next;
            continue;
        }
        const char *colon = memchr(p, ':', len);
        if (!colon)
            return fail(e, ERR_INPUT, "%s: line %zu: must be \"Name: value\"", field, line_no);
        char *name = arena_strndup(a, p, (size_t)(colon - p));
        const char *v = colon + 1, *v_end = p + len;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
            v_end--;
        char *value = arena_strndup(a, v, (size_t)(v_end - v));
        if (!validate_header_name(name))
            return fail(e, ERR_INPUT, "%s: line %zu: \"%.64s\" is not a valid header name", field,
                        line_no, name);
        for (size_t r = 0; r < sizeof(refused) / sizeof(refused[0]); r++)
            if (strcasecmp(name, refused[r]) == 0)
                return fail(e, ERR_INPUT, "%s: line %zu: %s may not be set", field, line_no,
                            refused[r]);
        if (strlen(value) > VALIDATE_MAX_HEADER_VALUE)
            return fail(e, ERR_INPUT, "%s: line %zu: a value must be at most %d bytes", field,
                        line_no, VALIDATE_MAX_HEADER_VALUE);
        if (validate_has_control(value, true))
            return fail(e, ERR_INPUT,
                        "%s: line %zu: a value must not contain control "
                        "characters",
                        field, line_no);
        if (count == LINK_MAX_HEADERS)
            return fail(e, ERR_INPUT, "%s: at most %d headers", field, LINK_MAX_HEADERS);
        h[count].name = name;
        h[count].value = value;
        count++;
        p = next;
    }
    *out = count ? h : NULL;
    *n = count;
    return ERR_OK;
}

/* The checks of a text with bindings: ActionUrl as a URL, the others for their context
 * variables. */
enum err template_link_check(const struct link_template *t, const struct validate_opts *vo,
                             struct validate_error *e)
{
    struct arena a;
    arena_init(&a);
    enum err r = ERR_OK;
    bool api = action_is_api(t->type);
    struct header *hs;
    size_t n_hs;

    if (!t->action_url || !*t->action_url) {
        r = fail(e, ERR_INPUT, "ActionUrl: is required");
        goto out;
    }
    if ((r = validate_action_url(unbound(&a, t->action_url), "ActionUrl", vo, e)))
        goto out;
    if (!api && t->method != METHOD_GET) {
        r = fail(e, ERR_INPUT, "Method: %s links must use HttpGet", action_type_name(t->type));
        goto out;
    }
    if ((r = template_headers_parse(t->headers, "Headers", &a, &hs, &n_hs, e)))
        goto out;
    if (n_hs && !api) {
        r = fail(e, ERR_INPUT, "Headers: only Api and ApiAsync links have headers");
        goto out;
    }
    for (size_t i = 0; i < n_hs; i++)
        if ((r = check_vars(unbound(&a, hs[i].value), "Headers", e)))
            goto out;
    if (t->request_body) {
        if (!api) {
            r = fail(e, ERR_INPUT, "RequestBody: only Api and ApiAsync links have a body");
            goto out;
        }
        if (strlen(t->request_body) > VALIDATE_MAX_BODY) {
            r = fail(e, ERR_INPUT, "RequestBody: must be at most %d bytes", VALIDATE_MAX_BODY);
            goto out;
        }
        if ((r = check_vars(unbound(&a, t->request_body), "RequestBody", e)))
            goto out;
    }
    if (!t->label_key || !*t->label_key) {
        r = fail(e, ERR_INPUT, "LabelKey: is required");
        goto out;
    }
    if (strcmp(t->label_key, "None") == 0) {
        if (!t->label || !*t->label) {
            r = fail(e, ERR_INPUT, "Label: is required when LabelKey is None");
            goto out;
        }
        if ((r = check_name(t->label, "Label", e)))
            goto out;
        /* present.c writes the label with a status suffix, and the confirmation message,
         * into fixed buffers: a longer one would be cut inside a character */
        if (strlen(t->label) > TEMPLATE_MAX_LABEL_BYTES) {
            r = fail(e, ERR_INPUT, "Label: must be at most %d bytes", TEMPLATE_MAX_LABEL_BYTES);
            goto out;
        }
    } else if (!labels_find(t->label_key)) {
        r = fail(e, ERR_INPUT, "LabelKey: is not a predefined label key (or None with a Label)");
        goto out;
    } else if (t->label) {
        r = fail(e, ERR_INPUT, "Label: only with LabelKey None");
        goto out;
    }
    if (t->user_alias) {
        const char *name;
        size_t len;
        if (strlen(t->user_alias) > TEMPLATE_MAX_ALIAS) {
            r = fail(e, ERR_INPUT, "UserAlias: must be at most %d bytes", TEMPLATE_MAX_ALIAS);
            goto out;
        }
        if (validate_has_control(t->user_alias, false)) {
            r = fail(e, ERR_INPUT, "UserAlias: must not contain control characters");
            goto out;
        }
        if (render_next_var(unbound(&a, t->user_alias), &name, &len)) {
            r = fail(e, ERR_INPUT, "UserAlias: only {!Bindings.key} variables are allowed");
            goto out;
        }
    }
    if ((t->visibility == VISIBILITY_CUSTOM_USER ||
         t->visibility == VISIBILITY_CUSTOM_EXCLUDED_USER) &&
        (!t->user_alias || !*t->user_alias)) {
        r = fail(e, ERR_INPUT, "UserAlias: is required when UserVisibility is %s",
                 visibility_name(t->visibility));
        goto out;
    }
out:
    arena_cleanup(&a);
    return r;
}

enum err template_link_read(const json_t *o, bool creating, int default_position,
                            const struct validate_opts *vo, struct link_template *t,
                            struct validate_error *e)
{
    if (!json_is_object(o))
        return fail(e, ERR_INPUT, "body: must be a JSON object");
    if (creating) {
        memset(t, 0, sizeof(*t));
        t->visibility = VISIBILITY_EVERYONE;
        t->position = default_position;
    }
    enum err r;
    int x = 0;
    x = (int)t->type;
    if ((r = read_enum(o, "LinkType", creating, true, action_type_from_name,
                       "Api, ApiAsync, Download, Ui", &x, e)))
        return r;
    t->type = (enum action_type)x;
    x = (int)t->method;
    if ((r = read_enum(o, "Method", creating, true, method_from_name,
                       "HttpDelete, HttpGet, HttpHead, HttpPatch, HttpPost, HttpPut", &x, e)))
        return r;
    t->method = (enum http_method)x;
    x = (int)t->visibility;
    if ((r = read_enum(o, "UserVisibility", creating, false, visibility_from_name,
                       "Creator, Everyone, EveryoneButCreator, Manager, CustomUser, "
                       "CustomExcludedUser",
                       &x, e)))
        return r;
    t->visibility = (enum visibility)x;
    if (!creating && json_is_null(json_object_get(o, "UserVisibility")))
        return fail(e, ERR_INPUT, "UserVisibility: is required");

    if ((r = read_text(o, "ActionUrl", creating, true, &t->action_url, e)) ||
        (r = read_text(o, "Headers", creating, false, &t->headers, e)) ||
        (r = read_text(o, "RequestBody", creating, false, &t->request_body, e)) ||
        (r = read_text(o, "LabelKey", creating, true, &t->label_key, e)) ||
        (r = read_text(o, "Label", creating, false, &t->label, e)) ||
        (r = read_text(o, "UserAlias", creating, false, &t->user_alias, e)) ||
        (r = read_bool(o, "IsConfirmationRequired", creating, &t->requires_confirmation, e)) ||
        (r = read_bool(o, "IsGroupDefault", creating, &t->group_default, e)))
        return r;
    /* an empty optional text is no text */
    if (t->headers && !*t->headers)
        t->headers = NULL;
    if (t->label && !*t->label)
        t->label = NULL;
    if (t->user_alias && !*t->user_alias)
        t->user_alias = NULL;

    bool present;
    const json_t *pos = get(o, "Position", &present);
    if (present) {
        if (!pos)
            return fail(e, ERR_INPUT, "Position: is required");
        if (!int_value(pos, 0, TEMPLATE_MAX_POSITION, &t->position))
            return fail(e, ERR_INPUT, "Position: must be an integer from 0 to %d",
                        TEMPLATE_MAX_POSITION);
    }
    if (!t->action_url)
        return fail(e, ERR_INPUT, "ActionUrl: is required");
    if (!t->label_key)
        return fail(e, ERR_INPUT, "LabelKey: is required");
    return template_link_check(t, vo, e);
}

enum err template_link_change_check(const struct link_template *old,
                                    const struct link_template *now, bool published,
                                    struct validate_error *e)
{
    if (!published)
        return ERR_OK;
#define SAME_STR(a, b) ((!(a) && !(b)) || ((a) && (b) && strcmp((a), (b)) == 0))
    struct {
        bool same;
        const char *field;
    } fields[] = {
        {old->type == now->type, "LinkType"},
        {old->method == now->method, "Method"},
        {old->visibility == now->visibility, "UserVisibility"},
        {old->position == now->position, "Position"},
        {old->requires_confirmation == now->requires_confirmation, "IsConfirmationRequired"},
        {old->group_default == now->group_default, "IsGroupDefault"},
        {SAME_STR(old->label_key, now->label_key), "LabelKey"},
        {SAME_STR(old->label, now->label), "Label"},
        {SAME_STR(old->user_alias, now->user_alias), "UserAlias"},
    };
#undef SAME_STR
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!fields[i].same)
            return fail(e, ERR_INPUT,
                        "%s: cannot change after the template is published (only ActionUrl, "
                        "Headers and RequestBody can)",
                        fields[i].field);
    const char *old_texts[] = {old->action_url, old->headers, old->request_body, old->user_alias};
    const struct {
        const char *text, *field;
    } texts[] = {{now->action_url, "ActionUrl"},
                 {now->headers, "Headers"},
                 {now->request_body, "RequestBody"}};
    char bad[64];
    for (size_t i = 0; i < 3; i++)
        if (!keys_subset(texts[i].text, old_texts, 4, bad, sizeof(bad)))
            return fail(e, ERR_INPUT,
                        "%s: {!Bindings.%s} is new; binding variables cannot be added after "
                        "the template is published",
                        texts[i].field, bad);
    return ERR_OK;
}

enum err template_publish_check(const struct group_template *g, const struct link_template *lts,
                                size_t n, struct validate_error *e)
{
    size_t max = g->category == CATEGORY_PRIMARY ? 3 : 4;
    if (n == 0)
        return fail(e, ERR_INPUT,
                    "IsPublished: a template needs at least one link template "
                    "to be published");
    if (n > max)
        return fail(e, ERR_INPUT,
                    "IsPublished: a template of category %s has at most %zu "
                    "link templates; this one has %zu",
                    category_name(g->category), max, n);
    size_t defaults = 0;
    for (size_t i = 0; i < n; i++) {
        if (lts[i].group_default && ++defaults > 1)
            return fail(e, ERR_INPUT,
                        "IsPublished: at most one link template may have "
                        "IsGroupDefault");
        if (g->policy == POLICY_UNLIMITED && action_is_api(lts[i].type))
            return fail(e, ERR_INPUT,
                        "ExecutionsAllowed: Unlimited is not allowed with %s "
                        "link templates",
                        action_type_name(lts[i].type));
    }
    return ERR_OK;
}

/* ---- bindings ---- */

static bool valid_key(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!name_char(*k))
            return false;
    return true;
}

enum err template_bindings_read(const json_t *v, struct arena *a, struct template_bindings *out,
                                struct validate_error *e)
{
    out->v = NULL;
    out->n = 0;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_array(v))
        return fail(e, ERR_INPUT, "templateBindings: must be an array of {\"key\",\"value\"}");
    size_t n = json_array_size(v);
    if (n > TEMPLATE_MAX_BINDINGS)
        return fail(e, ERR_INPUT, "templateBindings: at most %d bindings", TEMPLATE_MAX_BINDINGS);
    out->v = n ? arena_alloc(a, n * sizeof(*out->v)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_array_get(v, i);
        const char *key = json_cstr(json_object_get(b, "key"));
        const char *value = json_cstr(json_object_get(b, "value"));
        if (!json_is_object(b) || !key)
            return fail(e, ERR_INPUT, "templateBindings[%zu].key: must be a string", i);
        if (!value)
            return fail(e, ERR_INPUT, "templateBindings[%zu].value: must be a string", i);
        if (strncmp(key, BINDINGS_PREFIX, PREFIX_LEN) == 0)
            key += PREFIX_LEN;
        if (!valid_key(key))
            return fail(e, ERR_INPUT,
                        "templateBindings[%zu].key: must be letters, digits, _ "
                        "and . (optionally after Bindings.)",
                        i);
        if (strlen(value) > TEMPLATE_MAX_BINDING_VALUE)
            return fail(e, ERR_INPUT, "templateBindings[%zu].value: must be at most %d bytes", i,
                        TEMPLATE_MAX_BINDING_VALUE);
        if (find_binding(out, key, strlen(key)))
            return fail(e, ERR_INPUT, "templateBindings[%zu].key: %s is bound twice", i, key);
        out->v[out->n].key = key;
        out->v[out->n].value = value;
        out->n++;
    }
    return ERR_OK;
}

const char *template_bindings_json(const struct template_bindings *b, struct arena *a)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < b->n; i++)
        ok = json_object_set_new(o, b->v[i].key, json_string(b->v[i].value)) == 0;
    char *text = ok ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    const char *out = arena_strdup(a, text);
    free(text);
    return out;
}

void template_bindings_from_json(const char *text, struct arena *a, struct template_bindings *out)
{
    out->v = NULL;
    out->n = 0;
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    size_t n = json_object_size(o);
    if (n) {
        out->v = arena_alloc(a, n * sizeof(*out->v));
        const char *key;
        json_t *value;
        json_object_foreach(o, key, value)
        {
            if (!json_is_string(value))
                continue;
            out->v[out->n].key = arena_strdup(a, key);
            out->v[out->n].value = arena_strdup(a, json_string_value(value));
            out->n++;
        }
    }
    json_decref(o);
}

/* ---- instantiation ---- */

enum err template_render_link(const struct link_template *lt, const struct template_bindings *b,
                              const struct validate_opts *vo, struct arena *a, struct link *k,
                              struct validate_error *e)
{
    char missing[64];
    char field[64];
    char id18[ID_LEN18 + 1] = "";
    if (lt->id[0])
        id_to18(lt->id, id18);
    k->type = lt->type;
    k->method = lt->method;
    k->label_key = lt->label_key;
    k->label = lt->label;
    k->requires_confirmation = lt->requires_confirmation;
    k->group_default = lt->group_default;
    memcpy(k->template_id, lt->id, sizeof(k->template_id));

#define MISSING()                                                                                  \
    fail(e, ERR_INPUT, "templateBindings: no value for {!Bindings.%s} (used by link template %s)", \
         missing, id18)
    if (!(k->action_url = template_bind(a, lt->action_url, b, missing, sizeof(missing))))
        return MISSING();
    snprintf(field, sizeof(field), "ActionUrl of link template %s", id18);
    enum err r = validate_action_url(k->action_url, field, vo, e);
    if (r)
        return r;
    /* Lines first, then each value bound: a value cannot start a header of its own. */
    snprintf(field, sizeof(field), "Headers of link template %s", id18);
    if ((r = template_headers_parse(lt->headers, field, a, &k->headers, &k->n_headers, e)))
        return r;
    for (size_t i = 0; i < k->n_headers; i++) {
        const char *v = template_bind(a, k->headers[i].value, b, missing, sizeof(missing));
        if (!v)
            return MISSING();
        if (strlen(v) > VALIDATE_MAX_HEADER_VALUE)
            return fail(e, ERR_INPUT,
                        "%s: the value of %s must be at most %d bytes with its "
                        "bindings",
                        field, k->headers[i].name, VALIDATE_MAX_HEADER_VALUE);
        if (validate_has_control(v, true))
            return fail(e, ERR_INPUT,
                        "%s: the value of %s must not contain control "
                        "characters (from templateBindings)",
                        field, k->headers[i].name);
        k->headers[i].value = v;
    }
    k->request_body = template_bind(a, lt->request_body, b, missing, sizeof(missing));
    if (lt->request_body && !k->request_body)
        return MISSING();
    if (k->request_body && strlen(k->request_body) > VALIDATE_MAX_BODY)
        return fail(e, ERR_INPUT,
                    "RequestBody of link template %s: must be at most %d bytes "
                    "with its bindings",
                    id18, VALIDATE_MAX_BODY);
#undef MISSING
    return ERR_OK;
}

/* The user named by a link template's bound UserAlias, into out. */
static enum err alias_user(const struct link_template *lt, const struct template_bindings *b,
                           const struct template_instance_opts *o, struct arena *a,
                           char out[ID_LEN + 1], struct validate_error *e)
{
    char missing[64], id18[ID_LEN18 + 1];
    id_to18(lt->id, id18);
    const char *alias = template_bind(a, lt->user_alias, b, missing, sizeof(missing));
    if (!alias)
        return fail(e, ERR_INPUT,
                    "templateBindings: no value for {!Bindings.%s} (used by "
                    "link template %s)",
                    missing, id18);
    enum err r = *alias ? o->resolve_user(o->resolve_arg, alias, out) : ERR_NOT_FOUND;
    if (r == ERR_NOT_FOUND)
        return fail(e, ERR_INPUT,
                    "UserAlias of link template %s: no user has the id or "
                    "username \"%.80s\"",
                    id18, alias);
    return r;
}

enum err template_instantiate(const struct group_template *gt, const struct link_template *lts,
                              size_t n, const struct template_bindings *b,
                              const struct template_instance_opts *o, struct arena *a,
                              struct group *g, struct validate_error *e)
{
    memset(g, 0, sizeof(*g));
    if (!gt->published)
        return fail(e, ERR_INPUT, "templateId: the template is not published");
    if (n == 0 || n > GROUP_MAX_LINKS)
        return fail(e, ERR_INPUT, "templateId: the template has %zu link templates", n);
    g->category = gt->category;
    g->policy = gt->policy;
    memcpy(g->template_id, gt->id, sizeof(g->template_id));
    memcpy(g->creator_id, o->creator->id, sizeof(g->creator_id));
    if (o->expiration_ms)
        g->expiration_ms = o->expiration_ms;
    else if (gt->hours_until_expiration > 0)
        g->expiration_ms = o->now_ms + (int64_t)gt->hours_until_expiration * 3600 * 1000;
    g->bindings_json = template_bindings_json(b, a);
    struct validate_opts vo = {.now_ms = o->now_ms, .allow_http = o->allow_http};
    for (size_t i = 0; i < n; i++) {
        const struct link_template *lt = &lts[i];
        struct link *k = &g->links[i];
        k->position = (int)i;
        enum err r = template_render_link(lt, b, &vo, a, k, e);
        if (r)
            return r;
        switch (lt->visibility) {
        case VISIBILITY_EVERYONE:
            break;
        case VISIBILITY_CREATOR:
            memcpy(k->user_id, o->creator->id, sizeof(k->user_id));
            break;
        case VISIBILITY_EVERYONE_BUT_CREATOR:
            memcpy(k->excluded_user_id, o->creator->id, sizeof(k->excluded_user_id));
            break;
        case VISIBILITY_MANAGER:
            snprintf(k->user_id, sizeof(k->user_id), "%s",
                     o->creator->manager_id[0] ? o->creator->manager_id : o->nobody_id);
            break;
        case VISIBILITY_CUSTOM_USER:
            if ((r = alias_user(lt, b, o, a, k->user_id, e)))
                return r;
            break;
        case VISIBILITY_CUSTOM_EXCLUDED_USER:
            if ((r = alias_user(lt, b, o, a, k->excluded_user_id, e)))
                return r;
            break;
        default:
            return fail(e, ERR_INPUT, "UserVisibility: unknown value");
        }
    }
    g->n_links = n;
    return ERR_OK;
}

enum err template_instance_input(const json_t *body, int64_t now_ms, struct arena *a,
                                 char template_id[ID_LEN + 1], struct template_bindings *b,
                                 int64_t *expiration_ms, struct validate_error *e)
{
    static const char *const absent[] = {"actionLinks", "category", "executionsAllowed"};
    *expiration_ms = 0;
    if (!json_is_object(body))
        return fail(e, ERR_INPUT, "body: must be a JSON object");
    const json_t *tid = json_object_get(body, "templateId");
    if (!json_is_string(tid) || !id_parse(json_string_value(tid), ID_GROUP_TEMPLATE, template_id))
        return fail(e, ERR_ID, "templateId: must be an action link group template id (07g...)");
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        const json_t *v = json_object_get(body, absent[i]);
        if (v && !json_is_null(v))
            return fail(e, ERR_INPUT,
                        "%s: must be absent when templateId is given (the "
                        "template defines it)",
                        absent[i]);
    }
    enum err r = template_bindings_read(json_object_get(body, "templateBindings"), a, b, e);
    if (r)
        return r;
    const json_t *exp = json_object_get(body, "expirationDate");
    if (exp && !json_is_null(exp)) {
        int64_t ms;
        if (!json_is_string(exp) || !clock_parse(json_string_value(exp), &ms))
            return fail(e, ERR_INPUT,
                        "expirationDate: must be an ISO 8601 date-time such as "
                        "2026-11-28T10:15:30.000Z");
        if (ms <= now_ms)
            return fail(e, ERR_INPUT, "expirationDate: must be in the future");
        if (ms > now_ms + (int64_t)VALIDATE_MAX_DAYS * 86400 * 1000)
            return fail(e, ERR_INPUT, "expirationDate: must be at most %d days from now",
                        VALIDATE_MAX_DAYS);
        *expiration_ms = ms;
    }
    return ERR_OK;
}
