/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-primaryd: defaults, drop-ins, errors with file
 * and line, value syntax and ranges, rules between keys, printing, and the
 * shipped conf/uptane.conf and docs/uptane.conf.md against the table. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testfiles.h"

static const char minimal[] =
        "[vehicle]\n"
        "vin = VIN0001\n"
        "ecu-serial = primary-1\n"
        "hardware-id = hw-1\n"
        "[director]\n"
        "url = https://director.example.com/v\n"
        "root = /usr/share/uptane/director-root.json\n"
        "[image-repository]\n"
        "url = http://images.example.com\n"
        "root = /usr/share/uptane/image-root.json\n"
        "[package-manager]\n"
        "file-target-path = /var/lib/uptane/image\n";

static char *dir;
static PrimaryConfig cfg;
static char *msg;

static void setup(void) {
        dir = testfiles_mkdtemp("test-primaryd-config");
        ck_assert_int_eq(primary_config_init(&cfg), 0);
        msg = NULL;
}

static void teardown(void) {
        primary_config_done(&cfg);
        free(msg);
        testfiles_remove(dir);
        free(dir);
}

/* dir/name, made with the text; returns the path (free it). */
static char *write_file(const char *name, const char *text) {
        return testfiles_write(dir, name, text);
}

static void make_dir(const char *name) {
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        free(path);
}

/* A fresh configuration from uptane.conf with the minimal text and, when
 * extra is not empty, the drop-in uptane.conf.d/50-test.conf with it. */
static int load_with(const char *extra) {
        char *path, *dropins;
        int r;

        primary_config_done(&cfg);
        ck_assert_int_eq(primary_config_init(&cfg), 0);
        path = write_file("uptane.conf", minimal);
        ck_assert_int_ge(asprintf(&dropins, "%s/uptane.conf.d", dir), 0);
        ck_assert(mkdir(dropins, 0755) == 0 || errno == EEXIST);
        if (extra[0] != '\0')
                free(write_file("uptane.conf.d/50-test.conf", extra));
        r = primary_config_load(&cfg, path, &msg);
        free(dropins);
        free(path);
        return r;
}

/* Loads the minimal config with "[section]\nkey = value" appended. */
static int set_value(const char *section, const char *key, const char *value) {
        char *extra;
        int r;

        ck_assert_int_ge(asprintf(&extra, "[%s]\n%s = %s\n", section, key, value), 0);
        r = load_with(extra);
        free(extra);
        return r;
}

static void assert_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void assert_message(const char *fmt, ...) {
        char *expected;
        va_list ap;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&expected, fmt, ap), 0);
        va_end(ap);
        ck_assert_ptr_nonnull(msg);
        ck_assert_msg(strstr(msg, expected), "message '%s' lacks '%s'", msg, expected);
        free(expected);
}

