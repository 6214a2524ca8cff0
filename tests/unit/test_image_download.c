/* SPDX-License-Identifier: MIT */
/* Image downloads against a server on 127.0.0.1 that serves an image with
 * Range support, and misbehaves on purpose: cuts the connection, ignores
 * Range, serves wrong bytes, too many bytes, or a trickle. Then the image
 * sink on its own, fed by the tests as a transport would, and the
 * Content-Range parser. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "uptane/download.h"
#include "uptane/hash.h"

#define IMAGE_SIZE (1024u * 1024u + 17u)
#define CUT_AT     300000u

static uint8_t image[IMAGE_SIZE];
static UpImageHash image_hashes[2];
static UpImageExpected expected = { .length = IMAGE_SIZE, .hashes = image_hashes, .n_hashes = 2 };

static int listen_fd = -1;
static int port;
static char tmpdir[] = "/tmp/test_image_download.XXXXXX";

/* What the server saw, under the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned n_requests;
static long last_range = -1; /* start of the last request's Range, -1: none */

/* --- the server --------------------------------------------------------------- */

static int send_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static void send_head(int fd, int status, size_t start, size_t len, size_t total) {
        char head[512];

        if (status == 206)
                snprintf(head, sizeof(head),
                         "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %zu-%zu/%zu\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         start, total - 1, total, len);
        else
                snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         len);
        (void) send_all(fd, head, strlen(head));
}

/* The image from start (honouring Range unless told not to), at most max bytes of body. */
static void serve_image(int fd, const uint8_t *data, size_t total, long range, size_t max) {
        size_t start = range > 0 && (size_t) range < total ? (size_t) range : 0;
        size_t len = total - start;

        send_head(fd, start > 0 ? 206 : 200, start, len, total);
        (void) send_all(fd, data + start, len < max ? len : max);
}

static void serve_trickle(int fd) {
        send_head(fd, 200, 0, IMAGE_SIZE, IMAGE_SIZE);
        if (send_all(fd, image, 4096) < 0)
                return;
        /* Then 10 bytes a second, one at a time. */
        for (size_t i = 4096; i < IMAGE_SIZE; i++) {
                if (send_all(fd, image + i, 1) < 0)
                        return;
                usleep(100 * 1000);
        }
}

static void serve_too_long(int fd, bool announce) {
        static uint8_t more[IMAGE_SIZE + 4096];
        const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

        memcpy(more, image, IMAGE_SIZE);
        if (announce) {
                send_head(fd, 200, 0, sizeof(more), sizeof(more));
                (void) send_all(fd, more, sizeof(more));
                return;
        }
        (void) send_all(fd, head, strlen(head));
        for (int i = 0; i < 64; i++)
                if (send_all(fd, more, sizeof(more)) < 0)
                        return;
}

static void respond(int fd, const char *path, long range) {
        static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n";
        static uint8_t wrong[IMAGE_SIZE];

        if (strcmp(path, "/img") == 0)
                serve_image(fd, image, IMAGE_SIZE, range, SIZE_MAX);
        else if (strcmp(path, "/cut") == 0)
                serve_image(fd, image, IMAGE_SIZE, range, CUT_AT);
        else if (strcmp(path, "/norange") == 0)
                serve_image(fd, image, IMAGE_SIZE, -1, SIZE_MAX);
        else if (strcmp(path, "/wrong") == 0) {
                memcpy(wrong, image, IMAGE_SIZE);
                wrong[IMAGE_SIZE / 2] ^= 1;
                serve_image(fd, wrong, IMAGE_SIZE, range, SIZE_MAX);
        } else if (strcmp(path, "/short") == 0)
                serve_image(fd, image, IMAGE_SIZE - 1, range, SIZE_MAX);
        else if (strcmp(path, "/slow") == 0)
                serve_trickle(fd);
        else if (strcmp(path, "/long") == 0)
                serve_too_long(fd, true);
        else if (strcmp(path, "/long-unannounced") == 0)
                serve_too_long(fd, false);
        else
                (void) send_all(fd, not_found, strlen(not_found));
}

static long parse_range(const char *req) {
        const char *r = strcasestr(req, "\r\nRange: bytes=");
        long v;

        if (!r || sscanf(r + strlen("\r\nRange: bytes="), "%ld-", &v) != 1)
                return -1;
        return v;
}

