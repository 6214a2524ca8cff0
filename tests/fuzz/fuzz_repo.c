/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_repo.h"

static uint8_t *initial_root;
static size_t initial_root_len;

void fuzz_die(const char *what, int r) {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(r < 0 ? -r : r));
        abort();
}

/* --- Input --------------------------------------------------------------- */

void fuzz_split_input(const uint8_t *data, size_t size, FuzzChunk *chunks, size_t n_chunks) {
        const size_t sep_len = strlen(FUZZ_SEPARATOR);
        size_t n = 0;

        memset(chunks, 0, sizeof(FuzzChunk) * n_chunks);
        while (n < n_chunks) {
                const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, sep_len);

                chunks[n].data = data;
                chunks[n].len = sep ? (size_t) (sep - data) : size;
                n++;
                if (!sep)
                        break;
                size -= (size_t) (sep - data) + sep_len;
                data = sep + sep_len;
        }
}

/* --- Initializer ------------------------------------------------------------ */

void fuzz_repo_init(const char *seed_env, int (*seed_repository)(TestRepo *repo),
                    int (*write_seeds)(TestRepo *repo, const char *dir)) {
        const char *seed_dir = getenv(seed_env);
        const uint8_t *root;
        TestRepo *repo = NULL;
        int r;

        r = testrepo_new_fixed(&repo);
        if (r < 0)
                fuzz_die("building the repository", r);
        r = testrepo_published(repo, "root", 1, &root, &initial_root_len);
        if (r < 0)
                fuzz_die("root", r);
        initial_root = malloc(initial_root_len);
        if (!initial_root)
                fuzz_die("allocating", -ENOMEM);
        memcpy(initial_root, root, initial_root_len);
        if (seed_dir) {
                r = seed_repository(repo);
                if (r >= 0)
                        r = write_seeds(repo, seed_dir);
                if (r < 0)
                        fuzz_die("writing seeds", r);
        }
        testrepo_free(repo);
}

/* --- Directories ------------------------------------------------------------ */

void fuzz_make_dirs(const char *prefix, char work_dir[64], char metadata_dir[80]) {
        char template[64];
        int r;

        if (snprintf(template, sizeof(template), "/tmp/%s-XXXXXX", prefix) < 0)
                fuzz_die("snprintf", -EINVAL);
        if (!mkdtemp(template))
                fuzz_die("mkdtemp", -errno);
        if (snprintf(work_dir, 64, "%s", template) < 0 ||
            snprintf(metadata_dir, 80, "%s/metadata", template) < 0)
                fuzz_die("snprintf", -EINVAL);
        r = testrepo_mkdir_p(metadata_dir);
        if (r >= 0)
                r = testrepo_write_file(metadata_dir, "root.json", initial_root, initial_root_len);
        if (r < 0)
                fuzz_die("preparing the directories", r);
}

void fuzz_remove_dirs(const char *work_dir) {
        int r = testrepo_rm_rf(work_dir);

        if (r < 0)
                fuzz_die("removing the directories", r);
}

/* --- Seeds ---------------------------------------------------------------------- */

int fuzz_write_seed(TestRepo *repo, const char *dir, const char *name, const FuzzSeedPart *parts, size_t n) {
        char path[4096];
        FILE *f;
        int r = 0;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const uint8_t *data;
                size_t len;

                if (i > 0)
                        fputs(FUZZ_SEPARATOR, f);
                if (parts[i].text)
                        fputs(parts[i].text, f);
                else if (parts[i].role) {
                        r = testrepo_published(repo, parts[i].role, parts[i].version, &data, &len);
                        if (r >= 0 && fwrite(data, 1, len, f) != len)
                                r = -EIO;
                }
        }
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        return r;
}
