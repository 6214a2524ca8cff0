/* SPDX-License-Identifier: MIT */
/*
 * uptane-repo, the command line tool, run as a program: help and exit
 * status of every subcommand, error messages that name the file, and what it
 * writes checked by libuptane's own client reading the repository's files
 * (Image repository, Director vehicles, rotations, revocation, attacks).
 *
 * OSTree targets (add-target --ostree-commit): the entry, no file stored,
 * director assign, and the Primary's full verification over both
 * repositories accepting it (and refusing a Director that names another
 * commit than the Image repository).
 *
 * The tool is found next to this test in the build tree (UPTANE_REPO_TOOL
 * overrides).
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/full_verification.h"
#include "uptane/json.h"
#include "uptane/repository.h"
#include "uptane/storage.h"
#include "uptane/updater.h"

#define NOW TESTREPO_NOW
#define NOW_ARG "@1749945600"
#define MAX_ARGS 64

#define ck_ok(expr)                                                                                  \
        do {                                                                                         \
                int _k = (expr);                                                                     \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k));         \
        } while (0)

static char *base, *tool;
static char *out, *err; /* of the last run */

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *pathf(const char *fmt, ...) {
        va_list ap;
        char *p;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&p, fmt, ap), 0);
        va_end(ap);
        return p;
}

static char *read_text(const char *path) {
        uint8_t *data = NULL;
        size_t len;
        int r;

        r = up_read_file(path, 64u * 1024u * 1024u, &data, &len);
        ck_assert_msg(r >= 0, "cannot read %s: %s", path, strerror(-r));
        return (char *) data;
}

static char *find_tool(void) {
        char exe[PATH_MAX], *dir;
        ssize_t n;

        if (getenv("UPTANE_REPO_TOOL"))
                return strdup(getenv("UPTANE_REPO_TOOL"));
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        ck_assert_int_gt(n, 0);
        exe[n] = '\0';
        dir = dirname(dirname(exe)); /* BUILD/tests/test_repo_tool -> BUILD */
        return pathf("%s/src/repo/uptane-repo", dir);
}

/* Runs the tool with the NULL-terminated arguments; stdout and stderr land
 * in out and err. Returns the exit status. */
static int run(const char *first, ...) {
        const char *argv[MAX_ARGS] = { tool, first };
        char *o = pathf("%s/stdout", base), *e = pathf("%s/stderr", base);
        size_t n = 2;
        va_list ap;
        int status;
        pid_t pid;

        va_start(ap, first);
        while (first && n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, const char *)))
                n++;
        va_end(ap);
        argv[n] = NULL;
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
                        _exit(126);
                execv(tool, (char *const *) argv);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        free(out);
        free(err);
        out = read_text(o);
        err = read_text(e);
        free(o);
        free(e);
        ck_assert_msg(WIFEXITED(status), "%s %s: killed by signal %d", tool, first, WTERMSIG(status));
        return WEXITSTATUS(status);
}

#define assert_run(expected, ...)                                                                     \
        do {                                                                                          \
                int _s = run(__VA_ARGS__, NULL);                                                      \
                ck_assert_msg(_s == (expected), "exit status %d, expected %d\nstdout: %s\nstderr: %s", _s, \
                              (expected), out, err);                                                  \
        } while (0)

#define assert_ok(...) assert_run(0, "--now", NOW_ARG, __VA_ARGS__)

static struct json_object *read_json(const char *path) {
        struct json_object *o = NULL;
        char *text = read_text(path);

        ck_ok(up_json_parse(text, strlen(text), &UP_JSON_LIMITS_DEFAULT, &o));
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

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no member '%s' in %s", key, json_object_to_json_string(o));
        return v;
}

/* --- A client over the repository's files ------------------------------------------- */

static int file_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        (void) userdata;
        return up_read_file(url, max_len, ret, ret_len);
}

typedef struct Client {
        char *dir, *metadata_dir, *target_dir, *metadata_url, *targets_url;
        UpUpdater *updater;
} Client;

