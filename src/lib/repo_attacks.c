/* SPDX-License-Identifier: MIT */
/*
 * The demo's attacks (the sections of the Uptane reference demo's README),
 * staged on the repositories' files so that clients fetch them, and their
 * undo: before an attack changes anything, the trees it may touch (this
 * repository and the other one given) are copied below
 * DIR/attack-backup/NAME/, which undo restores byte for byte.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "repo-internal.h"
#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/storage.h"

#define BACKUP_DIR "attack-backup"
#define SAVED_TIMESTAMPS "saved-timestamps"

/* --- Copies of trees ------------------------------------------------------------------ */

static int backup_path(UpRepo *repo, const char *name, char **ret) {
        if (name)
                return repo_pathf(ret, "%s/%s/%s", repo->dir, BACKUP_DIR, name);
        return repo_pathf(ret, "%s/%s", repo->dir, BACKUP_DIR);
}

/* a/name and b/name. */
static int join_both(const char *a, const char *b, const char *name, char **ret_a, char **ret_b) {
        if (repo_pathf(ret_a, "%s/%s", a, name) < 0 || repo_pathf(ret_b, "%s/%s", b, name) < 0)
                return -ENOMEM;
        return 0;
}

/* Gives dst (created if missing) the mode of src, and lists src. */
static int dir_mirror(UpRepo *repo, const char *src, const char *dst, char ***ret, size_t *ret_n) {
        struct stat st;
        int r;

        if (stat(src, &st) < 0)
                return repo_fail_errno(repo, "cannot read", src);
        if ((mkdir(dst, 0700) < 0 && errno != EEXIST) || chmod(dst, st.st_mode & 07777) < 0)
                return repo_fail_errno(repo, "cannot create", dst);
        r = repo_list_dir(src, ret, ret_n);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", src, up_strerror(r));
        return 0;
}

/* Copies the tree src into dst (skipping attack-backup/ at the top). Images
 * below a targets/ directory are hard links, not copies: every writer here
 * replaces files by rename, so a link keeps the old bytes, and images may be
 * large. */
static int tree_copy(UpRepo *repo, const char *src, const char *dst, bool top, bool link_files) {
        char **names = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        r = dir_mirror(repo, src, dst, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *s = NULL, *d = NULL;

                if (top && streq(names[i], BACKUP_DIR))
                        continue;
                if (join_both(src, dst, names[i], &s, &d) < 0 || lstat(s, &st) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (S_ISDIR(st.st_mode))
                        r = tree_copy(repo, s, d, false, link_files || streq(names[i], "targets"));
                else if (S_ISREG(st.st_mode) && !(link_files && link(s, d) >= 0))
                        r = repo_copy_file(repo, s, dst, names[i], st.st_mode & 07777);
        }
        up_string_array_free(names, n);
        return r;
}

static bool same_content(const char *a, const char *b) {
        _cleanup_free_ uint8_t *da = NULL, *db = NULL;
        struct stat sa, sb;
        size_t la, lb;

        if (stat(a, &sa) < 0 || stat(b, &sb) < 0 || !S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode))
                return false;
        if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
                return true;
        if (sa.st_size != sb.st_size)
                return false;
        if (up_read_file(a, SIZE_MAX - 1, &da, &la) < 0 || up_read_file(b, SIZE_MAX - 1, &db, &lb) < 0)
                return false;
        return la == lb && memcmp(da, db, la) == 0;
}

static bool strv_contains(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* Removes what live has and backup has not (attack-backup/ stays). */
static int tree_prune(UpRepo *repo, const char *live, bool top, char **keep, size_t n_keep) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = repo_list_dir(live, &names, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : up_repo_fail(repo, r, "cannot read '%s': %s", live, up_strerror(r));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if ((top && streq(names[i], BACKUP_DIR)) || strv_contains(keep, n_keep, names[i]))
                        continue;
                if (repo_pathf(&p, "%s/%s", live, names[i]) < 0)
                        r = -ENOMEM;
                else if ((r = repo_rm_rf(p)) < 0)
                        up_repo_fail(repo, r, "cannot remove '%s': %s", p, up_strerror(r));
        }
        up_string_array_free(names, n);
        return r;
}

static int tree_restore(UpRepo *repo, const char *backup, const char *live, bool top, bool prune);

static int restore_entry(UpRepo *repo, const char *b, const char *l, const char *live_dir, const char *name,
                         bool prune) {
        struct stat sb, sl;

        if (lstat(b, &sb) < 0)
                return repo_fail_errno(repo, "cannot read", b);
        /* A directory where a file was, or the reverse. */
        if (lstat(l, &sl) >= 0 && (S_ISDIR(sb.st_mode) != S_ISDIR(sl.st_mode)) && repo_rm_rf(l) < 0)
                return repo_fail_errno(repo, "cannot remove", l);
        if (S_ISDIR(sb.st_mode))
                return tree_restore(repo, b, l, false, prune);
        if (!S_ISREG(sb.st_mode))
                return 0;
        if (same_content(b, l))
                return chmod(l, sb.st_mode & 07777) < 0 ? repo_fail_errno(repo, "chmod", l) : 0;
        return repo_copy_file(repo, b, live_dir, name, sb.st_mode & 07777);
}

/* Makes live what backup is, byte for byte and mode for mode; without
 * prune, files only live has stay. */
static int tree_restore(UpRepo *repo, const char *backup, const char *live, bool top, bool prune) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = dir_mirror(repo, backup, live, &names, &n);
        if (r >= 0 && prune)
                r = tree_prune(repo, live, top, names, n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                r = join_both(backup, live, names[i], &b, &l);
                if (r >= 0)
                        r = restore_entry(repo, b, l, live, names[i], prune);
        }
        up_string_array_free(names, n);
        return r;
}

