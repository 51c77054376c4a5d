/* The SQLite backend of the template functions of store.h. (Being written.) */
#include "store/sqlite_internal.h"

enum err store_gtemplate_create(struct store *s, const struct group_template *t)
{
    (void)s, (void)t;
    return ERR_UNAVAILABLE;
}
enum err store_gtemplate_get(struct store *s, const char *id, struct arena *a,
                             struct group_template *out)
{
    (void)s, (void)id, (void)a, (void)out;
    return ERR_UNAVAILABLE;
}
enum err store_gtemplate_update(struct store *s, const struct group_template *t)
{
    (void)s, (void)t;
    return ERR_UNAVAILABLE;
}
enum err store_gtemplate_delete(struct store *s, const char *id)
{
    (void)s, (void)id;
    return ERR_UNAVAILABLE;
}
enum err store_ltemplate_create(struct store *s, const struct link_template *t)
{
    (void)s, (void)t;
    return ERR_UNAVAILABLE;
}
enum err store_ltemplate_get(struct store *s, const char *id, struct arena *a,
                             struct link_template *out)
{
    (void)s, (void)id, (void)a, (void)out;
    return ERR_UNAVAILABLE;
}
enum err store_ltemplates_of(struct store *s, const char *group_template_id, struct arena *a,
                             struct link_template **out, size_t *n)
{
    (void)s, (void)group_template_id, (void)a, (void)out, (void)n;
    return ERR_UNAVAILABLE;
}
enum err store_ltemplate_update(struct store *s, const struct link_template *t,
                                const struct link_render *links, size_t n_links)
{
    (void)s, (void)t, (void)links, (void)n_links;
    return ERR_UNAVAILABLE;
}
enum err store_ltemplate_delete(struct store *s, const char *id)
{
    (void)s, (void)id;
    return ERR_UNAVAILABLE;
}
enum err store_links_of_template(struct store *s, const char *link_template_id,
                                 struct arena *a, struct templated_link **out, size_t *n)
{
    (void)s, (void)link_template_id, (void)a, (void)out, (void)n;
    return ERR_UNAVAILABLE;
}
