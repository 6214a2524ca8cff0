/* SPDX-License-Identifier: MIT */
/* Files written so that a crash leaves the old or the new content, never a mix. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "uptane/storage.h"
#include "util.h"

static int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = -1;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int up_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode) {
        _cleanup_free_ char *tmp = NULL, *dst = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!dir || !name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        /* The temp name does not end in ".json": readers of the directory
         * never mistake it for trusted metadata. */
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0 || asprintf(&dst, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, dst) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return fsync_dir(dir);
}

int up_read_file(const char *path, size_t max_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((uint64_t) st.st_size > max_len)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* Read one byte more than expected: the file may have grown. */
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > (size_t) st.st_size)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int up_read_file_at(const char *dir, const char *name, size_t max_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return up_read_file(path, max_len, ret, ret_len);
}
