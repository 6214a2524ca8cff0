/* SPDX-License-Identifier: MIT */
/* uptane-secondaryd's journal events: ids and names, and
 * systemd/uptane-secondaryd.catalog against them. */
#include <check.h>
#include <stdlib.h>

#include "catalog_check.h"
#include "secondary_log.h"

/* The fields a catalog text may use: those every entry of its kind carries. */
static const char *const field_names[] = { "UPTANE_ECU_SERIAL", "UPTANE_TARGET", "UPTANE_ATTACK" };

static const char *event_id(int e) {
        return secondary_event_message_id(e);
}

static const char *event_name(int e) {
        return secondary_event_name(e);
}

static const CatalogEvents events = {
        .first = 0,
        .max = _SECONDARY_EVENT_MAX,
        .message_id = event_id,
        .name = event_name,
        .catalog = "systemd/uptane-secondaryd.catalog",
        .defined_by = "Defined-By: uptane-secondaryd",
        .fields = field_names,
        .n_fields = sizeof(field_names) / sizeof(field_names[0]),
};

START_TEST(test_ids_and_names) {
        ck_assert_ptr_null(secondary_event_message_id(_SECONDARY_EVENT_MAX));
        ck_assert_ptr_null(secondary_event_name((SecondaryEvent) -1));
        catalog_check_ids(&events);
        /* Never one of uptane-primaryd's ids. */
        for (int e = 0; e < _SECONDARY_EVENT_MAX; e++)
                for (int f = 1; f < _LOG_EVENT_MAX; f++)
                        ck_assert_str_ne(secondary_event_message_id(e), log_event_message_id(f));
}
END_TEST

START_TEST(test_catalog_matches_ids) {
        catalog_check_file(&events);
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
