/* SPDX-License-Identifier: MIT */
/* uptane-primaryd's log: the event ids and names, systemd/uptane.catalog
 * against them, the stderr line format, the JSON test target, choosing the
 * journal by JOURNAL_STREAM, and the journal itself where one runs. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "catalog_check.h"
#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *const field_names[] = {
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE_ID", "UPTANE_EVENT",
        "UPTANE_ECU_SERIAL", "UPTANE_TARGET", "UPTANE_REPO", "UPTANE_ATTACK",
        "UPTANE_ERRNO", "ERRNO", "UPTANE_UDS_NRC",
};

/* ---- stderr capture: fd 2 goes to a temporary file during each test ---- */

static FILE *capture;
static int saved_stderr = -1;

static void setup(void) {
        capture = tmpfile();
        ck_assert_ptr_nonnull(capture);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(saved_stderr, 0);
        ck_assert_int_eq(dup2(fileno(capture), STDERR_FILENO), STDERR_FILENO);
        ck_assert_int_eq(unsetenv("JOURNAL_STREAM"), 0);
        ck_assert_int_eq(setenv("UPTANE_LOG_TARGET", "stderr", 1), 0);
        log_open("test-ident");
        log_set_max_level(LOG_INFO);
}

static void teardown(void) {
        ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
        (void) close(saved_stderr);
        (void) fclose(capture);
        (void) unsetenv("UPTANE_LOG_TARGET");
        (void) unsetenv("JOURNAL_STREAM");
}

/* Everything written to stderr so far, NUL-terminated (free it). */
static char *captured(void) {
        struct stat st;
        char *buf;

        ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pread(STDERR_FILENO, buf, (size_t) st.st_size, 0), st.st_size);
        buf[st.st_size] = '\0';
        return buf;
}

static void assert_captured(const char *want) {
        char *got = captured();

        ck_assert_str_eq(got, want);
        free(got);
}

/* Starts the capture over. */
static void capture_reset(void) {
        ck_assert_int_eq(ftruncate(STDERR_FILENO, 0), 0);
        ck_assert_int_eq(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
}

static size_t count_char(const char *s, char c) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == c;
        return n;
}

static void print_skip(const char *what, const char *why) {
        printf("SKIP %s: %s\n", what, why);
        fflush(stdout);
}

/* ---- a minimal JSON reader: one flat object of string values ---- */

typedef struct JsonObject {
        char *keys[32], *values[32];
        size_t n;
} JsonObject;

static void json_object_done(JsonObject *o) {
        for (size_t i = 0; i < o->n; i++) {
                free(o->keys[i]);
                free(o->values[i]);
        }
        o->n = 0;
}

static const char *json_object_get(const JsonObject *o, const char *key) {
        for (size_t i = 0; i < o->n; i++)
                if (strcmp(o->keys[i], key) == 0)
                        return o->values[i];
        return NULL;
}

static int hex4(const char *p) {
        int v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];
                int d = c >= '0' && c <= '9' ? c - '0' :
                        c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

                if (d < 0)
                        return -1;
                v = v * 16 + d;
        }
        return v;
}

static char *put_utf8(char *q, unsigned cp) {
        if (cp < 0x80)
                *q++ = (char) cp;
        else if (cp < 0x800) {
                *q++ = (char) (0xc0 | cp >> 6);
                *q++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *q++ = (char) (0xe0 | cp >> 12);
                *q++ = (char) (0x80 | (cp >> 6 & 0x3f));
                *q++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *q++ = (char) (0xf0 | cp >> 18);
                *q++ = (char) (0x80 | (cp >> 12 & 0x3f));
                *q++ = (char) (0x80 | (cp >> 6 & 0x3f));
                *q++ = (char) (0x80 | (cp & 0x3f));
        }
        return q;
}

/* A \u escape at p (after the backslash), with a surrogate pair; NULL if bad. */
static const char *json_unicode(const char *p, unsigned *ret) {
        int hi = hex4(p + 1), lo;

        if (hi < 0)
                return NULL;
        p += 5;
        if (hi < 0xd800 || hi > 0xdfff) {
                *ret = (unsigned) hi;
                return p;
        }
        if (hi > 0xdbff || p[0] != '\\' || p[1] != 'u' || (lo = hex4(p + 2)) < 0xdc00 || lo > 0xdfff)
                return NULL;
        *ret = 0x10000 + (((unsigned) hi - 0xd800) << 10) + ((unsigned) lo - 0xdc00);
        return p + 6;
}

