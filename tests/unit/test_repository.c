/* SPDX-License-Identifier: MIT */
/*
 * The repository tooling (uptane/repository.h, uptane/director.h) checked
 * by libuptane's own client: every repository the tool writes is served from
 * its directory through a small file fetcher to an UpUpdater, which must
 * accept it, before and after key rotations; each staged attack must make
 * the client fail with the expected errno class, and undo must make it pass
 * again with the repository back byte for byte.
 */
#include <check.h>
#include <time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/repository.h"
#include "uptane/storage.h"
#include "uptane/updater.h"

#define NOW TESTREPO_NOW
#define DAY TESTREPO_DAY

#define ck_ok(expr)                                                                                  \
        do {                                                                                         \
                int _k = (expr);                                                                     \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k));         \
        } while (0)

/* A repository call: on failure, show what the repository said. */
#define ck_repo(repo, expr)                                                                          \
        do {                                                                                         \
                int _k = (expr);                                                                     \
                ck_assert_msg(_k >= 0, "%s failed: %s: %s", #expr, strerror(-_k), up_repo_error(repo)); \
        } while (0)

#define ck_repo_fails(repo, expr, err)                                                               \
        do {                                                                                         \
                int _k = (expr);                                                                     \
                ck_assert_msg(_k == -(err), "%s returned %d (%s), expected %s; error: %s", #expr, _k,   \
                              strerror(-_k), strerror(err), up_repo_error(repo));                    \
        } while (0)

static char *base;   /* a temp dir for the test */
static UpRepo *image, *director;

/* --- Files ------------------------------------------------------------------ */

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *pathf(const char *fmt, ...) {
        va_list ap;
        char *p;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&p, fmt, ap), 0);
        va_end(ap);
        return p;
}

static char *read_text(const char *path, size_t *ret_len) {
        uint8_t *data = NULL;
        size_t len;
        int r;

        r = up_read_file(path, 256u * 1024u * 1024u, &data, &len);
        ck_assert_msg(r >= 0, "cannot read %s: %s", path, strerror(-r));
        if (ret_len)
                *ret_len = len;
        return (char *) data;
}

static bool exists(const char *path) {
        return access(path, F_OK) == 0;
}

static mode_t file_mode(const char *path) {
        struct stat st;

        ck_assert_msg(stat(path, &st) >= 0, "stat %s", path);
        return st.st_mode & 07777;
}

static struct json_object *read_json(const char *path) {
        struct json_object *o = NULL;
        size_t len;
        char *text = read_text(path, &len);

        ck_ok(up_json_parse(text, len, &UP_JSON_LIMITS_DEFAULT, &o));
        free(text);
        return o;
}

static struct json_object *read_jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct json_object *read_jsonf(const char *fmt, ...) {
        struct json_object *o;
        va_list ap;
        char *p;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&p, fmt, ap), 0);
        va_end(ap);
        o = read_json(p);
        free(p);
        return o;
}

static struct json_object *jget(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member '%s' in %s", key,
                      json_object_to_json_string(o));
        return v;
}

static int64_t file_version(const char *path) {
        struct json_object *o = read_json(path);
        int64_t v = json_object_get_int64(jget(jget(o, "signed"), "version"));

        json_object_put(o);
        return v;
}

static int64_t published_version(UpRepo *repo, const char *vin, const char *role) {
        char *p = vin ? pathf("%s/vehicles/%s/metadata/%s.json", up_repo_dir(repo), vin, role)
                      : pathf("%s/metadata/%s.json", up_repo_dir(repo), role);
        int64_t v = file_version(p);

        free(p);
        return v;
}

static char *write_tmp(const char *name, const char *content) {
        char *p = pathf("%s/%s", base, name);

        ck_ok(testrepo_write_file(base, name, content, strlen(content)));
        return p;
}

/* A digest of a tree (paths, modes, bytes), attack-backup/ left out. */
static void tree_digest_into(const char *dir, const char *rel, UpHasher *h) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);

        ck_assert_msg(n >= 0, "scandir %s", dir);
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                char *p = pathf("%s/%s", dir, name), *r = pathf("%s/%s", rel, name);
                struct stat st;

                if (strcmp(name, ".") && strcmp(name, "..") && !(rel[0] == '\0' && !strcmp(name, "attack-backup"))) {
                        ck_assert_int_ge(lstat(p, &st), 0);
                        up_hasher_update(h, r, strlen(r) + 1);
                        up_hasher_update(h, &st.st_mode, sizeof(st.st_mode));
                        if (S_ISDIR(st.st_mode))
                                tree_digest_into(p, r, h);
                        else {
                                size_t len;
                                char *data = read_text(p, &len);

                                up_hasher_update(h, data, len);
                                free(data);
                        }
                }
                free(p);
                free(r);
                free(names[i]);
        }
        free(names);
}

static char *tree_digest(const char *dir) {
        UpHasher *h = NULL;
        uint8_t d[32];
        char *hex = malloc(65);

        ck_ok(up_hasher_new(&h));
        tree_digest_into(dir, "", h);
        ck_ok(up_hasher_peek(h, UP_HASH_SHA256, d));
        up_hasher_free(h);
        up_hex_encode(d, sizeof(d), hex);
        return hex;
}

/* --- A client over the repository's files --------------------------------------- */

/* URLs are paths below the repository: what a static web server would serve. */
static int file_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        (void) userdata;
        return up_read_file(url, max_len, ret, ret_len);
}

typedef struct Client {
        char *dir, *metadata_dir, *target_dir, *metadata_url, *targets_url;
        UpUpdater *updater;
        time_t now;
} Client;

/* A client trusting version 1 of root of what serve_dir serves (the
 * repository itself, or a Director's vehicle dir). */
