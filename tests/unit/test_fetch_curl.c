/* SPDX-License-Identifier: MIT */
/* The HTTP fetcher against a small server on 127.0.0.1 that misbehaves on
 * purpose: endless data, slow retrieval, errors. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "uptane/fetch.h"

static int listen_fd = -1;
static int port;
static pthread_t server_thread;

static void send_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n <= 0)
                        return;
                p += n;
                len -= (size_t) n;
        }
}

static void send_str(int fd, const char *s) {
        send_all(fd, s, strlen(s));
}

static void respond(int fd, const char *path) {
        char head[256], body[4096];

        memset(body, 'x', sizeof(body));
        if (strcmp(path, "/ok") == 0) {
                send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        } else if (strcmp(path, "/missing") == 0) {
                send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n");
        } else if (strcmp(path, "/error") == 0) {
                send_str(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else if (strcmp(path, "/endless") == 0) {
                /* No length announced, data until the client gives up. */
                send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                for (int i = 0; i < 4096; i++)
                        send_all(fd, body, sizeof(body));
        } else if (strcmp(path, "/announced-big") == 0) {
                snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n");
                send_all(fd, head, strlen(head));
                send_all(fd, body, sizeof(body));
        } else if (strcmp(path, "/slow") == 0) {
                /* A trickle: 10 bytes a second, under the speed limit. */
                send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n");
                for (int i = 0; i < 100; i++) {
                        send_all(fd, body, 10);
                        usleep(1000 * 1000);
                }
        }
}

static void *serve(void *arg) {
        (void) arg;
        for (;;) {
                char req[2048] = {}, path[256] = {};
                int fd = accept(listen_fd, NULL, NULL);

                if (fd < 0)
                        return NULL;
                if (recv(fd, req, sizeof(req) - 1, 0) > 0 && sscanf(req, "GET %255s", path) == 1)
                        respond(fd, path);
                close(fd);
        }
}

static int start_server(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);

        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(listen_fd, 8) < 0 ||
            getsockname(listen_fd, (struct sockaddr *) &a, &len) < 0) {
                perror("test server on 127.0.0.1");
                return -1;
        }
        port = ntohs(a.sin_port);
        if (pthread_create(&server_thread, NULL, serve, NULL) != 0)
                return -1;
        pthread_detach(server_thread);
        return 0;
}

static int fetch(const char *path, size_t max_len, const UpHttpOptions *opts, size_t *ret_len) {
        UpHttpFetcher *f = NULL;
        uint8_t *buf = NULL;
        char url[128];
        size_t len = 0;
        UpFetcher fetcher;
        int r;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        ck_assert_int_eq(up_http_fetcher_new(opts, &f), 0);
        fetcher = up_http_fetcher_as_fetcher(f);
        r = fetcher.fetch(fetcher.userdata, url, max_len, &buf, &len);
        if (r == 0 && ret_len)
                *ret_len = len;
        free(buf);
        up_http_fetcher_free(f);
        return r;
}

START_TEST(test_ok) {
        size_t len = 0;

        ck_assert_int_eq(fetch("/ok", 5, NULL, &len), 0);
        ck_assert_uint_eq(len, 5);
        /* One byte more than allowed is endless data. */
        ck_assert_int_eq(fetch("/ok", 4, NULL, NULL), -EFBIG);
}
END_TEST

START_TEST(test_status_codes) {
        ck_assert_int_eq(fetch("/missing", 1000, NULL, NULL), -ENOENT);
        ck_assert_int_eq(fetch("/error", 1000, NULL, NULL), -EIO);
}
END_TEST

START_TEST(test_endless_data_stops_early) {
        time_t start = time(NULL);

        ck_assert_int_eq(fetch("/endless", 16384, NULL, NULL), -EFBIG);
        ck_assert_int_eq(fetch("/announced-big", 16384, NULL, NULL), -EFBIG);
        ck_assert_int_le(time(NULL) - start, 5);
}
END_TEST

START_TEST(test_slow_retrieval) {
        UpHttpOptions o = { .low_speed_bytes = 100, .low_speed_time_s = 2 };
        time_t start = time(NULL);

        ck_assert_int_eq(fetch("/slow", 1000, &o, NULL), -ETIMEDOUT);
        /* Given up after the guard's time, not after the 100 s the trickle lasts. */
        ck_assert_int_le(time(NULL) - start, 10);
}
END_TEST

START_TEST(test_refused_schemes) {
        UpHttpFetcher *f = NULL;
        uint8_t *buf = NULL;
        size_t len;
        UpFetcher fetcher;

        ck_assert_int_eq(up_http_fetcher_new(NULL, &f), 0);
        fetcher = up_http_fetcher_as_fetcher(f);
        ck_assert_int_lt(fetcher.fetch(fetcher.userdata, "file:///etc/passwd", 1 << 20, &buf, &len), 0);
        ck_assert_ptr_null(buf);
        ck_assert_int_eq(fetcher.fetch(fetcher.userdata, "http://127.0.0.1:1/x", 10, &buf, &len), -ECONNREFUSED);
        up_http_fetcher_free(f);
}
END_TEST

int main(void) {
        Suite *s = suite_create("fetch_curl");
        TCase *tc = tcase_create("fetch_curl");
        SRunner *sr;
        int failed;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (start_server() < 0)
                return 1;
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_ok);
        tcase_add_test(tc, test_status_codes);
        tcase_add_test(tc, test_endless_data_stops_early);
        tcase_add_test(tc, test_slow_retrieval);
        tcase_add_test(tc, test_refused_schemes);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        /* One process: the server thread lives in it. */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        close(listen_fd);
        curl_global_cleanup();
        return failed == 0 ? 0 : 1;
}