/* --- Backups ----------------------------------------------------------------------------- */

static int attack_info_read(UpRepo *repo, const char *name, struct json_object **ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = backup_path(repo, name, &dir);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, "info.json", REPO_MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r; /* -ENOENT: not staged */
        r = up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, ret);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/info.json' is not valid JSON", dir);
        return 0;
}

static int64_t attack_seq(struct json_object *info) {
        return json_object_get_int64(json_child(info, "seq"));
}

static int attack_seq_cmp(const void *a, const void *b) {
        int64_t x = attack_seq(*(struct json_object *const *) a);
        int64_t y = attack_seq(*(struct json_object *const *) b);

        return x < y ? -1 : x > y;
}

int up_repo_attack_list(UpRepo *repo, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = json_object_new_array();
        _cleanup_free_ char *base = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (!a || backup_path(repo, NULL, &base) < 0)
                return -ENOMEM;
        r = repo_list_dir(base, &names, &n);
        if (r == -ENOENT)
                r = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct json_object *info = NULL;

                r = attack_info_read(repo, names[i], &info);
                if (r == -ENOENT || r == -ENOTDIR)
                        r = 0; /* no info.json: not an attack (or an incomplete backup) */
                else if (r >= 0)
                        r = up_json_append(a, info);
        }
        up_string_array_free(names, n);
        if (r < 0)
                return r;
        json_object_array_sort(a, attack_seq_cmp);
        *ret = TAKE_PTR(a);
        return 0;
}

static int64_t attack_max_seq(struct json_object *list) {
        int64_t max = 0;

        for (size_t i = 0; i < json_object_array_length(list); i++) {
                int64_t s = attack_seq(json_object_array_get_idx(list, i));

                if (s > max)
                        max = s;
        }
        return max;
}

static int attack_tree_add(UpRepo *repo, struct json_object *trees, const char *backup, const char *dir) {
        _cleanup_free_ char *real = realpath(dir, NULL), *copy = NULL, *dst = NULL;
        struct json_object *t;
        size_t i = json_object_array_length(trees);

        if (!real)
                return repo_fail_errno(repo, "cannot resolve", dir);
        for (size_t j = 0; j < i; j++)
                if (streq(json_object_get_string(json_child(json_object_array_get_idx(trees, j), "path")), real))
                        return 0;
        t = json_object_new_object();
        if (repo_pathf(&copy, "tree%zu", i) < 0 || repo_pathf(&dst, "%s/%s", backup, copy) < 0 ||
            up_json_append(trees, t) < 0)
                return -ENOMEM;
        if (up_json_add(t, "path", json_object_new_string(real)) < 0 ||
            up_json_add(t, "copy", json_object_new_string(copy)) < 0)
                return -ENOMEM;
        return tree_copy(repo, real, dst, true, false);
}

/* An empty dir for the backup of name (what an interrupted attempt left goes). */
static int backup_dir_create(UpRepo *repo, const char *name, char **ret) {
        _cleanup_free_ char *base = NULL, *dir = NULL;
        int r;

        if (backup_path(repo, NULL, &base) < 0 || backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        r = repo_mkdir_p(base, 0700);
        if (r >= 0)
                r = repo_rm_rf(dir);
        if (r >= 0 && mkdir(dir, 0700) < 0)
                r = negative_errno();
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        *ret = TAKE_PTR(dir);
        return 0;
}

static int attack_begin(UpRepo *repo, const char *name, UpRepo *other) {
        _cleanup_json_ struct json_object *list = NULL, *info = json_object_new_object(), *existing = NULL;
        struct json_object *trees = json_object_new_array();
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!info || up_json_add(info, "trees", trees) < 0)
                return -ENOMEM;
        if (attack_info_read(repo, name, &existing) >= 0)
                return up_repo_fail(repo, -EEXIST, "attack '%s' is staged already: undo or drop it first", name);
        r = up_repo_attack_list(repo, &list);
        if (r >= 0)
                r = backup_dir_create(repo, name, &dir);
        if (r < 0)
                return r;
        if (up_json_add(info, "name", json_object_new_string(name)) < 0 ||
            up_json_add(info, "seq", json_object_new_int64(attack_max_seq(list) + 1)) < 0)
                return -ENOMEM;
        r = attack_tree_add(repo, trees, dir, repo->dir);
        if (r >= 0 && other)
                r = attack_tree_add(repo, trees, dir, other->dir);
        /* info.json last: only a complete backup counts as a staged attack. */
        if (r >= 0)
                r = repo_write_json(repo, dir, "info.json", info, 0600);
        if (r < 0)
                (void) repo_rm_rf(dir);
        return r;
}

static int remove_backup(UpRepo *repo, const char *dir) {
        int r;

        r = repo_rm_rf(dir);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot remove '%s': %s", dir, up_strerror(r));
        return 0;
}

static int attack_restore(UpRepo *repo, const char *name, struct json_object *info) {
        struct json_object *trees = json_child(info, "trees");
        _cleanup_free_ char *dir = NULL;
        int r;

        if (backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < array_len(trees); i++) {
                struct json_object *t = json_object_array_get_idx(trees, i);
                const char *c = json_object_get_string(json_child(t, "copy"));
                const char *live = json_object_get_string(json_child(t, "path"));
                _cleanup_free_ char *copy = NULL;

                if (!c || !live || !repo_file_name_valid(c))
                        return up_repo_fail(repo, -EBADMSG, "'%s/info.json' is damaged", dir);
                if (repo_pathf(&copy, "%s/%s", dir, c) < 0)
                        return -ENOMEM;
                r = tree_restore(repo, copy, live, true, true);
                if (r < 0)
                        return r;
        }
        return remove_backup(repo, dir);
}

