/* Wire names of the domain enums, generated from the tables in model.h. */
#include "domain/model.h"

#include <string.h>

#define NAME1(name, wire) wire,
#define NAME2(name, wire, verb) wire,
#define VERB2(name, wire, verb) verb,
static const char *const status_names[] = {STATUS_TABLE(NAME1)};
static const char *const type_names[] = {ACTION_TYPE_TABLE(NAME1)};
static const char *const method_names[] = {METHOD_TABLE(NAME2)};
static const char *const method_verbs[] = {METHOD_TABLE(VERB2)};
static const char *const category_names[] = {CATEGORY_TABLE(NAME1)};
static const char *const policy_names[] = {POLICY_TABLE(NAME1)};
static const char *const visibility_names[] = {VISIBILITY_TABLE(NAME1)};

static int lookup(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *status_name(enum status s)
{
    return status_names[s];
}
int status_from_name(const char *s)
{
    return lookup(status_names, STATUS__COUNT, s);
}
const char *action_type_name(enum action_type t)
{
    return type_names[t];
}
int action_type_from_name(const char *s)
{
    return lookup(type_names, ACTION_TYPE__COUNT, s);
}
const char *method_name(enum http_method m)
{
    return method_names[m];
}
const char *method_verb(enum http_method m)
{
    return method_verbs[m];
}
int method_from_name(const char *s)
{
    return lookup(method_names, METHOD__COUNT, s);
}
const char *category_name(enum category c)
{
    return category_names[c];
}
int category_from_name(const char *s)
{
    return lookup(category_names, CATEGORY__COUNT, s);
}
const char *policy_name(enum policy p)
{
    return policy_names[p];
}
int policy_from_name(const char *s)
{
    return lookup(policy_names, POLICY__COUNT, s);
}

const char *visibility_name(enum visibility v)
{
    return visibility_names[v];
}
int visibility_from_name(const char *s)
{
    return lookup(visibility_names, VISIBILITY__COUNT, s);
}

const char *model_scope_user(enum policy p, const char *caller_id)
{
    return p == POLICY_ONCE_PER_USER ? caller_id : "";
}