/* The string starting at the quote p; returns the end, NULL if invalid. */
static const char *json_string(const char *p, char **ret) {
        char *buf, *q;

        if (*p++ != '"')
                return NULL;
        buf = q = malloc(strlen(p) * 4 + 1);
        ck_assert_ptr_nonnull(buf);
        while (*p != '"') {
                const char *esc = "\"\"\\\\//b\bf\fn\nr\rt\t", *m;
                unsigned cp;

                if ((unsigned char) *p < 0x20) /* also the end of the text */
                        goto fail;
                if (*p != '\\') {
                        *q++ = *p++;
                        continue;
                }
                p++;
                if (*p == 'u') {
                        if (!(p = json_unicode(p, &cp)))
                                goto fail;
                        q = put_utf8(q, cp);
                        continue;
                }
                for (m = esc; *m && *m != *p; m += 2)
                        ;
                if (!*p || !*m)
                        goto fail;
                *q++ = m[1];
                p++;
        }
        *q = '\0';
        *ret = buf;
        return p + 1;
fail:
        free(buf);
        return NULL;
}

/* Strict: the line is exactly one object of string members. */
static bool json_parse_line(const char *line, JsonObject *o) {
        const char *p = line;

        o->n = 0;
        if (*p++ != '{')
                return false;
        if (*p == '}')
                return p[1] == '\0';
        for (;;) {
                if (o->n == 32)
                        return false;
                if (!(p = json_string(p, &o->keys[o->n])))
                        return false;
                if (*p++ != ':' || !(p = json_string(p, &o->values[o->n]))) {
                        free(o->keys[o->n]);
                        return false;
                }
                o->n++;
                if (*p == '}')
                        return p[1] == '\0';
                if (*p++ != ',')
                        return false;
        }
}

/* ---- ids, names and the catalog ---- */

static const char *event_id(int e) {
        return log_event_message_id(e);
}

static const char *event_name(int e) {
        return log_event_name(e);
}

static const CatalogEvents events = {
        .first = 1, /* not LOG_EVENT_NONE */
        .max = _LOG_EVENT_MAX,
        .message_id = event_id,
        .name = event_name,
        .catalog = "systemd/uptane.catalog",
        .defined_by = "Defined-By: uptane-primaryd",
        .fields = field_names,
        .n_fields = sizeof(field_names) / sizeof(field_names[0]),
};

START_TEST(test_ids_and_names) {
        ck_assert_ptr_null(log_event_message_id(LOG_EVENT_NONE));
        ck_assert_ptr_null(log_event_name(LOG_EVENT_NONE));
        ck_assert_ptr_null(log_event_message_id(_LOG_EVENT_MAX));
        ck_assert_ptr_null(log_event_name((LogEvent) -1));
        catalog_check_ids(&events);
}
END_TEST

/* One entry per event, with its headers; every @FIELD@ one the log writes. */
START_TEST(test_catalog_matches_ids) {
        catalog_check_file(&events);
}
END_TEST

/* ---- stderr lines ---- */

START_TEST(test_stderr_level_words) {
        log_set_max_level(LOG_DEBUG);
        for (int p = LOG_EMERG; p <= LOG_DEBUG; p++)
                log_event(p, LOG_EVENT_NONE, NULL, "message %d", p);
        assert_captured("test-ident: emergency: message 0\n"
                        "test-ident: alert: message 1\n"
                        "test-ident: critical: message 2\n"
                        "test-ident: error: message 3\n"
                        "test-ident: warning: message 4\n"
                        "test-ident: notice: message 5\n"
                        "test-ident: info: message 6\n"
                        "test-ident: debug: message 7\n");
}
END_TEST

START_TEST(test_stderr_max_level) {
        log_debug("dropped by the default level");
        log_info("kept");
        log_set_max_level(LOG_WARNING);
        log_notice("dropped");
        log_warning("kept too");
        /* A facility in the priority does not change the level. */
        log_event(LOG_DAEMON | LOG_ERR, LOG_EVENT_NONE, NULL, "with facility");
        assert_captured("test-ident: info: kept\n"
                        "test-ident: warning: kept too\n"
                        "test-ident: error: with facility\n");
}
END_TEST

START_TEST(test_stderr_control_characters) {
        char *got;

        log_open("test\nident");
        log_info("a\nb\rc\td\x1b[31me\x7f" "f \xc3\xa4\xe2\x9c\x93");
        got = captured();
        ck_assert_str_eq(got, "test?ident: info: a?b?c?d?[31me?f \xc3\xa4\xe2\x9c\x93\n");
        ck_assert_uint_eq(count_char(got, '\n'), 1);
        free(got);
}
END_TEST

