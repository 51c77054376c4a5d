/* The SQLite backend of the feed functions of store.h. (Being written.) */
#include "store/sqlite_internal.h"

enum err store_feed_item_create(struct store *s, const struct feed_item *item)
{
    (void)s, (void)item;
    return ERR_UNAVAILABLE;
}
enum err store_feed_item_get(struct store *s, const char *id, struct arena *a,
                             struct feed_item *out)
{
    (void)s, (void)id, (void)a, (void)out;
    return ERR_UNAVAILABLE;
}
enum err store_feed_item_delete(struct store *s, const char *id)
{
    (void)s, (void)id;
    return ERR_UNAVAILABLE;
}
enum err store_feed_page(struct store *s, int64_t before_ms, const char *before_id,
                         size_t limit, struct arena *a, struct feed_item **out, size_t *n)
{
    (void)s, (void)before_ms, (void)before_id, (void)limit, (void)a, (void)out, (void)n;
    return ERR_UNAVAILABLE;
}