static Client *client_new(const char *serve_dir) {
        Client *c = calloc(1, sizeof(Client));
        char *root = pathf("%s/metadata/1.root.json", serve_dir), *data = read_text(root);

        c->dir = pathf("%s/client-XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(c->dir));
        c->metadata_dir = pathf("%s/metadata", c->dir);
        c->target_dir = pathf("%s/targets", c->dir);
        c->metadata_url = pathf("%s/metadata/", serve_dir);
        c->targets_url = pathf("%s/targets/", serve_dir);
        ck_ok(testrepo_mkdir_p(c->metadata_dir));
        ck_ok(testrepo_mkdir_p(c->target_dir));
        ck_ok(testrepo_write_file(c->metadata_dir, "root.json", data, strlen(data)));
        free(data);
        free(root);
        return c;
}

static void client_free(Client *c) {
        up_updater_free(c->updater);
        free(c->dir);
        free(c->metadata_dir);
        free(c->target_dir);
        free(c->metadata_url);
        free(c->targets_url);
        free(c);
}

static int client_refresh(Client *c) {
        UpUpdaterConfig cfg = {
                .metadata_dir = c->metadata_dir, .metadata_url = c->metadata_url, .target_dir = c->target_dir,
                .target_base_url = c->targets_url, .now = NOW + 60, .fetcher = { file_fetch, NULL },
        };
        int r;

        c->updater = up_updater_free(c->updater);
        r = up_updater_new(&cfg, &c->updater);
        return r < 0 ? r : up_updater_refresh(c->updater);
}

static int client_download(Client *c, const char *name) {
        UpTargetInfo *t = NULL;
        int r;

        r = up_updater_get_target_info(c->updater, name, &t);
        if (r >= 0)
                r = up_updater_download_target(c->updater, t);
        up_target_info_free(t);
        return r;
}

#define assert_client(expr, expected)                                                                 \
        do {                                                                                          \
                int _r = (expr), _e = (expected);                                                     \
                ck_assert_msg(_r == _e, "%s: %d (%s), expected %d (%s): %s", #expr, _r, strerror(-_r), _e, \
                              strerror(-_e), c->updater ? up_updater_error(c->updater) : "");         \
        } while (0)

/* --- Fixture ------------------------------------------------------------------------ */

static char *img, *dir; /* an Image repository and a Director below base */

static void setup(void) {
        base = strdup("/tmp/test-repo-tool-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(base));
        tool = find_tool();
        ck_assert_msg(access(tool, X_OK) == 0, "%s not built", tool);
        img = pathf("%s/image", base);
        dir = pathf("%s/director", base);
}

static void teardown(void) {
        (void) testrepo_rm_rf(base);
        free(base);
        free(tool);
        free(img);
        free(dir);
        free(out);
        free(err);
        out = err = NULL;
}

static char *write_tmp(const char *name, const char *content) {
        ck_ok(testrepo_write_file(base, name, content, strlen(content)));
        return pathf("%s/%s", base, name);
}

/* An Image repository with three images, a delegation and one delegated image. */
static void make_image_repo(void) {
        char *a = write_tmp("firmware.img", "Fresh firmware image\n"), *b = write_tmp("b.bin", "bee\n");
        char *d = write_tmp("d.img", "delegated\n");

        assert_ok("init", "--repo", img, "--threshold", "root=2", "--expires", "timestamp=2h");
        assert_ok("add-target", "--repo", img, a, "--hardware-id", "hw-a", "--release-counter", "4");
        assert_ok("add-target", "--repo", img, b, "--name", "fw/b.bin", "--hardware-id", "hw-b", "--hardware-id",
                  "hw-c", "--format", "OSTREE", "--uri", "https://example.org/b");
        assert_ok("add-target", "--repo", img, a, "--name", "third.img");
        assert_ok("delegate", "--repo", img, "supplier", "--path", "dir1/*", "--threshold", "1", "--terminating");
        assert_ok("add-target", "--repo", img, d, "--name", "dir1/d.img", "--role", "supplier");
        assert_ok("publish", "--repo", img);
        free(a);
        free(b);
        free(d);
}

static void make_director(void) {
        assert_ok("director", "init", "--repo", dir);
        assert_ok("director", "assign", "--repo", dir, "--image-repo", img, "democar", "ecu1", "firmware.img");
}

/* --- Help and usage ----------------------------------------------------------------------- */

static const char *const commands[][3] = {
        { "init" }, { "add-target" }, { "remove-target" }, { "delegate" }, { "publish" }, { "rotate" },
        { "revoke" }, { "expires" }, { "status" }, { "director", "init" }, { "director", "assign" },
        { "director", "clear" }, { "director", "add-vehicle" }, { "attack" }, { "attack", "undo" },
        { "attack", "drop" }, { "attack", "list" },
};

START_TEST(test_help) {
        assert_run(0, "--help");
        ck_assert_ptr_nonnull(strstr(out, "Usage: uptane-repo"));
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (commands[i][1])
                        assert_run(0, commands[i][0], commands[i][1], "--help");
                else
                        assert_run(0, commands[i][0], "--help");
                ck_assert_msg(strstr(out, "Usage: uptane-repo"), "%s %s --help: %s", commands[i][0],
                              commands[i][1] ? commands[i][1] : "", out);
                ck_assert_msg(strstr(out, commands[i][1] ? commands[i][1] : commands[i][0]), "%s", out);
        }
        assert_run(0, "director", "--help");
        ck_assert_ptr_nonnull(strstr(out, "director assign"));
        assert_run(2, "director");
        assert_run(2, "director", "frobnicate");
        assert_run(0, "attack", "freeze", "--help");
        ck_assert_ptr_nonnull(strstr(out, "expired"));
        assert_run(0, "attack", "list");
        for (const UpRepoAttackInfo *a = up_repo_attacks(); a->name; a++)
                ck_assert_msg(strstr(out, a->name), "attack list lacks %s", a->name);
}
END_TEST

START_TEST(test_usage_errors) {
        assert_run(2, NULL);
        assert_run(2, "frobnicate");
        assert_run(2, "init");
        ck_assert_ptr_nonnull(strstr(err, "--repo"));
        assert_run(2, "init", "--repo", img, "--bogus");
        assert_run(2, "init", "--repo", img, "--threshold", "root=0");
        assert_run(2, "init", "--repo", img, "--threshold", "nosuchrole=1");
        assert_run(2, "init", "--repo", img, "--scheme", "dsa");
        assert_run(2, "init", "--repo", img, "extra");
        assert_run(2, "init", "--repo", img, "--name", "x");
        assert_run(2, "add-target", "--repo", img);
        assert_run(2, "add-target", "--repo", img, "a", "--release-counter", "-1");
        assert_run(2, "--now", "yesterday", "init", "--repo", img);
        assert_run(2, "expires", "--repo", img, "root", "3q");
        assert_run(2, "delegate", "--repo", img, "r");
        assert_run(2, "attack", "nosuch", "--repo", img);
        assert_run(2, "director", "assign", "--repo", dir, "v", "e", "t");
        ck_assert_int_ne(access(img, F_OK), 0); /* nothing was created */
}
END_TEST

START_TEST(test_failures_name_the_file) {
        char *up;

        assert_run(1, "status", "--repo", img);
        ck_assert_msg(strstr(err, "config.json"), "%s", err);
        make_image_repo();
        assert_run(1, "init", "--repo", img);
        ck_assert_msg(strstr(err, "not empty"), "%s", err);
        assert_run(1, "add-target", "--repo", img, "/nonexistent/fw.bin");
        ck_assert_msg(strstr(err, "/nonexistent/fw.bin"), "%s", err);
        assert_run(1, "add-target", "--repo", img, img);
        ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
        assert_run(1, "add-target", "--repo", img, "--name", "../up", up = write_tmp("up", "up"));
        ck_assert_msg(strstr(err, "../up"), "%s", err);
        assert_run(1, "remove-target", "--repo", img, "nothere.bin");
        ck_assert_msg(strstr(err, "nothere.bin"), "%s", err);
        assert_run(0, "director", "init", "--repo", dir);
        assert_run(1, "director", "assign", "--repo", dir, "--image-repo", img, "car", "ecu", "nothere.bin");
        ck_assert_msg(strstr(err, "nothere.bin"), "%s", err);
        assert_run(1, "director", "assign", "--repo", dir, "--image-repo", img, "car", "ecu", "firmware.img",
                   "--hardware-id", "hw-z");
        ck_assert_msg(strstr(err, "hw-z"), "%s", err);
        assert_run(1, "delegate", "--repo", dir, "r", "--path", "*");
        assert_run(1, "attack", "undo", "freeze", "--repo", img);
        ck_assert_msg(strstr(err, "not staged"), "%s", err);
        free(up);
}
END_TEST

/* --- What the tool writes, as a client sees it ------------------------------------------ */

static void assert_keys_private(const char *repo) {
        char *keys = pathf("%s/keys", repo);
        struct dirent *de;
        size_t n = 0;
        struct stat st;
        DIR *d;

        ck_assert_int_ge(stat(keys, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0700);
        d = opendir(keys);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char *p = pathf("%s/%s", keys, de->d_name);

                if (de->d_name[0] != '.') {
                        ck_assert_int_ge(stat(p, &st), 0);
                        ck_assert_msg((st.st_mode & 0777) == 0600, "%s has mode %o", p, st.st_mode & 0777);
                        n++;
                }
                free(p);
        }
        closedir(d);
        ck_assert_uint_ge(n, 5);
        free(keys);
}

static struct json_object *status_json(const char *repo) {
        struct json_object *s = NULL;

        assert_ok("status", "--repo", repo, "--json");
        ck_ok(up_json_parse(out, strlen(out), &UP_JSON_LIMITS_DEFAULT, &s));
        return s;
}

/* The key id of the first key of role, from status --json. */
static char *role_keyid(const char *repo, const char *role) {
        struct json_object *s = status_json(repo), *roles = jget(s, "roles");
        char *id = NULL;

        for (size_t i = 0; i < json_object_array_length(roles); i++) {
                struct json_object *r = json_object_array_get_idx(roles, i);

                if (!strcmp(json_object_get_string(jget(r, "name")), role))
                        id = strdup(json_object_get_string(jget(json_object_array_get_idx(jget(r, "keys"), 0), "keyid")));
        }
        json_object_put(s);
        ck_assert_ptr_nonnull(id);
        return id;
}

START_TEST(test_image_repository) {
        struct json_object *root, *t;
        Client *c;
        char *id;

        make_image_repo();
        assert_keys_private(img);
        root = read_jsonf("%s/metadata/root.json", img);
        ck_assert_int_eq(json_object_get_int64(jget(jget(jget(jget(root, "signed"), "roles"), "root"), "threshold")), 2);
        json_object_put(root);
        t = read_jsonf("%s/metadata/targets.json", img);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(jget(jget(t, "signed"), "targets"), "fw/b.bin"), "custom"),
                                                     "targetFormat")), "OSTREE");
        json_object_put(t);

        c = client_new(img);
        assert_client(client_refresh(c), 0);
        assert_client(client_download(c, "firmware.img"), 0);
        assert_client(client_download(c, "fw/b.bin"), 0);
        assert_client(client_download(c, "third.img"), 0);
        assert_client(client_download(c, "dir1/d.img"), 0);

        /* rotations: a client holding root 1 follows */
        assert_ok("rotate", "--repo", img, "root");
        assert_ok("publish", "--repo", img);
        assert_client(client_refresh(c), 0);
        assert_ok("rotate", "--repo", img, "timestamp");
        assert_ok("rotate", "--repo", img, "supplier", "--keys", "2");
        assert_ok("publish", "--repo", img);
        assert_client(client_refresh(c), 0);
        assert_client(client_download(c, "dir1/d.img"), 0);

        id = role_keyid(img, "snapshot");
        assert_ok("revoke", "--repo", img, id);
        assert_ok("publish", "--repo", img, "--bump", "targets");
        assert_client(client_refresh(c), 0);
        root = read_jsonf("%s/metadata/root.json", img);
        ck_assert_ptr_null(strstr(json_object_to_json_string(root), id));
        json_object_put(root);
        assert_keys_private(img);
        assert_ok("status", "--repo", img);
        ck_assert_ptr_nonnull(strstr(out, "supplier"));
        free(id);
        client_free(c);
}
END_TEST

