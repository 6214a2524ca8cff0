/* SPDX-License-Identifier: MIT */
/* Choosing a package manager, and what all of them share. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uptane/hash.h"
#include "package_manager.h"
#include "macro.h"

int package_manager_new(const PrimaryConfig *c, PackageManager **ret, char **reterr) {
        switch (c->package_manager) {
        case PACKAGE_MANAGER_FILE:
                return package_manager_file_new(c->file_target_path, ret);
        case PACKAGE_MANAGER_OSTREE:
#ifdef HAVE_OSTREE
                return package_manager_ostree_new(c, ret, reterr);
#else
                if (reterr)
                        *reterr = strdup("[package-manager] type = ostree: not built into this version");
                return -EOPNOTSUPP;
#endif
        default:
                return -EINVAL;
        }
}

PackageManager *package_manager_free(PackageManager *pm) {
        if (pm)
                pm->ops->free(pm);
        return NULL;
}

const char *package_manager_last_error(PackageManager *pm) {
        return pm && pm->ops->last_error ? pm->ops->last_error(pm) : NULL;
}

int package_manager_boot_id(char ret[static 64]) {
        const char *fake = getenv("UPTANE_TEST_BOOT_ID");
        _cleanup_(fclosep) FILE *f = NULL;
        char line[64];
        size_t n;

        if (fake && *fake) {
                snprintf(ret, 64, "%s", fake);
                return 0;
        }
        f = fopen("/proc/sys/kernel/random/boot_id", "re");
        if (!f)
                return -errno;
        if (!fgets(line, sizeof(line), f))
                return -EIO;
        n = strcspn(line, " \n");
        snprintf(ret, 64, "%.*s", (int) n, line);
        return 0;
}

void test_crash_point(const char *name) {
        const char *want = getenv("UPTANE_TEST_CRASH_POINT");

        if (want && strcmp(want, name) == 0)
                (void) raise(SIGKILL);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_sequence(const unsigned char *s) {
        size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;

        if (n == 0 || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4))
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
            (n == 4 && s[0] == 0xF0 && s[1] < 0x90) || (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
                return 0; /* overlong, surrogate, beyond U+10FFFF */
        return n;
}

/* Outcomes go into state.json and the signed manifest, which take UTF-8
 * text only: a package manager's message (or a cut) may not be. */
static void utf8_sanitize(char *s) {
        for (unsigned char *p = (unsigned char *) s; *p;) {
                size_t n = utf8_sequence(p);

                if (n == 0 || (n == 1 && *p < 0x20)) {
                        *p++ = '?';
                        continue;
                }
                p += n;
        }
}

void install_outcome_set(InstallOutcome *o, bool success, const char *code, const char *fmt, ...) {
        va_list ap;

        o->success = success;
        snprintf(o->code, sizeof(o->code), "%s", code);
        va_start(ap, fmt);
        vsnprintf(o->description, sizeof(o->description), fmt, ap);
        va_end(ap);
        utf8_sanitize(o->code);
        utf8_sanitize(o->description);
}

static int hashes_to_json(UpHasher *h, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        for (UpHashAlg alg = 0; alg < _UP_HASH_MAX; alg++) {
                uint8_t digest[UP_HASH_MAX_SIZE];
                char hex[2 * UP_HASH_MAX_SIZE + 1];
                int r = up_hasher_peek(h, alg, digest);

                if (r < 0)
                        return r;
                up_hex_encode(digest, up_hash_alg_size(alg), hex);
                if (json_object_object_add(o, up_hash_alg_name(alg), json_object_new_string(hex)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int hash_file(const char *path, uint64_t *ret_length, struct json_object **ret_hashes) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        UpHasher *h = NULL;
        uint64_t total = 0;
        static __thread uint8_t buf[256 * 1024];
        int r;

        if (fd < 0)
                return -errno;
        r = up_hasher_new(&h);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0) {
                        r = hashes_to_json(h, ret_hashes);
                        break;
                }
                r = up_hasher_update(h, buf, (size_t) n);
                if (r < 0)
                        break;
                total += (uint64_t) n;
        }
        up_hasher_free(h);
        if (r >= 0)
                *ret_length = total;
        return r;
}
