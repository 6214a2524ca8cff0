/* SPDX-License-Identifier: MIT */
/* The Primary's persistent state: state.json, the ECU key, the metadata directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/json.h"
#include "uptane/storage.h"
#include "state.h"
#include "daemon_macro.h"
#include "daemon_state.h"

#define STATE_FILE "state.json"

int state_metadata_dir(const State *s, const char *repo, char **ret) {
        return asprintf(ret, "%s/metadata/%s", s->dir, repo) < 0 ? -ENOMEM : 0;
}

/* The first trusted root comes from the configuration; later ones from the
 * repository's rotations, never again from the configuration. */
static int install_initial_root(State *s, const char *repo, const char *root_path, char **reterr) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = state_metadata_dir(s, repo, &dir);
        if (r < 0)
                return r;
        r = daemon_mkdir_p(dir, 0700);
        if (r < 0)
                return daemon_error(reterr, r, "cannot create %s: %s", dir, strerror(-r));
        return daemon_install_initial_root(dir, repo, root_path, reterr);
}

int state_open(State *s, const char *dir, const char *director_root, const char *image_root, char **reterr) {
        int r;

        *s = (State) {};
        r = daemon_mkdir_p(dir, 0700);
        if (r < 0)
                return daemon_error(reterr, r, "cannot create the state directory %s: %s", dir, strerror(-r));
        s->dir = strdup(dir);
        if (!s->dir)
                return -ENOMEM;
        r = install_initial_root(s, "director", director_root, reterr);
        if (r >= 0)
                r = install_initial_root(s, "image", image_root, reterr);
        if (r >= 0)
                r = daemon_load_json_object(s->dir, STATE_FILE, STATE_MAX_BYTES, &s->doc, reterr);
        if (r < 0)
                state_close(s);
        return r;
}

void state_close(State *s) {
        free(s->dir);
        if (s->doc)
                json_object_put(s->doc);
        *s = (State) {};
}

int state_load_or_create_key(State *s, UpKey **ret, bool *ret_created) {
        return daemon_load_or_create_key(s->dir, ret, ret_created, /* reterr= */ NULL);
}

int state_save(State *s) {
        const char *text;
        size_t len;

        text = json_object_to_json_string_length(s->doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                 &len);
        if (!text)
                return -ENOMEM;
        int r = up_write_file_atomic(s->dir, STATE_FILE, text, len, 0600);

        if (r < 0)
                return r;
        s->dirty = false;
        return 0;
}

int state_save_if_dirty(State *s) {
        return s->dirty ? state_save(s) : 0;
}

int64_t state_get_int(const State *s, const char *key, int64_t def) {
        struct json_object *v;

        if (!json_object_object_get_ex(s->doc, key, &v) || !json_object_is_type(v, json_type_int))
                return def;
        return json_object_get_int64(v);
}

static int set_member(State *s, const char *key, struct json_object *v) {
        struct json_object *old;

        if (!v)
                return -ENOMEM;
        if (json_object_object_get_ex(s->doc, key, &old) && json_object_equal(old, v)) {
                json_object_put(v);
                return 0;
        }
        if (json_object_object_add(s->doc, key, v) < 0)
                return -ENOMEM;
        s->dirty = true;
        return 0;
}

int state_set_int(State *s, const char *key, int64_t v) {
        return set_member(s, key, json_object_new_int64(v));
}

bool state_get_bool(const State *s, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(s->doc, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

int state_set_bool(State *s, const char *key, bool v) {
        return set_member(s, key, json_object_new_boolean(v));
}

const char *state_get_string(const State *s, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(s->doc, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void del_member(State *s, const char *key) {
        if (json_object_object_get_ex(s->doc, key, NULL)) {
                json_object_object_del(s->doc, key);
                s->dirty = true;
        }
}

int state_set_string(State *s, const char *key, const char *v) {
        if (!v) {
                del_member(s, key);
                return 0;
        }
        return set_member(s, key, json_object_new_string(v));
}

struct json_object *state_get_object(const State *s, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(s->doc, key, &v) || !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

int state_set_object(State *s, const char *key, struct json_object *o) {
        if (!o) {
                del_member(s, key);
                return 0;
        }
        return set_member(s, key, o);
}

bool state_get_image(const State *s, const char *key, ImageRecord *ret) {
        struct json_object *o = state_get_object(s, key), *name, *length, *hashes;

        if (!o || !json_object_object_get_ex(o, "name", &name) || !json_object_is_type(name, json_type_string) ||
            !json_object_object_get_ex(o, "length", &length) || !json_object_is_type(length, json_type_int) ||
            json_object_get_int64(length) < 0 || !json_object_object_get_ex(o, "hashes", &hashes) ||
            !json_object_is_type(hashes, json_type_object))
                return false;
        *ret = (ImageRecord) {
                .name = json_object_get_string(name),
                .length = (uint64_t) json_object_get_int64(length),
                .hashes = hashes,
        };
        return true;
}

struct json_object *image_record_to_json(const char *name, uint64_t length, struct json_object *hashes) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
            json_object_object_add(o, "length", json_object_new_int64((int64_t) length)) < 0 ||
            json_object_object_add(o, "hashes", json_object_get(hashes)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int64_t state_get_counter(const State *s, const char *ecu_serial) {
        struct json_object *counters = state_get_object(s, "release_counters"), *v;

        if (!counters || !json_object_object_get_ex(counters, ecu_serial, &v) || !json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

int state_set_counter(State *s, const char *ecu_serial, int64_t counter) {
        struct json_object *counters = state_get_object(s, "release_counters");
        int r;

        if (state_get_counter(s, ecu_serial) == counter)
                return 0;
        if (!counters) {
                counters = json_object_new_object();
                r = state_set_object(s, "release_counters", counters);
                if (r < 0)
                        return r;
        }
        s->dirty = true;
        return json_object_object_add(counters, ecu_serial, json_object_new_int64(counter)) < 0 ? -ENOMEM : 0;
}

int state_add_attack(State *s, const char *text) {
        const char *old = state_get_string(s, "attacks_detected");
        _cleanup_free_ char *joined = NULL;

        if (!old || !*old)
                joined = strndup(text, STATE_MAX_ATTACKS_TEXT);
        else if (strlen(old) + 2 + strlen(text) > STATE_MAX_ATTACKS_TEXT)
                return 0; /* the report already says enough; the journal has the rest */
        else if (asprintf(&joined, "%s; %s", old, text) < 0)
                joined = NULL;
        if (!joined)
                return -ENOMEM;
        return state_set_string(s, "attacks_detected", joined);
}
