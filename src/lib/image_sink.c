/* SPDX-License-Identifier: MIT */
/* The image sink: a download's file, hashes, length and resume, without a transport. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "uptane/download.h"
#include "uptane/error.h"
#include "util.h"

#define READ_CHUNK     (256u * 1024u)
#define DEFAULT_MARGIN (1024u * 1024u)

struct UpImageSink {
        int dir_fd, fd;
        char *part;             /* "NAME.part" */
        char *name;
        UpImageExpected expected;
        UpImageHash *hashes;    /* expected.hashes, owned */
        UpHasher *hasher;
        uint64_t done;          /* bytes of the .part, all hashed */
        int error;              /* a failed sink: returned by every later call */
        bool locked;            /* the .part is ours (flock) */
        bool discard;           /* the .part is not a prefix of the image */
        bool committed;         /* renamed to NAME: nothing left to delete */
};

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#define PARALLEL_HASH_MIN_LENGTH (8u * 1024u * 1024u)

static bool name_is_valid(const char *name) {
        return name && *name && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

/* Only the algorithms the metadata lists are computed. */
static int sink_new_hasher(const UpImageSink *s, UpHasher **ret) {
        unsigned algs = 0;

        UpHasher *h;
        int r;

        for (size_t i = 0; i < s->expected.n_hashes; i++)
                algs |= UP_HASH_BIT(s->expected.hashes[i].alg);
        r = up_hasher_new_algs(algs, &h);
        if (r < 0)
                return r;
        /* Large images: sha512 on a second core while this one does the rest. */
        if (s->expected.length >= PARALLEL_HASH_MIN_LENGTH && sysconf(_SC_NPROCESSORS_ONLN) > 1)
                (void) up_hasher_set_parallel(h); /* sequential hashing still works */
        *ret = h;
        return 0;
}

/* Sticky: a sink that failed once never commits. */
static int sink_fail(UpImageSink *s, int error, bool discard) {
        s->error = error;
        s->discard = s->discard || discard;
        return error;
}

static int part_size(int dir_fd, const char *part, uint64_t *ret) {
        struct stat st;

        if (fstatat(dir_fd, part, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = 0;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return -EEXIST;
        *ret = (uint64_t) st.st_size;
        return 0;
}

/* Free space for what is still to come, before anything is created. */
static int check_space(int dir_fd, uint64_t needed, uint64_t margin) {
        struct statvfs sv;

        if (fstatvfs(dir_fd, &sv) < 0)
                return negative_errno();
        if ((uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize < add_sat(needed, margin))
                return -ENOSPC;
        return 0;
}

/* Locks the .part; -EBUSY when another sink has it, or had it and deleted it
 * between our open and our lock (the path no longer names our file). */
static int lock_part(UpImageSink *s) {
        struct stat mine, now;

        if (flock(s->fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        if (fstat(s->fd, &mine) < 0)
                return negative_errno();
        if (fstatat(s->dir_fd, s->part, &now, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -EBUSY : negative_errno();
        if (mine.st_dev != now.st_dev || mine.st_ino != now.st_ino)
                return -EBUSY;
        s->locked = true;
        return 0;
}

/* Hashes the bytes an earlier attempt left; the file position ends after them. */
static int rehash_part(UpImageSink *s, uint64_t size) {
        _cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
        uint64_t total = 0;

        if (!buf)
                return -ENOMEM;
        while (total < size) {
                size_t want = size - total < READ_CHUNK ? (size_t) (size - total) : READ_CHUNK;
                ssize_t n = read(s->fd, buf, want);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break; /* shrunk meanwhile: resume from what is there */
                r = up_hasher_update(s->hasher, buf, (size_t) n);
                if (r < 0)
                        return r;
                total += (uint64_t) n;
        }
        if (lseek(s->fd, (off_t) total, SEEK_SET) < 0 || ftruncate(s->fd, (off_t) total) < 0)
                return negative_errno();
        s->done = total;
        return 0;
}

static int open_part(UpImageSink *s) {
        struct stat st;
        int r;

        s->fd = openat(s->dir_fd, s->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (s->fd < 0)
                return negative_errno();
        r = lock_part(s);
        if (r < 0)
                return r;
        if (fstat(s->fd, &st) < 0)
                return negative_errno();
        r = sink_new_hasher(s, &s->hasher);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > s->expected.length)
                return up_image_sink_restart(s); /* cannot be a prefix of the image */
        return rehash_part(s, (uint64_t) st.st_size);
}

static int copy_expected(UpImageSink *s, const UpImageExpected *e) {
        s->hashes = calloc(e->n_hashes, sizeof(UpImageHash));
        if (!s->hashes)
                return -ENOMEM;
        memcpy(s->hashes, e->hashes, e->n_hashes * sizeof(UpImageHash));
        s->expected = (UpImageExpected) { .length = e->length, .hashes = s->hashes, .n_hashes = e->n_hashes };
        return 0;
}

static void sink_free(UpImageSink *s) {
        up_hasher_free(s->hasher);
        if (s->fd >= 0)
                (void) close(s->fd);
        if (s->dir_fd >= 0)
                (void) close(s->dir_fd);
        free(s->hashes);
        free(s->part);
        free(s->name);
        free(s);
}

static int sink_setup(UpImageSink *s, const char *dir, const UpImageExpected *e, uint64_t margin) {
        uint64_t have;
        int r;

        r = copy_expected(s, e);
        if (r < 0)
                return r;
        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return negative_errno();
        r = part_size(s->dir_fd, s->part, &have);
        if (r < 0)
                return r;
        if (have > e->length)
                have = 0; /* debris, started over */
        r = check_space(s->dir_fd, e->length - have, margin > 0 ? margin : DEFAULT_MARGIN);
        if (r < 0)
                return r;
        return open_part(s);
}

int up_image_sink_open(const char *dir, const char *name, const UpImageExpected *expected, uint64_t space_margin,
                       UpImageSink **ret) {
        UpImageSink *s;
        int r;

        if (!dir || !name_is_valid(name) || !expected || expected->n_hashes == 0 || !expected->hashes ||
            expected->length > INT64_MAX || !ret)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (UpImageSink) { .dir_fd = -1, .fd = -1 };
        s->name = strdup(name);
        if (!s->name || asprintf(&s->part, "%s.part", name) < 0) {
                s->part = NULL;
                sink_free(s);
                return -ENOMEM;
        }
        r = sink_setup(s, dir, expected, space_margin);
        if (r < 0) {
                up_image_sink_close(s, true); /* a .part we just created is empty */
                return r;
        }
        *ret = s;
        return 0;
}

uint64_t up_image_sink_offset(const UpImageSink *s) {
        return s->done;
}

int up_image_sink_restart(UpImageSink *s) {
        UpHasher *h = NULL;
        int r;

        if (s->error < 0)
                return s->error;
        if (s->committed)
                return -EINVAL;
        if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
                return negative_errno();
        r = sink_new_hasher(s, &h);
        if (r < 0)
                return r;
        up_hasher_free(s->hasher);
        s->hasher = h;
        s->done = 0;
        return 0;
}

int up_image_sink_begin(UpImageSink *s, long status, int64_t content_range_start) {
        if (s->error < 0)
                return s->error;
        if (status == 206)
                return content_range_start >= 0 && (uint64_t) content_range_start == s->done ? 0 : -EIO;
        if (status != 200)
                return -EIO;
        return s->done > 0 ? up_image_sink_restart(s) : 0;
}

int up_image_sink_write(UpImageSink *s, const void *buf, size_t len) {
        int r;

        if (s->error < 0)
                return s->error;
        if (s->committed)
                return -EINVAL;
        /* Endless data: not one byte past the length. */
        if (len > s->expected.length - s->done)
                return sink_fail(s, -UP_ERR_TOO_BIG, true);
        r = write_all(s->fd, buf, len);
        if (r >= 0)
                r = up_hasher_update(s->hasher, buf, len);
        if (r < 0)
                return sink_fail(s, r, false);
        s->done += len;
        return 0;
}

static int check_hashes(UpImageSink *s) {
        for (size_t i = 0; i < s->expected.n_hashes; i++) {
                const UpImageHash *e = &s->expected.hashes[i];
                uint8_t digest[UP_HASH_MAX_SIZE];
                int r;

                r = up_hasher_peek(s->hasher, e->alg, digest);
                if (r < 0)
                        return r;
                if (!up_memeq(digest, e->digest, up_hash_alg_size(e->alg)))
                        return -UP_ERR_HASH;
        }
        return 0;
}

int up_image_sink_commit(UpImageSink *s) {
        int r;

        if (s->error < 0)
                return s->error;
        if (s->committed)
                return -EINVAL;
        if (s->done < s->expected.length)
                return -ERANGE;
        r = check_hashes(s);
        if (r < 0)
                return r == -UP_ERR_HASH ? sink_fail(s, r, true) : r;
        if (fsync(s->fd) < 0)
                return negative_errno();
        if (renameat(s->dir_fd, s->part, s->dir_fd, s->name) < 0)
                return negative_errno();
        s->committed = true;
        if (fsync(s->dir_fd) < 0)
                return negative_errno();
        return 0;
}

/* An empty .part is not worth keeping; on doubt it is kept. */
static bool part_is_empty(const UpImageSink *s) {
        struct stat st;

        return fstat(s->fd, &st) == 0 && st.st_size == 0;
}

UpImageSink *up_image_sink_close(UpImageSink *s, bool keep_part) {
        if (!s)
                return NULL;
        /* Only a locked .part is ours to delete. */
        if (s->locked && !s->committed && (s->discard || !keep_part || part_is_empty(s)))
                (void) unlinkat(s->dir_fd, s->part, 0);
        sink_free(s);
        return NULL;
}

/* --- Content-Range ------------------------------------------------------------ */

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decimal digits into *ret; the end or NULL when there are none or too many. */
static const char *parse_u64(const char *p, uint64_t *ret) {
        uint64_t v = 0;
        const char *start = p;

        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return NULL;
                v = v * 10 + d;
        }
        if (p == start)
                return NULL;
        *ret = v;
        return p;
}

int up_http_content_range_start(const char *value, uint64_t *ret) {
        const char *p = value;
        uint64_t a, b, n;

        if (!p || !ret)
                return -EINVAL;
        while (is_blank(*p))
                p++;
        if (strncasecmp(p, "bytes", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
                return -EBADMSG;
        for (p += 5; *p == ' ' || *p == '\t'; p++)
                ;
        p = parse_u64(p, &a);
        if (!p || *p != '-')
                return -EBADMSG;
        p = parse_u64(p + 1, &b);
        if (!p || *p != '/' || b < a)
                return -EBADMSG;
        p++;
        if (*p == '*')
                p++;
        else if (!(p = parse_u64(p, &n)) || b >= n)
                return -EBADMSG;
        while (is_blank(*p))
                p++;
        if (*p)
                return -EBADMSG;
        *ret = a;
        return 0;
}
