/* SPDX-License-Identifier: MIT */
/* A daemon's journal events against its systemd catalog (see catalog_check.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "catalog_check.h"

bool catalog_is_id(const char *s) {
        size_t n = strspn(s, "0123456789abcdef");

        return n == 32 && s[n] == '\0';
}

void catalog_check_ids(const CatalogEvents *c) {
        for (int e = c->first; e < c->max; e++) {
                const char *id = c->message_id(e), *name = c->name(e);
                sd_id128_t parsed;

                ck_assert_msg(id && catalog_is_id(id), "event %d: id '%s'", e, id ?: "(null)");
                ck_assert_int_eq(sd_id128_from_string(id, &parsed), 0);
                ck_assert_msg(name && name[0] && strspn(name, "abcdefghijklmnopqrstuvwxyz-") == strlen(name),
                              "event %d: name '%s'", e, name ?: "(null)");
                for (int f = c->first; f < e; f++) {
                        ck_assert_str_ne(id, c->message_id(f));
                        ck_assert_str_ne(name, c->name(f));
                }
        }
}

static int event_by_id(const CatalogEvents *c, const char *id) {
        for (int e = c->first; e < c->max; e++)
                if (strcmp(id, c->message_id(e)) == 0)
                        return e;
        return -1;
}

/* Every @NAME@ in the line must be a field the log writes. */
static void assert_known_fields(const CatalogEvents *c, const char *line, unsigned lineno) {
        const char *p = line;

        while ((p = strchr(p, '@'))) {
                const char *end = strchr(p + 1, '@');
                bool known = false;

                ck_assert_msg(end, "catalog line %u: unpaired '@'", lineno);
                for (size_t i = 0; i < c->n_fields; i++)
                        known = known || ((size_t) (end - p - 1) == strlen(c->fields[i]) &&
                                          strncmp(p + 1, c->fields[i], strlen(c->fields[i])) == 0);
                ck_assert_msg(known, "catalog line %u: unknown field %.*s", lineno, (int) (end - p + 1), p);
                p = end + 1;
        }
}

void catalog_check_file(const CatalogEvents *c) {
        const char *src = getenv("UPTANE_SOURCE_DIR");
        unsigned *seen, headers = 0, lineno = 0;
        char *path, *line = NULL;
        int current = -1;
        size_t size = 0;
        FILE *f;

        ck_assert_msg(src, "UPTANE_SOURCE_DIR is not set (meson test sets it)");
        ck_assert_int_ge(asprintf(&path, "%s/%s", src, c->catalog), 0);
        seen = calloc((size_t) c->max, sizeof(*seen));
        ck_assert_ptr_nonnull(seen);
        f = fopen(path, "re");
        ck_assert_msg(f, "%s: %s", path, strerror(errno));
        while (getline(&line, &size, f) >= 0) {
                line[strcspn(line, "\n")] = '\0';
                lineno++;
                if (strncmp(line, "-- ", 3) == 0) {
                        ck_assert_msg(catalog_is_id(line + 3), "catalog line %u: bad id '%s'", lineno, line + 3);
                        current = event_by_id(c, line + 3);
                        ck_assert_msg(current >= 0, "catalog line %u: id %s is no event's", lineno, line + 3);
                        seen[current]++;
                        headers = 0;
                } else if (current >= 0 && (strncmp(line, "Subject: ", 9) == 0 ||
                                            strcmp(line, c->defined_by) == 0 ||
                                            strcmp(line, "Support: https://uptane.github.io") == 0))
                        headers++;
                else if (current >= 0 && line[0] == '\0')
                        ck_assert_msg(headers >= 3, "catalog entry for %s lacks a header", c->name(current));
                if (line[0] != '#')
                        assert_known_fields(c, line, lineno);
        }
        for (int e = c->first; e < c->max; e++)
                ck_assert_msg(seen[e] == 1, "catalog has %u entries for %s", seen[e], c->name(e));
        free(line);
        fclose(f);
        free(seen);
        free(path);
}
