/* SPDX-License-Identifier: MIT */
/*
 * A Secondary's partial verification (up_secondary_partial_verification())
 * over files from the fuzzer, as a compromised Primary would send them. The
 * Secondary starts from a fixed, valid Director root (testrepo_new_fixed()),
 * so that inputs made from the seeds get past the signature checks into the
 * version, expiry and Uptane checks; when a target comes out, the image is
 * checked against it too.
 *
 * The input is split at "\n--\n" into chunks:
 *   0  received targets.json
 *   1  received 2.root.json   (3.root.json and later are never sent)
 *   2  the stored targets.json in the Secondary's metadata directory
 *   3  the image for up_image_verify_file()
 * An empty or missing chunk is "not sent" (or no stored file).
 *
 * The Secondary is ECU "ecu-1" with hardware id "hw-1" in vehicle
 * "VIN-FUZZ", previous release counter 2.
 *
 * With FUZZ_SECONDARY_WRITE_SEEDS=DIR in the environment, the initializer
 * writes seed inputs to DIR (see tests/fuzz/corpus/secondary/).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_repo.h"
#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/secondary.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CHUNKS 4
#define SERIAL "ecu-1"
#define HARDWARE "hw-1"
#define VIN "VIN-FUZZ"
#define IMAGE_DATA "image for hw-1\n"

enum {
        CHUNK_TARGETS,
        CHUNK_ROOT2,
        CHUNK_STORED_TARGETS,
        CHUNK_IMAGE,
};

typedef FuzzChunk Chunk;

static char work_dir[64], metadata_dir[80], received_dir[80], image_path[80];

/* --- Directories ------------------------------------------------------------ */

/* A fresh temp dir per input (fuzz_make_dirs()). */
static void make_dirs(const Chunk chunks[N_CHUNKS]) {
        int r;

        fuzz_make_dirs("fuzz_secondary", work_dir, metadata_dir);
        if (snprintf(received_dir, sizeof(received_dir), "%s/received", work_dir) < 0 ||
            snprintf(image_path, sizeof(image_path), "%s/image", work_dir) < 0)
                fuzz_die("snprintf", -EINVAL);
        r = testrepo_mkdir_p(received_dir);
        if (r >= 0 && chunks[CHUNK_TARGETS].len > 0)
                r = testrepo_write_file(received_dir, "targets.json", chunks[CHUNK_TARGETS].data,
                                        chunks[CHUNK_TARGETS].len);
        if (r >= 0 && chunks[CHUNK_ROOT2].len > 0)
                r = testrepo_write_file(received_dir, "2.root.json", chunks[CHUNK_ROOT2].data,
                                        chunks[CHUNK_ROOT2].len);
        if (r >= 0 && chunks[CHUNK_STORED_TARGETS].len > 0)
                r = testrepo_write_file(metadata_dir, "targets.json", chunks[CHUNK_STORED_TARGETS].data,
                                        chunks[CHUNK_STORED_TARGETS].len);
        if (r >= 0)
                r = testrepo_write_file(work_dir, "image", chunks[CHUNK_IMAGE].data, chunks[CHUNK_IMAGE].len);
        if (r < 0)
                fuzz_die("preparing the directories", r);
}

/* --- Seeds ---------------------------------------------------------------------- */

typedef FuzzSeedPart SeedPart;

static int add_entry(TestRepo *repo, const char *serial, int64_t counter) {
        struct json_object *targets, *entry, *custom, *ecus, *ecu;
        int r;

        r = testrepo_add_target(repo, "targets", "fw.bin", IMAGE_DATA, strlen(IMAGE_DATA));
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(testrepo_signed(repo, "targets"), "targets", &targets) ||
            !json_object_object_get_ex(targets, "fw.bin", &entry))
                return -ENOENT;
        custom = json_object_new_object();
        ecus = json_object_new_object();
        ecu = json_object_new_object();
        if (!custom || !ecus || !ecu) {
                json_object_put(custom);
                json_object_put(ecus);
                json_object_put(ecu);
                return -ENOMEM;
        }
        json_object_object_add(ecu, "hardwareId", json_object_new_string(HARDWARE));
        json_object_object_add(ecus, serial, ecu);
        json_object_object_add(custom, "ecuIdentifiers", ecus);
        json_object_object_add(custom, "releaseCounter", json_object_new_int64(counter));
        json_object_object_add(entry, "custom", custom);
        return 0;
}

