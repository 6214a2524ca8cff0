/* SPDX-License-Identifier: MIT */
/* uptane-secondaryd's journal events: ids and names, and
 * systemd/uptane-secondaryd.catalog against them. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "secondary_log.h"

/* The fields a catalog text may use: those every entry of its kind carries. */
static const char *const field_names[] = { "UPTANE_ECU_SERIAL", "UPTANE_TARGET", "UPTANE_ATTACK" };

static bool is_id(const char *s) {
        size_t n = strspn(s, "0123456789abcdef");

        return n == 32 && s[n] == '\0';
}

START_TEST(test_ids_and_names) {
        ck_assert_ptr_null(secondary_event_message_id(_SECONDARY_EVENT_MAX));
        ck_assert_ptr_null(secondary_event_name((SecondaryEvent) -1));
        for (int e = 0; e < _SECONDARY_EVENT_MAX; e++) {
                const char *id = secondary_event_message_id(e), *name = secondary_event_name(e);
                sd_id128_t parsed;

                ck_assert_msg(id && is_id(id), "event %d: id '%s'", e, id ?: "(null)");
                ck_assert_int_eq(sd_id128_from_string(id, &parsed), 0);
                ck_assert_msg(name && name[0] && strspn(name, "abcdefghijklmnopqrstuvwxyz-") == strlen(name),
                              "event %d: name '%s'", e, name ?: "(null)");
                for (int f = 0; f < e; f++) {
                        ck_assert_str_ne(id, secondary_event_message_id(f));
                        ck_assert_str_ne(name, secondary_event_name(f));
                }
                /* Never one of uptane-primaryd's ids. */
                for (int f = 1; f < _LOG_EVENT_MAX; f++)
                        ck_assert_str_ne(id, log_event_message_id(f));
        }
}
END_TEST

static int event_by_id(const char *id) {
        for (int e = 0; e < _SECONDARY_EVENT_MAX; e++)
                if (strcmp(id, secondary_event_message_id(e)) == 0)
                        return e;
        return -1;
}

static void assert_known_fields(const char *line, unsigned lineno) {
        const char *p = line;

        while ((p = strchr(p, '@'))) {
                const char *end = strchr(p + 1, '@');
                bool known = false;

                ck_assert_msg(end, "catalog line %u: unpaired '@'", lineno);
                for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
                        known = known || ((size_t) (end - p - 1) == strlen(field_names[i]) &&
                                          strncmp(p + 1, field_names[i], strlen(field_names[i])) == 0);
                ck_assert_msg(known, "catalog line %u: unknown field %.*s", lineno, (int) (end - p + 1), p);
                p = end + 1;
        }
}

START_TEST(test_catalog_matches_ids) {
        unsigned seen[_SECONDARY_EVENT_MAX] = {}, headers = 0, lineno = 0;
        const char *src = getenv("UPTANE_SOURCE_DIR");
        char *path, *line = NULL;
        int current = -1;
        size_t size = 0;
        FILE *f;

        ck_assert_msg(src, "UPTANE_SOURCE_DIR is not set (meson test sets it)");
        ck_assert_int_ge(asprintf(&path, "%s/systemd/uptane-secondaryd.catalog", src), 0);
        f = fopen(path, "re");
        ck_assert_msg(f, "%s: %s", path, strerror(errno));
        while (getline(&line, &size, f) >= 0) {
                line[strcspn(line, "\n")] = '\0';
                lineno++;
                if (strncmp(line, "-- ", 3) == 0) {
                        ck_assert_msg(is_id(line + 3), "catalog line %u: bad id '%s'", lineno, line + 3);
                        current = event_by_id(line + 3);
                        ck_assert_msg(current >= 0, "catalog line %u: id %s is no event's", lineno, line + 3);
                        seen[current]++;
                        headers = 0;
                } else if (current >= 0 && (strncmp(line, "Subject: ", 9) == 0 ||
                                            strcmp(line, "Defined-By: uptane-secondaryd") == 0 ||
                                            strcmp(line, "Support: https://uptane.github.io") == 0))
                        headers++;
                else if (current >= 0 && line[0] == '\0')
                        ck_assert_msg(headers >= 3, "catalog entry for %s lacks a header",
                                      secondary_event_name(current));
                if (line[0] != '#')
                        assert_known_fields(line, lineno);
        }
        for (int e = 0; e < _SECONDARY_EVENT_MAX; e++)
                ck_assert_msg(seen[e] == 1, "catalog has %u entries for %s", seen[e], secondary_event_name(e));
        free(line);
        fclose(f);
        free(path);
}
END_TEST

int main(void) {
        Suite *s = suite_create("secondaryd_log");
        TCase *tc = tcase_create("events");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_ids_and_names);
        tcase_add_test(tc, test_catalog_matches_ids);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
