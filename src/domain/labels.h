/* The predefined action link labels of data/labels.tsv: for each labelKey, the text a
 * button shows in each status. The table is compiled into the binary. */
#ifndef AL_LABELS_H
#define AL_LABELS_H

#include "domain/model.h"

#include <stddef.h>

struct label_row {
    const char *key;
    const char *text[STATUS__COUNT];
};

/* Generated from data/labels.tsv, sorted by key (strcmp order). */
extern const struct label_row label_rows[];
extern const size_t label_rows_count;

/* The row for an exact key, or NULL. */
const struct label_row *labels_find(const char *key);
/* The text of key for status s; for an unknown key, the key itself. */
const char *labels_text(const char *key, enum status s);

#endif
