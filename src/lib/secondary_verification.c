/* SPDX-License-Identifier: MIT */
/*
 * What a Secondary verifies (Uptane 2.1 §5.4.4.1 and §5.4.4.2 as a
 * Secondary) over the files its Primary transferred into a directory. Full
 * verification is the updater (TUF) over a directory fetcher plus the
 * Uptane checks of verification.h for this ECU's entry only; partial
 * verification checks the Director's targets against the Director's root
 * itself, without timestamp and snapshot.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "uptane/error.h"
#include "uptane/secondary.h"
#include "uptane/storage.h"
#include "uptane/trusted_set.h"
#include "util.h"

/* --- The directory fetcher ------------------------------------------------------- */

/* Reads dir/name, a regular file (not through a symlink, not a FIFO that
 * would block), never more than max_len + 1 bytes. */
static int read_regular_file(const char *dir, const char *name, size_t max_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t cap, len = 0;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ELOOP ? -EBADF : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((uint64_t) st.st_size > max_len)
                return -UP_ERR_TOO_BIG;
        /* One byte more than the size: a file that grows is still caught. */
        cap = (size_t) st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, cap - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > (size_t) st.st_size)
                        return -UP_ERR_TOO_BIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* One file name: no directory, nothing that walks out of dir. */
static bool file_name_ok(const char *name) {
        return *name && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

/* "12.snapshot.json" -> "snapshot.json"; NULL when name has no version, or
 * is a root (N.root.json is a rotation, never the root the Primary holds). */
static const char *unversioned(const char *name) {
        const char *p = name;

        while (*p >= '0' && *p <= '9')
                p++;
        if (p == name || *p != '.' || !p[1] || streq(p + 1, "root.json"))
                return NULL;
        return p + 1;
}

static int dir_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        const char *dir = userdata, *name, *plain;
        size_t n;
        int r;

        if (!dir || !url || !ret || !ret_len)
                return -EINVAL;
        n = strlen(dir);
        if (n == 0 || strncmp(url, dir, n) != 0)
                return -EINVAL;
        name = url + n;
        if (dir[n - 1] != '/' && *name++ != '/')
                return -EINVAL;
        if (!file_name_ok(name))
                return -EINVAL;
        r = read_regular_file(dir, name, max_len, ret, ret_len);
        if (r != -ENOENT)
                return r;
        plain = unversioned(name);
        return plain ? read_regular_file(dir, plain, max_len, ret, ret_len) : r;
}

UpFetcher up_dir_fetcher(const char *dir) {
        return (UpFetcher) { .fetch = dir_fetch, .userdata = (void *) dir };
}

/* --- Results and errors ---------------------------------------------------------- */

static void director_target_free(UpDirectorTarget *t) {
        if (!t)
                return;
        free(t->name);
        for (size_t i = 0; i < t->n_ecus; i++) {
                free(t->ecus[i].serial);
                free(t->ecus[i].hardware_id);
        }
        free(t->ecus);
        free(t->format);
        free(t->uri);
        free(t);
}

UpSecondaryVerification *up_secondary_verification_free(UpSecondaryVerification *v) {
        if (!v)
                return NULL;
        director_target_free(v->target);
        free(v);
        return NULL;
}

typedef struct Run {
        const UpSecondaryConfig *cfg;
        UpSecondaryVerification *result;
        UpFullVerificationError *error; /* may be NULL */
        /* The limits, defaults applied. */
        size_t max_root_rotations, root_max, timestamp_max, snapshot_max, director_targets_max, image_targets_max;
} Run;

