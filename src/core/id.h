/* Salesforce-style record ids: 15 case-sensitive characters (a 3-character key prefix and
 * 12 base-62 characters) stored and compared internally, shown to clients in the
 * 18-character case-safe form. New ids are time-ordered, and unique across processes
 * through a per-process node number (see id_set_node). Thread-safe. */
#ifndef AL_ID_H
#define AL_ID_H

#include <stdbool.h>
#include <stdint.h>

enum { ID_LEN = 15, ID_LEN18 = 18 };

#define ID_KIND_TABLE(X)                                                                   \
    X(ID_ORG, "00D")                                                                       \
    X(ID_USER, "005")                                                                      \
    X(ID_APP, "0H4")                                                                       \
    X(ID_GROUP, "0Ag")                                                                     \
    X(ID_LINK, "0An")                                                                      \
    X(ID_GROUP_TEMPLATE, "07g")                                                            \
    X(ID_LINK_TEMPLATE, "07l")                                                             \
    X(ID_FEED_ITEM, "0D5")                                                                 \
    X(ID_EXECUTION, "0Ae") /* internal: never parsed from clients */

enum id_kind {
#define X(name, prefix) name,
    ID_KIND_TABLE(X)
#undef X
        ID_KIND__COUNT
};

/* The 3-character key prefix of a kind, a static string. */
const char *id_prefix(enum id_kind kind);
/* Sets the 14-bit node number mixed into new ids (default: random per process). */
void id_set_node(uint16_t node);
/* Writes a new 15-character id and a NUL into out. */
void id_new(enum id_kind kind, char out[ID_LEN + 1]);
/* Writes the 18-character form of a 15-character id into out. */
void id_to18(const char *id15, char out[ID_LEN18 + 1]);
/* Parses a 15- or 18-character id of the given kind into its 15-character form.
 * The 18-character form restores the case of the first 15 from its suffix, so a
 * case-folded 18-character id still names the same record. False if malformed or of
 * another kind. */
bool id_parse(const char *in, enum id_kind kind, char out[ID_LEN + 1]);

#endif