/* The info of a staged attack, for undo and drop. */
static int attack_staged(UpRepo *repo, const char *name, struct json_object **ret) {
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        r = attack_info_read(repo, name, ret);
        if (r == -ENOENT || r == -ENOTDIR)
                return up_repo_fail(repo, -ENOENT, "attack '%s' is not staged on '%s'", name, repo->dir);
        return r;
}

int up_repo_attack_undo(UpRepo *repo, const char *name) {
        _cleanup_json_ struct json_object *info = NULL, *list = NULL;
        int r;

        r = attack_staged(repo, name, &info);
        if (r >= 0)
                r = up_repo_attack_list(repo, &list);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *o = json_object_array_get_idx(list, i);

                if (attack_seq(o) > attack_seq(info))
                        return up_repo_fail(repo, -EBUSY, "undo '%s' first: attacks are undone in reverse order",
                                            json_object_get_string(json_child(o, "name")));
        }
        return attack_restore(repo, name, info);
}

int up_repo_attack_drop(UpRepo *repo, const char *name) {
        _cleanup_json_ struct json_object *info = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        r = attack_staged(repo, name, &info);
        if (r < 0)
                return r;
        if (backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        return remove_backup(repo, dir);
}

/* --- Helpers of the attacks --------------------------------------------------------------- */

#define EVIL_MITM "EVIL UPDATE: ARBITRARY PACKAGE ATTACK TO BE DELIVERED FROM MITM (no keys compromised).\n"
#define EVIL_KEYED "evil content\n"
#define ENDLESS_DEFAULT_SIZE (1024u * 1024u)

static const char *const online_roles[] = { "targets", "snapshot", "timestamp" };

static int need(UpRepo *repo, const char *attack, const char *what, const void *v) {
        if (!v)
                return up_repo_fail(repo, -EINVAL, "attack %s needs %s", attack, what);
        return 0;
}

static int need_kind(UpRepo *repo, const char *attack, UpRepo *which, UpRepoKind kind, const char *what) {
        return need(repo, attack, what, which && which->kind == kind ? which : NULL);
}

/* A set to publish: a Director's vehicle, or an Image repository's own. */
static int need_set(UpRepo *repo, const char *attack, const UpRepoAttackOptions *o) {
        if (repo->kind == UP_REPO_DIRECTOR && !o->vin)
                return up_repo_fail(repo, -EINVAL, "attack %s on a Director needs a VIN", attack);
        if (repo->kind == UP_REPO_IMAGE && o->vin)
                return up_repo_fail(repo, -EINVAL, "attack %s: an Image repository has no vehicles", attack);
        return 0;
}

/* The other repository said why. */
static int fail_other(UpRepo *repo, UpRepo *other, int r) {
        return up_repo_fail(repo, r, "%s", up_repo_error(other)[0] ? up_repo_error(other) : up_strerror(r));
}

/* Bytes of the given length that are not the original: only the hash check
 * can tell them apart (a longer file would be stopped by the length). */
static int evil_bytes(const UpRepoAttackOptions *o, const char *fallback, const uint8_t *orig, size_t len,
                      uint8_t **ret) {
        const uint8_t *src = o->content ? o->content : (const uint8_t *) fallback;
        size_t src_len = o->content ? o->content_len : strlen(fallback);
        uint8_t *buf;

        if (len == 0 || src_len == 0)
                return -EINVAL;
        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                buf[i] = src[i % src_len];
        if (memcmp(buf, orig, len) == 0)
                buf[len - 1] ^= 1;
        *ret = buf;
        return 0;
}

/* --- 3.1, 3.2: a man in the middle serves other bytes for an image -------------------- */

/* Overwrites (data) or deletes (data NULL) every existing copy of an image. */
static int image_copies_apply(UpRepo *repo, const char *vin, const char *name, struct json_object *hashes,
                              const uint8_t *data, size_t len, size_t *count) {
        _cleanup_free_ char *dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        r = repo_image_dir(repo, vin, name, &dir);
        if (r >= 0)
                r = repo_image_file_names(name, hashes, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (repo_pathf(&p, "%s/%s", dir, names[i]) < 0)
                        r = -ENOMEM;
                else if (!file_exists(p))
                        continue;
                else if (data)
                        r = repo_write_file(repo, dir, names[i], data, len, 0644);
                else if (unlink(p) < 0)
                        r = repo_fail_errno(repo, "cannot remove", p);
                if (r >= 0 && count)
                        (*count)++;
        }
        up_string_array_free(names, n);
        return r;
}

/* The published entry of a target: the Image repository's (through its
 * delegations) or a vehicle's. */
static int published_target(UpRepo *repo, const char *vin, const char *name, struct json_object **ret) {
        _cleanup_(repo_published_done) Published p = {};
        struct json_object *e;
        int r;

        if (!vin)
                return up_repo_find_target(repo, name, ret, NULL);
        r = repo_published_read(repo, vin, "targets", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        e = p.data ? json_child(json_child(p.signed_obj, "targets"), name) : NULL;
        if (!e)
                return up_repo_fail(repo, -ENOENT, "vehicle %s has no published target '%s'", vin, name);
        return json_object_deep_copy(e, ret, NULL) < 0 ? -ENOMEM : 0;
}

/* Replaces the copies of an image in repo (vin: a vehicle's) by evil bytes. */
static int swap_image(UpRepo *repo, const char *vin, const char *name, const UpRepoAttackOptions *o,
                      struct json_object **ret_hashes) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ uint8_t *orig = NULL, *evil = NULL;
        _cleanup_free_ char *path = NULL;
        size_t len, count = 0;
        int r;

        r = published_target(repo, vin, name, &entry);
        if (r < 0)
                return r;
        r = up_repo_image_path(repo, vin, name, json_child(entry, "hashes"), &path);
        if (r < 0)
                return r;
        r = up_read_file(path, SIZE_MAX - 1, &orig, &len);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s' is not served%s%s (%s): %s", name, vin ? " for vehicle " : "",
                                    vin ? vin : "", path, up_strerror(r));
        r = evil_bytes(o, EVIL_MITM, orig, len, &evil);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot make evil bytes for '%s'", name);
        r = image_copies_apply(repo, vin, name, json_child(entry, "hashes"), evil, len, &count);
        if (r < 0)
                return r;
        *ret_hashes = json_object_get(json_child(entry, "hashes"));
        return 0;
}