START_TEST(test_director) {
        struct json_object *t;
        char *vdir, *tpath;
        Client *c;

        make_image_repo();
        make_director();
        assert_keys_private(dir);
        vdir = pathf("%s/vehicles/democar", dir);
        tpath = pathf("%s/metadata/targets.json", vdir);
        t = read_json(tpath);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "democar");
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(jget(jget(jget(jget(t, "signed"), "targets"),
                                                                                "firmware.img"), "custom"),
                                                                 "ecuIdentifiers"), "ecu1"), "hardwareId")), "hw-a");
        json_object_put(t);
        c = client_new(vdir);
        assert_client(client_refresh(c), 0);
        assert_client(client_download(c, "firmware.img"), 0);

        /* an empty targets still carries the VIN */
        assert_ok("director", "clear", "--repo", dir, "democar");
        t = read_json(tpath);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "democar");
        ck_assert_int_eq(json_object_object_length(jget(jget(t, "signed"), "targets")), 0);
        json_object_put(t);
        assert_client(client_refresh(c), 0);
        assert_ok("director", "add-vehicle", "--repo", dir, "car2");
        t = read_jsonf("%s/vehicles/car2/metadata/targets.json", dir);
        ck_assert_str_eq(json_object_get_string(jget(jget(jget(t, "signed"), "custom"), "vin")), "car2");
        json_object_put(t);

        assert_ok("rotate", "--repo", dir, "root");
        assert_ok("publish", "--repo", dir);
        assert_client(client_refresh(c), 0);
        assert_ok("status", "--repo", dir);
        ck_assert_ptr_nonnull(strstr(out, "car2"));
        client_free(c);
        free(vdir);
        free(tpath);
}
END_TEST

