/* SPDX-License-Identifier: MIT */
/*
 * The Director decides which image each ECU gets; the Image repository,
 * whose keys are offline, vouches for what the image is. A Director entry is
 * only believed when the Image repository lists the same name with the same
 * length and hashes, for the same hardware, with the same release counter
 * (Uptane 2.1 §5.4.4.2 step 10). Then the ECU checks the bytes against the
 * Director's entry for its own serial (§5.4.3.4).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uptane/error.h"
#include "uptane/verification.h"
#include "util.h"

#define READ_CHUNK (64u * 1024u)

static void target_info_freep(UpTargetInfo **t) {
        up_target_info_free(*t);
}

static void hasher_freep(UpHasher **h) {
        up_hasher_free(*h);
}

static struct json_object *member(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const UpImageHash *find_hash(const UpDirectorTarget *d, UpHashAlg alg) {
        for (size_t i = 0; i < d->n_hashes; i++)
                if (d->hashes[i].alg == alg)
                        return &d->hashes[i];
        return NULL;
}

static const UpEcuImage *find_ecu(const UpDirectorTarget *d, const char *serial) {
        for (size_t i = 0; i < d->n_ecus; i++)
                if (streq(d->ecus[i].serial, serial))
                        return &d->ecus[i];
        return NULL;
}

/* Length and the very same set of hashes: a hash only one side lists would
 * be checked by nobody the other side trusts. */
static int match_file_info(const UpDirectorTarget *d, const UpTargetInfo *image) {
        UpImageHash hashes[_UP_HASH_MAX];
        size_t n;
        int r;

        if (image->length != d->length)
                return -UP_ERR_HASH;
        r = up_image_hashes_parse(image->hashes, hashes, &n);
        if (r == -UP_ERR_UNSUPPORTED)
                return -UP_ERR_HASH; /* an algorithm the Director's entry cannot list */
        if (r < 0)
                return r;
        if (n != d->n_hashes)
                return -UP_ERR_HASH;
        for (size_t i = 0; i < n; i++) {
                const UpImageHash *h = find_hash(d, hashes[i].alg);

                if (!h || !up_memeq(h->digest, hashes[i].digest, up_hash_alg_size(h->alg)))
                        return -UP_ERR_HASH;
        }
        return 0;
}

static bool json_string_is(struct json_object *v, const char *s) {
        return json_object_is_type(v, json_type_string) && (size_t) json_object_get_string_len(v) == strlen(s) &&
               memcmp(json_object_get_string(v), s, strlen(s)) == 0;
}

/* The image's custom.hardwareIds lists hw. An image that lists no hardware
 * fits none: the Director cannot make it fit by naming one. */
static int hardware_listed(const UpTargetInfo *image, const char *hw) {
        struct json_object *ids = member(image->custom, "hardwareIds");
        bool found = false;
        size_t n;

        if (!ids)
                return -UP_ERR_HARDWARE;
        if (!json_object_is_type(ids, json_type_array))
                return -UP_ERR_MALFORMED;
        n = json_object_array_length(ids);
        for (size_t i = 0; i < n; i++) {
                struct json_object *v = json_object_array_get_idx(ids, i);

                if (!json_object_is_type(v, json_type_string))
                        return -UP_ERR_MALFORMED;
                found = found || json_string_is(v, hw);
        }
        return found ? 0 : -UP_ERR_HARDWARE;
}

