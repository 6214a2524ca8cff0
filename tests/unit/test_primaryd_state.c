/* SPDX-License-Identifier: MIT */
/* The daemon's state directory (state.c) and the file package manager (pm_file.c). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/hash.h"
#include "package_manager.h"
#include "state.h"

static char dir[] = "/tmp/test-primaryd-state.XXXXXX";

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static char *slurp(const char *path) {
        static char buf[4096];
        FILE *f = fopen(path, "r");
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

static char *path_in(const char *name) {
        static char p[4][512];
        static int i;
        i = (i + 1) % 4;
        snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
        return p[i];
}

static int count_entries(const char *path) {
        DIR *d = opendir(path);
        struct dirent *e;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void setup(void) {
        strcpy(dir, "/tmp/test-primaryd-state.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        write_file(path_in("director-root.json"), "{\"director\": 1}");
        write_file(path_in("image-root.json"), "{\"image\": 1}");
}

static void teardown(void) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void open_state(State *s) {
        char *err = NULL;
        int r = state_open(s, path_in("state"), path_in("director-root.json"), path_in("image-root.json"), &err);
        ck_assert_msg(r == 0, "state_open: %d %s", r, err ? err : "");
        free(err);
}

START_TEST(test_initial_roots_once) {
        State s;
        struct stat st;

        open_state(&s);
        ck_assert_str_eq(slurp(path_in("state/metadata/director/root.json")), "{\"director\": 1}");
        ck_assert_str_eq(slurp(path_in("state/metadata/image/root.json")), "{\"image\": 1}");
        ck_assert_int_eq(stat(path_in("state"), &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0700);
        state_close(&s);
        /* A rotated root is never replaced by the configured initial one again. */
        write_file(path_in("state/metadata/director/root.json"), "{\"director\": 2}");
        open_state(&s);
        ck_assert_str_eq(slurp(path_in("state/metadata/director/root.json")), "{\"director\": 2}");
        state_close(&s);
}
END_TEST

START_TEST(test_missing_root) {
        State s;
        char *err = NULL;

        ck_assert_int_eq(state_open(&s, path_in("state"), path_in("nope.json"), path_in("image-root.json"), &err),
                         -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "nope.json"));
        free(err);
}
END_TEST

