/* Environment first, then the command line over it. */
#include "cli/opts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void from_env(struct opt *o)
{
    char var[64] = "ACTIONLINKS_";
    size_t n = strlen(var);
    for (const char *p = o->name; *p && n < sizeof(var) - 1; p++)
        var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    var[n] = '\0';
    const char *v = getenv(var);
    if (v && *v)
        o->value = o->flag ? (strcmp(v, "0") && strcmp(v, "false") ? "1" : NULL) : v;
}

bool opts_parse(int argc, char **argv, struct opt *opts, size_t n_opts, const char **pos,
                size_t max_pos, size_t *n_pos, char *why, size_t why_len)
{
    *n_pos = 0;
    for (size_t i = 0; i < n_opts; i++)
        from_env(&opts[i]);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*n_pos >= max_pos) {
                snprintf(why, why_len, "unexpected argument: %s", a);
                return false;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        struct opt *o = NULL;
        for (size_t j = 0; j < n_opts; j++)
            if (strlen(opts[j].name) == len && strncmp(opts[j].name, name, len) == 0)
                o = &opts[j];
        if (!o) {
            snprintf(why, why_len, "unknown option: --%.*s", (int)len, name);
            return false;
        }
        if (o->flag) {
            if (eq) {
                snprintf(why, why_len, "--%s takes no value", o->name);
                return false;
            }
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            snprintf(why, why_len, "--%s needs a value", o->name);
            return false;
        }
    }
    return true;
}

const char *opts_get(const struct opt *opts, size_t n_opts, const char *name)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    return NULL;
}

bool opts_flag(const struct opt *opts, size_t n_opts, const char *name)
{
    return opts_get(opts, n_opts, name) != NULL;
}
