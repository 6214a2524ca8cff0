/* SPDX-License-Identifier: MIT */
/* A/B slot files: write the inactive slot, check it, switch. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_macro.h"
#include "daemon_state.h"
#include "slot.h"
#include "uptane/hash.h"

#define COPY_CHUNK (256u * 1024u)

const char *slot_path(const SecondaryConfig *c, int i) {
        return i == 0 ? c->slot_a : c->slot_b;
}

/* Copies at most limit bytes of in into a new file at temp, fsync'ed. */
static int copy_file(int in, const char *temp, uint64_t limit) {
        _cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
        _cleanup_close_ int out = -1;
        uint64_t done = 0;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        out = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        while (r >= 0 && done < limit) {
                size_t want = limit - done < COPY_CHUNK ? (size_t) (limit - done) : COPY_CHUNK;
                ssize_t n = read(in, buf, want);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                r = daemon_write_all(out, buf, (size_t) n);
                done += (uint64_t) n;
        }
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        return r;
}

static int hashes_json(const UpDirectorTarget *t, struct json_object **ret) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_hashes; i++) {
                size_t n = up_hash_alg_size(t->hashes[i].alg);
                char hex[2 * UP_HASH_MAX_SIZE + 1];

                for (size_t j = 0; j < n; j++)
                        snprintf(hex + 2 * j, 3, "%02x", t->hashes[i].digest[j]);
                if (json_object_object_add(o, up_hash_alg_name(t->hashes[i].alg), json_object_new_string(hex)) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

/* The new image becomes the installed one in state.json; on failure nothing changed. */
static int switch_slot(SecondaryState *s, const UpDirectorTarget *t, int64_t release_counter, int slot) {
        SecondaryState old = *s;
        struct json_object *hashes = NULL;
        char *name = strdup(t->name), *attacks = strdup("");
        int r;

        r = name && attacks ? hashes_json(t, &hashes) : -ENOMEM;
        if (r >= 0) {
                s->installed_name = name;
                s->installed_length = t->length;
                s->installed_hashes = hashes;
                s->release_counter = release_counter;
                s->active_slot = slot;
                s->attacks = attacks; /* reported until an update installs again */
                r = secondary_state_save(s);
        }
        if (r < 0) {
                *s = old;
                free(name);
                free(attacks);
                json_object_put(hashes);
                return r;
        }
        free(old.installed_name);
        json_object_put(old.installed_hashes);
        free(old.attacks);
        return 0;
}

int slot_install(const SecondaryConfig *c, SecondaryState *s, const UpDirectorTarget *target,
                 int64_t release_counter, const char *path) {
        int inactive = !s->active_slot;
        const char *dest = slot_path(c, inactive);
        _cleanup_free_ char *temp = NULL;
        _cleanup_close_ int in = -1;
        struct stat st;
        int r;

        if ((uint64_t) target->length > c->max_image_size)
                return -EFBIG;
        in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return errno == ELOOP ? -EILSEQ : -errno;
        if (fstat(in, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EILSEQ;
        if (asprintf(&temp, "%s.part", dest) < 0)
                return -ENOMEM;
        /* One byte more than the length, so that a longer image is seen as such. */
        r = copy_file(in, temp, (uint64_t) target->length + 1);
        if (r >= 0)
                r = up_image_verify_file(target, c->serial, c->hardware_id, temp);
        if (r >= 0 && rename(temp, dest) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(temp);
                return r;
        }
        r = daemon_fsync_dir_of(dest);
        if (r >= 0)
                r = switch_slot(s, target, release_counter, inactive);
        return r;
}
