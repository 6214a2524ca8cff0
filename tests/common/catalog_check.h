/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A daemon's journal events against its systemd catalog, for the log tests
 * (test_primaryd_log, test_secondaryd_log). Failures are Check assertions.
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct CatalogEvents {
        /* The events are first..max-1, each with its MESSAGE_ID and name. */
        int first, max;
        const char *(*message_id)(int event);
        const char *(*name)(int event);
        /* The catalog file below $UPTANE_SOURCE_DIR ("systemd/uptane.catalog")
         * and the header line every entry has ("Defined-By: uptane-primaryd"). */
        const char *catalog;
        const char *defined_by;
        /* The fields an entry's text may name as @FIELD@. */
        const char *const *fields;
        size_t n_fields;
} CatalogEvents;

/* Whether s is a MESSAGE_ID as the catalog writes it: 32 lower-case hex digits. */
bool catalog_is_id(const char *s);

/* Every event has a MESSAGE_ID (one sd_id128_from_string() reads) and a name
 * of a-z and '-', neither the same as another event's. */
void catalog_check_ids(const CatalogEvents *c);

/* The catalog has one entry ("-- ID") for every event and none for anything
 * else; each entry has its Subject:, Defined-By: and Support: headers, and
 * every @FIELD@ outside comments is one of the fields. */
void catalog_check_file(const CatalogEvents *c);