START_TEST(test_attacks) {
        char *vdir, *evil = write_tmp("evil.bin", "evil");
        Client *c, *i;

        make_image_repo();
        make_director();
        vdir = pathf("%s/vehicles/democar", dir);
        c = client_new(vdir);
        i = client_new(img);

        assert_ok("attack", "director-mitm-image", "--repo", dir, "--image-repo", img, "--vin", "democar",
                  "firmware.img", "--content", evil);
        assert_client(client_refresh(c), 0);
        assert_client(client_download(c, "firmware.img"), -UP_ERR_HASH);
        assert_ok("attack", "list", "--repo", dir);
        ck_assert_ptr_nonnull(strstr(out, "director-mitm-image"));
        assert_ok("attack", "undo", "director-mitm-image", "--repo", dir);
        assert_client(client_download(c, "firmware.img"), 0);

        assert_ok("attack", "freeze", "--repo", img);
        assert_client(client_refresh(i), -UP_ERR_EXPIRED);
        assert_ok("attack", "undo", "freeze", "--repo", img);
        assert_client(client_refresh(i), 0);

        assert_ok("attack", "endless-data", "--repo", dir, "--vin", "democar", "--size", "70000");
        assert_client(client_refresh(c), -UP_ERR_TOO_BIG);
        assert_ok("attack", "undo", "endless-data", "--repo", dir);
        assert_client(client_refresh(c), 0);

        assert_ok("attack", "save-timestamp", "--repo", dir, "--vin", "democar");
        assert_ok("publish", "--repo", dir);
        assert_client(client_refresh(c), 0);
        assert_ok("attack", "replay-timestamp", "--repo", dir, "--vin", "democar");
        assert_client(client_refresh(c), -UP_ERR_ROLLBACK);
        assert_ok("attack", "undo", "replay-timestamp", "--repo", dir);
        assert_client(client_refresh(c), 0);

        assert_ok("attack", "recover", "--repo", dir, "--image-repo", img);
        assert_client(client_refresh(c), 0);
        assert_client(client_refresh(i), 0);
        assert_ok("attack", "revoked-keys", "--repo", dir, "--vin", "democar");
        assert_client(client_refresh(c), -UP_ERR_SIGNATURE);
        assert_ok("attack", "undo", "revoked-keys", "--repo", dir);
        assert_client(client_refresh(c), 0);
        assert_ok("attack", "drop", "recover", "--repo", dir);
        assert_ok("attack", "list", "--repo", dir);
        ck_assert_str_eq(out, "");
        client_free(c);
        client_free(i);
        free(vdir);
        free(evil);
}
END_TEST

