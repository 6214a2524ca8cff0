/* SPDX-License-Identifier: MIT */
/* The Primary's persistent state: state.json, the ECU key, the metadata directories. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/json.h"
#include "uptane/storage.h"
#include "state.h"
#include "macro.h"

#define STATE_FILE "state.json"
#define KEY_FILE "ecu.key"
#define ROOT_MAX_BYTES (16u * 1024u * 1024u)

static int set_error(char **reterr, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_error(char **reterr, int r, const char *fmt, ...) {
        va_list ap;

        if (!reterr)
                return r;
        free(*reterr);
        *reterr = NULL;
        va_start(ap, fmt);
        if (vasprintf(reterr, fmt, ap) < 0)
                *reterr = NULL;
        va_end(ap);
        return r;
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int state_metadata_dir(const State *s, const char *repo, char **ret) {
        return asprintf(ret, "%s/metadata/%s", s->dir, repo) < 0 ? -ENOMEM : 0;
}

/* The first trusted root comes from the configuration; later ones from the
 * repository's rotations, never again from the configuration. */
static int install_initial_root(State *s, const char *repo, const char *root_path, char **reterr) {
        _cleanup_free_ char *dir = NULL, *existing = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = state_metadata_dir(s, repo, &dir);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return set_error(reterr, r, "cannot create %s: %s", dir, strerror(-r));
        if (asprintf(&existing, "%s/root.json", dir) < 0)
                return -ENOMEM;
        if (access(existing, F_OK) == 0)
                return 0;
        r = up_read_file(root_path, ROOT_MAX_BYTES, &data, &len);
        if (r < 0)
                return set_error(reterr, r, "cannot read the initial %s root %s: %s", repo, root_path, strerror(-r));
        r = up_write_file_atomic(dir, "root.json", data, len, 0600);
        if (r < 0)
                return set_error(reterr, r, "cannot store %s/root.json: %s", dir, strerror(-r));
        return 0;
}

static int load_doc(State *s, char **reterr) {
        UpJsonLimits limits = UP_JSON_LIMITS_DEFAULT;
        _cleanup_free_ uint8_t *data = NULL;
        struct json_object *doc;
        size_t len;
        int r;

        r = up_read_file_at(s->dir, STATE_FILE, STATE_MAX_BYTES, &data, &len);
        if (r == -ENOENT) {
                s->doc = json_object_new_object();
                return s->doc ? 0 : -ENOMEM;
        }
        if (r < 0)
                return set_error(reterr, r, "cannot read %s/%s: %s", s->dir, STATE_FILE, strerror(-r));
        r = up_json_parse(data, len, &limits, &doc);
        if (r < 0 || !json_object_is_type(doc, json_type_object)) {
                if (r >= 0)
                        json_object_put(doc);
                return set_error(reterr, -EBADMSG, "%s/%s is not a JSON object: move it away to start afresh",
                                 s->dir, STATE_FILE);
        }
        s->doc = doc;
        return 0;
}

int state_open(State *s, const char *dir, const char *director_root, const char *image_root, char **reterr) {
        int r;

        *s = (State) {};
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return set_error(reterr, r, "cannot create the state directory %s: %s", dir, strerror(-r));
        s->dir = strdup(dir);
        if (!s->dir)
                return -ENOMEM;
        r = install_initial_root(s, "director", director_root, reterr);
        if (r >= 0)
                r = install_initial_root(s, "image", image_root, reterr);
        if (r >= 0)
                r = load_doc(s, reterr);
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
        _cleanup_free_ char *path = NULL;
        UpKey *key;
        int r;

        if (asprintf(&path, "%s/%s", s->dir, KEY_FILE) < 0)
                return -ENOMEM;
        r = up_key_load_private(path, &key);
        if (r == 0) {
                *ret = key;
                *ret_created = false;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = up_key_generate(UP_SCHEME_ED25519, &key);
        if (r < 0)
                return r;
        r = up_key_save_private(key, path); /* 0600, atomic */
        if (r < 0) {
                up_key_unref(key);
                return r;
        }
        *ret = key;
        *ret_created = true;
        return 0;
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
