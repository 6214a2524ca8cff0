/* SPDX-License-Identifier: MIT */
/*
 * A whole up_updater_refresh() (and a target lookup and download) where the
 * repository serves bytes from the fuzzer. The client starts from a fixed,
 * valid root (testrepo_new_fixed()), so that inputs made from the seeds get
 * past signature checks into the trusted-set rules.
 *
 * The input is split at "\n--\n" into chunks:
 *   0  2.root.json         (3.root.json and later are never found)
 *   1  timestamp.json
 *   2  any snapshot        (N.snapshot.json or snapshot.json)
 *   3  any top-level targets
 *   4  any other metadata  (delegated roles)
 *   5  any artifact under targets/
 *   6, 7, 8  cached timestamp.json, snapshot.json, targets.json in the
 *            metadata directory before the refresh
 * An empty or missing chunk is "not found" (or no cached file).
 *
 * With FUZZ_REFRESH_WRITE_SEEDS=DIR in the environment, the initializer
 * writes seed inputs to DIR (see tests/fuzz/corpus/refresh/).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_repo.h"
#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/updater.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CHUNKS 9
#define TARGET_PATH "dir/file.txt"

enum {
        CHUNK_ROOT2,
        CHUNK_TIMESTAMP,
        CHUNK_SNAPSHOT,
        CHUNK_TARGETS,
        CHUNK_DELEGATED,
        CHUNK_ARTIFACT,
        CHUNK_CACHED_TIMESTAMP,
        CHUNK_CACHED_SNAPSHOT,
        CHUNK_CACHED_TARGETS,
};

typedef FuzzChunk Chunk;

static char work_dir[64], metadata_dir[80], target_dir[80];

/* --- Input --------------------------------------------------------------- */

static bool endswith(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int chunk_for_url(const char *url) {
        const char *name;

        if (strncmp(url, TESTREPO_TARGETS_URL, strlen(TESTREPO_TARGETS_URL)) == 0)
                return CHUNK_ARTIFACT;
        if (strncmp(url, TESTREPO_METADATA_URL, strlen(TESTREPO_METADATA_URL)) != 0)
                return -1;
        name = url + strlen(TESTREPO_METADATA_URL);
        if (strcmp(name, "2.root.json") == 0)
                return CHUNK_ROOT2;
        if (endswith(name, "root.json"))
                return -1;
        if (strcmp(name, "timestamp.json") == 0)
                return CHUNK_TIMESTAMP;
        if (strcmp(name, "snapshot.json") == 0 || endswith(name, ".snapshot.json"))
                return CHUNK_SNAPSHOT;
        if (strcmp(name, "targets.json") == 0 || endswith(name, ".targets.json"))
                return CHUNK_TARGETS;
        return CHUNK_DELEGATED;
}

static int fetch_chunk(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        const Chunk *chunks = userdata;
        int i = chunk_for_url(url);

        if (i < 0 || chunks[i].len == 0)
                return -ENOENT;
        if (chunks[i].len > max_len)
                return -EFBIG;
        *ret = malloc(chunks[i].len);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, chunks[i].data, chunks[i].len);
        *ret_len = chunks[i].len;
        return 0;
}

/* --- Directories ------------------------------------------------------------ */

/* A fresh temp dir per input (fuzz_make_dirs()). */
static void make_dirs(const Chunk chunks[N_CHUNKS]) {
        static const char *const cached[] = { "timestamp.json", "snapshot.json", "targets.json" };
        int r;

        fuzz_make_dirs("fuzz_refresh", work_dir, metadata_dir);
        if (snprintf(target_dir, sizeof(target_dir), "%s/targets", work_dir) < 0)
                fuzz_die("snprintf", -EINVAL);
        r = testrepo_mkdir_p(target_dir);
        for (size_t i = 0; r >= 0 && i < 3; i++) {
                const Chunk *c = &chunks[CHUNK_CACHED_TIMESTAMP + i];

                if (c->len > 0)
                        r = testrepo_write_file(metadata_dir, cached[i], c->data, c->len);
        }
        if (r < 0)
                fuzz_die("preparing the directories", r);
}