START_TEST(test_stderr_long_message) {
        size_t n = 1024 * 1024;
        char *msg = malloc(n + 1), *want, *got;

        ck_assert_ptr_nonnull(msg);
        for (size_t i = 0; i < n; i++)
                msg[i] = (char) ('a' + i % 26);
        msg[n] = '\0';
        log_info("%s|end", msg);
        ck_assert_int_ge(asprintf(&want, "test-ident: info: %s|end\n", msg), 0);
        got = captured();
        ck_assert_uint_eq(strlen(got), strlen(want));
        ck_assert_msg(strcmp(got, want) == 0, "a long message changed");
        free(got);
        free(want);
        free(msg);
}
END_TEST

START_TEST(test_stderr_event_and_errno) {
        const LogFields fields = { .ecu_serial = "ecu-1", .target = "fw.bin", .error = -ENOENT };
        char *want;

        log_open(NULL);
        errno = EBADF;
        log_event(LOG_ERR, LOG_EVENT_INSTALL_FAILED, &fields, "install failed: %m");
        ck_assert_int_eq(errno, EBADF);
        log_event(LOG_ERR, LOG_EVENT_NONE, &(LogFields) { .error = EACCES }, "%m");
        ck_assert_int_eq(errno, EBADF);
        ck_assert_int_ge(asprintf(&want, "uptane-primaryd: error: install failed: %s\n"
                                  "uptane-primaryd: error: %s\n", strerror(ENOENT), strerror(EACCES)), 0);
        assert_captured(want);
        free(want);
}
END_TEST

#define THREADS 8
#define LINES 200
#define PAD 3000

static char pad[PAD + 1];

static void *log_lines(void *arg) {
        for (int i = 0; i < LINES; i++)
                log_info("thread %d line %d %s", (int) (long) arg, i, pad);
        return NULL;
}

START_TEST(test_stderr_threads) {
        unsigned count[THREADS] = {};
        pthread_t threads[THREADS];
        char *got, *line, *save = NULL;

        memset(pad, 'x', PAD);
        for (long t = 0; t < THREADS; t++)
                ck_assert_int_eq(pthread_create(&threads[t], NULL, log_lines, (void *) t), 0);
        for (int t = 0; t < THREADS; t++)
                ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
        got = captured();
        for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                int t, i, end = 0;

                ck_assert_msg(sscanf(line, "test-ident: info: thread %d line %d %n", &t, &i, &end) == 2,
                              "mangled line '%.60s'", line);
                ck_assert_msg(t >= 0 && t < THREADS && strspn(line + end, "x") == PAD && !line[end + PAD],
                              "mangled line '%.60s'", line);
                ck_assert_uint_eq(count[t]++, (unsigned) i);
        }
        for (int t = 0; t < THREADS; t++)
                ck_assert_uint_eq(count[t], LINES);
        free(got);
}
END_TEST

/* ---- the JSON test target ---- */

START_TEST(test_json_all_fields) {
        const LogFields fields = {
                .ecu_serial = "ecu \"1\"\n",
                .target = "dir\\fw.bin",
                .repo = "director",
                .attack = "roll\xff" "back \xe2\x9c\x93",
                .error = -EIO,
                .uds_nrc = 0x72,
        };
        JsonObject o = {};
        char *got, *nl;

        ck_assert_int_eq(setenv("UPTANE_LOG_TARGET", "json", 1), 0);
        log_open("test-ident");
        log_event(LOG_WARNING, LOG_EVENT_ATTACK_DETECTED, &fields, "refused:\t%s", "x\x01y");
        got = captured();
        ck_assert_uint_eq(count_char(got, '\n'), 1);
        ck_assert_ptr_null(strchr(got, '\xff')); /* JSON text is UTF-8 */
        nl = strchr(got, '\n');
        *nl = '\0';
        ck_assert_msg(json_parse_line(got, &o), "not a JSON object: %s", got);
        ck_assert_uint_eq(o.n, sizeof(field_names) / sizeof(field_names[0]));
        ck_assert_str_eq(json_object_get(&o, "MESSAGE"), "refused:\tx\x01y");
        ck_assert_str_eq(json_object_get(&o, "PRIORITY"), "4");
        ck_assert_str_eq(json_object_get(&o, "SYSLOG_IDENTIFIER"), "test-ident");
        ck_assert_str_eq(json_object_get(&o, "MESSAGE_ID"), log_event_message_id(LOG_EVENT_ATTACK_DETECTED));
        ck_assert_str_eq(json_object_get(&o, "UPTANE_EVENT"), "attack-detected");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_ECU_SERIAL"), "ecu \"1\"\n");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_TARGET"), "dir\\fw.bin");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_REPO"), "director");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_ATTACK"), "roll\xef\xbf\xbd" "back \xe2\x9c\x93");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_ERRNO"), "5");
        ck_assert_str_eq(json_object_get(&o, "ERRNO"), "5");
        ck_assert_str_eq(json_object_get(&o, "UPTANE_UDS_NRC"), "0x72");
        json_object_done(&o);
        free(got);
}
END_TEST