START_TEST(test_now_and_expires) {
        struct json_object *ts;
        time_t t;

        assert_ok("init", "--repo", img, "--expires", "timestamp=90m", "--expires", "snapshot=2w");
        ts = read_jsonf("%s/metadata/timestamp.json", img);
        ck_ok(up_parse_iso8601(json_object_get_string(jget(jget(ts, "signed"), "expires")), &t));
        ck_assert_int_eq(t, NOW + 90 * 60);
        json_object_put(ts);
        assert_run(0, "--now", "2025-06-16T00:00:00Z", "expires", "--repo", img, "timestamp", "1d");
        assert_run(0, "--now", "2025-06-16T00:00:00Z", "publish", "--repo", img);
        ts = read_jsonf("%s/metadata/timestamp.json", img);
        ck_ok(up_parse_iso8601(json_object_get_string(jget(jget(ts, "signed"), "expires")), &t));
        ck_assert_int_eq(t, NOW + 2 * 86400);
        json_object_put(ts);
}
END_TEST

/* --- OSTree targets ------------------------------------------------------------------------- */

#define OSTREE_A "7afd2c66a1f7a0fd4a3ab9ef0d36d32c8ce9e4b86f8d4a2b6cf1b0bb0e3c5e11"
#define OSTREE_B "336e6b1c0f3fbd8b9f58fdbfd4f5c0e0a3d1c2b4e5f60718293a4b5c6d7e8f90"

