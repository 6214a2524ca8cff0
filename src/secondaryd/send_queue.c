/* SPDX-License-Identifier: MIT */
/* A thread that sends queued messages on a blocking transport. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_macro.h"
#include "log.h"
#include "send_queue.h"

/* Only wakes the thread: no SA_RESTART, so a blocked send returns EINTR. */
#define WAKE_SIGNAL (SIGRTMIN + 2)

typedef struct Message {
        uint8_t *data;
        size_t len;
} Message;

struct SendQueue {
        UdsTransport transport;
        const char *what;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Message items[SEND_QUEUE_MAX]; /* a ring: head, then n items */
        size_t head, n;
        bool stop;
};

static void on_wake(int sig) {
        (void) sig;
}

static void *sender_main(void *userdata) {
        SendQueue *q = userdata;
        sigset_t wake;

        sigemptyset(&wake);
        sigaddset(&wake, WAKE_SIGNAL);
        (void) pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
        for (;;) {
                Message m;
                int r;

                pthread_mutex_lock(&q->lock);
                while (!q->stop && q->n == 0)
                        pthread_cond_wait(&q->cond, &q->lock);
                if (q->stop) {
                        pthread_mutex_unlock(&q->lock);
                        return NULL;
                }
                m = q->items[q->head];
                q->head = (q->head + 1) % SEND_QUEUE_MAX;
                q->n--;
                pthread_mutex_unlock(&q->lock);

                r = q->transport.send(q->transport.userdata, m.data, m.len);
                free(m.data);
                if (r < 0 && !__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE))
                        log_warning("%s: cannot send the response: %s", q->what, strerror(-r));
        }
}

int send_queue_new(UdsTransport transport, const char *what, SendQueue **ret) {
        struct sigaction sa = { .sa_handler = on_wake };
        sigset_t wake;
        SendQueue *q;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->transport = transport;
        q->what = what;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        sigemptyset(&sa.sa_mask);
        (void) sigaction(WAKE_SIGNAL, &sa, NULL);
        /* Only the sender takes the wake signal: blocked here (and in the threads
         * started from here), the sender unblocks it for itself. */
        sigemptyset(&wake);
        sigaddset(&wake, WAKE_SIGNAL);
        (void) pthread_sigmask(SIG_BLOCK, &wake, NULL);
        r = -pthread_create(&q->thread, NULL, sender_main, q);
        if (r < 0) {
                pthread_cond_destroy(&q->cond);
                pthread_mutex_destroy(&q->lock);
                free(q);
                return r;
        }
        *ret = q;
        return 0;
}

int send_queue_push(SendQueue *q, const uint8_t *msg, size_t len) {
        uint8_t *copy;
        int r = 0;

        copy = malloc(len > 0 ? len : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, msg, len);
        pthread_mutex_lock(&q->lock);
        if (q->n == SEND_QUEUE_MAX)
                r = -ENOBUFS;
        else {
                q->items[(q->head + q->n) % SEND_QUEUE_MAX] = (Message) { .data = TAKE_PTR(copy), .len = len };
                q->n++;
                pthread_cond_signal(&q->cond);
        }
        pthread_mutex_unlock(&q->lock);
        free(copy);
        return r;
}

SendQueue *send_queue_free(SendQueue *q) {
        if (!q)
                return NULL;
        pthread_mutex_lock(&q->lock);
        __atomic_store_n(&q->stop, true, __ATOMIC_RELEASE);
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
        /* Again until it ends: a signal that came just before the send began woke nothing. */
        for (;;) {
                struct timespec until;

                (void) pthread_kill(q->thread, WAKE_SIGNAL);
                (void) clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 100 * 1000 * 1000;
                if (until.tv_nsec >= 1000 * 1000 * 1000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000 * 1000 * 1000;
                }
                if (pthread_timedjoin_np(q->thread, NULL, &until) != ETIMEDOUT)
                        break;
        }
        for (size_t i = 0; i < q->n; i++)
                free(q->items[(q->head + i) % SEND_QUEUE_MAX].data);
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}