/* The Secondaries' events: their own ids, a name each starting "secondary-". */
START_TEST(test_secondary_events) {
        static const LogEvent secondary[] = {
                LOG_EVENT_SECONDARY_REPORT, LOG_EVENT_SECONDARY_UNREACHABLE, LOG_EVENT_SECONDARY_MISBEHAVING,
                LOG_EVENT_SECONDARY_REFUSED, LOG_EVENT_SECONDARY_IMAGE_SENT, LOG_EVENT_SECONDARY_INSTALLED,
                LOG_EVENT_SECONDARY_INSTALL_FAILED, LOG_EVENT_SECONDARY_REPORT_WITHHELD,
        };

        for (size_t i = 0; i < sizeof(secondary) / sizeof(secondary[0]); i++) {
                ck_assert_ptr_nonnull(log_event_message_id(secondary[i]));
                ck_assert_msg(strncmp(log_event_name(secondary[i]), "secondary-", 10) == 0, "%s",
                              log_event_name(secondary[i]));
        }
        ck_assert_str_eq(log_event_name(LOG_EVENT_SECONDARY_REFUSED), "secondary-refused");
        ck_assert_str_eq(log_event_message_id(LOG_EVENT_SECONDARY_INSTALLED), "c4c635c6a4b140d386205b4e1a0c8e6f");
}
END_TEST

START_TEST(test_json_one_object_per_line) {
        char *got, *line, *save = NULL;
        JsonObject o = {};
        int n = 0;

        ck_assert_int_eq(setenv("UPTANE_LOG_TARGET", "json", 1), 0);
        log_open("test-ident");
        log_info("plain %d", 1);
        log_event(LOG_NOTICE, LOG_EVENT_UP_TO_DATE, NULL, "nothing to do");
        log_event(LOG_NOTICE, (LogEvent) 1000, NULL, "not an event");
        got = captured();
        ck_assert_uint_eq(count_char(got, '\n'), 3);
        for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
                ck_assert_msg(json_parse_line(line, &o), "not a JSON object: %s", line);
                ck_assert_str_eq(json_object_get(&o, "SYSLOG_IDENTIFIER"), "test-ident");
                if (n == 1) {
                        ck_assert_uint_eq(o.n, 5);
                        ck_assert_str_eq(json_object_get(&o, "MESSAGE_ID"),
                                         log_event_message_id(LOG_EVENT_UP_TO_DATE));
                        ck_assert_str_eq(json_object_get(&o, "UPTANE_EVENT"), "up-to-date");
                } else {
                        ck_assert_uint_eq(o.n, 3); /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER */
                        ck_assert_ptr_null(json_object_get(&o, "MESSAGE_ID"));
                }
                ck_assert_ptr_nonnull(json_object_get(&o, "MESSAGE"));
                ck_assert_ptr_nonnull(json_object_get(&o, "PRIORITY"));
                json_object_done(&o);
        }
        free(got);
}
END_TEST

/* ---- the journal ---- */

/* Whether journald listens; the error when it does not. */
static int journal_reachable(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
        int fd, r = 0;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                r = -errno;
        close(fd);
        return r;
}

static void set_journal_stream(const char *value) {
        struct stat st;
        char *s = NULL;

        if (!value) {
                ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
                ck_assert_int_ge(asprintf(&s, "%llu:%llu", (unsigned long long) st.st_dev,
                                          (unsigned long long) st.st_ino), 0);
        }
        ck_assert_int_eq(setenv("JOURNAL_STREAM", value ?: s, 1), 0);
        free(s);
}

