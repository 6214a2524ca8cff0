/* SPDX-License-Identifier: MIT */
/*
 * up_metadata_parse() for each role type, then up_metadata_verify() against
 * the keys of a fixed root (testrepo_new_fixed()) and the accessors of the
 * role. The first input byte selects the role (byte % 4: '0' root,
 * '1' timestamp, '2' snapshot, '3' targets); the rest is the document.
 *
 * With FUZZ_METADATA_WRITE_SEEDS=DIR in the environment, the initializer
 * writes seed inputs to DIR (see tests/fuzz/corpus/metadata/).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static UpMetadata *fixed_root;

static const char *const probe_paths[] = { "file.txt", "dir/file.txt", "a/b/c", "", "releases/v1/image.bin" };

static void die(const char *what, int r) {
        fprintf(stderr, "fuzz_metadata: %s: %s\n", what, strerror(r < 0 ? -r : r));
        abort();
}

/* --- Seeds ------------------------------------------------------------------ */

static int write_seed(TestRepo *repo, const char *dir, const char *role, char selector) {
        const uint8_t *data;
        char path[4096];
        size_t len;
        FILE *f;
        int r;

        r = testrepo_published(repo, role, -1, &data, &len);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/%s", dir, role);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fputc(selector, f);
        fwrite(data, 1, len, f);
        return fclose(f) == 0 ? 0 : -errno;
}

/* A targets role with both kinds of delegations, a target with custom data. */
static int add_seed_content(TestRepo *repo) {
        static const char *const prefixes[] = { "8f", "0a1" };
        struct json_object *targets, *entry;
        int r;

        r = testrepo_add_target(repo, "targets", "dir/file.txt", "data", 4);
        if (r < 0)
                return r;
        targets = testrepo_signed(repo, "targets");
        json_object_object_get_ex(targets, "targets", &targets);
        json_object_object_get_ex(targets, "dir/file.txt", &entry);
        json_object_object_add(entry, "custom", json_object_new_object());
        r = testrepo_add_delegation(repo, "targets", "role1", true, 1, "dir/*", "*.txt", NULL);
        if (r >= 0)
                r = testrepo_add_delegation_hash_prefixes(repo, "targets", "bins", false, 1, prefixes, 2);
        if (r >= 0)
                r = testrepo_publish(repo, "targets");
        if (r >= 0)
                r = testrepo_update_snapshot(repo);
        return r;
}

static int write_seeds(TestRepo *repo, const char *dir) {
        static const char *const roles[] = { "root", "timestamp", "snapshot", "targets" };
        int r;

        r = add_seed_content(repo);
        for (size_t i = 0; r >= 0 && i < 4; i++)
                r = write_seed(repo, dir, roles[i], (char) ('0' + i));
        return r;
}

/* --- libFuzzer -------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *seed_dir = getenv("FUZZ_METADATA_WRITE_SEEDS");
        const uint8_t *root;
        TestRepo *repo = NULL;
        size_t len;
        int r;

        (void) argc;
        (void) argv;
        r = testrepo_new_fixed(&repo);
        if (r >= 0)
                r = testrepo_published(repo, "root", 1, &root, &len);
        if (r >= 0)
                r = up_metadata_parse(root, len, UP_ROLE_ROOT, &fixed_root);
        if (r < 0)
                die("the fixed root", r);
        if (seed_dir) {
                r = write_seeds(repo, seed_dir);
                if (r < 0)
                        die("writing seeds", r);
        }
        testrepo_free(repo);
        return 0;
}

static void probe_timestamp(const UpMetadata *m) {
        const UpMetaFile *mf = up_timestamp_snapshot_meta(m);

        if (mf->version < 1)
                abort();
}

static void probe_snapshot(const UpMetadata *m) {
        size_t n = up_snapshot_n_meta(m);

        for (size_t i = 0; i < n; i++) {
                UpMetaFile mf;
                const char *name;

                if (up_snapshot_meta_at(m, i, &name, &mf) < 0 || mf.version < 1)
                        abort(); /* every entry was checked by the parser */
        }
        (void) up_snapshot_get_meta(m, "targets", &(UpMetaFile) {});
}

static void probe_targets(const UpMetadata *m) {
        const UpKeyring *ring = up_targets_delegation_keyring(m);
        size_t n = up_targets_n_delegations(m);
        UpTargetFile tf;

        (void) up_targets_count(m);
        for (size_t i = 0; i < sizeof(probe_paths) / sizeof(probe_paths[0]); i++)
                if (up_targets_get(m, probe_paths[i], &tf) >= 0 && tf.length < 0)
                        abort();
        for (size_t i = 0; i < n; i++) {
                const UpDelegatedRole *d = up_targets_delegation_at(m, i);

                if (!d || !ring || (d->paths == NULL) == (d->path_hash_prefixes == NULL))
                        abort(); /* exactly one of paths and path_hash_prefixes */
                if (up_targets_find_delegation(m, d->name) != d)
                        abort(); /* names are unique */
                for (size_t j = 0; j < sizeof(probe_paths) / sizeof(probe_paths[0]); j++)
                        (void) up_delegated_role_matches(d, probe_paths[j]);
                (void) up_metadata_verify(m, ring, &d->keys);
        }
}

static void probe_root(const UpMetadata *m) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++) {
                const UpRoleKeys *rk = up_root_role(m, t);

                if (!rk || rk->threshold < 1)
                        abort();
                (void) up_root_role_changed(fixed_root, m, t);
        }
        (void) up_metadata_verify(m, up_root_keyring(m), up_root_role(m, UP_ROLE_ROOT));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UpMetadata *m = NULL;
        UpRoleType type;
        int r;

        if (size < 1)
                return 0;
        type = (UpRoleType) (data[0] % _UP_ROLE_MAX);
        r = up_metadata_parse(data + 1, size - 1, type, &m);
        if (r < 0)
                return 0;
        if (up_metadata_type(m) != type || up_metadata_version(m) < 1 || !up_metadata_signed(m))
                abort();
        (void) up_metadata_is_expired(m, TESTREPO_NOW);
        (void) up_metadata_verify(m, up_root_keyring(fixed_root), up_root_role(fixed_root, type));
        switch (type) {
        case UP_ROLE_ROOT:      probe_root(m); break;
        case UP_ROLE_TIMESTAMP: probe_timestamp(m); break;
        case UP_ROLE_SNAPSHOT:  probe_snapshot(m); break;
        default:                probe_targets(m); break;
        }
        up_metadata_unref(m);
        return 0;
}