static Client *client_new(const char *serve_dir) {
        Client *c = calloc(1, sizeof(Client));
        char *root = pathf("%s/metadata/1.root.json", serve_dir), *data;
        size_t len;

        ck_assert_ptr_nonnull(c);
        c->dir = pathf("%s/client-XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(c->dir));
        c->metadata_dir = pathf("%s/metadata", c->dir);
        c->target_dir = pathf("%s/targets", c->dir);
        c->metadata_url = pathf("%s/metadata/", serve_dir);
        c->targets_url = pathf("%s/targets/", serve_dir);
        c->now = NOW + 3600;
        ck_ok(testrepo_mkdir_p(c->metadata_dir));
        ck_ok(testrepo_mkdir_p(c->target_dir));
        data = read_text(root, &len);
        ck_ok(testrepo_write_file(c->metadata_dir, "root.json", data, len));
        free(data);
        free(root);
        return c;
}

static Client *vehicle_client(const char *vin) {
        char *dir = pathf("%s/vehicles/%s", up_repo_dir(director), vin);
        Client *c = client_new(dir);

        free(dir);
        return c;
}

static void client_free(Client *c) {
        if (!c)
                return;
        up_updater_free(c->updater);
        free(c->dir);
        free(c->metadata_dir);
        free(c->target_dir);
        free(c->metadata_url);
        free(c->targets_url);
        free(c);
}

/* A refresh by a new process over the same directories. */
static int client_refresh(Client *c) {
        UpUpdaterConfig cfg = {
                .metadata_dir = c->metadata_dir, .metadata_url = c->metadata_url, .target_dir = c->target_dir,
                .target_base_url = c->targets_url, .now = c->now, .fetcher = { file_fetch, NULL },
        };
        int r;

        c->updater = up_updater_free(c->updater);
        r = up_updater_new(&cfg, &c->updater);
        if (r < 0)
                return r;
        return up_updater_refresh(c->updater);
}

static const char *client_error(Client *c) {
        return c->updater ? up_updater_error(c->updater) : "(no updater)";
}

#define assert_refresh(c, expected)                                                                   \
        do {                                                                                          \
                int _r = client_refresh(c), _e = (expected);                                          \
                ck_assert_msg(_r == _e, "refresh: %d (%s), expected %d (%s): %s", _r, strerror(-_r), _e, \
                              strerror(-_e), client_error(c));                                        \
        } while (0)

/* Looks name up and downloads it; *ret_content (may be NULL) is the file. */
static int client_download(Client *c, const char *name, char **ret_content) {
        UpTargetInfo *t = NULL;
        char *file = NULL;
        int r;

        r = up_updater_get_target_info(c->updater, name, &t);
        if (r >= 0)
                r = up_updater_download_target(c->updater, t);
        if (r >= 0 && ret_content) {
                ck_ok(up_updater_target_file(c->updater, t, &file));
                *ret_content = read_text(file, NULL);
        }
        free(file);
        up_target_info_free(t);
        return r;
}

#define assert_download(c, name, expected)                                                            \
        do {                                                                                          \
                int _r = client_download(c, name, NULL), _e = (expected);                             \
                ck_assert_msg(_r == _e, "download %s: %d (%s), expected %d (%s): %s", name, _r,         \
                              strerror(-_r), _e, strerror(-_e), client_error(c));                     \
        } while (0)

static void assert_content(Client *c, const char *name, const char *expected) {
        char *got = NULL;
        int r = client_download(c, name, &got);

        ck_assert_msg(r >= 0, "download %s: %s: %s", name, strerror(-r), client_error(c));
        ck_assert_str_eq(got, expected);
        free(got);
}

/* --- A Primary's check of the Director against the Image repository ------------------ */

static bool hashes_match(struct json_object *a, struct json_object *b) {
        size_t common = 0;

        json_object_object_foreach(a, alg, hex) {
                struct json_object *other;

                if (!json_object_object_get_ex(b, alg, &other))
                        continue;
                if (strcmp(json_object_get_string(hex), json_object_get_string(other)) != 0)
                        return false;
                common++;
        }
        return common > 0;
}

static int64_t counter_of(struct json_object *custom) {
        struct json_object *v;

        return json_object_object_get_ex(custom, "releaseCounter", &v) ? json_object_get_int64(v) : 0;
}

static bool hardware_allowed(struct json_object *dcustom, struct json_object *icustom) {
        struct json_object *ids = jget(dcustom, "ecuIdentifiers"), *allowed = jget(icustom, "hardwareIds");

        json_object_object_foreach(ids, serial, ecu) {
                const char *hw = json_object_get_string(jget(ecu, "hardwareId"));
                bool found = false;

                (void) serial;
                for (size_t i = 0; i < json_object_array_length(allowed); i++)
                        found = found || !strcmp(json_object_get_string(json_object_array_get_idx(allowed, i)), hw);
                if (!found)
                        return false;
        }
        return true;
}

/* Uptane 2.1 §5.4.4.2 step 10, what this test needs of it: the Image
 * repository must list the Director's image with the same length, hashes
 * and hardware id, and the release counter must not go backwards. */
static int primary_check(Client *d, Client *i, const char *name, int64_t *last_counter) {
        UpTargetInfo *dt = NULL, *it = NULL;
        int r;

        r = up_updater_get_target_info(d->updater, name, &dt);
        if (r >= 0)
                r = up_updater_get_target_info(i->updater, name, &it);
        if (r >= 0 && (dt->length != it->length || !hashes_match(dt->hashes, it->hashes)))
                r = -UP_ERR_HASH;
        if (r >= 0 && !hardware_allowed(dt->custom, it->custom))
                r = -UP_ERR_HASH;
        if (r >= 0 && last_counter && counter_of(dt->custom) < *last_counter)
                r = -UP_ERR_ROLLBACK;
        if (r >= 0 && last_counter)
                *last_counter = counter_of(dt->custom);
        up_target_info_free(dt);
        up_target_info_free(it);
        return r;
}

#define assert_primary(d, i, name, counter, expected)                                                 \
        do {                                                                                          \
                int _r = primary_check(d, i, name, counter), _e = (expected);                         \
                ck_assert_msg(_r == _e, "primary check of %s: %d (%s), expected %d (%s)", name, _r,     \
                              strerror(-_r), _e, strerror(-_e));                                      \
        } while (0)

/* --- Fixture ---------------------------------------------------------------------- */

static UpRepo *create(const char *name, UpRepoKind kind, UpKeyScheme scheme) {
        UpRepoInitOptions o = { .kind = kind, .scheme = scheme };
        char *dir = pathf("%s/%s", base, name);
        UpRepo *repo = NULL;

        ck_ok(up_repo_new(dir, &repo));
        ck_repo(repo, up_repo_create(repo, &o, NOW));
        free(dir);
        return repo;
}

static void add_target(UpRepo *repo, const char *name, const char *content, const char *hw, int64_t counter) {
        const char *hws[] = { hw };
        UpRepoTarget t = { .name = name, .hardware_ids = hws, .n_hardware_ids = hw ? 1 : 0,
                           .release_counter = counter };

        ck_repo(repo, up_repo_add_target(repo, &t, content, strlen(content)));
}

static void publish(UpRepo *repo) {
        ck_repo(repo, up_repo_publish(repo, NULL, 0, NOW));
}

static void setup(void) {
        base = strdup("/tmp/test-repository-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(base));
        image = create("image", UP_REPO_IMAGE, UP_SCHEME_ED25519);
}

static void teardown(void) {
        image = up_repo_free(image);
        director = up_repo_free(director);
        (void) testrepo_rm_rf(base);
        free(base);
        base = NULL;
}

/* An Image repository with firmware.img and a Director that assigned it to
 * ECU "ecu1" (hardware "hw-a") of vehicle "democar". */
static void setup_both(void) {
        add_target(image, "firmware.img", "Fresh firmware image\n", "hw-a", 5);
        add_target(image, "other.img", "another image\n", "hw-b", 1);
        publish(image);
        director = create("director", UP_REPO_DIRECTOR, UP_SCHEME_ED25519);
        ck_repo(director, up_director_add_vehicle(director, "democar", NOW));
}

static void assign(const char *vin, const char *ecu, const char *name) {
        struct json_object *entry = NULL;
        char *file = NULL;

        ck_repo(image, up_repo_find_target(image, name, &entry, NULL));
        ck_repo(image, up_repo_image_path(image, NULL, name, jget(entry, "hashes"), &file));
        ck_repo(director, up_director_assign(director, vin, &(UpDirectorAssignment) {
                .ecu_serial = ecu, .target_name = name, .image_target = entry, .image_file = file,
        }, 1, NOW));
        json_object_put(entry);
        free(file);
}

/* --- Layout, keys, publishing -------------------------------------------------------- */

START_TEST(test_init_layout) {
        const char *dir = up_repo_dir(image);
        static const char *const files[] = { "config.json", "keys/roles.json", "staged/root.json", "staged/targets.json",
                                             "metadata/1.root.json", "metadata/root.json", "metadata/1.targets.json",
                                             "metadata/1.snapshot.json", "metadata/timestamp.json" };
        struct json_object *root, *roles;
        struct dirent *de;
        size_t n_keys = 0;
        char *keys = pathf("%s/keys", dir);
        DIR *d;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char *p = pathf("%s/%s", dir, files[i]);

                ck_assert_msg(exists(p), "%s missing", p);
                free(p);
        }
        ck_assert_int_eq(file_mode(keys), 0700);
        d = opendir(keys);
        while ((de = readdir(d))) {
                char *p = pathf("%s/%s", keys, de->d_name);

                if (de->d_name[0] != '.') {
                        ck_assert_msg(file_mode(p) == 0600, "%s is not 0600", p);
                        n_keys += strstr(de->d_name, ".key") != NULL;
                }
                free(p);
        }
        closedir(d);
        ck_assert_uint_eq(n_keys, 4);

        root = read_jsonf("%s/metadata/1.root.json", dir);
        roles = jget(jget(root, "signed"), "roles");
        ck_assert_int_eq(json_object_object_length(roles), 4);
        ck_assert(json_object_get_boolean(jget(jget(root, "signed"), "consistent_snapshot")));
        ck_assert_str_eq(json_object_get_string(jget(jget(root, "signed"), "spec_version")), UP_REPO_SPEC_VERSION);
        json_object_put(root);
        free(keys);

        Client *c = client_new(dir);
        assert_refresh(c, 0);
        client_free(c);
}
END_TEST

START_TEST(test_add_publish_download) {
        const char *hws[] = { "hw-1", "hw-2" };
        UpRepoTarget t = { .name = "fw/ecu.img", .hardware_ids = hws, .n_hardware_ids = 2, .release_counter = 7,
                           .format = "OSTREE", .uri = "https://example.org/ecu.img" };
        UpTargetInfo *info = NULL;
        char *file = write_tmp("plain.bin", "plain image\n"), *p;
        Client *c;

        ck_repo(image, up_repo_add_target(image, &t, "ecu image\n", 10));
        ck_repo(image, up_repo_add_target_file(image, &(UpRepoTarget) { .release_counter = 1 }, file));
        add_target(image, "third.bin", "third\n", "hw-3", 0);
        publish(image);
        ck_assert_int_eq(published_version(image, NULL, "root"), 1);
        ck_assert_int_eq(published_version(image, NULL, "targets"), 2);
        ck_assert_int_eq(published_version(image, NULL, "snapshot"), 2);
        ck_assert_int_eq(published_version(image, NULL, "timestamp"), 2);

        c = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_content(c, "fw/ecu.img", "ecu image\n");
        assert_content(c, "plain.bin", "plain image\n");
        assert_content(c, "third.bin", "third\n");
        ck_ok(up_updater_get_target_info(c->updater, "fw/ecu.img", &info));
        ck_assert_int_eq(json_object_array_length(jget(info->custom, "hardwareIds")), 2);
        ck_assert_int_eq(json_object_get_int64(jget(info->custom, "releaseCounter")), 7);
        ck_assert_str_eq(json_object_get_string(jget(info->custom, "targetFormat")), "OSTREE");
        ck_assert_str_eq(json_object_get_string(jget(info->custom, "uri")), "https://example.org/ecu.img");
        /* HASH.name for each listed hash (Uptane 2.1 §5.2.7) */
        json_object_object_foreach(info->hashes, alg, hex) {
                p = pathf("%s/targets/fw/%s.ecu.img", up_repo_dir(image), json_object_get_string(hex));
                ck_assert_msg(exists(p), "no %s copy %s", alg, p);
                free(p);
        }
        up_target_info_free(info);
        client_free(c);
        free(file);
}
END_TEST

/* Only what changed gets a new version; the timestamp always does. */
START_TEST(test_publish_only_changed) {
        const char *bump[] = { "targets" };

        add_target(image, "a.bin", "a\n", NULL, 0);
        publish(image);
        publish(image);
        ck_assert_int_eq(published_version(image, NULL, "targets"), 2);
        ck_assert_int_eq(published_version(image, NULL, "snapshot"), 2);
        ck_assert_int_eq(published_version(image, NULL, "timestamp"), 3);
        ck_assert_int_eq(published_version(image, NULL, "root"), 1);
        ck_repo(image, up_repo_publish(image, bump, 1, NOW));
        ck_assert_int_eq(published_version(image, NULL, "targets"), 3);
        ck_assert_int_eq(published_version(image, NULL, "snapshot"), 3);
        ck_assert_int_eq(published_version(image, NULL, "timestamp"), 4);
        ck_repo_fails(image, up_repo_publish(image, (const char *[]) { "nosuchrole" }, 1, NOW), ENOENT);
}
END_TEST

START_TEST(test_expiry_durations) {
        struct json_object *ts;
        char *dir;
        time_t t;

        ck_repo(image, up_repo_set_expires(image, UP_ROLE_TIMESTAMP, 3600));
        publish(image);
        ts = read_jsonf("%s/metadata/timestamp.json", up_repo_dir(image));
        ck_ok(up_parse_iso8601(json_object_get_string(jget(jget(ts, "signed"), "expires")), &t));
        ck_assert_int_eq(t, NOW + 3600);
        json_object_put(ts);
        image = up_repo_free(image);
        dir = pathf("%s/image", base);
        ck_ok(up_repo_load(dir, &image, NULL));
        free(dir);
        ck_assert_int_eq(up_repo_expires(image, UP_ROLE_TIMESTAMP), 3600);
        ck_assert_int_eq(up_repo_expires(image, UP_ROLE_ROOT), 365 * 86400);
}
END_TEST

START_TEST(test_remove_target) {
        Client *c = client_new(up_repo_dir(image));

        add_target(image, "a.bin", "a\n", NULL, 0);
        add_target(image, "b.bin", "b\n", NULL, 0);
        publish(image);
        assert_refresh(c, 0);
        assert_download(c, "a.bin", 0);
        ck_repo(image, up_repo_remove_target(image, NULL, "a.bin"));
        ck_repo_fails(image, up_repo_remove_target(image, NULL, "a.bin"), ENOENT);
        publish(image);
        assert_refresh(c, 0);
        assert_download(c, "a.bin", -ENOENT);
        assert_download(c, "b.bin", 0);
        client_free(c);
}
END_TEST

START_TEST(test_delegation) {
        const char *paths[] = { "dir1/*" };
        UpRepoTarget t = { .name = "dir1/x.img", .role = "supplier" };
        UpTargetInfo *info = NULL;
        struct json_object *snap;
        Client *c;

        ck_repo(image, up_repo_delegate(image, &(UpRepoDelegation) {
                .role = "supplier", .paths = paths, .n_paths = 1, .threshold = 2 }));
        ck_repo_fails(image, up_repo_delegate(image, &(UpRepoDelegation) { .role = "supplier", .paths = paths,
                                                                          .n_paths = 1 }), EEXIST);
        ck_repo(image, up_repo_add_target(image, &t, "x\n", 2));
        t.name = "elsewhere.img";
        ck_repo_fails(image, up_repo_add_target(image, &t, "y\n", 2), EPERM);
        t.role = "nosuchrole";
        ck_repo_fails(image, up_repo_add_target(image, &t, "y\n", 2), ENOENT);
        add_target(image, "top.img", "top\n", NULL, 0);
        publish(image);

        snap = read_jsonf("%s/metadata/snapshot.json", up_repo_dir(image));
        ck_assert_int_eq(json_object_get_int64(jget(jget(jget(jget(snap, "signed"), "meta"), "supplier.json"),
                                                    "version")), 1);
        json_object_put(snap);

        c = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        ck_ok(up_updater_get_target_info(c->updater, "dir1/x.img", &info));
        ck_assert_str_eq(info->role, "supplier");
        up_target_info_free(info);
        assert_content(c, "dir1/x.img", "x\n");
        assert_content(c, "top.img", "top\n");

        /* the delegated role's keys change: it and its delegator get new versions */
        ck_repo(image, up_repo_rotate(image, "supplier", 0));
        publish(image);
        ck_assert_int_eq(published_version(image, NULL, "supplier"), 2);
        assert_refresh(c, 0);
        assert_content(c, "dir1/x.img", "x\n");
        client_free(c);
}
END_TEST

static size_t n_signatures(const char *path) {
        struct json_object *o = read_json(path);
        size_t n = json_object_array_length(jget(o, "signatures"));

        json_object_put(o);
        return n;
}

static size_t n_retired(UpRepo *repo) {
        struct json_object *s = NULL;
        size_t n;

        ck_repo(repo, up_repo_status(repo, NOW, &s));
        n = json_object_array_length(jget(s, "retired_keys"));
        json_object_put(s);
        return n;
}

/* Root N+1 is signed by the old and the new root keys; an old client
 * follows the chain, a new one too. */
START_TEST(test_rotate_root) {
        Client *c = client_new(up_repo_dir(image)), *fresh;
        char *p = pathf("%s/metadata/2.root.json", up_repo_dir(image));

        assert_refresh(c, 0);
        ck_repo(image, up_repo_rotate(image, "root", 0));
        publish(image);
        ck_assert_uint_eq(n_signatures(p), 2);
        ck_assert_uint_eq(n_retired(image), 1);
        assert_refresh(c, 0);
        ck_repo(image, up_repo_rotate(image, "root", 2));
        publish(image);
        ck_assert_int_eq(published_version(image, NULL, "root"), 3);
        assert_refresh(c, 0);
        fresh = client_new(up_repo_dir(image));
        assert_refresh(fresh, 0);
        ck_assert_int_eq(up_metadata_version(up_trusted_set_root(up_updater_trusted_set(fresh->updater))), 3);
        client_free(fresh);
        client_free(c);
        free(p);
}
END_TEST

static const char *const online_roles[] = { "timestamp", "snapshot", "targets" };

START_TEST(test_rotate_online) {
        Client *c = client_new(up_repo_dir(image));
        int64_t ts = published_version(image, NULL, "timestamp");

        add_target(image, "a.bin", "a\n", NULL, 0);
        publish(image);
        assert_refresh(c, 0);
        ck_repo(image, up_repo_rotate(image, online_roles[_i], 0));
        publish(image);
        ck_assert_int_eq(published_version(image, NULL, "root"), 2);
        ck_assert_int_gt(published_version(image, NULL, "timestamp"), ts + 1);
        ck_assert_uint_eq(n_retired(image), 1);
        assert_refresh(c, 0);
        assert_content(c, "a.bin", "a\n");
        client_free(c);
}
END_TEST

START_TEST(test_revoke) {
        Client *c = client_new(up_repo_dir(image));
        struct json_object *s = NULL, *roles;
        const char *keyid = NULL;
        char *id;

        ck_repo(image, up_repo_status(image, NOW, &s));
        roles = jget(s, "roles");
        for (size_t i = 0; i < json_object_array_length(roles); i++)
                if (!strcmp(json_object_get_string(jget(json_object_array_get_idx(roles, i), "name")), "timestamp"))
                        keyid = json_object_get_string(
                                jget(json_object_array_get_idx(jget(json_object_array_get_idx(roles, i), "keys"), 0),
                                     "keyid"));
        ck_assert_ptr_nonnull(keyid);
        id = strdup(keyid);
        json_object_put(s);

        assert_refresh(c, 0);
        ck_repo(image, up_repo_revoke(image, id));
        ck_repo_fails(image, up_repo_revoke(image, id), ENOENT);
        publish(image);
        assert_refresh(c, 0);
        ck_assert_uint_eq(n_retired(image), 1);
        free(id);
        client_free(c);
}
END_TEST

START_TEST(test_thresholds_and_missing_keys) {
        UpRepoInitOptions o = { .kind = UP_REPO_IMAGE, .scheme = UP_SCHEME_ED25519,
                                .threshold = { [UP_ROLE_ROOT] = 2, [UP_ROLE_TARGETS] = 3 } };
        struct json_object *root, *roles;
        UpRepo *repo = NULL;
        Client *c;
        char *dir = pathf("%s/thresholds", base), *keys;
        struct dirent *de;
        DIR *d;

        ck_ok(up_repo_new(dir, &repo));
        ck_repo(repo, up_repo_create(repo, &o, NOW));
        root = read_jsonf("%s/metadata/root.json", dir);
        roles = jget(jget(root, "signed"), "roles");
        ck_assert_int_eq(json_object_get_int64(jget(jget(roles, "root"), "threshold")), 2);
        ck_assert_int_eq(json_object_array_length(jget(jget(roles, "targets"), "keyids")), 3);
        json_object_put(root);
        add_target(repo, "a.bin", "a\n", NULL, 0);
        publish(repo);
        c = client_new(dir);
        assert_refresh(c, 0);
        client_free(c);

        /* without the targets keys, publishing fails and names the keys dir */
        keys = pathf("%s/keys", dir);
        d = opendir(keys);
        while ((de = readdir(d))) {
                char *p = pathf("%s/%s", keys, de->d_name);
                struct json_object *tk = read_jsonf("%s/metadata/targets.json", dir);
                struct json_object *sig0 = json_object_array_get_idx(jget(tk, "signatures"), 0);

                if (strstr(de->d_name, json_object_get_string(jget(sig0, "keyid"))))
                        unlink(p);
                json_object_put(tk);
                free(p);
        }
        closedir(d);
        add_target(repo, "b.bin", "b\n", NULL, 0);
        ck_repo_fails(repo, up_repo_publish(repo, NULL, 0, NOW), EKEYREJECTED);
        ck_assert_msg(strstr(up_repo_error(repo), "keys"), "error: %s", up_repo_error(repo));
        up_repo_free(repo);
        free(keys);
        free(dir);
}
END_TEST

static const UpKeyScheme schemes[] = { UP_SCHEME_ECDSA_SHA2_NISTP256, UP_SCHEME_RSASSA_PSS_SHA256 };

START_TEST(test_schemes) {
        UpRepo *repo;
        char *dir;
        Client *c;

        repo = create(_i == 0 ? "ecdsa" : "rsa", UP_REPO_IMAGE, schemes[_i]);
        dir = strdup(up_repo_dir(repo));
        add_target(repo, "a.bin", "a\n", NULL, 0);
        ck_repo(repo, up_repo_rotate(repo, "root", 0));
        publish(repo);
        c = client_new(dir);
        assert_refresh(c, 0);
        assert_content(c, "a.bin", "a\n");
        client_free(c);
        up_repo_free(repo);
        free(dir);
}
END_TEST

START_TEST(test_invalid_input) {
        const char *paths[] = { "*" };

        add_target(image, "ok.bin", "x", NULL, 0);
        ck_repo_fails(image, up_repo_add_target(image, &(UpRepoTarget) { .name = "../x" }, "x", 1), EINVAL);
        ck_repo_fails(image, up_repo_add_target(image, &(UpRepoTarget) { .name = "a//b" }, "x", 1), EINVAL);
        ck_repo_fails(image, up_repo_add_target(image, &(UpRepoTarget) { .name = ".hidden" }, "x", 1), EINVAL);
        ck_repo_fails(image, up_repo_add_target(image, &(UpRepoTarget) { .name = "a", .format = "ZIP" }, "x", 1),
                      EINVAL);
        ck_repo_fails(image, up_repo_delegate(image, &(UpRepoDelegation) { .role = "root", .paths = paths,
                                                                          .n_paths = 1 }), EINVAL);
        ck_repo_fails(image, up_repo_delegate(image, &(UpRepoDelegation) { .role = "r" }), EINVAL);
        ck_repo_fails(image, up_repo_rotate(image, "nosuchrole", 0), ENOENT);
        ck_repo_fails(image, up_director_add_vehicle(image, "VIN", NOW), EOPNOTSUPP);
        ck_assert(!up_repo_vin_valid("../x"));
        ck_assert(!up_repo_vin_valid(""));
        ck_assert(up_repo_vin_valid("WVW1234567890"));
        ck_assert(up_repo_target_name_valid("a/b-c_d.e~f"));
}
END_TEST

START_TEST(test_create_refuses_nonempty) {
        UpRepoInitOptions o = { .kind = UP_REPO_IMAGE, .scheme = UP_SCHEME_ED25519 };
        UpRepo *repo = NULL;
        char *err = NULL;

        ck_ok(up_repo_new(up_repo_dir(image), &repo));
        ck_repo_fails(repo, up_repo_create(repo, &o, NOW), EEXIST);
        ck_assert_msg(strstr(up_repo_error(repo), "not empty"), "%s", up_repo_error(repo));
        up_repo_free(repo);
        repo = NULL;
        ck_assert_int_eq(up_repo_load(base, &repo, &err), -ENOENT);
        ck_assert_msg(err && strstr(err, "config.json"), "%s", err);
        free(err);
}
END_TEST

/* --- Director ----------------------------------------------------------------------- */

/* Two processes changing one repository (uptane-repo and the online
 * Director) take turns: the second open waits until the first is freed. */
START_TEST(test_one_writer_at_a_time) {
        struct timespec t0, t1;
        int pipefd[2], status;
        pid_t pid;
        char c;

        ck_assert_int_eq(pipe(pipefd), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                UpRepo *again = NULL;

                /* Like another process: without the parent's open files (its lock). */
                for (int fd = 3; fd < 1024; fd++)
                        if (fd != pipefd[0])
                                close(fd);
                (void) read(pipefd[0], &c, 1); /* the parent holds the repository now */
                clock_gettime(CLOCK_MONOTONIC, &t0);
                if (up_repo_load(up_repo_dir(image), &again, NULL) < 0)
                        _exit(2);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                up_repo_free(again);
                /* Waited for the parent's 300 ms. */
                _exit((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 250 ? 0 : 1);
        }
        close(pipefd[0]);
        ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
        usleep(300 * 1000);
        image = up_repo_free(image);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        close(pipefd[1]);
}
END_TEST

START_TEST(test_director_assign_clear) {
        struct json_object *t, *entry;
        Client *c, *i;
        char *p;

        setup_both();
        p = pathf("%s/vehicles/democar/metadata/targets.json", up_repo_dir(director));
        /* an empty targets still names the vehicle */
        t = read_json(p);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "democar");
        ck_assert_int_eq(json_object_object_length(jget(jget(t, "signed"), "targets")), 0);
        json_object_put(t);

        assign("democar", "ecu1", "firmware.img");
        assign("democar", "ecu2", "firmware.img");
        t = read_json(p);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "democar");
        entry = jget(jget(jget(t, "signed"), "targets"), "firmware.img");
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(jget(entry, "custom"), "ecuIdentifiers"), "ecu1"),
                                                     "hardwareId")), "hw-a");
        ck_assert_int_eq(json_object_object_length(jget(jget(entry, "custom"), "ecuIdentifiers")), 2);
        ck_assert_int_eq(json_object_get_int64(jget(jget(entry, "custom"), "releaseCounter")), 5);
        ck_assert_str_eq(json_object_get_string(jget(jget(entry, "custom"), "targetFormat")), "BINARY");
        json_object_put(t);

        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", NULL, 0);
        assert_content(c, "firmware.img", "Fresh firmware image\n");

        /* ECU 2 moves to another image (hw-b is not hw-a's image) */
        assign("democar", "ecu2", "other.img");
        ck_repo(director, up_director_clear(director, "democar", "ecu1", NOW));
        assert_refresh(c, 0);
        assert_download(c, "firmware.img", -ENOENT);
        assert_primary(c, i, "other.img", NULL, 0);
        ck_repo(director, up_director_clear(director, "democar", NULL, NOW));
        ck_repo_fails(director, up_director_clear(director, "nocar", NULL, NOW), ENOENT);
        t = read_json(p);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "democar");
        ck_assert_int_eq(json_object_object_length(jget(jget(t, "signed"), "targets")), 0);
        json_object_put(t);
        assert_refresh(c, 0);
        client_free(c);
        client_free(i);
        free(p);
}
END_TEST