/* --- Seeds ---------------------------------------------------------------------- */

typedef FuzzSeedPart SeedPart;

/* role1 (fixed key 4) gets the paths under dir/ and lists TARGET_PATH; root v2. */
static int seed_repository(TestRepo *repo) {
        UpKey *key = NULL;
        int r;

        r = testrepo_add_delegation(repo, "targets", "role1", false, 1, "dir/*", NULL);
        if (r >= 0)
                r = testrepo_remove_key(repo, "role1", testrepo_signer(repo, "role1", 0));
        if (r >= 0)
                r = testrepo_fixed_key(4, &key);
        if (r >= 0)
                r = testrepo_add_existing_key(repo, "role1", key);
        up_key_unref(key);
        if (r >= 0)
                r = testrepo_set_expires(repo, "role1", TESTREPO_FIXED_EXPIRES);
        if (r >= 0)
                r = testrepo_add_target(repo, "role1", TARGET_PATH, "artifact\n", 9);
        if (r >= 0)
                r = testrepo_publish(repo, "role1");
        if (r >= 0)
                r = testrepo_publish(repo, "targets");
        if (r >= 0)
                r = testrepo_update_snapshot(repo);
        if (r >= 0)
                r = testrepo_publish(repo, "root");
        return r;
}

static int write_seeds(TestRepo *repo, const char *dir) {
        const SeedPart full[] = {
                { "root", 2 }, { "timestamp", 2 }, { "snapshot", 2 }, { "targets", 2 },
                { "role1", 1 }, { NULL, 0, "artifact\n" },
        };
        const SeedPart cached[] = {
                { NULL, 0 }, { "timestamp", 2 }, { NULL, 0 }, { NULL, 0 }, { "role1", 1 },
                { NULL, 0, "artifact\n" }, { "timestamp", 1 }, { "snapshot", 2 }, { "targets", 2 },
        };
        const SeedPart rollback[] = {
                { NULL, 0 }, { "timestamp", 1 }, { "snapshot", 1 }, { "targets", 1 },
                { NULL, 0 }, { NULL, 0 }, { "timestamp", 2 }, { "snapshot", 2 }, { "targets", 2 },
        };
        const SeedPart initial[] = {
                { NULL, 0 }, { "timestamp", 1 }, { "snapshot", 1 }, { "targets", 1 },
        };
        int r;

        r = fuzz_write_seed(repo, dir, "full", full, sizeof(full) / sizeof(full[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "cached", cached, sizeof(cached) / sizeof(cached[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "rollback", rollback, sizeof(rollback) / sizeof(rollback[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "initial", initial, sizeof(initial) / sizeof(initial[0]));
        return r;
}

/* --- libFuzzer -------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        fuzz_repo_init("FUZZ_REFRESH_WRITE_SEEDS", seed_repository, write_seeds);
        return 0;
}

static void lookup_and_download(UpUpdater *u) {
        UpTargetInfo *info = NULL;

        if (up_updater_get_target_info(u, TARGET_PATH, &info) < 0)
                return;
        if (up_updater_find_cached_target(u, info) < 0)
                (void) up_updater_download_target(u, info);
        up_target_info_free(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Chunk chunks[N_CHUNKS];
        UpUpdaterConfig cfg = {
                .metadata_url = TESTREPO_METADATA_URL,
                .target_base_url = TESTREPO_TARGETS_URL,
                .now = TESTREPO_NOW,
                .fetcher = { .fetch = fetch_chunk, .userdata = chunks },
                .max_delegations = 8,
        };
        UpUpdater *u = NULL;
        int r;

        fuzz_split_input(data, size, chunks, N_CHUNKS);
        make_dirs(chunks);
        cfg.metadata_dir = metadata_dir;
        cfg.target_dir = target_dir;
        r = up_updater_new(&cfg, &u);
        if (r < 0)
                fuzz_die("the fixed trusted root was refused", r);
        r = up_updater_refresh(u);
        if (r >= 0)
                lookup_and_download(u);
        else if (r == -ENOMEM)
                abort();
        up_updater_free(u);
        fuzz_remove_dirs(work_dir);
        return 0;
}