static void read_request(int fd, char *req, size_t size) {
        size_t len = 0;

        while (len < size - 1 && !strstr(req, "\r\n\r\n")) {
                ssize_t n = recv(fd, req + len, size - 1 - len, 0);
                if (n <= 0)
                        break;
                len += (size_t) n;
                req[len] = 0;
        }
}

static void *serve(void *arg) {
        (void) arg;
        for (;;) {
                char req[4096] = {}, path[256] = {};
                int fd = accept(listen_fd, NULL, NULL);
                long range;

                if (fd < 0)
                        return NULL;
                read_request(fd, req, sizeof(req));
                if (sscanf(req, "GET %255s", path) == 1) {
                        range = parse_range(req);
                        pthread_mutex_lock(&lock);
                        n_requests++;
                        last_range = range;
                        pthread_mutex_unlock(&lock);
                        respond(fd, path, range);
                }
                close(fd);
        }
}

static int start_server(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        pthread_t t;

        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(listen_fd, 8) < 0 ||
            getsockname(listen_fd, (struct sockaddr *) &a, &len) < 0) {
                perror("test server on 127.0.0.1");
                return -1;
        }
        port = ntohs(a.sin_port);
        if (pthread_create(&t, NULL, serve, NULL) != 0)
                return -1;
        pthread_detach(t);
        return 0;
}

/* --- helpers ----------------------------------------------------------------- */

static unsigned requests(void) {
        unsigned n;

        pthread_mutex_lock(&lock);
        n = n_requests;
        pthread_mutex_unlock(&lock);
        return n;
}

static long range_seen(void) {
        long r;

        pthread_mutex_lock(&lock);
        r = last_range;
        pthread_mutex_unlock(&lock);
        return r;
}

static int download_to(const char *dir, const char *path, const UpDownloadOptions *o) {
        char url[128];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        return up_image_download(url, dir, "image.bin", &expected, o);
}

static int download(const char *path, const UpDownloadOptions *o) {
        return download_to(tmpdir, path, o);
}

/* Size of tmpdir/name, -1 when absent. */
static long file_size(const char *name) {
        char p[512];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
        return stat(p, &st) < 0 ? -1 : (long) st.st_size;
}

static void remove_files(void) {
        char p[512];

        snprintf(p, sizeof(p), "%s/image.bin", tmpdir);
        (void) unlink(p);
        snprintf(p, sizeof(p), "%s/image.bin.part", tmpdir);
        (void) unlink(p);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
        char p[512];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
}

static void write_part(const void *data, size_t len) {
        write_file(tmpdir, "image.bin.part", data, len);
}

/* The installed image is the image, and no .part is left. */
static void assert_installed(void) {
        char p[512];
        uint8_t *buf = malloc(IMAGE_SIZE + 1);
        FILE *f;

        ck_assert_ptr_nonnull(buf);
        snprintf(p, sizeof(p), "%s/image.bin", tmpdir);
        f = fopen(p, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fread(buf, 1, IMAGE_SIZE + 1, f), IMAGE_SIZE);
        fclose(f);
        ck_assert(memcmp(buf, image, IMAGE_SIZE) == 0);
        ck_assert_int_eq(file_size("image.bin.part"), -1);
        free(buf);
}

static void assert_nothing(void) {
        ck_assert_int_eq(file_size("image.bin"), -1);
        ck_assert_int_eq(file_size("image.bin.part"), -1);
}

static void setup(void) {
        remove_files();
}

/* --- tests -------------------------------------------------------------------- */

typedef struct Progress {
        unsigned calls;
        uint64_t done, total;
} Progress;

static int on_progress(void *userdata, uint64_t done, uint64_t total) {
        Progress *p = userdata;

        ck_assert_uint_ge(done, p->done);
        p->calls++;
        p->done = done;
        p->total = total;
        return 0;
}