START_TEST(test_key_created_once) {
        State s;
        UpKey *a, *b;
        bool created;
        struct stat st;

        open_state(&s);
        ck_assert_int_eq(state_load_or_create_key(&s, &a, &created), 0);
        ck_assert(created);
        ck_assert_int_eq(stat(path_in("state/ecu.key"), &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
        ck_assert_int_eq(state_load_or_create_key(&s, &b, &created), 0);
        ck_assert(!created);
        ck_assert(up_key_equal(a, b));
        up_key_unref(a);
        up_key_unref(b);
        state_close(&s);
}
END_TEST

START_TEST(test_roundtrip) {
        State s;
        struct json_object *hashes = json_object_new_object();
        ImageRecord rec;

        json_object_object_add(hashes, "sha256", json_object_new_string("ab"));
        open_state(&s);
        ck_assert_int_eq(state_get_int(&s, "report_counter", 7), 7);
        ck_assert_int_eq(state_set_int(&s, "report_counter", 42), 0);
        ck_assert_int_eq(state_set_bool(&s, "registered", true), 0);
        ck_assert_int_eq(state_set_counter(&s, "ecu-1", 5), 0);
        ck_assert_int_eq(state_set_object(&s, "installed", image_record_to_json("fw.bin", 3, hashes)), 0);
        ck_assert_int_eq(state_save(&s), 0);
        state_close(&s);

        open_state(&s);
        ck_assert_int_eq(state_get_int(&s, "report_counter", 0), 42);
        ck_assert(state_get_bool(&s, "registered"));
        ck_assert_int_eq(state_get_counter(&s, "ecu-1"), 5);
        ck_assert_int_eq(state_get_counter(&s, "ecu-2"), -1);
        ck_assert(state_get_image(&s, "installed", &rec));
        ck_assert_str_eq(rec.name, "fw.bin");
        ck_assert_int_eq(rec.length, 3);
        ck_assert(!state_get_image(&s, "pending", &rec));
        state_close(&s);
        json_object_put(hashes);
        /* No temp file is left next to state.json: only it and metadata/. */
        ck_assert_int_eq(count_entries(path_in("state")), 2);
}
END_TEST

START_TEST(test_corrupt_state_refused) {
        State s;
        char *err = NULL;

        open_state(&s);
        state_close(&s);
        write_file(path_in("state/state.json"), "{\"registered\": tru");
        ck_assert_int_eq(state_open(&s, path_in("state"), path_in("director-root.json"), path_in("image-root.json"),
                                    &err),
                         -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "state.json"));
        free(err);
        /* Never silently reset: the bad file is still there. */
        ck_assert_str_eq(slurp(path_in("state/state.json")), "{\"registered\": tru");
}
END_TEST

START_TEST(test_attacks_capped) {
        State s;
        char text[1000];

        memset(text, 'a', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        open_state(&s);
        ck_assert_int_eq(state_add_attack(&s, "rollback: director timestamp"), 0);
        ck_assert_int_eq(state_add_attack(&s, "freeze: image timestamp"), 0);
        ck_assert_str_eq(state_get_string(&s, "attacks_detected"), "rollback: director timestamp; freeze: image timestamp");
        for (int i = 0; i < 20; i++)
                ck_assert_int_eq(state_add_attack(&s, text), 0);
        ck_assert_uint_le(strlen(state_get_string(&s, "attacks_detected")), STATE_MAX_ATTACKS_TEXT);
        state_close(&s);
}
END_TEST

/* --- The file package manager ------------------------------------------------------------------- */

static UpDirectorTarget target_named(const char *name) {
        return (UpDirectorTarget) { .name = (char *) name, .length = 3 };
}

START_TEST(test_file_install_keeps_previous) {
        PackageManager *pm;
        UpDirectorTarget t = target_named("fw-2.bin");
        InstallOutcome o;

        write_file(path_in("fw-2.bin"), "new");
        write_file(path_in("firmware.bin"), "old");
        ck_assert_int_eq(package_manager_file_new(path_in("firmware.bin"), &pm), 0);
        ck_assert_int_eq(pm->ops->install(pm, &t, path_in("fw-2.bin"), &o), 0);
        ck_assert_msg(o.success, "%s", o.description);
        ck_assert_str_eq(o.code, "OK");
        ck_assert_str_eq(slurp(path_in("firmware.bin")), "new");
        ck_assert_str_eq(slurp(path_in("firmware.bin.previous")), "old");
        ck_assert_int_eq(access(path_in("firmware.bin.new"), F_OK), -1);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_file_install_creates_directory) {
        PackageManager *pm;
        UpDirectorTarget t = target_named("fw.bin");
        InstallOutcome o;

        write_file(path_in("fw.bin"), "abc");
        ck_assert_int_eq(package_manager_file_new(path_in("slot/firmware.bin"), &pm), 0);
        ck_assert_int_eq(pm->ops->install(pm, &t, path_in("fw.bin"), &o), 0);
        ck_assert(o.success);
        ck_assert_str_eq(slurp(path_in("slot/firmware.bin")), "abc");
        package_manager_free(pm);
}
END_TEST

START_TEST(test_file_install_failure_reported) {
        PackageManager *pm;
        UpDirectorTarget t = target_named("fw.bin");
        InstallOutcome o;

        ck_assert_int_eq(package_manager_file_new(path_in("firmware.bin"), &pm), 0);
        ck_assert_int_eq(pm->ops->install(pm, &t, path_in("missing.bin"), &o), 0);
        ck_assert(!o.success);
        ck_assert_str_eq(o.code, "INSTALL_FAILED");
        ck_assert_int_eq(access(path_in("firmware.bin"), F_OK), -1);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_file_finalize) {
        PackageManager *pm;
        struct json_object *hashes;
        uint64_t length;
        InstallOutcome o;
        ImageRecord pending;

        write_file(path_in("image"), "new");
        ck_assert_int_eq(hash_file(path_in("image"), &length, &hashes), 0);
        ck_assert_int_eq(length, 3);
        pending = (ImageRecord) { .name = "fw.bin", .length = 3, .hashes = hashes };
        ck_assert_int_eq(package_manager_file_new(path_in("firmware.bin"), &pm), 0);
        /* Killed before the rename: nothing there, or the old image. */
        ck_assert_int_eq(pm->ops->finalize(pm, &pending, &o), -EAGAIN);
        write_file(path_in("firmware.bin"), "old");
        ck_assert_int_eq(pm->ops->finalize(pm, &pending, &o), -EAGAIN);
        /* Killed after it: the install happened. */
        write_file(path_in("firmware.bin"), "new");
        ck_assert_int_eq(pm->ops->finalize(pm, &pending, &o), 0);
        ck_assert(o.success);
        package_manager_free(pm);
        json_object_put(hashes);
}
END_TEST

START_TEST(test_file_factory_image) {
        PackageManager *pm;
        struct json_object *hashes, *sha;
        uint64_t length;
        char *name;

        ck_assert_int_eq(package_manager_file_new(path_in("firmware.bin"), &pm), 0);
        /* Nothing installed yet: the empty image. */
        ck_assert_int_eq(pm->ops->factory_image(pm, &name, &length, &hashes), 0);
        ck_assert_str_eq(name, "firmware.bin");
        ck_assert_int_eq(length, 0);
        ck_assert(json_object_object_get_ex(hashes, "sha256", &sha));
        ck_assert_str_eq(json_object_get_string(sha),
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(name);
        json_object_put(hashes);
        write_file(path_in("firmware.bin"), "abc");
        ck_assert_int_eq(pm->ops->factory_image(pm, &name, &length, &hashes), 0);
        ck_assert_int_eq(length, 3);
        ck_assert(json_object_object_get_ex(hashes, "sha256", &sha));
        ck_assert_str_eq(json_object_get_string(sha),
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        free(name);
        json_object_put(hashes);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_ostree_not_built) {
        PrimaryConfig c = { .package_manager = PACKAGE_MANAGER_OSTREE };
        PackageManager *pm = NULL;
        char *err = NULL;

#ifdef HAVE_OSTREE
        /* Built in (test_primaryd_ostree.c tests it): a sysroot that is none. */
        c.ostree_sysroot = path_in("no-sysroot");
        ck_assert_int_eq(package_manager_new(&c, &pm, &err), -ENOENT);
#else
        ck_assert_int_eq(package_manager_new(&c, &pm, &err), -EOPNOTSUPP);
#endif
        ck_assert_ptr_null(pm);
        ck_assert_ptr_nonnull(strstr(err, "ostree"));
        free(err);
}
END_TEST

/* A package manager's message goes into state.json and the signed manifest:
 * UTF-8 text only, whatever it said. */
START_TEST(test_outcome_text_is_utf8) {
        InstallOutcome o;

        install_outcome_set(&o, false, "BAD\xff", "ok \xc3\xa9, bad \xc3 and \xed\xa0\x80, ctrl \x01 end");
        ck_assert_str_eq(o.code, "BAD?");
        ck_assert_str_eq(o.description, "ok \xc3\xa9, bad ? and ???, ctrl ? end");
        install_outcome_set(&o, true, "OK", "%s", "cut in the middle of \xe2\x82");
        ck_assert_str_eq(o.description, "cut in the middle of ??");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("primaryd_state");
        TCase *tc = tcase_create("state");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_initial_roots_once);
        tcase_add_test(tc, test_missing_root);
        tcase_add_test(tc, test_key_created_once);
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_corrupt_state_refused);
        tcase_add_test(tc, test_attacks_capped);
        suite_add_tcase(s, tc);
        tc = tcase_create("file_package_manager");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_file_install_keeps_previous);
        tcase_add_test(tc, test_file_install_creates_directory);
        tcase_add_test(tc, test_file_install_failure_reported);
        tcase_add_test(tc, test_file_finalize);
        tcase_add_test(tc, test_file_factory_image);
        tcase_add_test(tc, test_ostree_not_built);
        tcase_add_test(tc, test_outcome_text_is_utf8);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