START_TEST(test_director_checks) {
        struct json_object *entry = NULL;
        const char *paths[] = { "*" };

        setup_both();
        ck_repo(image, up_repo_find_target(image, "firmware.img", &entry, NULL));
        ck_repo_fails(director, up_director_assign(director, "democar", &(UpDirectorAssignment) {
                .ecu_serial = "ecu1", .hardware_id = "hw-b", .target_name = "firmware.img", .image_target = entry,
        }, 1, NOW), EPERM);
        ck_repo_fails(director, up_director_assign(director, "democar", &(UpDirectorAssignment) {
                .ecu_serial = "ecu1", .target_name = "firmware.img", .image_target = entry,
                .image_data = "not it", .image_len = 6,
        }, 1, NOW), EILSEQ);
        ck_repo_fails(director, up_director_assign(director, "../car", &(UpDirectorAssignment) {
                .ecu_serial = "ecu1", .target_name = "firmware.img", .image_target = entry,
        }, 1, NOW), EINVAL);
        ck_repo_fails(director, up_repo_delegate(director, &(UpRepoDelegation) { .role = "r", .paths = paths,
                                                                                .n_paths = 1 }), EOPNOTSUPP);
        ck_repo_fails(director, up_repo_add_target(director, &(UpRepoTarget) { .name = "a" }, "a", 1), EOPNOTSUPP);
        ck_repo_fails(image, up_repo_find_target(image, "nothere", &entry, NULL), ENOENT);
        json_object_put(entry);
}
END_TEST

