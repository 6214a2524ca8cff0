/* SPDX-License-Identifier: MIT */
/*
 * A bounded set of worker threads over an array: each thread takes the next
 * item until none is left (secondary_pool.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "secondary_pool.h"

typedef struct Pool {
        uint8_t *items;
        size_t n, item_size;
        SecondaryPoolFn fn;
        void *userdata;
        const atomic_bool *cancel;
        atomic_size_t next, done;
} Pool;

static void *pool_worker(void *p) {
        Pool *pool = p;

        for (;;) {
                size_t i;

                if (pool->cancel && atomic_load(pool->cancel))
                        break;
                i = atomic_fetch_add(&pool->next, 1);
                if (i >= pool->n)
                        break;
                pool->fn(pool->items + i * pool->item_size, pool->userdata);
                atomic_fetch_add(&pool->done, 1);
        }
        return NULL;
}

size_t secondary_pool_run(void *items, size_t n, size_t item_size, size_t max_threads, SecondaryPoolFn fn,
                          void *userdata, const atomic_bool *cancel) {
        Pool pool = { .items = items, .n = n, .item_size = item_size, .fn = fn, .userdata = userdata,
                      .cancel = cancel };
        pthread_t threads[SECONDARY_POOL_MAX_THREADS];
        size_t want = max_threads == 0 || max_threads > SECONDARY_POOL_MAX_THREADS ? SECONDARY_POOL_MAX_THREADS
                                                                                    : max_threads;
        size_t started = 0;

        atomic_init(&pool.next, 0);
        atomic_init(&pool.done, 0);
        if (want > n)
                want = n;
        /* The calling thread is one of them: one item alone needs no other thread. */
        while (started + 1 < want && pthread_create(&threads[started], NULL, pool_worker, &pool) == 0)
                started++;
        /* With no thread started, the calling thread does all the work. */
        (void) pool_worker(&pool);
        for (size_t i = 0; i < started; i++)
                (void) pthread_join(threads[i], NULL);
        return atomic_load(&pool.done);
}
