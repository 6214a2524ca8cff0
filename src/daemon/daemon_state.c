/* SPDX-License-Identifier: MIT */
/* What both daemons do with their state directory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/json.h"
#include "uptane/storage.h"
#include "daemon_macro.h"
#include "daemon_state.h"

#define KEY_FILE "ecu.key"
#define ROOT_MAX_BYTES (16u * 1024u * 1024u)

int daemon_error(char **reterr, int r, const char *fmt, ...) {
        va_list ap;

        if (!reterr)
                return r;
        free(*reterr);
        *reterr = NULL;
        va_start(ap, fmt);
        if (vasprintf(reterr, fmt, ap) < 0)
                *reterr = NULL;
        va_end(ap);
        return r;
}

int daemon_write_all(int fd, const void *data, size_t n) {
        const uint8_t *p = data;

        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int daemon_fsync_dir_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int daemon_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int daemon_install_initial_root(const char *dir, const char *repo, const char *root_path, char **reterr) {
        _cleanup_free_ char *existing = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        if (asprintf(&existing, "%s/root.json", dir) < 0)
                return -ENOMEM;
        if (access(existing, F_OK) == 0)
                return 0;
        r = up_read_file(root_path, ROOT_MAX_BYTES, &data, &len);
        if (r < 0)
                return daemon_error(reterr, r, "cannot read the initial %s%sroot %s: %s", repo ?: "", repo ? " " : "",
                                    root_path, strerror(-r));
        r = up_write_file_atomic(dir, "root.json", data, len, 0600);
        if (r < 0)
                return daemon_error(reterr, r, "cannot store %s: %s", existing, strerror(-r));
        return 0;
}

int daemon_load_json_object(const char *dir, const char *name, size_t max_bytes, struct json_object **ret,
                            char **reterr) {
        UpJsonLimits limits = UP_JSON_LIMITS_DEFAULT;
        _cleanup_free_ uint8_t *data = NULL;
        struct json_object *doc;
        size_t len;
        int r;

        r = up_read_file_at(dir, name, max_bytes, &data, &len);
        if (r == -ENOENT) {
                *ret = json_object_new_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return daemon_error(reterr, r, "cannot read %s/%s: %s", dir, name, strerror(-r));
        r = up_json_parse(data, len, &limits, &doc);
        if (r < 0 || !json_object_is_type(doc, json_type_object)) {
                if (r >= 0)
                        json_object_put(doc);
                return daemon_error(reterr, -EBADMSG, "%s/%s is not a JSON object: move it away to start afresh", dir,
                                    name);
        }
        *ret = doc;
        return 0;
}

int daemon_load_public_key(const char *path, size_t max_bytes, UpKey **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        UpJsonLimits limits = UP_JSON_LIMITS_DEFAULT;
        size_t len;
        int r;

        r = up_read_file(path, max_bytes, &data, &len);
        if (r >= 0)
                r = up_json_parse(data, len, &limits, &doc);
        if (r >= 0)
                r = up_key_from_json(doc, ret);
        return r;
}

int daemon_load_or_create_key(const char *dir, UpKey **ret, bool *ret_created, char **reterr) {
        _cleanup_free_ char *path = NULL;
        UpKey *key;
        int r;

        if (asprintf(&path, "%s/%s", dir, KEY_FILE) < 0)
                return -ENOMEM;
        r = up_key_load_private(path, &key);
        if (r >= 0) {
                *ret = key;
                *ret_created = false;
                return 0;
        }
        if (r != -ENOENT)
                return daemon_error(reterr, r, "cannot load the ECU key %s: %s", path, strerror(-r));
        r = up_key_generate(UP_SCHEME_ED25519, &key);
        if (r < 0)
                return daemon_error(reterr, r, "cannot create the ECU key %s: %s", path, strerror(-r));
        r = up_key_save_private(key, path); /* 0600, atomic */
        if (r < 0) {
                up_key_unref(key);
                return daemon_error(reterr, r, "cannot create the ECU key %s: %s", path, strerror(-r));
        }
        *ret = key;
        *ret_created = true;
        return 0;
}