START_TEST(test_happy_path) {
        Progress p = {};
        UpDownloadOptions o = { .progress = on_progress, .userdata = &p };

        ck_assert_int_eq(download("/img", &o), 0);
        ck_assert_int_eq(range_seen(), -1);
        assert_installed();
        ck_assert_uint_gt(p.calls, 0);
        ck_assert_uint_eq(p.done, IMAGE_SIZE);
        ck_assert_uint_eq(p.total, IMAGE_SIZE);
}
END_TEST

START_TEST(test_json_hashes) {
        char url[128], hex[2 * UP_HASH_MAX_SIZE + 1];
        struct json_object *h = json_object_new_object();

        up_hex_encode(image_hashes[1].digest, 64, hex);
        json_object_object_add(h, "sha512", json_object_new_string(hex));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/img", port);
        ck_assert_int_eq(up_image_download_json(url, tmpdir, "image.bin", IMAGE_SIZE, h, NULL), 0);
        assert_installed();
        remove_files();
        ck_assert_int_eq(up_image_download_json(url, tmpdir, "image.bin", IMAGE_SIZE - 1, h, NULL), -EFBIG);
        assert_nothing();
        json_object_object_add(h, "md5", json_object_new_string("00"));
        ck_assert_int_eq(up_image_download_json(url, tmpdir, "image.bin", IMAGE_SIZE, h, NULL), -EOPNOTSUPP);
        json_object_put(h);
}
END_TEST

START_TEST(test_resume_after_cut) {
        ck_assert_int_eq(download("/cut", NULL), -EIO);
        ck_assert_int_eq(file_size("image.bin"), -1);
        ck_assert_int_eq(file_size("image.bin.part"), CUT_AT);
        /* Cut again in the middle of the rest: the .part grows. */
        ck_assert_int_eq(download("/cut", NULL), -EIO);
        ck_assert_int_eq(range_seen(), CUT_AT);
        ck_assert_int_eq(file_size("image.bin.part"), 2 * CUT_AT);
        ck_assert_int_eq(download("/img", NULL), 0);
        ck_assert_int_eq(range_seen(), 2 * CUT_AT);
        assert_installed();
}
END_TEST

START_TEST(test_server_ignores_range) {
        ck_assert_int_eq(download("/cut", NULL), -EIO);
        ck_assert_int_eq(download("/norange", NULL), 0);
        ck_assert_int_eq(range_seen(), CUT_AT); /* asked, got a 200: started over */
        assert_installed();
}
END_TEST

START_TEST(test_wrong_bytes) {
        ck_assert_int_eq(download("/wrong", NULL), -EILSEQ);
        assert_nothing();
        /* A complete answer one byte short is the wrong image too. */
        ck_assert_int_eq(download("/short", NULL), -EILSEQ);
        assert_nothing();
}
END_TEST

START_TEST(test_too_long) {
        time_t start = time(NULL);

        ck_assert_int_eq(download("/long", NULL), -EFBIG);
        assert_nothing();
        ck_assert_int_eq(download("/long-unannounced", NULL), -EFBIG);
        assert_nothing();
        ck_assert_int_le(time(NULL) - start, 10);
}
END_TEST

START_TEST(test_slow_retrieval) {
        UpDownloadOptions o = { .low_speed_bytes = 1000, .low_speed_time_s = 2 };
        time_t start = time(NULL);

        ck_assert_int_eq(download("/slow", &o), -ETIMEDOUT);
        ck_assert_int_le(time(NULL) - start, 10);
        ck_assert_int_eq(file_size("image.bin"), -1);
        ck_assert_int_ge(file_size("image.bin.part"), 4096); /* kept for resume */
        ck_assert_int_eq(download("/img", NULL), 0);
        ck_assert_int_ge(range_seen(), 4096);
        assert_installed();
}
END_TEST

START_TEST(test_part_longer_than_image) {
        uint8_t *junk = calloc(1, IMAGE_SIZE + 10);

        ck_assert_ptr_nonnull(junk);
        write_part(junk, IMAGE_SIZE + 10);
        free(junk);
        ck_assert_int_eq(download("/img", NULL), 0);
        ck_assert_int_eq(range_seen(), -1); /* started over, no Range */
        assert_installed();
}
END_TEST

