/* SPDX-License-Identifier: MIT */
/* Image download: streaming hashes, hard length limit, resume, atomic install. */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "curl-internal.h"
#include "uptane/download.h"
#include "uptane/error.h"
#include "util.h"

#define READ_CHUNK      (256u * 1024u)
#define CURL_BUFFER     (512L * 1024L)
#define DEFAULT_MARGIN  (1024u * 1024u)

typedef struct Job {
        CURL *curl;
        int dir_fd, fd;
        char *part;                     /* "NAME.part" */
        UpHasher *hasher;
        const UpImageExpected *expected;
        const UpDownloadOptions *opts;
        uint64_t offset;                /* bytes of the .part when the request was made */
        uint64_t done;                  /* bytes of the .part now */
        int64_t range_start;            /* Content-Range start of the answer, -1: none */
        bool body_started;
        bool locked;                    /* the .part is ours (flock) */
        int error;                      /* set by a callback that stopped the transfer */
} Job;

/* Only the algorithms the metadata lists are computed. */
static int job_new_hasher(const Job *j, UpHasher **ret) {
        unsigned algs = 0;

        for (size_t i = 0; i < j->expected->n_hashes; i++)
                algs |= UP_HASH_BIT(j->expected->hashes[i].alg);
        return up_hasher_new_algs(algs, ret);
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int write_all(int fd, const void *data, size_t len) {
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int name_is_valid(const char *name) {
        return name && *name && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

/* --- the .part file --------------------------------------------------------- */

/* Free space for what is still to come, before any request. */
static int check_space(int dir_fd, uint64_t needed, uint64_t margin) {
        struct statvfs sv;

        if (fstatvfs(dir_fd, &sv) < 0)
                return negative_errno();
        if ((uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize < add_sat(needed, margin))
                return -ENOSPC;
        return 0;
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

/* Empties the .part and the hasher: the server sends the whole file again. */
static int start_over(Job *j) {
        UpHasher *h = NULL;
        int r;

        if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0)
                return negative_errno();
        r = job_new_hasher(j, &h);
        if (r < 0)
                return r;
        up_hasher_free(j->hasher);
        j->hasher = h;
        j->offset = j->done = 0;
        return 0;
}

/* Hashes the bytes an earlier attempt left; the file position ends after them. */
static int rehash_part(Job *j, uint64_t size) {
        _cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
        uint64_t total = 0;

        if (!buf)
                return -ENOMEM;
        while (total < size) {
                size_t want = size - total < READ_CHUNK ? (size_t) (size - total) : READ_CHUNK;
                ssize_t n = read(j->fd, buf, want);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break; /* shrunk meanwhile: resume from what is there */
                r = up_hasher_update(j->hasher, buf, (size_t) n);
                if (r < 0)
                        return r;
                total += (uint64_t) n;
        }
        if (lseek(j->fd, (off_t) total, SEEK_SET) < 0 || ftruncate(j->fd, (off_t) total) < 0)
                return negative_errno();
        j->offset = j->done = total;
        return 0;
}

static int open_part(Job *j) {
        struct stat st;
        int r;

        j->fd = openat(j->dir_fd, j->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (j->fd < 0)
                return negative_errno();
        if (flock(j->fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        j->locked = true;
        if (fstat(j->fd, &st) < 0)
                return negative_errno();
        r = job_new_hasher(j, &j->hasher);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > j->expected->length)
                return start_over(j); /* cannot be a prefix of the image */
        return rehash_part(j, (uint64_t) st.st_size);
}

/* --- the transfer ----------------------------------------------------------- */

static size_t stop(Job *j, int error) {
        j->error = error;
        return CURL_WRITEFUNC_ERROR;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Job *j = userdata;
        size_t n = size * nmemb;
        char line[256];
        uint64_t start;

        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                j->range_start = -1; /* a new answer */
                return n;
        }
        if (n >= sizeof(line) || strncasecmp(ptr, "Content-Range:", 14) != 0)
                return n;
        memcpy(line, ptr, n);
        line[n] = 0;
        if (sscanf(line + 14, " bytes %" SCNu64 "-", &start) == 1 && start <= INT64_MAX)
                j->range_start = (int64_t) start;
        return n;
}

/* First bytes of the body: append (206 at our offset) or start over (200). */
static int begin_body(Job *j) {
        long status = 0;

        (void) curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 206)
                return j->range_start == (int64_t) j->offset ? 0 : -EIO;
        if (status != 200)
                return -EIO;
        return j->offset > 0 ? start_over(j) : 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Job *j = userdata;
        const UpDownloadOptions *o = j->opts;
        size_t n = size * nmemb;
        int r;

        if (!j->body_started) {
                r = begin_body(j);
                if (r < 0)
                        return stop(j, r);
                j->body_started = true;
        }
        /* Endless data: not one byte past the length. */
        if (n > j->expected->length - j->done)
                return stop(j, -EFBIG);
        r = write_all(j->fd, ptr, n);
        if (r >= 0)
                r = up_hasher_update(j->hasher, ptr, n);
        if (r < 0)
                return stop(j, r);
        j->done += n;
        if (o->progress && o->progress(o->userdata, j->done, j->expected->length) != 0)
                return stop(j, -ECANCELED);
        return n;
}

static int setup_curl(Job *j, const char *url, char *range, size_t range_size) {
        const UpDownloadOptions *o = j->opts;
        CURL *c = j->curl;
        const UpCurlCommon common = {
                .connect_timeout_s = up_curl_or_default(o->connect_timeout_s, 10),
                .low_speed_bytes = up_curl_or_default(o->low_speed_bytes, 1024),
                .low_speed_time_s = up_curl_or_default(o->low_speed_time_s, 30),
                .ca_file = o->ca_file,
                .client_cert = o->client_cert,
                .client_key = o->client_key,
        };

        if (up_curl_setup_common(c, &common) < 0 || curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK)
                return -EINVAL;
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, CURL_BUFFER);
        curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) (o->max_recv_bytes_per_s > 0 ? o->max_recv_bytes_per_s : 0));
        /* An announced length above the image's stops before any byte (a 206
         * announces less, so the exact check is on_data()'s). */
        if (j->expected->length > 0 && j->expected->length <= INT64_MAX)
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) j->expected->length);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, j);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
        if (j->offset > 0) {
                snprintf(range, range_size, "%" PRIu64 "-", j->offset);
                curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        return 0;
}