/* Deletes every copy of an image the other repository serves: an Image
 * repository's own, or those of each vehicle of a Director. */
static int delete_copies(UpRepo *repo, UpRepo *other, const char *name, struct json_object *hashes) {
        char **vins = NULL;
        size_t n = 0;
        int r;

        if (other->kind == UP_REPO_IMAGE)
                r = image_copies_apply(other, NULL, name, hashes, NULL, 0, NULL);
        else {
                r = up_director_vehicles(other, &vins, &n);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = image_copies_apply(other, vins[i], name, hashes, NULL, 0, NULL);
                up_director_vehicles_free(vins, n);
        }
        return r < 0 ? fail_other(repo, other, r) : 0;
}

/* Swaps repo's copies (vin: a vehicle's) and deletes the other repository's,
 * which must be of the other kind, so that no good mirror is left. */
static int attack_mitm(UpRepo *repo, const char *attack, const char *vin, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *hashes = NULL;
        bool director = repo->kind == UP_REPO_DIRECTOR;
        int r;

        r = swap_image(repo, vin, o->target, o, &hashes);
        if (r < 0 || !o->other)
                return r;
        r = need_kind(repo, attack, o->other, director ? UP_REPO_IMAGE : UP_REPO_DIRECTOR,
                      director ? "the other repository to be an Image repository" :
                                 "the other repository to be a Director");
        if (r < 0)
                return r;
        return delete_copies(repo, o->other, o->target, hashes);
}

/* 3.1: other bytes for the Director's copy of an image; the Image
 * repository's copy is hidden. No key, no metadata change. */
static int attack_director_mitm(UpRepo *repo, const UpRepoAttackOptions *o) {
        int r;

        r = need_kind(repo, "director-mitm-image", repo, UP_REPO_DIRECTOR, "--repo to be a Director");
        if (r >= 0)
                r = need(repo, "director-mitm-image", "a VIN and a target", o->vin && o->target ? o : NULL);
        if (r < 0)
                return r;
        return attack_mitm(repo, "director-mitm-image", o->vin, o);
}

/* 3.2: a bad mirror serves other bytes for the Image repository's image;
 * the Director's copies are deleted. */
static int attack_image_mitm(UpRepo *repo, const UpRepoAttackOptions *o) {
        int r;

        r = need_kind(repo, "image-mitm-image", repo, UP_REPO_IMAGE, "--repo to be an Image repository");
        if (r >= 0)
                r = need(repo, "image-mitm-image", "a target", o->target);
        if (r < 0)
                return r;
        return attack_mitm(repo, "image-mitm-image", NULL, o);
}

/* --- 3.3: replay of an older timestamp ---------------------------------------------------- */

static int saved_timestamp_location(UpRepo *repo, const char *vin, char **ret_dir, char **ret_name) {
        if (repo_pathf(ret_dir, "%s/%s/%s", repo->dir, BACKUP_DIR, SAVED_TIMESTAMPS) < 0)
                return -ENOMEM;
        if ((vin ? repo_pathf(ret_name, "vehicle-%s.json", vin) : repo_pathf(ret_name, "repository.json")) < 0) {
                free(*ret_dir);
                *ret_dir = NULL; /* the caller frees it too */
                return -ENOMEM;
        }
        return 0;
}

static int read_timestamp(UpRepo *repo, const char *vin, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = repo_set_path(repo, vin, "metadata", &dir);
        if (r < 0)
                return r;
        return repo_read_file(repo, dir, "timestamp.json", REPO_MAX_JSON_FILE, ret, ret_len);
}

/* First step: keep a copy of the current (validly signed) timestamp. */
static int attack_save_timestamp(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = read_timestamp(repo, o->vin, &data, &len);
        if (r >= 0)
                r = saved_timestamp_location(repo, o->vin, &dir, &name);
        if (r >= 0)
                r = repo_make_dir(repo, dir, 0700);
        if (r < 0)
                return r;
        return repo_write_file(repo, dir, name, data, len, 0644);
}

static int64_t timestamp_version(const uint8_t *data, size_t len) {
        _cleanup_json_ struct json_object *doc = NULL;
        int64_t v = -1;

        if (up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, &doc) >= 0)
                (void) up_json_get_int64(json_child(doc, "signed"), "version", &v);
        return v;
}

