/* SPDX-License-Identifier: MIT */
/* The Secondary's persistent state: its key, metadata directories and state.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/storage.h"
#include "daemon_macro.h"
#include "daemon_state.h"
#include "secondary_state.h"

#define STATE_FILE "state.json"

int secondary_clear_dir(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0))
                        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                                r = -errno;
        closedir(d);
        return r;
}

static int make_dirs(SecondaryState *s, char **reterr) {
        char **dirs[] = { &s->director_dir, &s->image_dir, &s->incoming_director, &s->incoming_image,
                          &s->incoming_target };
        const char *names[] = { "director", "image", "incoming/director", "incoming/image", "incoming/target" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int r;

                if (asprintf(dirs[i], "%s/%s", s->dir, names[i]) < 0)
                        return -ENOMEM;
                r = daemon_mkdir_p(*dirs[i], 0700);
                if (r < 0)
                        return daemon_error(reterr, r, "cannot create %s: %s", *dirs[i], strerror(-r));
        }
        return 0;
}

static int64_t get_int(struct json_object *doc, const char *key, int64_t def) {
        struct json_object *v;

        if (!json_object_object_get_ex(doc, key, &v) || !json_object_is_type(v, json_type_int))
                return def;
        return json_object_get_int64(v);
}

static int dup_string(struct json_object *doc, const char *key, const char *def, char **ret) {
        struct json_object *v;
        const char *str = def;

        if (json_object_object_get_ex(doc, key, &v) && json_object_is_type(v, json_type_string))
                str = json_object_get_string(v);
        free(*ret);
        *ret = str ? strdup(str) : NULL;
        return !str || *ret ? 0 : -ENOMEM;
}

static int from_json(SecondaryState *s, struct json_object *doc) {
        struct json_object *h;
        int r;

        r = dup_string(doc, "installed_name", NULL, &s->installed_name);
        if (r >= 0)
                r = dup_string(doc, "attacks_detected", "", &s->attacks);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(doc, "installed_hashes", &h) && json_object_is_type(h, json_type_object))
                s->installed_hashes = json_object_get(h);
        s->installed_length = get_int(doc, "installed_length", 0);
        s->active_slot = get_int(doc, "active_slot", 0) == 1;
        s->release_counter = get_int(doc, "release_counter", -1);
        s->time = get_int(doc, "time", 0);
        s->previous_time = get_int(doc, "previous_time", s->time);
        s->nonce = get_int(doc, "nonce", -1);
        s->report_counter = get_int(doc, "report_counter", 0);
        return 0;
}

static int load(SecondaryState *s, char **reterr) {
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        r = daemon_load_json_object(s->dir, STATE_FILE, SECONDARY_STATE_MAX_BYTES, &doc, reterr);
        if (r < 0)
                return r;
        return from_json(s, doc);
}

/* The factory image: whatever slot-a holds (created empty when missing). */
static int factory_image(SecondaryState *s, const SecondaryConfig *c, char **reterr) {
        _cleanup_close_ int fd = -1;
        UpHasher *h = NULL;
        uint8_t buf[65536], digest[UP_HASH_MAX_SIZE];
        int64_t total = 0;
        ssize_t n;
        int r = 0;

        fd = open(c->slot_a, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return daemon_error(reterr, -errno, "cannot open the slot %s: %m", c->slot_a);
        r = up_hasher_new(&h);
        while (r >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
                r = up_hasher_update(h, buf, (size_t) n);
                total += n;
        }
        if (r >= 0)
                r = n < 0 ? -errno : up_hasher_peek(h, UP_HASH_SHA256, digest);
        up_hasher_free(h);
        if (r < 0)
                return daemon_error(reterr, r, "cannot read the slot %s: %s", c->slot_a, strerror(-r));
        char hex[2 * 32 + 1];
        for (size_t i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        s->installed_hashes = json_object_new_object();
        s->installed_name = strdup("factory");
        if (!s->installed_hashes || !s->installed_name ||
            json_object_object_add(s->installed_hashes, "sha256", json_object_new_string(hex)) < 0)
                return -ENOMEM;
        s->installed_length = total;
        s->active_slot = 0;
        return 0;
}

int secondary_state_open(SecondaryState *s, const SecondaryConfig *c, bool *ret_key_created, char **reterr) {
        int r;

        *s = (SecondaryState) { .release_counter = -1, .nonce = -1 };
        r = daemon_mkdir_p(c->state_directory, 0700);
        if (r < 0)
                return daemon_error(reterr, r, "cannot create the state directory %s: %s", c->state_directory,
                                 strerror(-r));
        s->dir = strdup(c->state_directory);
        if (!s->dir)
                return -ENOMEM;
        r = make_dirs(s, reterr);
        if (r >= 0)
                r = daemon_install_initial_root(s->director_dir, NULL, c->director_root, reterr);
        if (r >= 0 && c->verification == SECONDARY_VERIFICATION_FULL)
                r = daemon_install_initial_root(s->image_dir, NULL, c->image_root, reterr);
        if (r >= 0)
                r = daemon_load_or_create_key(s->dir, &s->key, ret_key_created, reterr);
        if (r >= 0)
                r = load(s, reterr);
        if (r >= 0 && !s->installed_name)
                r = factory_image(s, c, reterr);
        if (r >= 0 && !up_nonce_valid(s->nonce))
                r = up_nonce_generate(&s->nonce);
        if (r >= 0)
                r = secondary_state_save(s);
        if (r < 0 && reterr && !*reterr)
                (void) daemon_error(reterr, r, "cannot set up the state in %s: %s", c->state_directory, strerror(-r));
        return r;
}

void secondary_state_close(SecondaryState *s) {
        free(s->dir);
        free(s->director_dir);
        free(s->image_dir);
        free(s->incoming_director);
        free(s->incoming_image);
        free(s->incoming_target);
        up_key_unref(s->key);
        free(s->installed_name);
        json_object_put(s->installed_hashes);
        free(s->attacks);
        *s = (SecondaryState) {};
}

static int add(struct json_object *doc, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(doc, key, v) < 0 ? -ENOMEM : 0;
}

int secondary_state_save(const SecondaryState *s) {
        _cleanup_json_ struct json_object *doc = json_object_new_object();
        const char *text;
        int r;

        if (!doc)
                return -ENOMEM;
        r = add(doc, "installed_name", json_object_new_string(s->installed_name));
        if (r >= 0)
                r = add(doc, "installed_length", json_object_new_int64(s->installed_length));
        if (r >= 0)
                r = add(doc, "installed_hashes", json_object_get(s->installed_hashes));
        if (r >= 0)
                r = add(doc, "active_slot", json_object_new_int(s->active_slot));
        if (r >= 0)
                r = add(doc, "release_counter", json_object_new_int64(s->release_counter));
        if (r >= 0)
                r = add(doc, "time", json_object_new_int64(s->time));
        if (r >= 0)
                r = add(doc, "previous_time", json_object_new_int64(s->previous_time));
        if (r >= 0)
                r = add(doc, "nonce", json_object_new_int64(s->nonce));
        if (r >= 0)
                r = add(doc, "report_counter", json_object_new_int64(s->report_counter));
        if (r >= 0)
                r = add(doc, "attacks_detected", json_object_new_string(s->attacks ?: ""));
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        return up_write_file_atomic(s->dir, STATE_FILE, text, strlen(text), 0600);
}

int secondary_state_add_attack(SecondaryState *s, const char *what) {
        char *n;

        if (s->attacks && strlen(s->attacks) + strlen(what) + 2 > SECONDARY_ATTACKS_MAX)
                return 0; /* the first ones are kept */
        if (asprintf(&n, "%s%s%.*s", s->attacks && *s->attacks ? s->attacks : "",
                     s->attacks && *s->attacks ? "; " : "", (int) SECONDARY_ATTACKS_MAX - 1, what) < 0)
                return -ENOMEM;
        free(s->attacks);
        s->attacks = n;
        return 0;
}