static int match_hardware(const UpDirectorTarget *d, const UpTargetInfo *image) {
        for (size_t i = 0; i < d->n_ecus; i++) {
                int r = hardware_listed(image, d->ecus[i].hardware_id);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* The counter both sides agree on (-1: none). The Director may leave it out
 * (then the Image repository's counts), but may not claim one the Image
 * repository does not sign. */
static int match_release_counter(const UpDirectorTarget *d, const UpTargetInfo *image, int64_t *ret) {
        struct json_object *v = member(image->custom, "releaseCounter");
        int64_t counter = -1;

        if (v) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                        return -UP_ERR_MALFORMED;
                counter = json_object_get_int64(v);
        }
        if (d->release_counter >= 0 && d->release_counter != counter)
                return -UP_ERR_MIX_AND_MATCH;
        *ret = counter;
        return 0;
}

/* An image without counter counts as 0: dropping the counter must not be a
 * way around the rollback check. */
static int check_counter(int64_t counter, int64_t previous) {
        if (previous >= 0 && (counter < 0 ? 0 : counter) < previous)
                return -UP_ERR_ROLLBACK;
        return 0;
}

static int check_previous(const UpDirectorTarget *d, int64_t counter, const UpEcuCounter *previous,
                          size_t n_previous) {
        for (size_t i = 0; i < n_previous; i++) {
                int r;

                if (!previous[i].ecu_serial || !find_ecu(d, previous[i].ecu_serial))
                        continue;
                r = check_counter(counter, previous[i].release_counter);
                if (r < 0)
                        return r;
        }
        return 0;
}

int up_image_match_entry(const UpDirectorTarget *d, const UpTargetInfo *image, const UpEcuCounter *previous,
                         size_t n_previous) {
        int64_t counter;
        int r;

        if (!d || !image || (!previous && n_previous > 0))
                return -EINVAL;
        if (!image->path || !streq(image->path, d->name))
                return -UP_ERR_NOT_FOUND; /* §5.4.4.2 step 10.1: exactly the same name */
        r = match_file_info(d, image);
        if (r < 0)
                return r;
        r = match_hardware(d, image);
        if (r < 0)
                return r;
        r = match_release_counter(d, image, &counter);
        if (r < 0)
                return r;
        return check_previous(d, counter, previous, n_previous);
}

int up_image_match_target(UpUpdater *image_repo, const UpDirectorTarget *d, const UpEcuCounter *previous,
                          size_t n_previous, UpTargetInfo **ret_image) {
        _cleanup_(target_info_freep) UpTargetInfo *info = NULL;
        int r;

        if (!image_repo || !d)
                return -EINVAL;
        /* The updater's search honours delegation order and terminating
         * delegations (§5.4.4.7): -ENOENT when no role may list the name. */
        r = up_updater_get_target_info(image_repo, d->name, &info);
        if (r < 0)
                return r;
        r = up_image_match_entry(d, info, previous, n_previous);
        if (r < 0)
                return r;
        if (ret_image)
                *ret_image = TAKE_PTR(info);
        return 0;
}

int up_image_match_all(UpUpdater *image_repo, const UpDirectorTargets *t, const UpEcuCounter *previous,
                       size_t n_previous) {
        if (!image_repo || !t)
                return -EINVAL;
        for (size_t i = 0; i < t->n_targets; i++) {
                int r = up_image_match_target(image_repo, &t->targets[i], previous, n_previous, NULL);

                if (r < 0)
                        return r;
        }
        return 0;
}

int up_image_check_ecu(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                       int64_t previous_counter) {
        const UpEcuImage *e;

        if (!d || !ecu_serial || !hardware_id)
                return -EINVAL;
        e = find_ecu(d, ecu_serial);
        if (!e)
                return -UP_ERR_NOT_FOUND;
        if (!streq(e->hardware_id, hardware_id))
                return -UP_ERR_HARDWARE;
        return check_counter(d->release_counter, previous_counter);
}

int up_image_verify_hasher(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                           UpHasher *h, uint64_t length) {
        int r;

        if (!h)
                return -EINVAL;
        r = up_image_check_ecu(d, ecu_serial, hardware_id, -1);
        if (r < 0)
                return r;
        /* §5.4.3.4 steps 7-8: every hash and the length (d has >= 1 hash). */
        if (d->length < 0 || length != (uint64_t) d->length)
                return -UP_ERR_HASH;
        for (size_t i = 0; i < d->n_hashes; i++) {
                uint8_t digest[UP_HASH_MAX_SIZE];

                r = up_hasher_peek(h, d->hashes[i].alg, digest);
                if (r < 0)
                        return r;
                if (!up_memeq(digest, d->hashes[i].digest, up_hash_alg_size(d->hashes[i].alg)))
                        return -UP_ERR_HASH;
        }
        return 0;
}

/* Hashes the file, stopping one byte past the expected length: an endless
 * file is refused without being read to its end. */
static int hash_fd(int fd, uint64_t max, UpHasher *h, uint64_t *ret_len) {
        _cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
        uint64_t total = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t want = (size_t) (max - total < READ_CHUNK ? max - total : READ_CHUNK);
                ssize_t n;
                int r;

                if (want == 0)
                        break;
                n = read(fd, buf, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                r = up_hasher_update(h, buf, (size_t) n);
                if (r < 0)
                        return r;
                total += (uint64_t) n;
        }
        *ret_len = total;
        return 0;
}

int up_image_verify_file(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                         const char *path) {
        _cleanup_(hasher_freep) UpHasher *h = NULL;
        _cleanup_close_ int fd = -1;
        uint64_t len;
        int r;

        if (!path)
                return -EINVAL;
        /* Hardware first: the wrong ECU's image is not worth reading. */
        r = up_image_check_ecu(d, ecu_serial, hardware_id, -1);
        if (r < 0)
                return r;
        if (d->length < 0)
                return -UP_ERR_HASH;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        r = up_hasher_new(&h);
        if (r < 0)
                return r;
        r = hash_fd(fd, (uint64_t) d->length + 1, h, &len);
        if (r < 0)
                return r;
        return up_image_verify_hasher(d, ecu_serial, hardware_id, h, len);
}