/* Whether DIR has a regular file anywhere below it. */
static bool has_files(const char *path) {
        struct dirent *de;
        bool found = false;
        struct stat st;
        DIR *d = opendir(path);

        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                char *p;

                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                p = pathf("%s/%s", path, de->d_name);
                if (lstat(p, &st) == 0)
                        found = S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && has_files(p));
                free(p);
        }
        closedir(d);
        return found;
}

static char fv_error[512]; /* why the last full_verification() failed */

/* The Primary's full verification (ECU pri of democar) over the files of
 * the two repositories. */
static int full_verification(UpFullVerification **ret) {
        char *cdir = pathf("%s/fv-XXXXXX", base), *ddir, *idir, *durl, *iurl, *droot, *iroot, *data;
        const char *serials[] = { "pri" };
        UpFullVerificationError e = {};
        int r;

        ck_assert_ptr_nonnull(mkdtemp(cdir));
        ddir = pathf("%s/director", cdir);
        idir = pathf("%s/image", cdir);
        durl = pathf("%s/vehicles/democar/metadata/", dir);
        iurl = pathf("%s/metadata/", img);
        ck_ok(testrepo_mkdir_p(ddir));
        ck_ok(testrepo_mkdir_p(idir));
        droot = pathf("%s/metadata/1.root.json", dir);
        iroot = pathf("%s/metadata/1.root.json", img);
        data = read_text(droot);
        ck_ok(testrepo_write_file(ddir, "root.json", data, strlen(data)));
        free(data);
        data = read_text(iroot);
        ck_ok(testrepo_write_file(idir, "root.json", data, strlen(data)));
        free(data);
        UpFullVerificationConfig cfg = {
                .director = { .metadata_dir = ddir, .metadata_url = durl, .fetcher = { file_fetch, NULL } },
                .image = { .metadata_dir = idir, .metadata_url = iurl, .fetcher = { file_fetch, NULL } },
                .vin = "democar", .ecu_serials = serials, .n_ecu_serials = 1, .now = NOW + 60,
        };
        r = up_full_verification_run(&cfg, ret, &e);
        snprintf(fv_error, sizeof(fv_error), "%s", r < 0 && e.message ? e.message : "");
        up_full_verification_error_done(&e);
        free(cdir);
        free(ddir);
        free(idir);
        free(durl);
        free(iurl);
        free(droot);
        free(iroot);
        return r;
}

