/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-secondaryd: the shipped conf/uptane-secondary.conf
 * against the table, its defaults read back, errors with file and line, the
 * value types only the Secondary uses (booleans, addresses, "none"), and the
 * effective configuration read back by the parser. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secondary_config.h"
#include "testfiles.h"

static const char minimal[] =
        "[ecu]\n"
        "serial = ecu-1\n"
        "hardware-id = hw-1\n"
        "[director]\n"
        "root = /usr/share/uptane/director-root.json\n";

static char *dir;
static SecondaryConfig cfg;
static char *msg;

static void setup(void) {
        dir = testfiles_mkdtemp("test-secondaryd-config");
        ck_assert_int_eq(secondary_config_init(&cfg), 0);
        msg = NULL;
}

static void teardown(void) {
        secondary_config_done(&cfg);
        free(msg);
        testfiles_remove(dir);
        free(dir);
}

static char *write_file(const char *name, const char *text) {
        return testfiles_write(dir, name, text);
}

START_TEST(test_shipped_conf_matches) {
        char *shipped = testfiles_read_source("conf/uptane-secondary.conf"),
             *printed = testfiles_print(secondary_config_print_default);

        if (shipped)
                ck_assert_msg(strcmp(shipped, printed) == 0,
                              "conf/uptane-secondary.conf is stale: uptane-secondaryd --print-default-config > "
                              "conf/uptane-secondary.conf");
        free(shipped);
        free(printed);
}
END_TEST

/* Every "#key = default" line uncommented is read without error and changes nothing. */
START_TEST(test_defaults_read_back) {
        char *printed = testfiles_print(secondary_config_print_default), *text = NULL, *line, *save = NULL, *path;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        unsigned uncommented = 0;

        ck_assert_ptr_nonnull(f);
        for (line = strtok_r(printed, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t n = strlen(line);

                if (line[0] == '[')
                        fprintf(f, "%s\n", line);
                else if (line[0] == '#' && line[1] != ' ' && line[1] != '\0' && line[n - 1] != '=') {
                        fprintf(f, "%s\n", line + 1);
                        uncommented++;
                }
        }
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_uint_ge(uncommented, 18);
        path = write_file("defaults.conf", text);
        ck_assert_int_eq(secondary_config_load_file(&cfg, path, &msg), 0);
        ck_assert_str_eq(secondary_verification_to_string(cfg.verification), "partial");
        ck_assert_uint_eq(cfg.isotp_padding, CONF_UNSET);
        ck_assert_uint_eq(cfg.isotp_rx_id, CONF_UNSET);
        ck_assert(cfg.doip_enabled && !cfg.isotp_enabled);
        ck_assert_uint_eq(cfg.max_image_size, 1024u * 1024u * 1024u);
        free(path);
        free(text);
        free(printed);
}
END_TEST

START_TEST(test_errors_name_file_and_line) {
        char *path = write_file("bad.conf", "[ecu]\nserial = a\n[isotp]\npadding = 0x100\n");

        ck_assert_int_eq(secondary_config_load_file(&cfg, path, &msg), -EINVAL);
        ck_assert_ptr_nonnull(strstr(msg, "bad.conf:4: [isotp] padding: '0x100' is out of range"));
        free(path);
        path = write_file("twice.conf", "[ecu]\nserial = a\nserial = b\n");
        ck_assert_int_eq(secondary_config_load_file(&cfg, path, &msg), -EINVAL);
        ck_assert_ptr_nonnull(strstr(msg, "twice.conf:3: [ecu] serial: already set on line 2 of this file"));
        free(path);
        path = write_file("unknown.conf", "[ecu]\nserial = a\n[storage]\nslot-c = /x\n");
        ck_assert_int_eq(secondary_config_load_file(&cfg, path, &msg), -ENOKEY);
        ck_assert_ptr_nonnull(strstr(msg, "unknown.conf:4: [storage] slot-c: unknown key"));
        free(path);
        path = write_file("section.conf", "[ecu]\nserial = a\n[can]\n");
        ck_assert_int_eq(secondary_config_load_file(&cfg, path, &msg), -ENOKEY);
        ck_assert_ptr_nonnull(strstr(msg, "section.conf:3: [can]: unknown section"));
        free(path);
}
END_TEST

START_TEST(test_secondary_types) {
        ck_assert_int_eq(secondary_config_set(&cfg, "isotp", "padding", "0xCC", NULL, &msg), 0);
        ck_assert_uint_eq(cfg.isotp_padding, 0xCC);
        ck_assert_int_eq(secondary_config_set(&cfg, "isotp", "padding", "none", NULL, &msg), 0);
        ck_assert_uint_eq(cfg.isotp_padding, CONF_UNSET);
        ck_assert_int_eq(secondary_config_set(&cfg, "isotp", "enabled", "on", NULL, &msg), 0);
        ck_assert(cfg.isotp_enabled);
        ck_assert_int_eq(secondary_config_set(&cfg, "isotp", "enabled", "maybe", NULL, &msg), -EINVAL);
        ck_assert_str_eq(msg, "[isotp] enabled: 'maybe' is not a boolean (yes or no)");
        ck_assert_int_eq(secondary_config_set(&cfg, "doip", "listen-address", "::1", NULL, &msg), 0);
        ck_assert_int_eq(secondary_config_set(&cfg, "doip", "listen-address", "localhost", NULL, &msg), -EINVAL);
        ck_assert_str_eq(msg, "[doip] listen-address: 'localhost': not a numeric IPv4 or IPv6 address");
        ck_assert_int_eq(secondary_config_set(&cfg, "limits", "max-image-size", "2G", NULL, &msg), 0);
        ck_assert_uint_eq(cfg.max_image_size, 2ull << 30);
}
END_TEST

/* --check-config: what a file set is followed by "# FILE:LINE" on its own line; the output reads back. */
START_TEST(test_effective_reads_back) {
        char *path = write_file("main.conf", minimal), *out = NULL, *again;
        SecondaryConfig back;
        size_t size = 0;
        FILE *f;

        ck_assert_int_eq(secondary_config_load(&cfg, path, &msg), 0);
        f = open_memstream(&out, &size);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(secondary_config_print(&cfg, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_ptr_nonnull(strstr(out, "\nserial = ecu-1\n# "));
        ck_assert_ptr_nonnull(strstr(out, "main.conf:2\n"));
        ck_assert_ptr_nonnull(strstr(out, "\npadding = none\n"));
        ck_assert_ptr_nonnull(strstr(out, "\n# rx-id: not set\n"));
        again = write_file("again.conf", out);
        ck_assert_int_eq(secondary_config_init(&back), 0);
        ck_assert_int_eq(secondary_config_load(&back, again, &msg), 0);
        ck_assert_str_eq(back.serial, "ecu-1");
        secondary_config_done(&back);
        free(again);
        free(out);
        free(path);
}
END_TEST

int main(void) {
        Suite *s = suite_create("secondaryd_config");
        TCase *tc = tcase_create("config");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_shipped_conf_matches);
        tcase_add_test(tc, test_defaults_read_back);
        tcase_add_test(tc, test_errors_name_file_and_line);
        tcase_add_test(tc, test_secondary_types);
        tcase_add_test(tc, test_effective_reads_back);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