static int fail(Run *run, UpRepository repo, int r, const char *target, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int fail(Run *run, UpRepository repo, int r, const char *target, const char *fmt, ...) {
        UpFullVerificationError *e = run->error;
        va_list ap;

        if (!e)
                return r;
        up_full_verification_error_done(e);
        e->repository = repo;
        e->error = r;
        e->target = target ? strdup(target) : NULL;
        va_start(ap, fmt);
        if (vasprintf(&e->message, fmt, ap) < 0)
                e->message = NULL;
        va_end(ap);
        return r;
}

static size_t or_default(size_t v, size_t def) {
        return v > 0 ? v : def;
}

static int run_init(Run *run, const UpSecondaryConfig *cfg, UpFullVerificationError *error, bool full,
                    UpSecondaryVerification **ret) {
        *run = (Run) { .cfg = cfg, .error = error };
        if (!cfg || !ret || !cfg->director.metadata_dir || !cfg->director.received_dir || !cfg->ecu_serial ||
            !cfg->hardware_id || (full && (!cfg->image.metadata_dir || !cfg->image.received_dir)))
                return fail(run, UP_REPOSITORY_NONE, -EINVAL, NULL, "invalid configuration");
        run->max_root_rotations = or_default(cfg->max_root_rotations, UP_SECONDARY_MAX_ROOT_ROTATIONS);
        run->root_max = or_default(cfg->root_max_length, UP_SECONDARY_ROOT_MAX);
        run->timestamp_max = or_default(cfg->timestamp_max_length, UP_SECONDARY_TIMESTAMP_MAX);
        run->snapshot_max = or_default(cfg->snapshot_max_length, UP_SECONDARY_SNAPSHOT_MAX);
        run->director_targets_max = or_default(cfg->director_targets_max_length, UP_SECONDARY_DIRECTOR_TARGETS_MAX);
        run->image_targets_max = or_default(cfg->image_targets_max_length, UP_SECONDARY_IMAGE_TARGETS_MAX);
        run->result = calloc(1, sizeof(UpSecondaryVerification));
        if (!run->result)
                return fail(run, UP_REPOSITORY_NONE, -ENOMEM, NULL, "out of memory");
        run->result->release_counter = -1;
        return 0;
}

static int run_done(Run *run, int r, UpSecondaryVerification **ret) {
        if (r < 0) {
                up_secondary_verification_free(run->result);
                return r;
        }
        *ret = run->result;
        return 0;
}

/* --- The Director's targets, Uptane's checks (both kinds) ------------------------ */

/* The VIN to compare custom.vin with: the configured one, or (an ECU that
 * does not know it) the one the metadata gives, so that custom.vin is still
 * required to be a string. */
static const char *vin_for(const UpSecondaryConfig *cfg, const UpMetadata *targets) {
        struct json_object *custom, *vin;

        if (cfg->vin)
                return cfg->vin;
        if (!json_object_object_get_ex(up_metadata_signed(targets), "custom", &custom) ||
            !json_object_is_type(custom, json_type_object) || !json_object_object_get_ex(custom, "vin", &vin))
                return "";
        return json_object_is_type(vin, json_type_string) ? json_object_get_string(vin) : "";
}

/* up_director_targets_check() without the vehicle's ECUs, then the entry
 * for this ECU (moved out of the list: the others are not returned). */
static int check_director_targets(Run *run, const UpMetadata *md, UpDirectorTarget **ret) {
        _cleanup_(up_director_targets_freep) UpDirectorTargets *dt = NULL;
        const UpDirectorTarget *found;
        UpDirectorTarget *t;
        size_t i;
        int r;

        r = up_director_targets_check(md, vin_for(run->cfg, md), NULL, 0, &dt);
        if (r < 0)
                return fail(run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: targets v%lld rejected: %s",
                            (long long) up_metadata_version(md), up_strerror(r));
        found = up_director_targets_find_ecu(dt, run->cfg->ecu_serial, NULL);
        if (!found) {
                *ret = NULL;
                return 0;
        }
        t = malloc(sizeof(UpDirectorTarget));
        if (!t)
                return fail(run, UP_REPOSITORY_NONE, -ENOMEM, NULL, "out of memory");
        /* Moved: the list keeps an empty entry, which it frees as nothing. */
        i = (size_t) (found - dt->targets);
        *t = dt->targets[i];
        dt->targets[i] = (UpDirectorTarget) {};
        *ret = t;
        return 0;
}

/* §5.4.3.4 steps 3 and 5 for the entry: this ECU's hardware, and (counter
 * >= 0) no rollback of the release counter. */
static int check_entry(Run *run, const UpDirectorTarget *t, int64_t previous_counter) {
        const UpSecondaryConfig *cfg = run->cfg;
        int r;

        r = up_image_check_ecu(t, cfg->ecu_serial, cfg->hardware_id, previous_counter);
        if (r == -UP_ERR_HARDWARE)
                return fail(run, UP_REPOSITORY_DIRECTOR, r, t->name,
                            "director: %s: not for this ECU's hardware id '%s'", t->name, cfg->hardware_id);
        if (r == -UP_ERR_ROLLBACK)
                return fail(run, UP_REPOSITORY_DIRECTOR, r, t->name,
                            "director: %s: release counter %lld lower than the installed image's %lld", t->name,
                            (long long) (t->release_counter < 0 ? 0 : t->release_counter),
                            (long long) previous_counter);
        if (r < 0)
                return fail(run, UP_REPOSITORY_DIRECTOR, r, t->name, "director: %s: %s", t->name, up_strerror(r));
        return 0;
}

/* --- Partial verification ---------------------------------------------------------- */

typedef struct Partial {
        Run *run;
        UpFetcher received;
        UpTrustedSet *ts;
        uint8_t *stored; /* the stored targets.json; NULL when none */
        size_t stored_len;
        uint8_t *data;   /* the received targets.json */
        size_t len;
        UpMetadata *targets; /* parsed from data */
} Partial;

static void partial_done(Partial *p) {
        up_metadata_unref(p->targets);
        up_trusted_set_free(p->ts);
        free(p->stored);
        free(p->data);
}

static int partial_fail_ts(Partial *p, int r) {
        return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: %s",
                    *up_trusted_set_error(p->ts) ? up_trusted_set_error(p->ts) : up_strerror(r));
}

