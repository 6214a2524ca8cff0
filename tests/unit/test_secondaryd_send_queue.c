/* SPDX-License-Identifier: MIT */
/* uptane-secondaryd's send queue: messages leave in order on the sender
 * thread, a stalled transport neither blocks the caller nor takes more than
 * SEND_QUEUE_MAX messages, and freeing the queue interrupts a stalled send. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "send_queue.h"

static int fds[2];

static int pipe_send(void *userdata, const uint8_t *data, size_t len) {
        ssize_t n;

        (void) userdata;
        n = write(fds[1], data, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

START_TEST(test_in_order) {
        UdsTransport t = { .send = pipe_send };
        SendQueue *q = NULL;
        char buf[64] = {};
        size_t got = 0;

        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        ck_assert_int_eq(send_queue_new(t, "test", &q), 0);
        ck_assert_int_eq(send_queue_push(q, (const uint8_t *) "one,", 4), 0);
        ck_assert_int_eq(send_queue_push(q, (const uint8_t *) "two,", 4), 0);
        ck_assert_int_eq(send_queue_push(q, (const uint8_t *) "three", 5), 0);
        while (got < 13) {
                ssize_t n = read(fds[0], buf + got, sizeof(buf) - 1 - got);

                ck_assert_int_gt(n, 0);
                got += (size_t) n;
        }
        ck_assert_str_eq(buf, "one,two,three");
        q = send_queue_free(q);
        close(fds[0]);
        close(fds[1]);
}
END_TEST

/* The pipe is full and nobody reads it: the transport blocks like an ISO-TP
 * send whose flow control never comes. */
START_TEST(test_stalled_transport) {
        UdsTransport t = { .send = pipe_send };
        static uint8_t fill[1 << 16];
        SendQueue *q = NULL;
        uint64_t start;
        unsigned taken = 0;
        int r;

        ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        while (write(fds[1], fill, sizeof(fill)) > 0)
                ;
        ck_assert_int_eq(fcntl(fds[1], F_SETFL, 0), 0); /* blocking again: the next write waits */
        ck_assert_int_eq(send_queue_new(t, "test", &q), 0);
        start = now_msec();
        while ((r = send_queue_push(q, (const uint8_t *) "x", 1)) == 0)
                taken++;
        ck_assert_int_eq(r, -ENOBUFS);
        /* One is in the stalled send, SEND_QUEUE_MAX wait (or all wait if the thread is not there yet). */
        ck_assert_uint_ge(taken, SEND_QUEUE_MAX);
        ck_assert_uint_le(taken, SEND_QUEUE_MAX + 1);
        ck_assert_uint_lt(now_msec() - start, 1000);
        start = now_msec();
        q = send_queue_free(q);
        ck_assert_uint_lt(now_msec() - start, 2000);
        close(fds[0]);
        close(fds[1]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("secondaryd_send_queue");
        TCase *tc = tcase_create("queue");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_in_order);
        tcase_add_test(tc, test_stalled_transport);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