/* The saved, older timestamp is served again. */
static int attack_replay_timestamp(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *live = NULL;
        _cleanup_free_ uint8_t *saved = NULL, *cur = NULL;
        size_t saved_len, cur_len;
        int64_t sv, cv;
        int r;

        r = saved_timestamp_location(repo, o->vin, &dir, &name);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, name, REPO_MAX_JSON_FILE, &saved, &saved_len);
        if (r < 0)
                return up_repo_fail(repo, r,
                                    "no saved timestamp '%s/%s': run 'attack save-timestamp' first, then publish",
                                    dir, name);
        r = read_timestamp(repo, o->vin, &cur, &cur_len);
        if (r < 0)
                return r;
        sv = timestamp_version(saved, saved_len);
        cv = timestamp_version(cur, cur_len);
        if (sv >= cv)
                return up_repo_fail(repo, -EALREADY,
                                    "the saved timestamp (version %lld) is not older than the published one (version "
                                    "%lld): publish first", (long long) sv, (long long) cv);
        r = repo_set_path(repo, o->vin, "metadata", &live);
        if (r < 0)
                return r;
        return repo_write_file(repo, live, "timestamp.json", saved, saved_len, 0644);
}

/* --- 3.4, 3.5: images vouched for with compromised keys ------------------------------------ */

/* The hardware id (malloc()ed) and release counter of what the ECU has now
 * (counter 0 when it has nothing). */
static int ecu_current(UpRepo *repo, const UpRepoAttackOptions *o, char **ret_hw, int64_t *ret_counter) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *name = NULL;
        const char *hw = o->hardware_id;
        struct json_object *custom;
        int64_t counter = 0;
        int r;

        r = up_director_ecu_target(repo, o->vin, o->ecu_serial, &name, &entry);
        if (r < 0 && (r != -ENOENT || !hw))
                return up_repo_fail(repo, r, "ECU %s of vehicle %s has no target: give --hardware-id", o->ecu_serial,
                                    o->vin);
        if (r >= 0) {
                custom = json_child(entry, "custom");
                (void) up_json_get_int64(custom, "releaseCounter", &counter);
                if (!hw) {
                        struct json_object *ecu = json_child(json_child(custom, "ecuIdentifiers"), o->ecu_serial);

                        hw = json_object_get_string(json_child(ecu, "hardwareId"));
                }
        }
        if (!hw)
                return up_repo_fail(repo, -EINVAL, "no hardware id for ECU %s: give --hardware-id", o->ecu_serial);
        *ret_hw = strdup(hw);
        if (!*ret_hw)
                return -ENOMEM;
        *ret_counter = counter;
        return 0;
}

static const void *evil_content(const UpRepoAttackOptions *o, size_t *ret_len) {
        if (o->content) {
                *ret_len = o->content_len;
                return o->content;
        }
        *ret_len = strlen(EVIL_KEYED);
        return EVIL_KEYED;
}

static int attack_assign_evil(UpRepo *repo, const UpRepoAttackOptions *o, const char *hw, struct json_object *entry) {
        size_t len;
        const void *data = evil_content(o, &len);

        return up_director_assign(repo, o->vin, &(UpDirectorAssignment) {
                .ecu_serial = o->ecu_serial, .hardware_id = hw, .target_name = o->target,
                .image_target = entry, .image_data = data, .image_len = len,
        }, 1, o->now);
}

static int need_vehicle_target(UpRepo *repo, const char *attack, const UpRepoAttackOptions *o) {
        int r;

        r = need_kind(repo, attack, repo, UP_REPO_DIRECTOR, "--repo to be a Director");
        if (r < 0)
                return r;
        return need(repo, attack, "a VIN, an ECU serial and a target name",
                    o->vin && o->ecu_serial && o->target ? o : NULL);
}

/* 3.4: with the Director's (online) keys, an ECU is assigned an image that
 * the Image repository does not vouch for. */
static int attack_director_keyed(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *hw = NULL;
        const char *hws[1];
        int64_t counter;
        const void *data;
        size_t len;
        int r;

        r = need_vehicle_target(repo, "director-keyed-target", o);
        if (r < 0)
                return r;
        r = ecu_current(repo, o, &hw, &counter);
        if (r < 0)
                return r;
        data = evil_content(o, &len);
        hws[0] = hw;
        r = repo_target_entry(&(UpRepoTarget) { .name = o->target, .hardware_ids = hws, .n_hardware_ids = 1,
                                                .release_counter = counter }, data, len, &entry);
        if (r < 0)
                return r;
        return attack_assign_evil(repo, o, hw, entry);
}

/* The evil image, listed and published by the Image repository with its
 * own keys, in the role that lists the name now. */
static int image_add_evil(UpRepo *repo, UpRepo *image, const UpRepoAttackOptions *o, const char *hw,
                          int64_t counter) {
        _cleanup_json_ struct json_object *old = NULL;
        _cleanup_free_ char *role = NULL;
        const char *hws[] = { hw };
        UpRepoTarget t = { .name = o->target, .hardware_ids = hws, .n_hardware_ids = 1, .release_counter = counter };
        const void *data;
        size_t len;
        int r;

        if (up_repo_find_target(image, o->target, &old, &role) >= 0) {
                t.role = role;
                (void) up_json_get_int64(json_child(old, "custom"), "releaseCounter", &t.release_counter);
        }
        data = evil_content(o, &len);
        r = up_repo_add_target(image, &t, data, len);
        if (r >= 0)
                r = up_repo_publish(image, NULL, 0, o->now);
        return r < 0 ? fail_other(repo, image, r) : 0;
}