static int transfer_result(Job *j, CURLcode c) {
        long status = 0;

        if (j->error < 0)
                return j->error;
        (void) curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 404 || status == 403 || status == 410)
                return -ENOENT;
        if (status == 416)
                return -ERANGE; /* the server has fewer bytes than the .part */
        if (c != CURLE_OK)
                return up_curl_error_to_errno(c);
        if (status != 200 && status != 206)
                return -EIO;
        if (!j->body_started)
                return begin_body(j); /* an empty body */
        return 0;
}

static int transfer(Job *j, const char *url) {
        char range[32];
        int r;

        j->curl = curl_easy_init();
        if (!j->curl)
                return -ENOMEM;
        j->range_start = -1;
        r = setup_curl(j, url, range, sizeof(range));
        if (r < 0)
                return r;
        return transfer_result(j, curl_easy_perform(j->curl));
}

/* --- check and install ------------------------------------------------------ */

static int check_hashes(UpHasher *h, const UpImageExpected *e, uint64_t length) {
        if (length != e->length)
                return -UP_ERR_HASH;
        for (size_t i = 0; i < e->n_hashes; i++) {
                uint8_t digest[UP_HASH_MAX_SIZE];
                int r;

                r = up_hasher_peek(h, e->hashes[i].alg, digest);
                if (r < 0)
                        return r;
                if (!up_memeq(digest, e->hashes[i].digest, up_hash_alg_size(e->hashes[i].alg)))
                        return -UP_ERR_HASH;
        }
        return 0;
}

static int install(Job *j, const char *name) {
        if (fsync(j->fd) < 0)
                return negative_errno();
        if (renameat(j->dir_fd, j->part, j->dir_fd, name) < 0)
                return negative_errno();
        if (fsync(j->dir_fd) < 0)
                return negative_errno();
        return 0;
}

static bool error_discards(int r) {
        return r == -UP_ERR_HASH || r == -UP_ERR_TOO_BIG || r == -ERANGE;
}

static void job_done(Job *j) {
        if (j->curl)
                curl_easy_cleanup(j->curl);
        up_hasher_free(j->hasher);
        if (j->fd >= 0)
                (void) close(j->fd);
        if (j->dir_fd >= 0)
                (void) close(j->dir_fd);
        free(j->part);
}

static int run(Job *j, const char *url, const char *dir, const char *name) {
        uint64_t have;
        int r;

        j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (j->dir_fd < 0)
                return negative_errno();
        r = part_size(j->dir_fd, j->part, &have);
        if (r < 0)
                return r;
        if (have > j->expected->length)
                have = 0; /* debris, started over */
        r = check_space(j->dir_fd, j->expected->length - have,
                        j->opts->space_margin > 0 ? j->opts->space_margin : DEFAULT_MARGIN);
        if (r < 0)
                return r;
        r = open_part(j);
        if (r < 0)
                return r;
        if (j->done < j->expected->length) {
                r = transfer(j, url);
                if (r < 0)
                        return r;
        }
        r = check_hashes(j->hasher, j->expected, j->done);
        if (r < 0)
                return r;
        return install(j, name);
}

int up_image_download(const char *url, const char *dir, const char *name, const UpImageExpected *expected,
                      const UpDownloadOptions *opts) {
        static const UpDownloadOptions defaults = {};
        Job j = { .dir_fd = -1, .fd = -1, .expected = expected, .opts = opts ? opts : &defaults };
        int r;

        if (!url || !dir || !name_is_valid(name) || !expected || expected->n_hashes == 0 || !expected->hashes ||
            expected->length > INT64_MAX)
                return -EINVAL;
        if (asprintf(&j.part, "%s.part", name) < 0)
                return -ENOMEM;
        r = run(&j, url, dir, name);
        /* A failed image is discarded, an empty .part is not worth keeping. */
        if (r < 0 && j.locked && (error_discards(r) || j.done == 0))
                (void) unlinkat(j.dir_fd, j.part, 0);
        job_done(&j);
        return r;
}

int up_image_download_json(const char *url, const char *dir, const char *name, uint64_t length,
                           struct json_object *hashes, const UpDownloadOptions *opts) {
        UpImageHash h[_UP_HASH_MAX];
        UpImageExpected e = { .length = length, .hashes = h };
        int r;

        r = up_image_hashes_parse(hashes, h, &e.n_hashes);
        if (r < 0)
                return r;
        return up_image_download(url, dir, name, &e, opts);
}

int up_image_download_target(const char *url, const char *dir, const char *name, const UpDirectorTarget *d,
                             const UpDownloadOptions *opts) {
        UpImageExpected e;

        if (!d || d->length < 0)
                return -EINVAL;
        e = (UpImageExpected) { .length = (uint64_t) d->length, .hashes = d->hashes, .n_hashes = d->n_hashes };
        return up_image_download(url, dir, name, &e, opts);
}
