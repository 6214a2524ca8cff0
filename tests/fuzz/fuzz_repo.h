/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets over a whole repository share (fuzz_refresh.c,
 * fuzz_secondary.c): the input split into chunks at FUZZ_SEPARATOR, the
 * fixed root the client starts from (testrepo_new_fixed()), a fresh temp
 * directory per input, and the seeds written from a repository.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "testrepo.h"

#define FUZZ_SEPARATOR "\n--\n"

typedef struct FuzzChunk {
        const uint8_t *data;
        size_t len;
} FuzzChunk;

/* One chunk of a seed: role at version, or text; neither: an empty chunk. */
typedef struct FuzzSeedPart {
        const char *role;
        int64_t version;
        const char *text;
} FuzzSeedPart;

/* Prints "<program>: what: strerror(r)" and aborts. */
_Noreturn void fuzz_die(const char *what, int r);

/* Splits data at FUZZ_SEPARATOR into at most n chunks; the rest are empty. */
void fuzz_split_input(const uint8_t *data, size_t size, FuzzChunk *chunks, size_t n);

/* The initializer: builds the fixed repository and keeps its root v1 (see
 * fuzz_make_dirs()). With seed_env set in the environment to a directory,
 * seed_repository() then write_seeds() write the seeds there. */
void fuzz_repo_init(const char *seed_env, int (*seed_repository)(TestRepo *repo),
                    int (*write_seeds)(TestRepo *repo, const char *dir));

/* A fresh /tmp/<prefix>-XXXXXX as work_dir (64 bytes), with metadata_dir
 * (80 bytes) = work_dir/metadata holding the fixed root as root.json.
 * libFuzzer does not run atexit handlers, so nothing may outlive an input:
 * fuzz_remove_dirs() at its end. */
void fuzz_make_dirs(const char *prefix, char work_dir[64], char metadata_dir[80]);
void fuzz_remove_dirs(const char *work_dir);

/* Writes dir/name: the n parts, joined by FUZZ_SEPARATOR. */
int fuzz_write_seed(TestRepo *repo, const char *dir, const char *name, const FuzzSeedPart *parts, size_t n);