/* What the Primary sent under name, through the directory fetcher. */
static int read_received(Partial *p, const char *name, size_t max_len, uint8_t **ret, size_t *ret_len) {
        const char *dir = p->run->cfg->director.received_dir;
        _cleanup_free_ char *url = NULL;
        int r;

        if (asprintf(&url, "%s/%s", dir, name) < 0)
                return fail(p->run, UP_REPOSITORY_NONE, -ENOMEM, NULL, "out of memory");
        r = p->received.fetch(p->received.userdata, url, max_len, ret, ret_len);
        if (r < 0 && r != -ENOENT)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: reading '%s': %s", url,
                            up_strerror(r));
        return r;
}

static int load_trusted_root(Partial *p) {
        const char *dir = p->run->cfg->director.metadata_dir;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = up_read_file_at(dir, "root.json", p->run->root_max, &data, &len);
        if (r >= 0)
                r = up_trusted_set_new(data, len, &p->ts);
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL,
                            "director: cannot load the trusted root from '%s': %s", dir, up_strerror(r));
        return 0;
}

/* TUF 1.0 §5.3.4-5.3.7 (Uptane 2.1 §5.4.4.3): N+1.root.json while the
 * Primary sent one, each stored as soon as it is trusted. */
static int rotate_root(Partial *p) {
        const char *dir = p->run->cfg->director.metadata_dir;

        for (size_t i = 0; i < p->run->max_root_rotations; i++) {
                _cleanup_free_ uint8_t *data = NULL;
                char name[64];
                size_t len;
                int r;

                snprintf(name, sizeof(name), "%lld.root.json",
                         (long long) up_metadata_version(up_trusted_set_root(p->ts)) + 1);
                r = read_received(p, name, p->run->root_max, &data, &len);
                if (r == -ENOENT)
                        return 0; /* the newest root is the one we have */
                if (r < 0)
                        return r;
                r = up_trusted_set_update_root(p->ts, data, len);
                if (r < 0)
                        return partial_fail_ts(p, r);
                r = up_write_file_atomic(dir, "root.json", data, len, 0644);
                if (r < 0)
                        return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: storing '%s/root.json': %s",
                                    dir, up_strerror(r));
        }
        return 0;
}

static int load_stored_targets(Partial *p) {
        const char *dir = p->run->cfg->director.metadata_dir;
        int r;

        r = up_read_file_at(dir, "targets.json", p->run->director_targets_max, &p->stored, &p->stored_len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL,
                            "director: cannot read the stored targets '%s/targets.json': %s", dir, up_strerror(r));
        return 0;
}

static int load_received_targets(Partial *p) {
        int r;

        r = read_received(p, "targets.json", p->run->director_targets_max, &p->data, &p->len);
        if (r == -ENOENT)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: the Primary sent no targets.json");
        if (r < 0)
                return r;
        r = up_metadata_parse(p->data, p->len, UP_ROLE_TARGETS, &p->targets);
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: targets: cannot parse: %s",
                            up_strerror(r));
        return 0;
}

/* The version of the stored targets that still counts as the baseline (0:
 * none): one that the root's targets keys sign. */
