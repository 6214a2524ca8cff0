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

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/updater.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR "\n--\n"
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

typedef struct Chunk {
        const uint8_t *data;
        size_t len;
} Chunk;

static uint8_t *initial_root;
static size_t initial_root_len;
static char work_dir[64], metadata_dir[80], target_dir[80];

static void die(const char *what, int r) {
        fprintf(stderr, "fuzz_refresh: %s: %s\n", what, strerror(r < 0 ? -r : r));
        abort();
}

/* --- Input --------------------------------------------------------------- */

static void split_input(const uint8_t *data, size_t size, Chunk chunks[N_CHUNKS]) {
        const size_t sep_len = strlen(SEPARATOR);
        size_t n = 0;

        memset(chunks, 0, sizeof(Chunk) * N_CHUNKS);
        while (n < N_CHUNKS) {
                const uint8_t *sep = memmem(data, size, SEPARATOR, sep_len);

                chunks[n].data = data;
                chunks[n].len = sep ? (size_t) (sep - data) : size;
                n++;
                if (!sep)
                        break;
                size -= (size_t) (sep - data) + sep_len;
                data = sep + sep_len;
        }
}

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

/* A fresh temp dir per input (libFuzzer does not run atexit handlers, so
 * nothing may outlive an input). */
static void make_dirs(const Chunk chunks[N_CHUNKS]) {
        static const char *const cached[] = { "timestamp.json", "snapshot.json", "targets.json" };
        char template[] = "/tmp/fuzz_refresh-XXXXXX";
        int r = 0;

        if (!mkdtemp(template))
                die("mkdtemp", -errno);
        if (snprintf(work_dir, sizeof(work_dir), "%s", template) < 0 ||
            snprintf(metadata_dir, sizeof(metadata_dir), "%s/metadata", template) < 0 ||
            snprintf(target_dir, sizeof(target_dir), "%s/targets", template) < 0)
                die("snprintf", -EINVAL);
        r = testrepo_mkdir_p(metadata_dir);
        if (r >= 0)
                r = testrepo_mkdir_p(target_dir);
        if (r >= 0)
                r = testrepo_write_file(metadata_dir, "root.json", initial_root, initial_root_len);
        for (size_t i = 0; r >= 0 && i < 3; i++) {
                const Chunk *c = &chunks[CHUNK_CACHED_TIMESTAMP + i];

                if (c->len > 0)
                        r = testrepo_write_file(metadata_dir, cached[i], c->data, c->len);
        }
        if (r < 0)
                die("preparing the directories", r);
}

static void remove_dirs(void) {
        int r = testrepo_rm_rf(work_dir);

        if (r < 0)
                die("removing the directories", r);
}

/* --- Seeds ---------------------------------------------------------------------- */

static int append_published(FILE *f, TestRepo *repo, const char *role, int64_t version) {
        const uint8_t *data;
        size_t len;
        int r;

        r = testrepo_published(repo, role, version, &data, &len);
        if (r < 0)
                return r;
        return fwrite(data, 1, len, f) == len ? 0 : -EIO;
}

typedef struct SeedPart {
        const char *role; /* NULL: empty chunk; "=" : literal text */
        int64_t version;
        const char *text;
} SeedPart;

static int write_seed(TestRepo *repo, const char *dir, const char *name, const SeedPart *parts, size_t n) {
        char path[4096];
        FILE *f;
        int r = 0;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (i > 0)
                        fputs(SEPARATOR, f);
                if (parts[i].text)
                        fputs(parts[i].text, f);
                else if (parts[i].role)
                        r = append_published(f, repo, parts[i].role, parts[i].version);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        return r;
}

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

        r = write_seed(repo, dir, "full", full, sizeof(full) / sizeof(full[0]));
        if (r >= 0)
                r = write_seed(repo, dir, "cached", cached, sizeof(cached) / sizeof(cached[0]));
        if (r >= 0)
                r = write_seed(repo, dir, "rollback", rollback, sizeof(rollback) / sizeof(rollback[0]));
        if (r >= 0)
                r = write_seed(repo, dir, "initial", initial, sizeof(initial) / sizeof(initial[0]));
        return r;
}

/* --- libFuzzer -------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *seed_dir = getenv("FUZZ_REFRESH_WRITE_SEEDS");
        const uint8_t *root;
        TestRepo *repo = NULL;
        int r;

        (void) argc;
        (void) argv;
        r = testrepo_new_fixed(&repo);
        if (r < 0)
                die("building the repository", r);
        r = testrepo_published(repo, "root", 1, &root, &initial_root_len);
        if (r < 0)
                die("root", r);
        initial_root = malloc(initial_root_len);
        if (!initial_root)
                die("allocating", -ENOMEM);
        memcpy(initial_root, root, initial_root_len);
        if (seed_dir) {
                r = seed_repository(repo);
                if (r >= 0)
                        r = write_seeds(repo, seed_dir);
                if (r < 0)
                        die("writing seeds", r);
        }
        testrepo_free(repo);
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

        split_input(data, size, chunks);
        make_dirs(chunks);
        cfg.metadata_dir = metadata_dir;
        cfg.target_dir = target_dir;
        r = up_updater_new(&cfg, &u);
        if (r < 0)
                die("the fixed trusted root was refused", r);
        r = up_updater_refresh(u);
        if (r >= 0)
                lookup_and_download(u);
        else if (r == -ENOMEM)
                abort();
        up_updater_free(u);
        remove_dirs();
        return 0;
}