/* Every vehicle gets the new roots; vehicles' clients follow. */
START_TEST(test_director_rotation) {
        Client *c, *c2;
        char *p;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        ck_repo(director, up_director_add_vehicle(director, "car2", NOW));
        c = vehicle_client("democar");
        c2 = vehicle_client("car2");
        assert_refresh(c, 0);
        assert_refresh(c2, 0);
        ck_repo(director, up_repo_rotate(director, "root", 0));
        ck_repo(director, up_repo_rotate(director, "timestamp", 0));
        ck_repo(director, up_repo_rotate(director, "targets", 0));
        ck_repo(director, up_repo_publish(director, NULL, 0, NOW));
        p = pathf("%s/vehicles/car2/metadata/2.root.json", up_repo_dir(director));
        ck_assert(exists(p));
        assert_refresh(c, 0);
        assert_refresh(c2, 0);
        assert_content(c, "firmware.img", "Fresh firmware image\n");
        client_free(c);
        client_free(c2);
        free(p);
}
END_TEST

/* --- Attacks ------------------------------------------------------------------------ */

static void attack(UpRepo *repo, const char *name, UpRepoAttackOptions o) {
        if (!o.now)
                o.now = NOW;
        ck_repo(repo, up_repo_attack(repo, name, &o));
}