START_TEST(test_ostree_target) {
        struct json_object *t, *e;
        UpFullVerification *v = NULL;
        char *file = write_tmp("fw.bin", "firmware\n"), *vtargets, *itargets = pathf("%s/targets", img);
        char *osdir = pathf("%s/targets/os", img);

        assert_ok("init", "--repo", img);
        /* usage: FILE or --ostree-commit, and a name */
        assert_run(2, "add-target", "--repo", img, "--ostree-commit", OSTREE_A);
        ck_assert_msg(strstr(err, "--name"), "%s", err);
        assert_run(2, "add-target", "--repo", img, file, "--ostree-commit", OSTREE_A, "--name", "os");
        /* the checksum: 64 lower-case hex digits */
        assert_run(1, "add-target", "--repo", img, "--ostree-commit",
                   "7AFD2C66A1F7A0FD4A3AB9EF0D36D32C8CE9E4B86F8D4A2B6CF1B0BB0E3C5E11", "--name", "os");
        ck_assert_msg(strstr(err, "7AFD2C66"), "%s", err);
        assert_run(1, "add-target", "--repo", img, "--ostree-commit", "7afd2c66", "--name", "os");
        assert_run(1, "add-target", "--repo", img, "--ostree-commit", OSTREE_A "0", "--name", "os");
        assert_run(1, "add-target", "--repo", img, "--ostree-commit",
                   "7afd2c66a1f7a0fd4a3ab9ef0d36d32c8ce9e4b86f8d4a2b6cf1b0bb0e3c5e1g", "--name", "os");
        assert_run(1, "add-target", "--repo", img, "--ostree-commit", OSTREE_A, "--name", "os", "--format", "BINARY");
        assert_run(1, "add-target", "--repo", img, "--ostree-commit", OSTREE_A, "--name", "../os");

        assert_run(0, "--now", NOW_ARG, "add-target", "--repo", img, "--ostree-commit", OSTREE_A, "--name",
                   "os/dummy-os", "--hardware-id", "pri-hw", "--release-counter", "3", "--format", "OSTREE");
        ck_assert_msg(strstr(out, OSTREE_A), "%s", out);
        assert_ok("add-target", "--repo", img, file, "--hardware-id", "other-hw");
        assert_ok("publish", "--repo", img);
        /* fw.bin's three copies only */
        ck_assert(has_files(itargets));
        ck_assert_msg(!has_files(osdir), "an OSTree commit stored a file");

        t = read_jsonf("%s/metadata/targets.json", img);
        e = jget(jget(jget(t, "signed"), "targets"), "os/dummy-os");
        ck_assert_int_eq(json_object_get_int64(jget(e, "length")), 0);
        ck_assert_int_eq(json_object_object_length(jget(e, "hashes")), 1);
        ck_assert_str_eq(json_object_get_string(jget(jget(e, "hashes"), "sha256")), OSTREE_A);
        ck_assert_str_eq(json_object_get_string(jget(jget(e, "custom"), "targetFormat")), "OSTREE");
        ck_assert_int_eq(json_object_get_int64(jget(jget(e, "custom"), "releaseCounter")), 3);
        ck_assert(up_repo_entry_is_ostree(e));
        ck_assert(!up_repo_entry_is_ostree(jget(jget(jget(t, "signed"), "targets"), "fw.bin")));
        json_object_put(t);

        /* the Director assigns it: the same length and hashes, no copy */
        assert_ok("director", "init", "--repo", dir);
        assert_ok("director", "assign", "--repo", dir, "--image-repo", img, "democar", "pri", "os/dummy-os");
        vtargets = pathf("%s/vehicles/democar/targets", dir);
        ck_assert_msg(!has_files(vtargets), "director assign copied a file for an OSTree commit");
        t = read_jsonf("%s/vehicles/democar/metadata/targets.json", dir);
        e = jget(jget(jget(t, "signed"), "targets"), "os/dummy-os");
        ck_assert_int_eq(json_object_get_int64(jget(e, "length")), 0);
        ck_assert_str_eq(json_object_get_string(jget(jget(e, "hashes"), "sha256")), OSTREE_A);
        ck_assert_str_eq(json_object_get_string(jget(jget(e, "custom"), "targetFormat")), "OSTREE");
        json_object_put(t);

        /* the Primary's full verification accepts it: Director and Image repository agree */
        ck_assert_msg(full_verification(&v) == 0, "full verification: %s", fv_error);
        ck_assert_int_eq(v->state, UP_FULL_VERIFICATION_UPDATES);
        ck_assert_uint_eq(v->director->n_targets, 1);
        ck_assert_int_eq(v->director->targets[0].length, 0);
        ck_assert_str_eq(v->director->targets[0].format, "OSTREE");
        ck_assert_uint_eq(v->director->targets[0].n_hashes, 1);
        ck_assert_int_eq(v->director->targets[0].hashes[0].alg, UP_HASH_SHA256);
        ck_assert_int_eq(v->images[0]->length, 0);
        v = up_full_verification_free(v);

        /* the Image repository now lists another commit under that name: the
         * Director's entry no longer matches (arbitrary software) */
        assert_ok("add-target", "--repo", img, "--ostree-commit", OSTREE_B, "--name", "os/dummy-os", "--hardware-id",
                  "pri-hw", "--release-counter", "3");
        assert_ok("publish", "--repo", img);
        ck_assert_int_eq(full_verification(&v), -UP_ERR_HASH);
        ck_assert_msg(strstr(fv_error, "os/dummy-os"), "%s", fv_error);
        /* assigned again: they agree again */
        assert_ok("director", "assign", "--repo", dir, "--image-repo", img, "democar", "pri", "os/dummy-os");
        ck_assert_msg(full_verification(&v) == 0, "full verification: %s", fv_error);
        ck_assert_str_eq(json_object_get_string(jget(v->images[0]->hashes, "sha256")), OSTREE_B);
        up_full_verification_free(v);
        ck_assert_msg(!has_files(vtargets), "director assign copied a file for an OSTree commit");
        free(vtargets);
        free(itargets);
        free(osdir);
        free(file);
}
END_TEST

static Suite *tool_suite(void) {
        Suite *s = suite_create("repo_tool");
        TCase *tc = tcase_create("repo_tool");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_help);
        tcase_add_test(tc, test_usage_errors);
        tcase_add_test(tc, test_failures_name_the_file);
        tcase_add_test(tc, test_image_repository);
        tcase_add_test(tc, test_director);
        tcase_add_test(tc, test_attacks);
        tcase_add_test(tc, test_now_and_expires);
        tcase_add_test(tc, test_ostree_target);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(tool_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
