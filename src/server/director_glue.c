/* SPDX-License-Identifier: MIT */
/* The server's use of the Director repository. It is loaded afresh for each
 * change, under a lock, so that uptane-repo may edit it while we run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "director_glue.h"
#include "uptane/director.h"

int director_open(Server *s, UpRepo **ret) {
        char *error = NULL;
        int r;

        pthread_mutex_lock(&s->director_lock);
        r = up_repo_load(s->cfg.director_dir, ret, &error);
        if (r < 0) {
                log_msg(3, "cannot load the Director repository: %s", error ? error : strerror(-r));
                pthread_mutex_unlock(&s->director_lock);
        }
        free(error);
        return r;
}

int director_close(Server *s, UpRepo *d, int r) {
        if (r < 0 && r != -ENOENT && d)
                log_msg(3, "Director repository: %s", up_repo_error(d));
        up_repo_free(d);
        pthread_mutex_unlock(&s->director_lock);
        return r;
}

int director_vehicle_registered(Server *s, const char *vin) {
        UpRepo *d = NULL;
        int r;

        r = director_open(s, &d);
        if (r < 0)
                return r;
        return director_close(s, d, up_director_add_vehicle(d, vin, time(NULL)));
}

int director_assigned_target(Server *s, const char *vin, const char *serial, char **ret_name, char **ret_sha256) {
        struct json_object *entry = NULL, *hashes, *sha;
        char *name = NULL;
        UpRepo *d = NULL;
        int r;

        r = director_open(s, &d);
        if (r < 0)
                return r;
        r = up_director_ecu_target(d, vin, serial, &name, &entry);
        if (r >= 0 && (!json_object_object_get_ex(entry, "hashes", &hashes) ||
                       !json_object_object_get_ex(hashes, "sha256", &sha)))
                r = -EBADMSG;
        if (r >= 0) {
                *ret_sha256 = strdup(json_object_get_string(sha));
                *ret_name = name;
                name = NULL;
                r = *ret_sha256 ? 0 : -ENOMEM;
        }
        free(name);
        if (entry)
                json_object_put(entry);
        return director_close(s, d, r);
}

int director_assignment_ended(Server *s, const char *vin, const char *serial) {
        UpRepo *d = NULL;
        int r;

        r = director_open(s, &d);
        if (r < 0)
                return r;
        return director_close(s, d, up_director_clear(d, vin, serial, time(NULL)));
}

int director_metadata_dir(Server *s, const char *vin, char **ret) {
        /* Only reads files: no need to load keys. */
        return asprintf(ret, "%s/vehicles/%s/metadata", s->cfg.director_dir, vin) < 0 ? -ENOMEM : 0;
}

int director_targets_dir(Server *s, const char *vin, char **ret) {
        return asprintf(ret, "%s/vehicles/%s/targets", s->cfg.director_dir, vin) < 0 ? -ENOMEM : 0;
}