static void undo(UpRepo *repo, const char *name) {
        ck_repo(repo, up_repo_attack_undo(repo, name));
}

typedef struct Trees {
        char *image, *director;
} Trees;

static Trees trees_digest(void) {
        return (Trees) { tree_digest(up_repo_dir(image)), director ? tree_digest(up_repo_dir(director)) : NULL };
}

static void assert_trees(Trees before) {
        Trees now = trees_digest();

        ck_assert_str_eq(now.image, before.image);
        if (before.director)
                ck_assert_str_eq(now.director, before.director);
        free(now.image);
        free(now.director);
        free(before.image);
        free(before.director);
}

/* 3.1 */
START_TEST(test_attack_director_mitm) {
        Client *c, *i;
        Trees before;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        before = trees_digest();
        attack(director, "director-mitm-image", (UpRepoAttackOptions) { .other = image, .vin = "democar",
                                                                          .target = "firmware.img" });
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_download(c, "firmware.img", -UP_ERR_HASH);
        ck_assert_int_eq(up_error_attack(-UP_ERR_HASH), UP_ATTACK_ARBITRARY_SOFTWARE);
        assert_download(i, "firmware.img", -ENOENT);
        undo(director, "director-mitm-image");
        assert_trees(before);
        assert_content(c, "firmware.img", "Fresh firmware image\n");
        assert_content(i, "firmware.img", "Fresh firmware image\n");
        client_free(c);
        client_free(i);
}
END_TEST