static char *print_effective(const PrimaryConfig *c) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(primary_config_print(c, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return s;
}

START_TEST(test_defaults) {
        ck_assert_ptr_null(cfg.vin);
        ck_assert_ptr_null(cfg.director_url);
        ck_assert_ptr_null(cfg.time_server_url);
        ck_assert_uint_eq(cfg.poll_interval_s, 600);
        ck_assert_uint_eq(cfg.connect_timeout_s, 10);
        ck_assert_uint_eq(cfg.min_bytes_per_second, 1024);
        ck_assert_uint_eq(cfg.min_speed_window_s, 10);
        ck_assert_uint_eq(cfg.max_bytes_per_second, 0);
        ck_assert_uint_eq(cfg.max_image_size, 4ull << 30);
        ck_assert_uint_eq(cfg.max_root_size, 512 * 1024);
        ck_assert_uint_eq(cfg.max_timestamp_size, 16 * 1024);
        ck_assert_uint_eq(cfg.max_snapshot_size, 2 << 20);
        ck_assert_uint_eq(cfg.max_targets_size, 64 << 20);
        ck_assert_str_eq(cfg.state_directory, "/var/lib/uptane");
        ck_assert_str_eq(cfg.cache_directory, "/var/cache/uptane");
        ck_assert_int_eq(cfg.package_manager, PACKAGE_MANAGER_FILE);
        ck_assert_str_eq(cfg.ostree_sysroot, "/");
        ck_assert_str_eq(cfg.reboot_command, "/usr/bin/systemctl reboot");
        ck_assert_str_eq(package_manager_type_to_string(PACKAGE_MANAGER_OSTREE), "ostree");
        ck_assert_ptr_null(package_manager_type_to_string(_PACKAGE_MANAGER_MAX));
}
END_TEST

START_TEST(test_minimal) {
        ck_assert_int_eq(load_with(""), 0);
        ck_assert_str_eq(cfg.vin, "VIN0001");
        ck_assert_str_eq(cfg.ecu_serial, "primary-1");
        ck_assert_str_eq(cfg.hardware_id, "hw-1");
        ck_assert_str_eq(cfg.director_url, "https://director.example.com/v");
        ck_assert_str_eq(cfg.image_root, "/usr/share/uptane/image-root.json");
        ck_assert_uint_eq(cfg.poll_interval_s, 600);
        ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(test_comments_and_whitespace) {
        ck_assert_int_eq(load_with("# a comment\n; another\n\n[update]\n  poll-interval   =   5m   ; inline\n"), 0);
        ck_assert_uint_eq(cfg.poll_interval_s, 300);
}
END_TEST

START_TEST(test_dropins_lexical_order) {
        char *path = write_file("uptane.conf", minimal);

        make_dir("uptane.conf.d");
        free(write_file("uptane.conf.d/20-late.conf", "[update]\npoll-interval = 20m\n"));
        free(write_file("uptane.conf.d/10-early.conf",
                        "[update]\npoll-interval = 10s\n[vehicle]\nhardware-id = hw-2\n"));
        /* Lexical, not numeric: "9-last" comes after "20-late". */
        free(write_file("uptane.conf.d/9-last.conf", "[update]\npoll-interval = 30m\n"));
        free(write_file("uptane.conf.d/README", "not ini at all\n"));
        free(write_file("uptane.conf.d/.hidden.conf", "[nonsense]\n"));
        free(write_file("uptane.conf.d/30.conf.bak", "[nonsense]\n"));

        ck_assert_int_eq(primary_config_load(&cfg, path, &msg), 0);
        ck_assert_uint_eq(cfg.poll_interval_s, 1800);
        ck_assert_str_eq(cfg.hardware_id, "hw-2");
        ck_assert_str_eq(cfg.vin, "VIN0001");
        free(path);
}
END_TEST

START_TEST(test_dropin_error_names_dropin) {
        char *path = write_file("uptane.conf", minimal);

        make_dir("uptane.conf.d");
        free(write_file("uptane.conf.d/50-bad.conf", "\n[update]\npoll-interval = soon\n"));
        ck_assert_int_eq(primary_config_load(&cfg, path, &msg), -EINVAL);
        assert_message("%s/uptane.conf.d/50-bad.conf:3: [update] poll-interval: 'soon' is not a duration", dir);
        free(path);
}
END_TEST

START_TEST(test_not_regular_file) {
        ck_assert_int_eq(load_with("[vehicle]\n"), 0); /* an empty section again is fine */
        ck_assert_int_eq(primary_config_load_file(&cfg, "/dev/null", &msg), -EINVAL);
        assert_message("/dev/null: not a regular file");
}
END_TEST

START_TEST(test_unknown_section) {
        ck_assert_int_eq(load_with("[vehicles]\nvin = X\n"), -ENOKEY);
        assert_message("%s/uptane.conf.d/50-test.conf:1: [vehicles]: unknown section", dir);
}
END_TEST

START_TEST(test_unknown_empty_section) {
        ck_assert_int_eq(load_with("[nothing-here]\n"), -ENOKEY);
        assert_message("%s/uptane.conf.d/50-test.conf:1: [nothing-here]: unknown section", dir);
}
END_TEST

START_TEST(test_unknown_key) {
        ck_assert_int_eq(load_with("[update]\n\npoll-intervall = 5m\n"), -ENOKEY);
        assert_message("%s/uptane.conf.d/50-test.conf:3: [update] poll-intervall: unknown key", dir);
}
END_TEST

START_TEST(test_reserved_section) {
        ck_assert_int_eq(load_with("[secondaries]\n"), 0);
        ck_assert_int_eq(load_with("[secondaries]\nserial = x\n"), -ENOKEY);
        assert_message("50-test.conf:2: [secondaries] serial: section [secondaries] is reserved");
}
END_TEST

START_TEST(test_key_outside_section) {
        char *path = write_file("bad.conf", "vin = X\n");

        ck_assert_int_eq(primary_config_load_file(&cfg, path, &msg), -ENOKEY);
        assert_message("%s:1: vin: key outside of any section", path);
        free(path);
}
END_TEST

START_TEST(test_syntax_error) {
        ck_assert_int_eq(load_with("[update]\npoll-interval\n"), -EINVAL);
        assert_message("50-test.conf:2: syntax error");
        ck_assert_int_eq(load_with("[update\n"), -EINVAL);
        assert_message("50-test.conf:1: syntax error");
}
END_TEST

START_TEST(test_syntax_error_before_bad_key) {
        char *path = write_file("bad.conf", "[update]\nno equals sign\nbogus = 1\n");

        ck_assert_int_eq(primary_config_load_file(&cfg, path, &msg), -EINVAL);
        assert_message("%s:2: syntax error", path);
        free(path);
}
END_TEST

START_TEST(test_set_twice_in_one_file) {
        ck_assert_int_eq(load_with("[update]\npoll-interval = 1m\npoll-interval = 2m\n"), -EINVAL);
        assert_message("50-test.conf:3: [update] poll-interval: already set on line 2 of this file");
        /* A continuation line is the same key again. */
        ck_assert_int_eq(load_with("[update]\npoll-interval = 1m\n  2m\n"), -EINVAL);
        assert_message("50-test.conf:3: [update] poll-interval: already set on line 2");
}
END_TEST

START_TEST(test_empty_value) {
        ck_assert_int_eq(set_value("update", "poll-interval", ""), -EINVAL);
        assert_message("[update] poll-interval: empty value");
}
END_TEST

START_TEST(test_line_too_long) {
        char *extra, *long_url = malloc(1000);

        memset(long_url, 'a', 999);
        long_url[999] = '\0';
        ck_assert_int_ge(asprintf(&extra, "[time-server]\nurl = https://%s\n", long_url), 0);
        ck_assert_int_eq(load_with(extra), -EINVAL);
        assert_message("50-test.conf:2: line longer than");
        free(extra);
        free(long_url);
}
END_TEST

START_TEST(test_missing_file) {
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/none.conf", dir), 0);
        ck_assert_int_eq(primary_config_load(&cfg, path, &msg), -ENOENT);
        assert_message("%s: cannot open", path);
        free(path);
}
END_TEST

static const struct {
        const char *text;
        uint64_t seconds; /* 0: invalid */
} durations[] = {
        { "90", 90 },       { "10m", 600 },    { "1h30m", 5400 }, { "2d", 172800 }, { "5s", 5 },
        { "7d", 604800 },   { "1d1s", 86401 }, { "m", 0 },        { "10 m", 0 },    { "-5", 0 },
        { "1.5h", 0 },      { "10mm", 0 },     { "10min", 0 },    { "4s", 0 },      { "8d", 0 },
        { "99999999999999999999", 0 },         { "10M", 0 },
};

START_TEST(test_durations) {
        int r = set_value("update", "poll-interval", durations[_i].text);

        if (durations[_i].seconds == 0) {
                ck_assert_int_eq(r, -EINVAL);
                assert_message("50-test.conf:2: [update] poll-interval: '%s'", durations[_i].text);
        } else {
                ck_assert_msg(r == 0, "'%s': %s", durations[_i].text, msg);
                ck_assert_uint_eq(cfg.poll_interval_s, durations[_i].seconds);
        }
}
END_TEST

static const struct {
        const char *text;
        uint64_t bytes; /* 0: invalid */
} sizes[] = {
        { "1024", 1024 },        { "512K", 512 * 1024 }, { "4M", 4 << 20 },   { "1G", 1 << 30 },
        { "1T", 1ull << 40 },    { "1KB", 0 },           { "K", 0 },          { "-1", 0 },
        { "1.5M", 0 },           { "1023", 0 },          { "2T", 0 },         { "1k", 0 },
        { "99999999999999999T", 0 },
};

START_TEST(test_sizes) {
        int r = set_value("download", "max-image-size", sizes[_i].text);

        if (sizes[_i].bytes == 0) {
                ck_assert_int_eq(r, -EINVAL);
                assert_message("[download] max-image-size: '%s'", sizes[_i].text);
        } else {
                ck_assert_msg(r == 0, "'%s': %s", sizes[_i].text, msg);
                ck_assert_uint_eq(cfg.max_image_size, sizes[_i].bytes);
        }
}
END_TEST

START_TEST(test_range_message) {
        ck_assert_int_eq(set_value("update", "poll-interval", "1s"), -EINVAL);
        assert_message("[update] poll-interval: '1s' is out of range (5s to 7d)");
        ck_assert_int_eq(set_value("download", "max-timestamp-size", "2M"), -EINVAL);
        assert_message("[download] max-timestamp-size: '2M' is out of range (1K to 1M)");
}
END_TEST

static const struct {
        const char *section, *key, *value;
        bool valid;
} values[] = {
        { "director", "url", "https://d.example.com:8443/x?y", true },
        { "director", "url", "http://10.0.0.1", true },
        { "director", "url", "ftp://d.example.com", false },
        { "director", "url", "https://", false },
        { "director", "url", "https:///path", false },
        { "director", "url", "https://user:secret@d.example.com/", false },
        { "director", "url", "https://d.example.com/a b", false },
        { "director", "url", "d.example.com", false },
        { "director", "root", "relative/root.json", false },
        { "director", "root", "/abs/root.json", true },
        { "vehicle", "vin", "WITH SPACE", false },
        { "vehicle", "vin", "ÄÖÜ", false },
        { "vehicle", "ecu-serial", "ecu:1/a", true },
        { "package-manager", "type", "rpm", false },
        { "package-manager", "type", "File", false },
        { "package-manager", "reboot-command", "/sbin/reboot -f", true },
        { "package-manager", "reboot-command", "reboot", false },
        { "tls", "ca-file", "/etc/ssl/ca.pem", true },
        { "tls", "ca-file", "ca.pem", false },
};

START_TEST(test_values) {
        int r = set_value(values[_i].section, values[_i].key, values[_i].value);

        if (values[_i].valid)
                ck_assert_msg(r == 0, "%s: %s", values[_i].value, msg);
        else {
                ck_assert_int_lt(r, 0);
                assert_message("[%s] %s: ", values[_i].section, values[_i].key);
        }
}
END_TEST

START_TEST(test_enum_message) {
        ck_assert_int_eq(set_value("package-manager", "type", "rpm"), -EINVAL);
        assert_message("50-test.conf:2: [package-manager] type: 'rpm' is not one of: file, ostree");
}
END_TEST

START_TEST(test_ostree) {
        ck_assert_int_eq(load_with("[package-manager]\ntype = ostree\n"
                                   "ostree-remote-url = https://t.example.com/ostree\nostree-sysroot = /sysroot\n"),
                         0);
        ck_assert_int_eq(cfg.package_manager, PACKAGE_MANAGER_OSTREE);
        ck_assert_str_eq(cfg.ostree_sysroot, "/sysroot");
}
END_TEST

START_TEST(test_required_keys) {
        char *path = write_file("uptane.conf", "[update]\npoll-interval = 1h\n");

        ck_assert_int_eq(primary_config_load(&cfg, path, &msg), -EINVAL);
        assert_message("%s: [vehicle] vin: required, but not set\n", path);
        assert_message("%s: [vehicle] ecu-serial: required", path);
        assert_message("%s: [vehicle] hardware-id: required", path);
        assert_message("%s: [director] url: required", path);
        assert_message("%s: [director] root: required", path);
        assert_message("%s: [image-repository] url: required", path);
        assert_message("%s: [image-repository] root: required", path);
        assert_message("%s: [package-manager] file-target-path: required when type = file", path);
        free(path);
}
END_TEST

START_TEST(test_rules_between_keys) {
        ck_assert_int_eq(set_value("time-server", "url", "https://time.example.com"), -EINVAL);
        assert_message("[time-server] public-key: required when url is set");
        ck_assert_int_eq(set_value("tls", "client-key", "/etc/uptane/client.key"), -EINVAL);
        assert_message("[tls] client-certificate: required when client-key is set");
        ck_assert_int_eq(set_value("package-manager", "type", "ostree"), -EINVAL);
        assert_message("[package-manager] ostree-remote-url: required when type = ostree");
        ck_assert_int_eq(set_value("download", "max-bytes-per-second", "512"), -EINVAL);
        assert_message("[download] max-bytes-per-second: must be 0 or at least min-bytes-per-second (1K)");
        ck_assert_int_eq(load_with("[time-server]\nurl = https://t.example.com\npublic-key = /etc/uptane/time.pub\n"
                                   "[tls]\nclient-certificate = /etc/uptane/c.pem\nclient-key = /etc/uptane/c.key\n"),
                         0);
}
END_TEST

START_TEST(test_set_without_file) {
        ck_assert_int_eq(primary_config_set(&cfg, "update", "poll-interval", "1h", NULL, &msg), 0);
        ck_assert_uint_eq(cfg.poll_interval_s, 3600);
        ck_assert_int_eq(primary_config_set(&cfg, "update", "poll-interval", "x", NULL, &msg), -EINVAL);
        ck_assert_str_eq(msg, "[update] poll-interval: 'x' is not a duration (seconds, or numbers followed by s, m, "
                              "h or d: 1h30m)");
        ck_assert_int_eq(primary_config_set(&cfg, "update", "poll-interval", "x", NULL, NULL), -EINVAL);
}
END_TEST

/* The printed configuration with the "; FILE:LINE" origins cut off. */
static char *strip_origins(char *s) {
        char *out = calloc(1, strlen(s) + 1), *line, *save = NULL;

        ck_assert_ptr_nonnull(out);
        for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *origin = strstr(line, " ; ");

                if (origin)
                        *origin = '\0';
                strcat(out, line);
                strcat(out, "\n");
        }
        free(s);
        return out;
}

START_TEST(test_check_config_output) {
        char *printed, *path, *again;
        PrimaryConfig copy;

        ck_assert_int_eq(load_with("[update]\npoll-interval = 90m\n[download]\nmax-image-size = 2048M\n"), 0);
        printed = print_effective(&cfg);
        ck_assert_ptr_nonnull(strstr(printed, "\n[vehicle]\nvin = VIN0001 ; "));
        ck_assert_ptr_nonnull(strstr(printed, "/uptane.conf:2\n"));
        ck_assert_ptr_nonnull(strstr(printed, "\npoll-interval = 90m ; "));
        ck_assert_ptr_nonnull(strstr(printed, "/uptane.conf.d/50-test.conf:2\n"));
        ck_assert_ptr_nonnull(strstr(printed, "\nmax-image-size = 2G ; "));
        ck_assert_ptr_nonnull(strstr(printed, "\nconnect-timeout = 10s\n"));
        ck_assert_ptr_nonnull(strstr(printed, "\n# url: not set\n"));
        ck_assert_ptr_nonnull(strstr(printed, "\n[secondaries]\n"));

        /* What --check-config prints reads back as the same configuration. */
        path = write_file("printed.conf", printed);
        ck_assert_int_eq(primary_config_init(&copy), 0);
        ck_assert_msg(primary_config_load(&copy, path, &msg) == 0, "%s", msg);
        again = strip_origins(print_effective(&copy));
        primary_config_done(&copy);
        printed = strip_origins(printed);
        ck_assert_str_eq(again, printed);
        free(again);
        free(printed);
        free(path);
}
END_TEST

START_TEST(test_shipped_conf_matches) {
        char *shipped = testfiles_read_source("conf/uptane.conf"),
             *printed = testfiles_print(primary_config_print_default);

        if (shipped)
                ck_assert_msg(strcmp(shipped, printed) == 0,
                              "conf/uptane.conf is stale: uptane-primaryd --print-default-config > conf/uptane.conf");
        free(shipped);
        free(printed);
}
END_TEST

START_TEST(test_reference_matches) {
        char *shipped = testfiles_read_source("docs/uptane.conf.md"),
             *printed = testfiles_print(primary_config_print_reference);

        if (shipped)
                ck_assert_msg(strcmp(shipped, printed) == 0,
                              "docs/uptane.conf.md is stale: uptane-primaryd --print-config-reference > "
                              "docs/uptane.conf.md");
        free(shipped);
        free(printed);
}
END_TEST

START_TEST(test_default_config_documents_every_key) {
        char *printed = testfiles_print(primary_config_print_default),
             *reference = testfiles_print(primary_config_print_reference);

        for (size_t i = 0; i < primary_config_n_keys(); i++) {
                const char *section, *key;
                char *line;

                ck_assert(primary_config_key_name(i, &section, &key));
                ck_assert_int_ge(asprintf(&line, "\n#%s =", key), 0);
                ck_assert_msg(strstr(printed, line), "%s missing", line);
                free(line);
                ck_assert_int_ge(asprintf(&line, "\n| `%s` |", key), 0);
                ck_assert_msg(strstr(reference, line), "%s missing", line);
                free(line);
        }
        ck_assert(!primary_config_key_name(primary_config_n_keys(), NULL, NULL));
        free(printed);
        free(reference);
}
END_TEST

/* "#key = value" lines without their '#'. */
static char *uncomment_defaults(const char *s) {
        char *out = calloc(1, strlen(s) + 1), *o = out;

        ck_assert_ptr_nonnull(out);
        while (*s != '\0') {
                size_t len = strcspn(s, "\n");

                if (s[0] == '#' && s[1] != ' ' && memmem(s, len, " = ", 3)) {
                        s++;
                        len--;
                }
                memcpy(o, s, len);
                o += len;
                s += len;
                if (*s == '\n')
                        *o++ = *s++;
        }
        return out;
}

/* The default file with every key that has a default uncommented: reads
 * without error and changes nothing. */
START_TEST(test_default_config_uncommented) {
        char *printed = testfiles_print(primary_config_print_default), *text, *before, *after, *path;

        text = uncomment_defaults(printed);
        ck_assert_ptr_nonnull(strstr(text, "\npoll-interval = 10m\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n#vin =\n"));
        path = write_file("defaults.conf", text);
        before = strip_origins(print_effective(&cfg));
        ck_assert_msg(primary_config_load_file(&cfg, path, &msg) == 0, "%s", msg);
        after = strip_origins(print_effective(&cfg));
        ck_assert_str_eq(before, after);
        free(printed);
        free(text);
        free(before);
        free(after);
        free(path);
}
END_TEST

/* [secondary.NAME]: repeated sections, their own table of keys. */
static const char secondaries_text[] =
        "[secondary.brakes]\n"
        "serial = brakes-1\n"
        "hardware-id = acme-brakes\n"
        "public-key = /etc/uptane/brakes.pub\n"
        "verification = full\n"
        "transport = doip\n"
        "address = 127.0.0.1\n"
        "port = 13401\n"
        "logical-address = 0x0101\n"
        "[secondary.door-left]\n"
        "serial = door-1\n"
        "hardware-id = acme-door\n"
        "public-key = /etc/uptane/door.pub\n"
        "verification = partial\n"
        "transport = isotp\n"
        "interface = vcan0\n"
        "rx-id = 0x7E8\n"
        "tx-id = 2016\n"
        "fd = yes\n"
        "padding = 0xCC\n"
        "stmin = 0xF1\n";

START_TEST(test_secondaries_valid) {
        char *printed, *path, *again;
        PrimaryConfig copy;

        ck_assert_msg(load_with(secondaries_text) == 0, "%s", msg);
        ck_assert_uint_eq(cfg.n_secondaries, 2);
        ck_assert_str_eq(cfg.secondaries[0].name, "brakes");
        ck_assert_str_eq(cfg.secondaries[0].serial, "brakes-1");
        ck_assert_int_eq(cfg.secondaries[0].transport, SECONDARY_TRANSPORT_DOIP);
        ck_assert_int_eq(cfg.secondaries[0].verification, 0);
        ck_assert_uint_eq(cfg.secondaries[0].port, 13401);
        ck_assert_uint_eq(cfg.secondaries[0].logical_address, 0x0101);
        ck_assert_uint_eq(cfg.secondaries[0].padding, SECONDARY_CONFIG_UNSET);
        ck_assert_uint_eq(cfg.secondaries[0].timeout_s, 2);
        ck_assert_uint_eq(cfg.secondaries[0].install_timeout_s, 600);
        ck_assert_str_eq(cfg.secondaries[1].name, "door-left");
        ck_assert_int_eq(cfg.secondaries[1].transport, SECONDARY_TRANSPORT_ISOTP);
        ck_assert_int_eq(cfg.secondaries[1].verification, 1);
        ck_assert_uint_eq(cfg.secondaries[1].rx_id, 0x7E8);
        ck_assert_uint_eq(cfg.secondaries[1].tx_id, 0x7E0);
        ck_assert_int_eq(cfg.secondaries[1].fd, 1);
        ck_assert_uint_eq(cfg.secondaries[1].padding, 0xCC);
        ck_assert_uint_eq(cfg.secondaries[1].stmin, 0xF1);
        ck_assert_uint_eq(cfg.secondaries[1].port, 13400);

        /* --check-config prints them, and what it prints reads back the same. */
        printed = print_effective(&cfg);
        ck_assert_ptr_nonnull(strstr(printed, "\n[secondary.brakes]\nserial = brakes-1 ; "));
        ck_assert_ptr_nonnull(strstr(printed, "\nlogical-address = 0x101 ; "));
        ck_assert_ptr_nonnull(strstr(printed, "\ntx-id = 0x7E0 ; "));
        ck_assert_ptr_nonnull(strstr(printed, "\n# padding: not set\n"));
        path = write_file("printed.conf", printed);
        ck_assert_int_eq(primary_config_init(&copy), 0);
        ck_assert_msg(primary_config_load(&copy, path, &msg) == 0, "%s", msg);
        again = strip_origins(print_effective(&copy));
        primary_config_done(&copy);
        printed = strip_origins(printed);
        ck_assert_str_eq(again, printed);
        free(again);
        free(printed);
        free(path);
}
END_TEST

START_TEST(test_secondaries_unknown_key) {
        ck_assert_int_eq(load_with("[secondary.brakes]\nserial = b-1\nbaud-rate = 500000\n"), -ENOKEY);
        assert_message("50-test.conf:3: [secondary.brakes] baud-rate: unknown key");
        ck_assert_int_eq(load_with("[secondary.]\nserial = b-1\n"), -ENOKEY);
        assert_message("50-test.conf:1: [secondary.]: unknown section");
        ck_assert_int_eq(load_with("[secondary.a b]\nserial = b-1\n"), -ENOKEY);
        ck_assert_int_eq(load_with("[secondary.brakes]\nlogical-address = 0x8000\n"), -EINVAL);
        assert_message("[secondary.brakes] logical-address: '0x8000' is out of range (0x1 to 0x7FFF)");
        ck_assert_int_eq(load_with("[secondary.brakes]\nserial = b-1\nhardware-id = hw\npublic-key = /k.pub\n"
                                   "verification = full\ntransport = doip\naddress = 127.0.0.1\n"
                                   "logical-address = 0x0E80\n"),
                         -EINVAL);
        assert_message("[secondary.brakes] logical-address: 0x0E00-0x0FFF are the testers' addresses");
        ck_assert_int_eq(load_with("[secondary.brakes]\nrx-id = 12g\n"), -EINVAL);
        assert_message("[secondary.brakes] rx-id: '12g' is not a number");
        ck_assert_int_eq(load_with("[secondary.brakes]\nserial = a\nserial = b\n"), -EINVAL);
        assert_message("50-test.conf:3: [secondary.brakes] serial: already set on line 2 of this file");
}
END_TEST

START_TEST(test_secondaries_missing_serial) {
        ck_assert_int_eq(load_with("[secondary.brakes]\nhardware-id = hw\npublic-key = /k.pub\nverification = full\n"
                                   "transport = doip\n"),
                         -EINVAL);
        assert_message("[secondary.brakes] serial: required, but not set");
        assert_message("[secondary.brakes] address: required when transport = doip");
        assert_message("[secondary.brakes] logical-address: required when transport = doip");
        ck_assert_int_eq(load_with("[secondary.door]\nserial = d\nhardware-id = hw\npublic-key = /k.pub\n"
                                   "verification = partial\ntransport = isotp\ninterface = vcan0\nrx-id = 1\n"
                                   "tx-id = 1\n"),
                         -EINVAL);
        assert_message("[secondary.door] tx-id: must differ from rx-id");
}
END_TEST

START_TEST(test_secondaries_duplicate_serial) {
        ck_assert_int_eq(load_with("[secondary.a]\nserial = same\nhardware-id = hw\npublic-key = /k.pub\n"
                                   "verification = full\ntransport = doip\naddress = ::1\nlogical-address = 1\n"
                                   "[secondary.b]\nserial = same\nhardware-id = hw\npublic-key = /k.pub\n"
                                   "verification = full\ntransport = doip\naddress = ::1\nlogical-address = 2\n"),
                         -EINVAL);
        assert_message("[secondary.b] serial: 'same' is also [secondary.a]'s serial");
        ck_assert_int_eq(load_with("[secondary.a]\nserial = primary-1\nhardware-id = hw\npublic-key = /k.pub\n"
                                   "verification = full\ntransport = doip\naddress = ::1\nlogical-address = 1\n"),
                         -EINVAL);
        assert_message("[secondary.a] serial: 'primary-1' is the Primary's [vehicle] ecu-serial");
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("primaryd_config");
        TCase *tc = tcase_create("config");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_minimal);
        tcase_add_test(tc, test_comments_and_whitespace);
        tcase_add_test(tc, test_dropins_lexical_order);
        tcase_add_test(tc, test_dropin_error_names_dropin);
        tcase_add_test(tc, test_not_regular_file);
        tcase_add_test(tc, test_unknown_section);
        tcase_add_test(tc, test_unknown_empty_section);
        tcase_add_test(tc, test_unknown_key);
        tcase_add_test(tc, test_reserved_section);
        tcase_add_test(tc, test_key_outside_section);
        tcase_add_test(tc, test_syntax_error);
        tcase_add_test(tc, test_syntax_error_before_bad_key);
        tcase_add_test(tc, test_set_twice_in_one_file);
        tcase_add_test(tc, test_empty_value);
        tcase_add_test(tc, test_line_too_long);
        tcase_add_test(tc, test_missing_file);
        tcase_add_loop_test(tc, test_durations, 0, sizeof(durations) / sizeof(durations[0]));
        tcase_add_loop_test(tc, test_sizes, 0, sizeof(sizes) / sizeof(sizes[0]));
        tcase_add_test(tc, test_range_message);
        tcase_add_loop_test(tc, test_values, 0, sizeof(values) / sizeof(values[0]));
        tcase_add_test(tc, test_enum_message);
        tcase_add_test(tc, test_ostree);
        tcase_add_test(tc, test_required_keys);
        tcase_add_test(tc, test_rules_between_keys);
        tcase_add_test(tc, test_set_without_file);
        tcase_add_test(tc, test_check_config_output);
        tcase_add_test(tc, test_shipped_conf_matches);
        tcase_add_test(tc, test_reference_matches);
        tcase_add_test(tc, test_default_config_documents_every_key);
        tcase_add_test(tc, test_default_config_uncommented);
        tcase_add_test(tc, test_secondaries_valid);
        tcase_add_test(tc, test_secondaries_unknown_key);
        tcase_add_test(tc, test_secondaries_missing_serial);
        tcase_add_test(tc, test_secondaries_duplicate_serial);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
