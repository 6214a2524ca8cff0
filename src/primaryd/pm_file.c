/* SPDX-License-Identifier: MIT */
/*
 * The file package manager: the Primary's image is one file at a configured
 * path. Installing writes the new image next to it and renames it into place
 * (readers see the old or the new image, never a mix, also after a crash),
 * keeping the previous one as PATH.previous.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/hash.h"
#include "daemon_state.h"
#include "package_manager.h"
#include "macro.h"

typedef struct FilePackageManager {
        PackageManager pm;
        char *path;
} FilePackageManager;

#define COPY_BLOCK (1024 * 1024)

static int copy_fd(int in, int out) {
        _cleanup_free_ uint8_t *buf = malloc(COPY_BLOCK);
        int r;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(in, buf, COPY_BLOCK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                r = daemon_write_all(out, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

/* Copies src to dst through dst.new: fsync, rename, fsync of the directory. */
static int copy_atomic(const char *src, const char *dst) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int in = -1, out = -1;
        int r;

        if (asprintf(&tmp, "%s.new", dst) < 0)
                return -ENOMEM;
        in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (out < 0)
                return -errno;
        r = copy_fd(in, out);
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, dst) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return daemon_fsync_dir_of(dst);
}

/* The download is already on disk (fsync'ed when it was verified): on the
 * same file system a rename puts it in place at no cost, atomically. */
static int move_or_copy(const char *src, const char *dst) {
        _cleanup_free_ char *copy = strdup(dst);

        if (!copy)
                return -ENOMEM;
        /* First install: the directory may not exist yet. */
        if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST)
                return -errno;
        if (rename(src, dst) == 0)
                return daemon_fsync_dir_of(dst);
        if (errno != EXDEV)
                return -errno;
        return copy_atomic(src, dst);
}

/* PATH -> PATH.previous by a hard link, so that PATH itself never disappears. */
static int keep_previous(const char *path) {
        _cleanup_free_ char *prev = NULL, *tmp = NULL;

        if (access(path, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (asprintf(&prev, "%s.previous", path) < 0 || asprintf(&tmp, "%s.previous.new", path) < 0)
                return -ENOMEM;
        (void) unlink(tmp);
        if (link(path, tmp) < 0)
                return -errno;
        if (rename(tmp, prev) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int file_factory_image(PackageManager *pm, char **ret_name, uint64_t *ret_length,
                              struct json_object **ret_hashes) {
        FilePackageManager *f = (FilePackageManager *) pm;
        _cleanup_free_ char *copy = strdup(f->path);
        char *name;
        int r;

        if (!copy)
                return -ENOMEM;
        r = hash_file(f->path, ret_length, ret_hashes);
        if (r == -ENOENT) { /* nothing installed yet: an empty image */
                uint8_t empty = 0;
                char hex[2 * UP_HASH_MAX_SIZE + 1];
                struct json_object *o = json_object_new_object();

                if (!o)
                        return -ENOMEM;
                for (UpHashAlg alg = 0; alg < _UP_HASH_MAX; alg++) {
                        uint8_t digest[UP_HASH_MAX_SIZE];
                        (void) up_hash_buffer(alg, &empty, 0, digest);
                        up_hex_encode(digest, up_hash_alg_size(alg), hex);
                        json_object_object_add(o, up_hash_alg_name(alg), json_object_new_string(hex));
                }
                *ret_hashes = o;
                *ret_length = 0;
                r = 0;
        }
        if (r < 0)
                return r;
        name = strdup(basename(copy));
        if (!name) {
                json_object_put(*ret_hashes);
                return -ENOMEM;
        }
        *ret_name = name;
        return 0;
}

static int file_install(PackageManager *pm, const UpDirectorTarget *t, const char *image_path, InstallOutcome *ret) {
        FilePackageManager *f = (FilePackageManager *) pm;
        int r;

        r = keep_previous(f->path);
        if (r >= 0)
                r = move_or_copy(image_path, f->path);
        if (r < 0)
                install_outcome_set(ret, false, "INSTALL_FAILED", "writing %s to %s: %s", t->name, f->path,
                                    strerror(-r));
        else
                install_outcome_set(ret, true, "OK", "%s written to %s", t->name, f->path);
        return 0;
}

/* The rename either happened (the file has the pending hashes) or not. */
static int file_finalize(PackageManager *pm, const ImageRecord *pending, InstallOutcome *ret) {
        FilePackageManager *f = (FilePackageManager *) pm;
        _cleanup_json_ struct json_object *hashes = NULL;
        struct json_object *want;
        uint64_t length;
        int r;

        r = hash_file(f->path, &length, &hashes);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT || length != pending->length ||
            !json_object_object_get_ex(pending->hashes, "sha256", &want))
                return -EAGAIN;
        json_object_object_foreach(hashes, alg, hex) {
                struct json_object *w;
                if (json_object_object_get_ex(pending->hashes, alg, &w) &&
                    strcasecmp(json_object_get_string(w), json_object_get_string(hex)) != 0)
                        return -EAGAIN;
        }
        install_outcome_set(ret, true, "OK", "%s written to %s (finished after a restart)", pending->name, f->path);
        return 0;
}

static void file_free(PackageManager *pm) {
        FilePackageManager *f = (FilePackageManager *) pm;

        free(f->path);
        free(f);
}

static const PackageManagerOps file_ops = {
        .name = "file",
        .factory_image = file_factory_image,
        .install = file_install,
        .finalize = file_finalize,
        .free = file_free,
};

int package_manager_file_new(const char *target_path, PackageManager **ret) {
        FilePackageManager *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        f->pm.ops = &file_ops;
        f->path = strdup(target_path);
        if (!f->path) {
                free(f);
                return -ENOMEM;
        }
        *ret = &f->pm;
        return 0;
}