/* 3.2 */
START_TEST(test_attack_image_mitm) {
        Client *c, *i;
        Trees before;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        before = trees_digest();
        attack(image, "image-mitm-image", (UpRepoAttackOptions) { .other = director, .target = "firmware.img" });
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_download(i, "firmware.img", -UP_ERR_HASH);
        assert_download(c, "firmware.img", -ENOENT);
        undo(image, "image-mitm-image");
        assert_trees(before);
        assert_content(i, "firmware.img", "Fresh firmware image\n");
        assert_content(c, "firmware.img", "Fresh firmware image\n");
        client_free(c);
        client_free(i);
}
END_TEST

/* 3.3 */
START_TEST(test_attack_replay_timestamp) {
        UpRepoAttackOptions o = { .vin = "democar", .now = NOW };
        Client *c;

        setup_both();
        c = vehicle_client("democar");
        ck_repo_fails(director, up_repo_attack(director, "replay-timestamp", &o), ENOENT);
        attack(director, "save-timestamp", o);
        ck_repo_fails(director, up_repo_attack(director, "replay-timestamp", &o), EALREADY);
        ck_repo(director, up_repo_publish(director, NULL, 0, NOW));
        assert_refresh(c, 0);
        attack(director, "replay-timestamp", o);
        assert_refresh(c, -UP_ERR_ROLLBACK);
        ck_repo_fails(director, up_repo_attack(director, "replay-timestamp", &o), EEXIST);
        undo(director, "replay-timestamp");
        assert_refresh(c, 0);
        client_free(c);
}
END_TEST

