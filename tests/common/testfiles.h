/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Files for the daemons' unit tests (test_primaryd_config,
 * test_secondaryd_config): a temporary directory for a test's fixture, files
 * written in it, files of the source tree and what a print function writes.
 * Failures are Check assertions; every string returned is the caller's to free.
 */

#include <stdio.h>

/* A new directory /tmp/PREFIX.XXXXXX; returns its path. */
char *testfiles_mkdtemp(const char *prefix);

/* rm -rf dir. */
void testfiles_remove(const char *dir);

/* dir/name, made with the text; returns the path. */
char *testfiles_write(const char *dir, const char *name, const char *text);

/* The file name of the source tree ($UPTANE_SOURCE_DIR, which meson test
 * sets), whole; NULL when the variable is not set. */
char *testfiles_read_source(const char *name);

/* What print writes to a stream, as a string. */
char *testfiles_print(int (*print)(FILE *f));
