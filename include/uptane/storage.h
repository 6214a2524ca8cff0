/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes data to dir/name atomically: a temp file in dir (name not ending in
 * ".json"), fsync, rename over name, fsync of dir. Readers see the old or the
 * new content, never a mix, also after a crash. */
int up_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode);

/* Reads a whole file of at most max_len bytes (-EFBIG if larger). */
int up_read_file(const char *path, size_t max_len, uint8_t **ret, size_t *ret_len);
int up_read_file_at(const char *dir, const char *name, size_t max_len, uint8_t **ret, size_t *ret_len);
