/* Label lookup: binary search over the generated, sorted table. */
#include "domain/labels.h"

#include <stdio.h>
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

const char *labels_for_link(const char *label_key, const char *custom, enum status s, char *buf,
                            size_t cap)
{
    static const char *const suffix[STATUS__COUNT] = {"", " Pending", " Success", " Failed"};
    if (!custom)
        return labels_text(label_key, s);
    snprintf(buf, cap, "%s%s", custom, suffix[s]);
    return buf;
}