START_TEST(test_tampered_prefix) {
        uint8_t prefix[1000];

        memcpy(prefix, image, sizeof(prefix));
        prefix[5] ^= 0x80;
        write_part(prefix, sizeof(prefix));
        ck_assert_int_eq(download("/img", NULL), -EILSEQ);
        ck_assert_int_eq(range_seen(), 1000);
        assert_nothing();
        /* The next attempt starts from scratch. */
        ck_assert_int_eq(download("/img", NULL), 0);
        ck_assert_int_eq(range_seen(), -1);
        assert_installed();
}
END_TEST

START_TEST(test_complete_part_needs_no_request) {
        unsigned before;

        write_part(image, IMAGE_SIZE);
        before = requests();
        ck_assert_int_eq(download("/missing", NULL), 0);
        ck_assert_uint_eq(requests(), before);
        assert_installed();
}
END_TEST

START_TEST(test_no_space_margin) {
        UpDownloadOptions o = { .space_margin = UINT64_MAX / 2 };
        unsigned before = requests();

        ck_assert_int_eq(download("/img", &o), -ENOSPC);
        ck_assert_uint_eq(requests(), before);
        assert_nothing();
}
END_TEST

START_TEST(test_no_space_tmpfs) {
        char dir[600];
        unsigned before = requests();

        snprintf(dir, sizeof(dir), "%s/small", tmpdir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        if (mount("tmpfs", dir, "tmpfs", 0, "size=512k") < 0) {
                /* Not allowed here: the margin test covers the check. */
                ck_assert_int_eq(rmdir(dir), 0);
                return;
        }
        ck_assert_int_eq(download_to(dir, "/img", NULL), -ENOSPC);
        ck_assert_uint_eq(requests(), before);
        ck_assert_int_eq(umount(dir), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_not_found) {
        ck_assert_int_eq(download("/missing", NULL), -ENOENT);
        assert_nothing();
}
END_TEST

START_TEST(test_bad_arguments) {
        ck_assert_int_eq(up_image_download("http://127.0.0.1:1/", tmpdir, "../x", &expected, NULL), -EINVAL);
        ck_assert_int_eq(up_image_download("http://127.0.0.1:1/", tmpdir, "a/b", &expected, NULL), -EINVAL);
        ck_assert_int_eq(up_image_download("file:///etc/passwd", tmpdir, "image.bin", &expected, NULL), -EINVAL);
        assert_nothing();
        ck_assert_int_eq(up_image_download("http://127.0.0.1:1/x", tmpdir, "image.bin", &expected, NULL),
                         -ECONNREFUSED);
        assert_nothing(); /* an empty .part is not kept */
}
END_TEST

/* --- the image sink, driven as a transport would ------------------------------- */

static int sink_open(uint64_t margin, UpImageSink **ret) {
        return up_image_sink_open(tmpdir, "image.bin", &expected, margin, ret);
}

/* data[from, to) in blocks of 64 KiB, as a transport hands them over. */
static void sink_feed(UpImageSink *s, const uint8_t *data, size_t from, size_t to) {
        while (from < to) {
                size_t n = to - from < 65536 ? to - from : 65536;

                ck_assert_int_eq(up_image_sink_write(s, data + from, n), 0);
                from += n;
        }
        ck_assert_uint_eq(up_image_sink_offset(s), to);
}

START_TEST(test_sink_whole) {
        UpImageSink *s = NULL;

        ck_assert_int_eq(sink_open(0, &s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), 0);
        ck_assert_int_eq(file_size("image.bin.part"), 0);
        ck_assert_int_eq(up_image_sink_begin(s, 200, -1), 0);
        ck_assert_int_eq(up_image_sink_write(s, image, 0), 0);
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        /* Done: no second commit, no more bytes, and close deletes nothing. */
        ck_assert_int_eq(up_image_sink_commit(s), -EINVAL);
        ck_assert_int_eq(up_image_sink_write(s, image, 1), -EINVAL);
        ck_assert_ptr_null(up_image_sink_close(s, false));
        assert_installed();
}
END_TEST

START_TEST(test_sink_resume) {
        UpImageSink *s = NULL;

        write_part(image, CUT_AT);
        ck_assert_int_eq(sink_open(0, &s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), CUT_AT);
        ck_assert_int_eq(up_image_sink_begin(s, 206, CUT_AT), 0);
        sink_feed(s, image, CUT_AT, 2 * CUT_AT);
        /* A cut: the same sink serves the next request, from the new offset. */
        ck_assert_int_eq(up_image_sink_begin(s, 206, 2 * CUT_AT), 0);
        sink_feed(s, image, 2 * CUT_AT, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();
}
END_TEST

START_TEST(test_sink_restart) {
        UpImageSink *s = NULL;

        write_part(image, CUT_AT);
        ck_assert_int_eq(sink_open(0, &s), 0);
        /* Answers the sink cannot use change nothing. */
        ck_assert_int_eq(up_image_sink_begin(s, 206, CUT_AT + 1), -EIO);
        ck_assert_int_eq(up_image_sink_begin(s, 206, 0), -EIO);
        ck_assert_int_eq(up_image_sink_begin(s, 206, -1), -EIO);
        ck_assert_int_eq(up_image_sink_begin(s, 416, -1), -EIO);
        ck_assert_uint_eq(up_image_sink_offset(s), CUT_AT);
        ck_assert_int_eq(file_size("image.bin.part"), CUT_AT);
        /* The server ignored the range: a 200 starts the file over. */
        ck_assert_int_eq(up_image_sink_begin(s, 200, -1), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), 0);
        ck_assert_int_eq(file_size("image.bin.part"), 0);
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();

        /* The caller's own restart, after some bytes of the answer. */
        remove_files();
        write_part(image, CUT_AT);
        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, CUT_AT, CUT_AT + 1000);
        ck_assert_int_eq(up_image_sink_restart(s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), 0);
        ck_assert_int_eq(file_size("image.bin.part"), 0);
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();
}
END_TEST

START_TEST(test_sink_too_big) {
        UpImageSink *s = NULL;

        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_write(s, image, 1), -EFBIG);
        ck_assert_uint_eq(up_image_sink_offset(s), IMAGE_SIZE);
        ck_assert_int_eq(file_size("image.bin.part"), IMAGE_SIZE);
        /* Failed for good, and the .part goes even when asked to keep it. */
        ck_assert_int_eq(up_image_sink_commit(s), -EFBIG);
        ck_assert_int_eq(up_image_sink_restart(s), -EFBIG);
        ck_assert_int_eq(up_image_sink_write(s, image, 0), -EFBIG);
        up_image_sink_close(s, true);
        assert_nothing();

        /* A block that would pass the length is not written at all. */
        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, 0, IMAGE_SIZE - 1);
        ck_assert_int_eq(up_image_sink_write(s, image, 2), -EFBIG);
        ck_assert_int_eq(file_size("image.bin.part"), IMAGE_SIZE - 1);
        up_image_sink_close(s, true);
        assert_nothing();
}
END_TEST

