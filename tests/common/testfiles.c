/* SPDX-License-Identifier: MIT */
/* Files for the daemons' unit tests (see testfiles.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testfiles.h"

char *testfiles_mkdtemp(const char *prefix) {
        char *dir;

        ck_assert_int_ge(asprintf(&dir, "/tmp/%s.XXXXXX", prefix), 0);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        return dir;
}

void testfiles_remove(const char *dir) {
        char *cmd;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
}

char *testfiles_write(const char *dir, const char *name, const char *text) {
        char *path;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return path;
}

char *testfiles_read_source(const char *name) {
        const char *root = getenv("UPTANE_SOURCE_DIR");
        char *path, *s = NULL;
        size_t size = 0;
        FILE *f;

        if (!root)
                return NULL;
        ck_assert_int_ge(asprintf(&path, "%s/%s", root, name), 0);
        f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        ck_assert_int_ge(getdelim(&s, &size, '\0', f), 0);
        fclose(f);
        free(path);
        return s;
}

char *testfiles_print(int (*print)(FILE *f)) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(print(f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return s;
}