/* 3.5: the keys of both repositories: both vouch for the evil image. */
static int attack_both_keyed(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *hw = NULL;
        int64_t counter;
        int r;

        r = need_vehicle_target(repo, "keyed-target-both", o);
        if (r >= 0)
                r = need_kind(repo, "keyed-target-both", o->other, UP_REPO_IMAGE, "--image-repo");
        if (r < 0)
                return r;
        r = ecu_current(repo, o, &hw, &counter);
        if (r < 0)
                return r;
        r = image_add_evil(repo, o->other, o, hw, counter);
        if (r < 0)
                return r;
        r = up_repo_find_target(o->other, o->target, &entry, NULL);
        if (r < 0)
                return fail_other(repo, o->other, r);
        return attack_assign_evil(repo, o, hw, entry);
}

/* --- 3.6: recovery ---------------------------------------------------------------------------- */

static bool keyed_attack(const char *name) {
        return streq(name, "director-keyed-target") || streq(name, "keyed-target-both") ||
               streq(name, "release-counter-rollback");
}

static int overlay_subdirs(UpRepo *repo, const char *copy, const char *live) {
        static const char *const subs[] = { "staged", "targets" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                if (join_both(copy, live, subs[i], &b, &l) < 0)
                        return -ENOMEM;
                if (!file_exists(b))
                        continue;
                r = tree_restore(repo, b, l, false, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The staged state and images (not the metadata, which clients have seen in
 * newer versions) of a backup tree, the Director's vehicles included. */
static int overlay_content(UpRepo *repo, const char *copy, const char *live) {
        _cleanup_free_ char *vdir = NULL, *live_vdir = NULL;
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = overlay_subdirs(repo, copy, live);
        if (r < 0 || join_both(copy, live, "vehicles", &vdir, &live_vdir) < 0)
                return r < 0 ? r : -ENOMEM;
        r = repo_list_dir(vdir, &vins, &n);
        if (r == -ENOENT)
                return 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                r = join_both(vdir, live_vdir, vins[i], &b, &l);
                if (r >= 0)
                        r = overlay_subdirs(repo, b, l);
        }
        up_string_array_free(vins, n);
        return r;
}

static int overlay_tree(UpRepo *repo, const char *base, const char *name, struct json_object *t,
                        struct json_object *done) {
        const char *c = json_object_get_string(json_child(t, "copy"));
        const char *live = json_object_get_string(json_child(t, "path"));
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!c || !live || strv_json_contains(done, live))
                return 0;
        if (repo_pathf(&copy, "%s/%s/%s", base, name, c) < 0)
                return -ENOMEM;
        r = overlay_content(repo, copy, live);
        if (r < 0)
                return r;
        return up_json_append(done, json_object_new_string(live));
}

/* Each repository as the oldest keyed attack staged on from found it (the
 * demo stacks 3.5 on 3.4: the Image repository is only in the second). */
static int recover_content(UpRepo *repo, UpRepo *from, struct json_object *done) {
        _cleanup_json_ struct json_object *list = NULL;
        _cleanup_free_ char *base = NULL;
        int r;

        r = up_repo_attack_list(from, &list);
        if (r < 0 || backup_path(from, NULL, &base) < 0)
                return r < 0 ? fail_other(repo, from, r) : -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *info = json_object_array_get_idx(list, i), *trees = json_child(info, "trees");
                const char *name = json_object_get_string(json_child(info, "name"));

                if (!name || !keyed_attack(name))
                        continue;
                for (size_t j = 0; j < array_len(trees); j++) {
                        r = overlay_tree(repo, base, name, json_object_array_get_idx(trees, j), done);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int rotate_online(UpRepo *repo, UpRepo *x, time_t now) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(online_roles); i++)
                r = up_repo_rotate(x, online_roles[i], 0);
        if (r >= 0)
                r = up_repo_publish(x, NULL, 0, now);
        if (r < 0 && x != repo)
                return fail_other(repo, x, r);
        return r;
}

/* 3.6: root signs new online keys; what keyed attacks changed is put back
 * and published as new versions signed by the new keys. */
static int attack_recover(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *done = json_object_new_array();
        int r;

        if (!done)
                return -ENOMEM;
        r = recover_content(repo, repo, done);
        if (r >= 0 && o->other)
                r = recover_content(repo, o->other, done);
        if (r >= 0)
                r = rotate_online(repo, repo, o->now);
        if (r >= 0 && o->other)
                r = rotate_online(repo, o->other, o->now);
        return r;
}

/* --- 3.7 and the attacks on a client's limits ------------------------------------------------ */

/* 3.7: metadata signed with keys that were rotated out or revoked. */
static int attack_revoked_keys(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_(repo_signers_done) Signers s = {};
        int r;

        r = need_set(repo, "revoked-keys", o);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(online_roles); i++)
                r = repo_signers_add_retired(repo, &s, online_roles[i]);
        if (r < 0)
                return r;
        if (s.n == 0)
                return up_repo_fail(repo, -ENOKEY,
                                    "'%s/keys' holds no retired targets, snapshot or timestamp key: rotate them (or "
                                    "attack recover) first", repo->dir);
        return repo_publish_set_opts(repo, o->vin, &(SetOptions) { .all = true, .retired_keys = true }, o->now);
}

/* Freeze: a new timestamp, validly signed, but already expired. Only the
 * timestamp: a client keeps nothing from it, so undo brings it back. */
static int attack_freeze(UpRepo *repo, const UpRepoAttackOptions *o) {
        int r;

        r = need_set(repo, "freeze", o);
        if (r < 0)
                return r;
        return repo_publish_set_opts(repo, o->vin, &(SetOptions) { .expired_role = "timestamp" }, o->now);
}