static int baseline_version(Partial *p, int64_t *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *m = NULL;
        const UpMetadata *root = up_trusted_set_root(p->ts);
        int r;

        if (!p->stored) {
                *ret = 0;
                return 0;
        }
        r = up_metadata_parse(p->stored, p->stored_len, UP_ROLE_TARGETS, &m);
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL,
                            "director: the stored targets '%s/targets.json' cannot be parsed: %s",
                            p->run->cfg->director.metadata_dir, up_strerror(r));
        *ret = up_metadata_verify(m, up_root_keyring(root), up_root_role(root, UP_ROLE_TARGETS)) >= 0
                       ? up_metadata_version(m)
                       : 0;
        return 0;
}

/* §5.4.4.6 steps 3-5 (a partial-verification ECU skips step 2, the
 * snapshot). */
static int check_targets_tuf(Partial *p) {
        const UpMetadata *root = up_trusted_set_root(p->ts);
        int64_t version = up_metadata_version(p->targets), baseline = 0;
        int r;

        /* Arbitrary software: a Primary cannot sign for the Director. */
        r = up_metadata_verify(p->targets, up_root_keyring(root), up_root_role(root, UP_ROLE_TARGETS));
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL,
                            "director: targets v%lld: not signed by a threshold of the root's targets keys",
                            (long long) version);
        /* Rollback. */
        r = baseline_version(p, &baseline);
        if (r < 0)
                return r;
        if (version < baseline)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, -UP_ERR_ROLLBACK, NULL,
                            "director: targets v%lld older than the trusted v%lld (rollback attack?)",
                            (long long) version, (long long) baseline);
        /* Freeze. */
        if (up_metadata_is_expired(p->targets, p->run->cfg->now))
                return fail(p->run, UP_REPOSITORY_DIRECTOR, -UP_ERR_EXPIRED, NULL,
                            "director: targets v%lld: expired (freeze attack?)", (long long) version);
        return 0;
}

/* Stored only after every check; the same bytes are not written again. */
static int store_targets(Partial *p) {
        const char *dir = p->run->cfg->director.metadata_dir;
        int r;

        if (p->stored && p->stored_len == p->len && memcmp(p->stored, p->data, p->len) == 0)
                return 0;
        r = up_write_file_atomic(dir, "targets.json", p->data, p->len, 0644);
        if (r < 0)
                return fail(p->run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: storing '%s/targets.json': %s", dir,
                            up_strerror(r));
        return 0;
}

static int partial_steps(Partial *p) {
        Run *run = p->run;
        UpDirectorTarget *t = NULL;
        int r;

        r = load_trusted_root(p);
        if (r < 0)
                return r;
        r = rotate_root(p);
        if (r < 0)
                return r;
        /* Freeze: an expired root stops here. */
        r = up_trusted_set_check_root(p->ts, run->cfg->now);
        if (r < 0)
                return partial_fail_ts(p, r);
        r = load_stored_targets(p);
        if (r < 0)
                return r;
        r = load_received_targets(p);
        if (r < 0)
                return r;
        r = check_targets_tuf(p);
        if (r < 0)
                return r;
        r = check_director_targets(run, p->targets, &t);
        if (r < 0)
                return r;
        if (t) {
                run->result->target = t;
                run->result->release_counter = t->release_counter < 0 ? 0 : t->release_counter;
                r = check_entry(run, t, run->cfg->previous_release_counter);
                if (r < 0)
                        return r;
        }
        r = store_targets(p);
        if (r < 0)
                return r;
        run->result->director_root_version = up_metadata_version(up_trusted_set_root(p->ts));
        run->result->director_targets_version = up_metadata_version(p->targets);
        return 0;
}

int up_secondary_partial_verification(const UpSecondaryConfig *cfg, UpSecondaryVerification **ret,
                                      UpFullVerificationError *ret_error) {
        Partial p = {};
        Run run;
        int r;

        r = run_init(&run, cfg, ret_error, false, ret);
        if (r < 0)
                return r;
        p.run = &run;
        p.received = up_dir_fetcher(cfg->director.received_dir);
        r = partial_steps(&p);
        partial_done(&p);
        return run_done(&run, r, ret);
}

/* --- Full verification -------------------------------------------------------------- */