/* 3.4: the Director's keys alone cannot install anything. */
START_TEST(test_attack_director_keyed) {
        Client *c, *i;
        Trees before;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        before = trees_digest();
        attack(director, "director-keyed-target", (UpRepoAttackOptions) { .vin = "democar", .ecu_serial = "ecu1",
                                                                            .target = "firmware.img" });
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", NULL, -UP_ERR_HASH);
        undo(director, "director-keyed-target");
        assert_trees(before);
        client_free(c);
        c = vehicle_client("democar");
        assert_refresh(c, 0);
        assert_primary(c, i, "firmware.img", NULL, 0);
        client_free(c);
        client_free(i);
}
END_TEST

/* 3.4 and 3.5, then 3.6 (recovery, for clients that took the evil image),
 * then 3.7. */
START_TEST(test_attack_both_keyed_recover_revoked) {
        UpRepoAttackOptions o = { .other = image, .vin = "democar", .ecu_serial = "ecu1", .target = "firmware.img" };
        Client *c, *i;
        Trees before;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        before = trees_digest();

        /* as in the demo: 3.4 first, 3.5 on top of it */
        attack(director, "director-keyed-target", o);
        attack(director, "keyed-target-both", o);
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", NULL, 0);
        assert_content(c, "firmware.img", "evil content\n");

        attack(director, "recover", (UpRepoAttackOptions) { .other = image });
        ck_assert_int_eq(published_version(director, NULL, "root"), 2);
        ck_assert_int_eq(published_version(image, NULL, "root"), 2);
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", NULL, 0);
        assert_content(c, "firmware.img", "Fresh firmware image\n");
        assert_content(i, "firmware.img", "Fresh firmware image\n");

        attack(director, "revoked-keys", (UpRepoAttackOptions) { .vin = "democar" });
        assert_refresh(c, -UP_ERR_SIGNATURE);
        attack(image, "revoked-keys", (UpRepoAttackOptions) {});
        assert_refresh(i, -UP_ERR_SIGNATURE);
        undo(image, "revoked-keys");
        undo(director, "revoked-keys");
        assert_refresh(c, 0);
        assert_refresh(i, 0);

        ck_repo_fails(director, up_repo_attack_undo(director, "keyed-target-both"), EBUSY);
        undo(director, "recover");
        undo(director, "keyed-target-both");
        undo(director, "director-keyed-target");
        assert_trees(before);
        client_free(c);
        client_free(i);
}
END_TEST