/* Slow retrieval needs the server's help: it trickles the files of a
 * repository that holds this marker (its content: bytes per second). */
static int attack_slow_retrieval(UpRepo *repo, const UpRepoAttackOptions *o) {
        char rate[32];
        int r;

        snprintf(rate, sizeof(rate), "%zu\n", o->size ? o->size : 16);
        r = up_write_file_atomic(repo->dir, UP_REPO_SLOW_RETRIEVAL_MARKER, rate, strlen(rate), 0644);
        return r < 0 ? up_repo_fail(repo, r, "cannot write '%s/%s'", repo->dir, UP_REPO_SLOW_RETRIEVAL_MARKER) : 0;
}

/* The metadata dir of role and the name of its newest version. */
static int newest_version(UpRepo *repo, const char *vin, const char *role, char **ret_dir, char **ret_name,
                          int64_t *ret_version) {
        _cleanup_(repo_published_done) Published p = {};
        int r;

        r = repo_published_get(repo, vin, role, &p);
        if (r >= 0)
                r = repo_metadata_dir(repo, vin, role, ret_dir);
        if (r < 0)
                return r;
        if (repo_role_file_name(role, p.version, ret_name) < 0)
                return -ENOMEM;
        *ret_version = p.version;
        return 0;
}

/* Mix-and-match: the file the snapshot names holds another version. */
static int attack_mix_and_match(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *role = o->role ? o->role : "targets";
        _cleanup_free_ char *dir = NULL, *older = NULL, *cur = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        int64_t version;
        size_t len;
        int r;

        r = need_set(repo, "mix-and-match", o);
        if (r < 0)
                return r;
        if (streq(role, "root") || streq(role, "timestamp"))
                return up_repo_fail(repo, -EINVAL, "attack mix-and-match: %s is not named by a version", role);
        r = newest_version(repo, o->vin, role, &dir, &cur, &version);
        if (r < 0)
                return r;
        if (version < 2)
                return up_repo_fail(repo, -EALREADY, "attack mix-and-match: %s has one version only: change it and "
                                    "publish first", role);
        if (repo_role_file_name(role, version - 1, &older) < 0)
                return -ENOMEM;
        r = repo_read_file(repo, dir, older, REPO_MAX_JSON_FILE, &data, &len);
        if (r >= 0)
                r = repo_write_file(repo, dir, cur, data, len, 0644);
        if (r < 0)
                return r;
        return repo_write_file(repo, dir, strchr(cur, '.') + 1, data, len, 0644);
}

/* Valid JSON still (trailing white space), just far too long. */
static int pad_file(UpRepo *repo, const char *dir, const char *name, size_t size) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len, new_len;
        uint8_t *n;
        int r;

        r = repo_read_file(repo, dir, name, REPO_MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r;
        new_len = size > len ? size : len + 1;
        n = realloc(data, new_len);
        if (!n)
                return -ENOMEM;
        data = n;
        memset(data + len, ' ', new_len - len);
        return repo_write_file(repo, dir, name, data, new_len, 0644);
}

/* Endless data: a metadata file far larger than any client accepts. */
static int attack_endless(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *role = o->role ? o->role : "timestamp";
        size_t size = o->size ? o->size : ENDLESS_DEFAULT_SIZE;
        _cleanup_free_ char *dir = NULL, *cur = NULL;
        int64_t version;
        int r;

        r = need_set(repo, "endless-data", o);
        if (r < 0)
                return r;
        if (size > REPO_MAX_JSON_FILE)
                return up_repo_fail(repo, -EINVAL, "attack endless-data: at most %u bytes", REPO_MAX_JSON_FILE);
        if (streq(role, "timestamp")) {
                r = repo_metadata_dir(repo, o->vin, role, &dir);
                return r < 0 ? r : pad_file(repo, dir, "timestamp.json", size);
        }
        /* Clients holding root N only ever ask for N+1. */
        if (streq(role, "root"))
                return up_repo_fail(repo, -EINVAL, "attack endless-data: pick timestamp, snapshot or a targets role");
        r = newest_version(repo, o->vin, role, &dir, &cur, &version);
        if (r >= 0)
                r = pad_file(repo, dir, cur, size);
        if (r < 0)
                return r;
        return pad_file(repo, dir, strchr(cur, '.') + 1, size);
}

static int lower_counter_in(UpRepo *repo, const char *vin, const char *role, const char *target, bool *found) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *custom;
        int64_t rc = 0;
        int r;

        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        custom = json_child(json_child(json_child(body, "targets"), target), "custom");
        if (!custom)
                return 0;
        *found = true;
        (void) up_json_get_int64(custom, "releaseCounter", &rc);
        if (rc <= 0)
                return up_repo_fail(repo, -ERANGE, "the release counter of '%s' is %lld: nothing lower", target,
                                    (long long) rc);
        r = up_json_add(custom, "releaseCounter", json_object_new_int64(rc - 1));
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, vin, role, body);
}

static int lower_and_publish(UpRepo *repo, const char *vin, const char *target, time_t now) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = repo_targets_roles(repo, vin, &l);
        for (size_t i = 0; r >= 0 && i < l.n && !found; i++)
                r = lower_counter_in(repo, vin, l.v[i].role, target, &found);
        if (r < 0)
                return r;
        if (!found)
                return up_repo_fail(repo, -ENOENT, "no staged role lists '%s'%s%s", target, vin ? " for " : "",
                                    vin ? vin : "");
        return vin ? up_repo_publish_set(repo, vin, NULL, 0, now) : up_repo_publish(repo, NULL, 0, now);
}

