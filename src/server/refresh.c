/* SPDX-License-Identifier: MIT */
/*
 * The Director's timestamps expire (one day by default): a vehicle that is
 * not reassigned would soon see only expired metadata and refuse it (freeze).
 * Every refresh interval, each vehicle whose timestamp expires within the
 * margin gets a new one, signed with the Director's online key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "director_glue.h"
#include "refresh.h"
#include "uptane/director.h"
#include "uptane/metadata.h"
#include "uptane/storage.h"

struct Refresher {
        Server *server;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
};

/* When the published timestamp of a vehicle expires; 0 when unknown. */
static time_t timestamp_expiry(Server *s, const char *vin) {
        UpMetadata *m = NULL;
        uint8_t *data = NULL;
        char *path = NULL;
        time_t t = 0;
        size_t len;

        if (asprintf(&path, "%s/vehicles/%s/metadata/timestamp.json", s->cfg.director_dir, vin) < 0)
                return 0;
        if (up_read_file(path, 64 * 1024, &data, &len) >= 0 && up_metadata_parse(data, len, UP_ROLE_TIMESTAMP, &m) >= 0)
                t = up_metadata_expires(m);
        up_metadata_unref(m);
        free(data);
        free(path);
        return t;
}

static void refresh_once(Server *s) {
        char **vins = NULL;
        size_t n = 0;
        UpRepo *d = NULL;
        time_t now = time(NULL);

        if (director_open(s, &d) < 0)
                return;
        if (up_director_vehicles(d, &vins, &n) < 0)
                n = 0;
        for (size_t i = 0; i < n; i++) {
                time_t expires = timestamp_expiry(s, vins[i]);

                if (expires > now + (time_t) s->cfg.refresh_margin)
                        continue;
                if (up_repo_publish_set(d, vins[i], NULL, 0, now) < 0)
                        log_msg(3, "cannot refresh the Director timestamp of %s: %s", vins[i], up_repo_error(d));
                else
                        log_msg(6, "Director timestamp of %s refreshed", vins[i]);
        }
        up_director_vehicles_free(vins, n);
        director_close(s, d, 0);
}

static void *refresher_main(void *arg) {
        Refresher *r = arg;

        pthread_mutex_lock(&r->lock);
        while (!r->stop) {
                struct timespec until;

                pthread_mutex_unlock(&r->lock);
                refresh_once(r->server);
                pthread_mutex_lock(&r->lock);
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += (time_t) r->server->cfg.refresh_interval;
                while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT)
                        ;
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

int refresher_start(Server *s, Refresher **ret) {
        Refresher *r = calloc(1, sizeof(Refresher));

        if (!r)
                return -ENOMEM;
        r->server = s;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->wake, NULL);
        if (pthread_create(&r->thread, NULL, refresher_main, r) != 0) {
                free(r);
                return -EAGAIN;
        }
        *ret = r;
        return 0;
}

Refresher *refresher_stop(Refresher *r) {
        if (!r)
                return NULL;
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}