START_TEST(test_sink_wrong_bytes) {
        static uint8_t wrong[IMAGE_SIZE];
        UpImageSink *s = NULL;

        memcpy(wrong, image, IMAGE_SIZE);
        wrong[IMAGE_SIZE - 1] ^= 1;
        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, wrong, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), -EILSEQ);
        ck_assert_int_eq(up_image_sink_commit(s), -EILSEQ);
        ck_assert_int_eq(up_image_sink_restart(s), -EILSEQ);
        ck_assert_int_eq(up_image_sink_begin(s, 200, -1), -EILSEQ);
        up_image_sink_close(s, true);
        assert_nothing();
}
END_TEST

START_TEST(test_sink_short) {
        UpImageSink *s = NULL;

        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, 0, IMAGE_SIZE - 1);
        ck_assert_int_eq(up_image_sink_commit(s), -ERANGE);
        up_image_sink_close(s, true);
        ck_assert_int_eq(file_size("image.bin"), -1);
        ck_assert_int_eq(file_size("image.bin.part"), IMAGE_SIZE - 1);
        /* Not failed: the rest still completes it, in this sink or the next. */
        ck_assert_int_eq(sink_open(0, &s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), IMAGE_SIZE - 1);
        ck_assert_int_eq(up_image_sink_commit(s), -ERANGE);
        sink_feed(s, image, IMAGE_SIZE - 1, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();
}
END_TEST