START_TEST(test_attack_freeze) {
        Client *c;
        Trees before;

        add_target(image, "a.bin", "a\n", NULL, 0);
        publish(image);
        c = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        before = trees_digest();
        attack(image, "freeze", (UpRepoAttackOptions) {});
        assert_refresh(c, -UP_ERR_EXPIRED);
        ck_assert_int_eq(up_error_attack(-UP_ERR_EXPIRED), UP_ATTACK_FREEZE);
        undo(image, "freeze");
        assert_trees(before);
        assert_refresh(c, 0);
        client_free(c);
}
END_TEST

START_TEST(test_attack_mix_and_match) {
        Client *c;
        Trees before;

        ck_repo_fails(image, up_repo_attack(image, "mix-and-match", &(UpRepoAttackOptions) { .now = NOW }), EALREADY);
        add_target(image, "a.bin", "a\n", NULL, 0);
        publish(image);
        before = trees_digest();
        attack(image, "mix-and-match", (UpRepoAttackOptions) {});
        c = client_new(up_repo_dir(image));
        assert_refresh(c, -UP_ERR_MIX_AND_MATCH);
        undo(image, "mix-and-match");
        assert_trees(before);
        assert_refresh(c, 0);
        client_free(c);
}
END_TEST

START_TEST(test_attack_endless_data) {
        Client *c;
        Trees before;

        setup_both();
        c = vehicle_client("democar");
        before = trees_digest();
        attack(director, "endless-data", (UpRepoAttackOptions) { .vin = "democar" });
        assert_refresh(c, -UP_ERR_TOO_BIG);
        undo(director, "endless-data");
        /* the snapshot is fetched up to the length the timestamp gives */
        attack(director, "endless-data", (UpRepoAttackOptions) { .vin = "democar", .role = "snapshot", .size = 100000 });
        assert_refresh(c, -UP_ERR_TOO_BIG);
        undo(director, "endless-data");
        assert_trees(before);
        assert_refresh(c, 0);
        client_free(c);
}
END_TEST

START_TEST(test_attack_release_counter) {
        Client *c, *i;
        int64_t counter = 0;
        Trees before;

        setup_both();
        assign("democar", "ecu1", "firmware.img");
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", &counter, 0);
        ck_assert_int_eq(counter, 5);
        before = trees_digest();
        attack(director, "release-counter-rollback", (UpRepoAttackOptions) { .other = image, .vin = "democar",
                                                                               .target = "firmware.img" });
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", &counter, -UP_ERR_ROLLBACK);
        undo(director, "release-counter-rollback");
        assert_trees(before);
        client_free(c);
        client_free(i);
        c = vehicle_client("democar");
        i = client_new(up_repo_dir(image));
        assert_refresh(c, 0);
        assert_refresh(i, 0);
        assert_primary(c, i, "firmware.img", &counter, 0);
        client_free(c);
        client_free(i);
}
END_TEST

/* A failed attack leaves nothing behind; staged attacks are listed in order. */
START_TEST(test_attack_bookkeeping) {
        struct json_object *list = NULL;
        Trees before = trees_digest();

        ck_repo_fails(image, up_repo_attack(image, "no-such-attack", NULL), EINVAL);
        ck_repo_fails(image, up_repo_attack(image, "director-mitm-image", &(UpRepoAttackOptions) { .now = NOW }), EINVAL);
        ck_repo_fails(image, up_repo_attack(image, "revoked-keys", &(UpRepoAttackOptions) { .now = NOW }), ENOKEY);
        ck_repo(image, up_repo_attack_list(image, &list));
        ck_assert_int_eq(json_object_array_length(list), 0);
        json_object_put(list);
        assert_trees(before);

        attack(image, "freeze", (UpRepoAttackOptions) {});
        attack(image, "endless-data", (UpRepoAttackOptions) {});
        ck_repo(image, up_repo_attack_list(image, &list));
        ck_assert_int_eq(json_object_array_length(list), 2);
        ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(list, 0), "name")), "freeze");
        json_object_put(list);
        ck_repo_fails(image, up_repo_attack_undo(image, "freeze"), EBUSY);
        ck_repo_fails(image, up_repo_attack_undo(image, "mix-and-match"), ENOENT);
        ck_repo(image, up_repo_attack_drop(image, "endless-data"));
        undo(image, "freeze");
        for (const UpRepoAttackInfo *a = up_repo_attacks(); a->name; a++)
                ck_assert(a->summary[0] && a->expected[0]);
}
END_TEST

static Suite *repository_suite(void) {
        Suite *s = suite_create("repository");
        TCase *tc = tcase_create("repository");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_init_layout);
        tcase_add_test(tc, test_add_publish_download);
        tcase_add_test(tc, test_publish_only_changed);
        tcase_add_test(tc, test_expiry_durations);
        tcase_add_test(tc, test_remove_target);
        tcase_add_test(tc, test_delegation);
        tcase_add_test(tc, test_rotate_root);
        tcase_add_loop_test(tc, test_rotate_online, 0, 3);
        tcase_add_test(tc, test_revoke);
        tcase_add_test(tc, test_thresholds_and_missing_keys);
        tcase_add_loop_test(tc, test_schemes, 0, 2);
        tcase_add_test(tc, test_invalid_input);
        tcase_add_test(tc, test_create_refuses_nonempty);
        tcase_add_test(tc, test_one_writer_at_a_time);
        tcase_add_test(tc, test_director_assign_clear);
        tcase_add_test(tc, test_director_checks);
        tcase_add_test(tc, test_director_rotation);
        tcase_add_test(tc, test_attack_director_mitm);
        tcase_add_test(tc, test_attack_image_mitm);
        tcase_add_test(tc, test_attack_replay_timestamp);
        tcase_add_test(tc, test_attack_director_keyed);
        tcase_add_test(tc, test_attack_both_keyed_recover_revoked);
        tcase_add_test(tc, test_attack_freeze);
        tcase_add_test(tc, test_attack_mix_and_match);
        tcase_add_test(tc, test_attack_endless_data);
        tcase_add_test(tc, test_attack_release_counter);
        tcase_add_test(tc, test_attack_bookkeeping);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(repository_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
