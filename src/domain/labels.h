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

/* The text a link shows in status s: its custom label (a template's Label, with the
 * suffixes " Pending", " Success", " Failed") or its label key's text. The result is
 * either static or written into buf. */
const char *labels_for_link(const char *label_key, const char *custom, enum status s, char *buf,
                            size_t cap);

#endif