START_TEST(test_sink_busy) {
        UpImageSink *s = NULL, *other = NULL, *second = NULL;
        char url[128];

        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, 0, 1000);
        ck_assert_int_eq(sink_open(0, &second), -EBUSY);
        ck_assert_ptr_null(second);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/img", port);
        ck_assert_int_eq(up_image_download(url, tmpdir, "image.bin", &expected, NULL), -EBUSY);
        ck_assert_int_eq(file_size("image.bin.part"), 1000); /* the holder's, untouched */
        /* Another name is another lock. */
        ck_assert_int_eq(up_image_sink_open(tmpdir, "other.bin", &expected, 0, &other), 0);
        up_image_sink_close(other, false);
        ck_assert_int_eq(file_size("other.bin.part"), -1);
        up_image_sink_close(s, true);
        ck_assert_int_eq(sink_open(0, &second), 0);
        ck_assert_uint_eq(up_image_sink_offset(second), 1000);
        up_image_sink_close(second, false);
        assert_nothing();
}
END_TEST

START_TEST(test_sink_keep_part) {
        UpImageSink *s = NULL;

        ck_assert_int_eq(sink_open(0, &s), 0);
        sink_feed(s, image, 0, CUT_AT);
        up_image_sink_close(s, true);
        ck_assert_int_eq(file_size("image.bin.part"), CUT_AT);
        ck_assert_int_eq(sink_open(0, &s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), CUT_AT);
        up_image_sink_close(s, false);
        assert_nothing();
        /* An empty .part is not worth keeping. */
        ck_assert_int_eq(sink_open(0, &s), 0);
        up_image_sink_close(s, true);
        assert_nothing();
        /* The cleanup helper keeps the .part. */
        {
                __attribute__((cleanup(up_image_sink_closep))) UpImageSink *c = NULL;

                ck_assert_int_eq(sink_open(0, &c), 0);
                sink_feed(c, image, 0, 10);
        }
        ck_assert_int_eq(file_size("image.bin.part"), 10);
}
END_TEST

START_TEST(test_sink_debris) {
        uint8_t *junk = calloc(1, IMAGE_SIZE + 10);
        UpImageSink *s = NULL;

        ck_assert_ptr_nonnull(junk);
        write_part(junk, IMAGE_SIZE + 10);
        free(junk);
        ck_assert_int_eq(sink_open(0, &s), 0);
        ck_assert_uint_eq(up_image_sink_offset(s), 0);
        ck_assert_int_eq(file_size("image.bin.part"), 0);
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();
}
END_TEST

START_TEST(test_sink_expected_copied) {
        UpImageHash hashes[2];
        UpImageExpected e = { .length = IMAGE_SIZE, .hashes = hashes, .n_hashes = 2 };
        UpImageSink *s = NULL;

        memcpy(hashes, image_hashes, sizeof(hashes));
        ck_assert_int_eq(up_image_sink_open(tmpdir, "image.bin", &e, 0, &s), 0);
        memset(hashes, 0, sizeof(hashes));
        e.length = 1;
        sink_feed(s, image, 0, IMAGE_SIZE);
        ck_assert_int_eq(up_image_sink_commit(s), 0);
        up_image_sink_close(s, true);
        assert_installed();
}
END_TEST