START_TEST(test_journal_stream_detection) {
        static const char *const others[] = { "0:0", "garbage", "1:2x", "" };

        ck_assert_int_eq(unsetenv("UPTANE_LOG_TARGET"), 0);
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
                set_journal_stream(others[i]);
                log_open("test-ident");
                log_info("not the journal %zu", i);
        }
        assert_captured("test-ident: info: not the journal 0\n"
                        "test-ident: info: not the journal 1\n"
                        "test-ident: info: not the journal 2\n"
                        "test-ident: info: not the journal 3\n");
        capture_reset();

        /* stderr is "the journal stream": entries go to the native socket,
         * or come back to stderr with a "<N>" priority prefix. */
        set_journal_stream(NULL);
        log_open("test-ident");
        log_event(LOG_ERR, LOG_EVENT_INSTALL_FAILED, NULL, "to the journal");
        assert_captured(journal_reachable() == 0 ? "" : "<3>test-ident: error: to the journal\n");
}
END_TEST

/* Waits up to 5 s for the entry with this MESSAGE; false if it cannot be seen. */
static bool journal_find(const char *message, sd_journal **ret) {
        sd_journal *j = NULL;
        char *match;

        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
                return false;
        ck_assert_int_ge(asprintf(&match, "MESSAGE=%s", message), 0);
        ck_assert_int_eq(sd_journal_add_match(j, match, 0), 0);
        free(match);
        for (int i = 0; i < 50; i++) {
                if (sd_journal_next(j) > 0) {
                        *ret = j;
                        return true;
                }
                (void) sd_journal_wait(j, 100 * 1000);
        }
        sd_journal_close(j);
        return false;
}

static void assert_journal_field(sd_journal *j, const char *field, const char *want) {
        size_t size, n = strlen(field) + 1;
        const void *data;

        ck_assert_int_eq(sd_journal_get_data(j, field, &data, &size), 0);
        ck_assert_uint_eq(size, n + strlen(want));
        ck_assert(memcmp((const char *) data + n, want, strlen(want)) == 0);
}

START_TEST(test_journal) {
        const LogFields fields = { .ecu_serial = "ecu-1", .target = "fw.bin", .error = ENOSPC };
        char *message;
        sd_journal *j;
        int r;

        ck_assert_int_eq(setenv("UPTANE_LOG_TARGET", "journal", 1), 0);
        log_open("test-ident");
        ck_assert_int_ge(asprintf(&message, "journal test %d %ld", (int) getpid(), (long) time(NULL)), 0);
        log_event(LOG_ERR, LOG_EVENT_INSTALL_FAILED, &fields, "%s", message);
        r = journal_reachable();
        if (r < 0) {
                /* Without journald the entry falls back to stderr. */
                char *want;

                print_skip("journal", JOURNAL_SOCKET " does not accept connections "
                           "(no journald here): only the fallback to stderr is checked");
                ck_assert_int_ge(asprintf(&want, "test-ident: error: %s\n", message), 0);
                assert_captured(want);
                free(want);
        } else {
                assert_captured("");
                if (!journal_find(message, &j))
                        print_skip("journal read-back", "the entry was sent but cannot be read "
                                   "(no permission to read the journal, or Storage=none)");
                else {
                        assert_journal_field(j, "MESSAGE_ID",
                                             log_event_message_id(LOG_EVENT_INSTALL_FAILED));
                        assert_journal_field(j, "PRIORITY", "3");
                        assert_journal_field(j, "SYSLOG_IDENTIFIER", "test-ident");
                        assert_journal_field(j, "UPTANE_EVENT", "install-failed");
                        assert_journal_field(j, "UPTANE_ECU_SERIAL", "ecu-1");
                        assert_journal_field(j, "UPTANE_TARGET", "fw.bin");
                        assert_journal_field(j, "ERRNO", "28");
                        sd_journal_close(j);
                }
        }
        free(message);
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("primaryd_log");
        TCase *ids = tcase_create("ids"), *out = tcase_create("output");

        tcase_add_test(ids, test_ids_and_names);
        tcase_add_test(ids, test_catalog_matches_ids);
        tcase_add_test(ids, test_secondary_events);
        suite_add_tcase(s, ids);

        tcase_add_checked_fixture(out, setup, teardown);
        tcase_add_test(out, test_stderr_level_words);
        tcase_add_test(out, test_stderr_max_level);
        tcase_add_test(out, test_stderr_control_characters);
        tcase_add_test(out, test_stderr_long_message);
        tcase_add_test(out, test_stderr_event_and_errno);
        tcase_add_test(out, test_stderr_threads);
        tcase_add_test(out, test_json_all_fields);
        tcase_add_test(out, test_json_one_object_per_line);
        tcase_add_test(out, test_journal_stream_detection);
        tcase_add_test(out, test_journal);
        suite_add_tcase(s, out);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(log_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
