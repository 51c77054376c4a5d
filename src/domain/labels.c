/* Label lookup: binary search over the generated, sorted table. */
#include "domain/labels.h"

#include <stdlib.h>
#include <string.h>

static int cmp(const void *key, const void *row)
{
    return strcmp(key, ((const struct label_row *)row)->key);
}

const struct label_row *labels_find(const char *key)
{
    if (!key)
        return NULL;
    return bsearch(key, label_rows, label_rows_count, sizeof(label_rows[0]), cmp);
}

const char *labels_text(const char *key, enum status s)
{
    const struct label_row *r = labels_find(key);
    return r ? r->text[s] : key;
}