START_TEST(test_sink_bad_arguments) {
        UpImageExpected none = { .length = IMAGE_SIZE, .hashes = image_hashes, .n_hashes = 0 };
        UpImageExpected null_hashes = { .length = IMAGE_SIZE, .n_hashes = 2 };
        UpImageExpected huge = { .length = (uint64_t) INT64_MAX + 1, .hashes = image_hashes, .n_hashes = 2 };
        UpImageSink *s = NULL;
        char missing[600];

        ck_assert_int_eq(up_image_sink_open(tmpdir, "../x", &expected, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "a/b", &expected, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "", &expected, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, ".", &expected, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(NULL, "image.bin", &expected, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "image.bin", NULL, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "image.bin", &none, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "image.bin", &null_hashes, 0, &s), -EINVAL);
        ck_assert_int_eq(up_image_sink_open(tmpdir, "image.bin", &huge, 0, &s), -EINVAL);
        snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
        ck_assert_int_eq(up_image_sink_open(missing, "image.bin", &expected, 0, &s), -ENOENT);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(up_image_sink_close(NULL, true));
        assert_nothing();
}
END_TEST

START_TEST(test_sink_no_space_margin) {
        UpImageSink *s = NULL;

        ck_assert_int_eq(sink_open(UINT64_MAX / 2, &s), -ENOSPC);
        ck_assert_ptr_null(s);
        assert_nothing(); /* refused before creating anything */
}
END_TEST

/* What the check counts: the length minus the bytes a .part holds (none for
 * debris), plus the margin. With the margin set so that the free space lies
 * halfway between, a resumable .part fits and debris does not. False when the
 * free space changed between the measure and the checks. */
static bool space_arithmetic_holds(const char *dir) {
        const size_t held = IMAGE_SIZE - 1000;
        UpImageSink *s = NULL;
        struct statvfs sv;
        uint64_t avail, margin;
        int r;

        ck_assert_int_eq(statvfs(dir, &sv), 0);
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        ck_assert_uint_ge(avail, IMAGE_SIZE);
        margin = avail - IMAGE_SIZE + held / 2;
        r = up_image_sink_open(dir, "good.bin", &expected, margin, &s);
        if (r < 0) {
                ck_assert_int_eq(r, -ENOSPC);
                return false;
        }
        ck_assert_uint_eq(up_image_sink_offset(s), held);
        up_image_sink_close(s, true);
        r = up_image_sink_open(dir, "debris.bin", &expected, margin, &s);
        if (r == 0) {
                up_image_sink_close(s, true);
                return false;
        }
        ck_assert_int_eq(r, -ENOSPC);
        return true;
}

static void space_arithmetic(const char *dir) {
        static uint8_t debris[IMAGE_SIZE + 1];
        char p[600];
        bool ok = false;

        write_file(dir, "good.bin.part", image, IMAGE_SIZE - 1000);
        write_file(dir, "debris.bin.part", debris, sizeof(debris));
        /* Other programs may write to a shared file system meanwhile: retry. */
        for (int i = 0; i < 5 && !ok; i++)
                ok = space_arithmetic_holds(dir);
        ck_assert(ok);
        snprintf(p, sizeof(p), "%s/debris.bin.part", dir);
        ck_assert_int_eq(unlink(p), 0); /* still there: -ENOSPC came before anything */
        snprintf(p, sizeof(p), "%s/good.bin.part", dir);
        ck_assert_int_eq(unlink(p), 0);
}

/* Mounting needs CAP_SYS_ADMIN; without it, says what is not tested. */
static bool mount_tmpfs(const char *dir, const char *size, const char *instead) {
        char opts[64];

        snprintf(opts, sizeof(opts), "size=%s", size);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        if (mount("tmpfs", dir, "tmpfs", 0, opts) == 0)
                return true;
        fprintf(stderr, "test_sink_no_space: cannot mount a tmpfs (%s): %s\n", strerror(errno), instead);
        ck_assert_int_eq(rmdir(dir), 0);
        return false;
}

static void unmount_tmpfs(const char *dir) {
        ck_assert_int_eq(umount(dir), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}

START_TEST(test_sink_no_space) {
        UpImageSink *s = NULL;
        char dir[600], part[700];

        /* A file system smaller than the image. */
        snprintf(dir, sizeof(dir), "%s/small", tmpdir);
        if (mount_tmpfs(dir, "512k", "skipped -ENOSPC on a file system smaller than the image")) {
                ck_assert_int_eq(up_image_sink_open(dir, "image.bin", &expected, 0, &s), -ENOSPC);
                snprintf(part, sizeof(part), "%s/image.bin.part", dir);
                ck_assert_int_eq(access(part, F_OK), -1);
                unmount_tmpfs(dir);
        }
        /* Room for two images and a half: only the free space of this file system changes. */
        snprintf(dir, sizeof(dir), "%s/roomy", tmpdir);
        if (mount_tmpfs(dir, "4m", "space arithmetic checked on the shared temporary directory")) {
                space_arithmetic(dir);
                unmount_tmpfs(dir);
        } else
                space_arithmetic(tmpdir);
}
END_TEST

START_TEST(test_content_range) {
        static const struct {
                const char *value;
                uint64_t start;
        } good[] = {
                { "bytes 0-99/100", 0 },
                { "bytes 300000-1048592/1048593", 300000 },
                { "BYTES 5-9/10", 5 },
                { "Bytes  \t7-7/8\r\n", 7 },
                { " bytes 1-2/*", 1 },
                { "bytes 18446744073709551613-18446744073709551613/18446744073709551615", 18446744073709551613u },
        };
        static const char *const bad[] = {
                "", "bytes", "bytes ", "bytes=0-9/10", "bytes0-9/10", "items 0-9/10", "bytes */10",
                "bytes 5-4/10", "bytes 0-10/10", "bytes -1-9/10", "bytes +1-9/10", "bytes 0-9", "bytes 0-9/",
                "bytes 0-9/10x", "bytes 0 -9/10", "bytes 0- 9/10", "bytes 0-9 /10", "bytes 0x1-9/10",
                "bytes 1-9/10 junk", "bytes 18446744073709551616-18446744073709551617/*", "bytes 1-2/**",
                "bytes 1-2/-3", "\xff\xfe",
        };
        uint64_t v;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                v = 42;
                ck_assert_msg(up_http_content_range_start(good[i].value, &v) == 0, "refused: %s", good[i].value);
                ck_assert_uint_eq(v, good[i].start);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                v = 42;
                ck_assert_msg(up_http_content_range_start(bad[i], &v) == -EBADMSG, "accepted: %s", bad[i]);
                ck_assert_uint_eq(v, 42);
        }
        ck_assert_int_eq(up_http_content_range_start(NULL, &v), -EINVAL);
}
END_TEST

static int make_image(void) {
        uint32_t x = 0x12345678;

        for (size_t i = 0; i < IMAGE_SIZE; i++) {
                x = x * 1103515245u + 12345u;
                image[i] = (uint8_t) (x >> 16);
        }
        image_hashes[0].alg = UP_HASH_SHA256;
        image_hashes[1].alg = UP_HASH_SHA512;
        if (up_hash_buffer(UP_HASH_SHA256, image, IMAGE_SIZE, image_hashes[0].digest) < 0 ||
            up_hash_buffer(UP_HASH_SHA512, image, IMAGE_SIZE, image_hashes[1].digest) < 0)
                return -1;
        return 0;
}

int main(void) {
        Suite *s = suite_create("image_download");
        TCase *tc = tcase_create("image_download");
        SRunner *sr;
        int failed;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (make_image() < 0 || !mkdtemp(tmpdir) || start_server() < 0)
                return 1;
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_happy_path);
        tcase_add_test(tc, test_json_hashes);
        tcase_add_test(tc, test_resume_after_cut);
        tcase_add_test(tc, test_server_ignores_range);
        tcase_add_test(tc, test_wrong_bytes);
        tcase_add_test(tc, test_too_long);
        tcase_add_test(tc, test_slow_retrieval);
        tcase_add_test(tc, test_part_longer_than_image);
        tcase_add_test(tc, test_tampered_prefix);
        tcase_add_test(tc, test_complete_part_needs_no_request);
        tcase_add_test(tc, test_no_space_margin);
        tcase_add_test(tc, test_no_space_tmpfs);
        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_bad_arguments);
        suite_add_tcase(s, tc);
        tc = tcase_create("image_sink");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_sink_whole);
        tcase_add_test(tc, test_sink_resume);
        tcase_add_test(tc, test_sink_restart);
        tcase_add_test(tc, test_sink_too_big);
        tcase_add_test(tc, test_sink_wrong_bytes);
        tcase_add_test(tc, test_sink_short);
        tcase_add_test(tc, test_sink_busy);
        tcase_add_test(tc, test_sink_keep_part);
        tcase_add_test(tc, test_sink_debris);
        tcase_add_test(tc, test_sink_expected_copied);
        tcase_add_test(tc, test_sink_bad_arguments);
        tcase_add_test(tc, test_sink_no_space_margin);
        tcase_add_test(tc, test_sink_no_space);
        tcase_add_test(tc, test_content_range);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        /* One process: the server thread lives in it. */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        close(listen_fd);
        remove_files();
        (void) rmdir(tmpdir);
        curl_global_cleanup();
        return failed == 0 ? 0 : 1;
}