static int refresh(Run *run, UpRepository repo, const UpSecondaryRepository *dirs, size_t targets_max,
                   UpUpdater **ret) {
        UpUpdaterConfig c = {
                .metadata_dir = dirs->metadata_dir,
                .metadata_url = dirs->received_dir,
                .now = run->cfg->now,
                .fetcher = up_dir_fetcher(dirs->received_dir),
                .max_root_rotations = run->max_root_rotations,
                .root_max_length = run->root_max,
                .timestamp_max_length = run->timestamp_max,
                .snapshot_max_length = run->snapshot_max,
                .targets_max_length = targets_max,
        };
        int r;

        r = up_updater_new(&c, ret);
        if (r < 0)
                return fail(run, repo, r, NULL, "%s: cannot load the trusted root from '%s': %s",
                            up_repository_name(repo), dirs->metadata_dir, up_strerror(r));
        r = up_updater_refresh(*ret);
        if (r < 0)
                return fail(run, repo, r, NULL, "%s: %s", up_repository_name(repo),
                            *up_updater_error(*ret) ? up_updater_error(*ret) : up_strerror(r));
        return 0;
}

/* The counter both repositories agreed on (up_image_match_entry() checked
 * the image's to be an integer >= 0); 0 when neither gives one. */
static int64_t agreed_counter(const UpDirectorTarget *t, const UpTargetInfo *image) {
        struct json_object *v;

        if (t->release_counter >= 0)
                return t->release_counter;
        if (image->custom && json_object_is_type(image->custom, json_type_object) &&
            json_object_object_get_ex(image->custom, "releaseCounter", &v) && json_object_is_type(v, json_type_int))
                return json_object_get_int64(v);
        return 0;
}

/* §5.4.4.2 step 10 for this ECU's entry only. */
static int match_image(Run *run, UpUpdater *image, const UpDirectorTarget *t) {
        const UpSecondaryConfig *cfg = run->cfg;
        const UpEcuCounter previous = { .ecu_serial = cfg->ecu_serial, .release_counter = cfg->previous_release_counter };
        UpTargetInfo *info = NULL;
        int r;

        r = up_updater_get_target_info(image, t->name, &info);
        if (r < 0)
                return fail(run, UP_REPOSITORY_IMAGE, r, t->name, "image: %s: %s", t->name,
                            *up_updater_error(image) ? up_updater_error(image) : up_strerror(r));
        r = up_image_match_entry(t, info, &previous, cfg->previous_release_counter >= 0 ? 1 : 0);
        if (r >= 0)
                run->result->release_counter = agreed_counter(t, info);
        up_target_info_free(info);
        if (r < 0)
                return fail(run, UP_REPOSITORY_DIRECTOR_VS_IMAGE, r, t->name, "director-vs-image: %s: %s", t->name,
                            up_strerror(r));
        return 0;
}

static int full_steps(Run *run, UpUpdater **director, UpUpdater **image) {
        const UpSecondaryConfig *cfg = run->cfg;
        const UpTrustedSet *ts;
        UpDirectorTarget *t = NULL;
        int r;

        r = refresh(run, UP_REPOSITORY_DIRECTOR, &cfg->director, run->director_targets_max, director);
        if (r < 0)
                return r;
        ts = up_updater_trusted_set(*director);
        run->result->director_root_version = up_metadata_version(up_trusted_set_root(ts));
        run->result->director_targets_version = up_metadata_version(up_trusted_set_targets(ts, "targets"));
        r = check_director_targets(run, up_trusted_set_targets(ts, "targets"), &t);
        if (r < 0 || !t)
                return r;
        run->result->target = t;
        /* The counter is checked by the match, against the agreed one. */
        r = check_entry(run, t, -1);
        if (r < 0)
                return r;
        r = refresh(run, UP_REPOSITORY_IMAGE, &cfg->image, run->image_targets_max, image);
        if (r < 0)
                return r;
        ts = up_updater_trusted_set(*image);
        run->result->image_root_version = up_metadata_version(up_trusted_set_root(ts));
        run->result->image_targets_version = up_metadata_version(up_trusted_set_targets(ts, "targets"));
        return match_image(run, *image, t);
}

int up_secondary_full_verification(const UpSecondaryConfig *cfg, UpSecondaryVerification **ret,
                                   UpFullVerificationError *ret_error) {
        UpUpdater *director = NULL, *image = NULL;
        Run run;
        int r;

        r = run_init(&run, cfg, ret_error, true, ret);
        if (r < 0)
                return r;
        r = full_steps(&run, &director, &image);
        up_updater_free(director);
        up_updater_free(image);
        return run_done(&run, r, ret);
}
