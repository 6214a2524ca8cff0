/* SPDX-License-Identifier: MIT */
/* Atomic files: what is trusted is replaced whole or not at all. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/storage.h"

static char *dir;

static void setup(void) {
        dir = strdup("/tmp/test-storage-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        (void) testrepo_rm_rf(dir);
        free(dir);
}

static size_t n_entries(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
        closedir(d);
        return n;
}

START_TEST(test_write_replaces_whole) {
        uint8_t *data = NULL;
        struct stat st;
        char path[512];
        size_t len;

        ck_assert_int_eq(up_write_file_atomic(dir, "root.json", "old", 3, 0644), 0);
        ck_assert_int_eq(up_write_file_atomic(dir, "root.json", "newer", 5, 0600), 0);
        snprintf(path, sizeof(path), "%s/root.json", dir);
        ck_assert_int_eq(up_read_file(path, 100, &data, &len), 0);
        ck_assert_uint_eq(len, 5);
        ck_assert(memcmp(data, "newer", 5) == 0);
        free(data);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
        /* No temp file left behind (hidden ones included). */
        ck_assert_uint_eq(n_entries(), 1);
}
END_TEST

START_TEST(test_write_refuses_bad_names) {
        ck_assert_int_eq(up_write_file_atomic(dir, "a/b.json", "x", 1, 0644), -EINVAL);
        ck_assert_int_eq(up_write_file_atomic(dir, "..", "x", 1, 0644), -EINVAL);
        ck_assert_int_eq(up_write_file_atomic(dir, ".", "x", 1, 0644), -EINVAL);
        ck_assert_int_eq(up_write_file_atomic(NULL, "x.json", "x", 1, 0644), -EINVAL);
        ck_assert_int_eq(up_write_file_atomic("/nonexistent-dir-uptane", "x.json", "x", 1, 0644), -ENOENT);
        ck_assert_uint_eq(n_entries(), 0);
}
END_TEST

START_TEST(test_write_failure_keeps_old) {
        uint8_t *data = NULL;
        size_t len;
        char sub[512];

        /* The name is a directory: rename fails, the old content stays, no temp file. */
        snprintf(sub, sizeof(sub), "%s/timestamp.json", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_lt(up_write_file_atomic(dir, "timestamp.json", "x", 1, 0644), 0);
        ck_assert_uint_eq(n_entries(), 1);
        ck_assert_int_eq(up_read_file(sub, 100, &data, &len), -EBADF);
}
END_TEST

START_TEST(test_read_limits) {
        uint8_t *data = NULL;
        char path[512];
        size_t len;

        ck_assert_int_eq(up_write_file_atomic(dir, "t.json", "0123456789", 10, 0644), 0);
        snprintf(path, sizeof(path), "%s/t.json", dir);
        ck_assert_int_eq(up_read_file(path, 9, &data, &len), -EFBIG);
        ck_assert_ptr_null(data);
        ck_assert_int_eq(up_read_file(path, 10, &data, &len), 0);
        ck_assert_uint_eq(len, 10);
        free(data);
        data = NULL;
        ck_assert_int_eq(up_read_file_at(dir, "missing.json", 10, &data, &len), -ENOENT);
        ck_assert_int_eq(up_read_file(dir, 10, &data, &len), -EBADF); /* a directory */
        ck_assert_ptr_null(data);
}
END_TEST

int main(void) {
        Suite *s = suite_create("storage");
        TCase *tc = tcase_create("storage");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_write_replaces_whole);
        tcase_add_test(tc, test_write_refuses_bad_names);
        tcase_add_test(tc, test_write_failure_keeps_old);
        tcase_add_test(tc, test_read_limits);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