/* targets v2: fw.bin for ecu-1 (counter 3); v3: for another ECU; v4 after
 * root v2, which rotates the targets key. */
static int seed_repository(TestRepo *repo) {
        struct json_object *custom = json_object_new_object();
        int r;

        if (!custom)
                return -ENOMEM;
        json_object_object_add(custom, "vin", json_object_new_string(VIN));
        json_object_object_add(testrepo_signed(repo, "targets"), "custom", custom);
        r = add_entry(repo, SERIAL, 3);
        if (r >= 0)
                r = testrepo_publish(repo, "targets");
        if (r >= 0)
                r = add_entry(repo, "ecu-2", 3);
        if (r >= 0)
                r = testrepo_publish(repo, "targets");
        if (r >= 0)
                r = add_entry(repo, SERIAL, 4);
        if (r >= 0)
                r = testrepo_rotate_keys(repo, "targets");
        if (r >= 0)
                r = testrepo_publish(repo, "root");
        if (r >= 0)
                r = testrepo_publish(repo, "targets");
        return r;
}

static int write_seeds(TestRepo *repo, const char *dir) {
        const SeedPart ok[] = { { "targets", 2 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0, IMAGE_DATA } };
        const SeedPart other[] = { { "targets", 3 }, { NULL, 0 }, { "targets", 2 } };
        const SeedPart rollback[] = { { "targets", 2 }, { NULL, 0 }, { "targets", 3 } };
        const SeedPart rotation[] = { { "targets", 4 }, { "root", 2 }, { "targets", 3 }, { NULL, 0, IMAGE_DATA } };
        int r;

        r = fuzz_write_seed(repo, dir, "ok", ok, sizeof(ok) / sizeof(ok[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "other-ecu", other, sizeof(other) / sizeof(other[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "rollback", rollback, sizeof(rollback) / sizeof(rollback[0]));
        if (r >= 0)
                r = fuzz_write_seed(repo, dir, "rotation", rotation, sizeof(rotation) / sizeof(rotation[0]));
        return r;
}

/* --- libFuzzer -------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        fuzz_repo_init("FUZZ_SECONDARY_WRITE_SEEDS", seed_repository, write_seeds);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Chunk chunks[N_CHUNKS];
        UpSecondaryConfig cfg = {
                .ecu_serial = SERIAL,
                .hardware_id = HARDWARE,
                .vin = VIN,
                .previous_release_counter = 2,
                .now = TESTREPO_NOW,
                .max_root_rotations = 4,
                .root_max_length = 64u * 1024u,
                .director_targets_max_length = 256u * 1024u,
        };
        UpFullVerificationError err = {};
        UpSecondaryVerification *res = NULL;
        int r;

        fuzz_split_input(data, size, chunks, N_CHUNKS);
        make_dirs(chunks);
        cfg.director.metadata_dir = metadata_dir;
        cfg.director.received_dir = received_dir;
        r = up_secondary_partial_verification(&cfg, &res, &err);
        if (r == -ENOMEM)
                abort();
        if (r < 0 && (err.error != r || !err.message))
                abort(); /* every failure says why */
        if (r >= 0 && res->target)
                (void) up_image_verify_file(res->target, SERIAL, HARDWARE, image_path);
        up_secondary_verification_free(res);
        up_full_verification_error_done(&err);
        fuzz_remove_dirs(work_dir);
        return 0;
}