/* Rollback through the release counter: validly signed, older counter. */
static int attack_counter_rollback(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *vin_other = repo->kind == UP_REPO_IMAGE ? o->vin : NULL;
        int r;

        r = need(repo, "release-counter-rollback", "a target", o->target);
        if (r >= 0 && repo->kind == UP_REPO_DIRECTOR)
                r = need(repo, "release-counter-rollback", "a VIN", o->vin);
        if (r < 0)
                return r;
        r = lower_and_publish(repo, repo->kind == UP_REPO_DIRECTOR ? o->vin : NULL, o->target, o->now);
        if (r < 0 || !o->other)
                return r;
        if (o->other->kind == UP_REPO_DIRECTOR && !vin_other)
                return up_repo_fail(repo, -EINVAL, "attack release-counter-rollback: give the VIN for the Director");
        r = lower_and_publish(o->other, vin_other, o->target, o->now);
        return r < 0 ? fail_other(repo, o->other, r) : 0;
}

/* --- The list, and staging one ---------------------------------------------------------------- */

typedef int (*AttackFn)(UpRepo *repo, const UpRepoAttackOptions *o);

static const UpRepoAttackInfo attack_infos[] = {
        { "director-mitm-image", "3.1",
          "replaces the Director's copies of a vehicle's image by other bytes of the same length and hides the "
          "Image repository's copies (--image-repo); no key, no metadata change",
          "the download fails the hash check (arbitrary-software)" },
        { "image-mitm-image", "3.2",
          "replaces the Image repository's copies of an image by other bytes of the same length and deletes the "
          "Director's copies (--director); no key, no metadata change",
          "the download fails the hash check (arbitrary-software)" },
        { "save-timestamp", "3.3",
          "saves a copy of the current timestamp for replay-timestamp (changes nothing, nothing to undo)", "-" },
        { "replay-timestamp", "3.3",
          "serves the saved timestamp again, after a newer one was published", "rollback" },
        { "director-keyed-target", "3.4",
          "with the Director's keys, assigns an ECU an evil image (--content) the Image repository does not list",
          "the Director's target does not match the Image repository's (arbitrary-software)" },
        { "keyed-target-both", "3.5",
          "with the keys of both repositories, lists the evil image in the Image repository and assigns it",
          "accepted: both repositories vouch for it (the limit of the threat model)" },
        { "recover", "3.6",
          "rotates the online keys (targets, snapshot, timestamp) of both repositories (root signs), puts back "
          "what keyed attacks changed, and publishes it as new versions",
          "updates; the old online keys are no longer trusted" },
        { "revoked-keys", "3.7",
          "publishes new targets, snapshot and timestamp signed with retired (rotated out or revoked) keys",
          "signature threshold not met (arbitrary-software)" },
        { "freeze", "",
          "publishes a new timestamp that expired a day ago, validly signed",
          "expired (freeze)" },
        { "mix-and-match", "",
          "serves the previous version of targets (or --role) under the version the snapshot names",
          "does not match the snapshot (mix-and-match)" },
        { "endless-data", "",
          "pads the timestamp (or --role) to --size bytes (default 1 MiB)", "larger than allowed (endless-data)" },
        { "slow-retrieval", "",
          "makes uptane-server send this repository's files at --size bytes per second (default 16)",
          "the transfer is too slow (slow-retrieval)" },
        { "release-counter-rollback", "",
          "republishes a target with its release counter one lower (a Director's vehicle with --vin; the other "
          "repository too when given)",
          "the release counter went backwards (rollback)" },
        {}
};

static const AttackFn attack_fns[] = {
        attack_director_mitm, attack_image_mitm, attack_save_timestamp, attack_replay_timestamp,
        attack_director_keyed, attack_both_keyed, attack_recover, attack_revoked_keys,
        attack_freeze, attack_mix_and_match, attack_endless, attack_slow_retrieval, attack_counter_rollback,
};

_Static_assert(ELEMENTSOF(attack_infos) == ELEMENTSOF(attack_fns) + 1, "one function per attack");

const UpRepoAttackInfo *up_repo_attacks(void) {
        return attack_infos;
}

/* Leaves nothing half-staged: puts back what the failed attack touched. */
static int attack_abort(UpRepo *repo, const char *name, int err) {
        _cleanup_free_ char *reason = strdup(up_repo_error(repo));
        _cleanup_json_ struct json_object *info = NULL;

        if (attack_info_read(repo, name, &info) >= 0)
                (void) attack_restore(repo, name, info);
        return up_repo_fail(repo, err, "%s", reason && *reason ? reason : up_strerror(err));
}

int up_repo_attack(UpRepo *repo, const char *name, const UpRepoAttackOptions *opts) {
        UpRepoAttackOptions o = opts ? *opts : (UpRepoAttackOptions) {};
        size_t i;
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        for (i = 0; attack_infos[i].name && !streq(attack_infos[i].name, name ? name : ""); i++)
                ;
        if (!attack_infos[i].name)
                return up_repo_fail(repo, -EINVAL, "unknown attack '%s'", name ? name : "");
        if (o.now == 0)
                o.now = time(NULL);
        if (streq(name, "save-timestamp"))
                return attack_fns[i](repo, &o);
        r = attack_begin(repo, name, o.other);
        if (r < 0)
                return r;
        r = attack_fns[i](repo, &o);
        return r < 0 ? attack_abort(repo, name, r) : 0;
}
