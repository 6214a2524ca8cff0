/* SPDX-License-Identifier: MIT */
/*
 * The Primary's full verification (Uptane 2.1 §5.4.4.2): the order of the
 * steps and where to stop. The checks themselves are the updater's (TUF) and
 * verification.h's (Uptane).
 */
#include <stdarg.h>
#include <stdio.h>

#include "uptane/error.h"
#include "uptane/full_verification.h"
#include "util.h"

typedef struct Run {
        const UpFullVerificationConfig *cfg;
        UpUpdater *director, *image;
        UpFullVerification *result;
        UpFullVerificationError *error; /* may be NULL */
} Run;

static const char *const repository_names[_UP_REPOSITORY_MAX] = {
        [UP_REPOSITORY_NONE] = "none",
        [UP_REPOSITORY_DIRECTOR] = "director",
        [UP_REPOSITORY_IMAGE] = "image",
        [UP_REPOSITORY_DIRECTOR_VS_IMAGE] = "director-vs-image",
};

static const char *const state_names[_UP_FULL_VERIFICATION_STATE_MAX] = {
        [UP_FULL_VERIFICATION_NO_CHANGE] = "no-change",
        [UP_FULL_VERIFICATION_UP_TO_DATE] = "up-to-date",
        [UP_FULL_VERIFICATION_UPDATES] = "updates",
};

const char *up_repository_name(UpRepository r) {
        return (unsigned) r < _UP_REPOSITORY_MAX ? repository_names[r] : NULL;
}

const char *up_full_verification_state_name(UpFullVerificationState s) {
        return (unsigned) s < _UP_FULL_VERIFICATION_STATE_MAX ? state_names[s] : NULL;
}

void up_full_verification_error_done(UpFullVerificationError *e) {
        if (!e)
                return;
        free(e->target);
        free(e->message);
        *e = (UpFullVerificationError) {};
}

UpFullVerification *up_full_verification_free(UpFullVerification *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_images; i++)
                up_target_info_free(v->images[i]);
        free(v->images);
        up_director_targets_free(v->director);
        free(v);
        return NULL;
}

static int run_fail(Run *run, UpRepository repo, int r, const char *target, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int run_fail(Run *run, UpRepository repo, int r, const char *target, const char *fmt, ...) {
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

/* --- The two repositories ---------------------------------------------------- */

static int open_repo(Run *run, const UpUpdaterConfig *base, UpRepository repo, UpUpdater **ret) {
        UpUpdaterConfig c = *base;
        int r;

        c.now = run->cfg->now;
        r = up_updater_new(&c, ret);
        if (r < 0)
                return run_fail(run, repo, r, NULL, "%s: cannot load the trusted root from '%s': %s",
                                up_repository_name(repo), c.metadata_dir ? c.metadata_dir : "(none)", up_strerror(r));
        return 0;
}

static int refresh_repo(Run *run, const UpUpdaterConfig *base, UpRepository repo, UpUpdater **u) {
        int r;

        r = open_repo(run, base, repo, u);
        if (r < 0)
                return r;
        r = up_updater_refresh(*u);
        if (r < 0)
                return run_fail(run, repo, r, NULL, "%s: %s", up_repository_name(repo),
                                *up_updater_error(*u) ? up_updater_error(*u) : up_strerror(r));
        return 0;
}

/* Step 4: the Director snapshot is the stored one, and the one the last
 * completed run verified. */
static bool director_unchanged(Run *run) {
        const UpMetadata *snapshot = up_trusted_set_snapshot(up_updater_trusted_set(run->director));

        return !up_updater_refreshed(run->director, UP_ROLE_SNAPSHOT) &&
               up_metadata_version(snapshot) == run->cfg->verified_director_snapshot;
}

static int refresh_director(Run *run) {
        const UpMetadata *snapshot;
        int r;

        r = refresh_repo(run, &run->cfg->director, UP_REPOSITORY_DIRECTOR, &run->director);
        if (r < 0)
                return r;
        snapshot = up_trusted_set_snapshot(up_updater_trusted_set(run->director));
        run->result->director_snapshot_version = up_metadata_version(snapshot);
        return director_unchanged(run) ? 1 : 0;
}

static int check_director(Run *run) {
        const UpFullVerificationConfig *cfg = run->cfg;
        const UpMetadata *md = up_trusted_set_targets(up_updater_trusted_set(run->director), "targets");
        int r;

        r = up_director_targets_check(md, cfg->vin, cfg->ecu_serials, cfg->n_ecu_serials,
                                      &run->result->director);
        if (r < 0)
                return run_fail(run, UP_REPOSITORY_DIRECTOR, r, NULL, "director: targets rejected: %s",
                                up_strerror(r));
        return 0;
}

/* --- Step 6: anything beyond what is installed? ------------------------------ */

static const UpInstalledImage *installed_on(const UpFullVerificationConfig *cfg, const char *serial) {
        for (size_t i = 0; i < cfg->n_installed; i++)
                if (cfg->installed[i].ecu_serial && streq(cfg->installed[i].ecu_serial, serial))
                        return &cfg->installed[i];
        return NULL;
}

static const UpImageHash *sha256_of(const UpDirectorTarget *d) {
        for (size_t i = 0; i < d->n_hashes; i++)
                if (d->hashes[i].alg == UP_HASH_SHA256)
                        return &d->hashes[i];
        return NULL;
}

/* Whether the installed image is d: the same name and sha256. Anything we
 * cannot compare counts as different (the full check then runs). */
static bool is_installed(const UpInstalledImage *inst, const UpDirectorTarget *d) {
        _cleanup_free_ uint8_t *digest = NULL;
        const UpImageHash *h = sha256_of(d);
        size_t len;

        if (!inst || !inst->name || !inst->sha256_hex || !h || !streq(inst->name, d->name))
                return false;
        if (up_hex_decode(inst->sha256_hex, strlen(inst->sha256_hex), &digest, &len) < 0)
                return false;
        return len == up_hash_alg_size(UP_HASH_SHA256) && up_memeq(digest, h->digest, len);
}

static bool anything_new(const UpFullVerificationConfig *cfg, const UpDirectorTargets *t) {
        for (size_t i = 0; i < t->n_targets; i++) {
                const UpDirectorTarget *d = &t->targets[i];

                for (size_t j = 0; j < d->n_ecus; j++)
                        if (!is_installed(installed_on(cfg, d->ecus[j].serial), d))
                                return true;
        }
        return false;
}

/* --- Step 10: Director vs Image ------------------------------------------------ */

static int match_one(Run *run, const UpDirectorTarget *d, UpTargetInfo **ret) {
        const UpFullVerificationConfig *cfg = run->cfg;
        UpTargetInfo *info = NULL;
        int r;

        r = up_updater_get_target_info(run->image, d->name, &info);
        if (r < 0)
                return run_fail(run, UP_REPOSITORY_IMAGE, r, d->name, "image: %s: %s", d->name,
                                *up_updater_error(run->image) ? up_updater_error(run->image) : up_strerror(r));
        r = up_image_match_entry(d, info, cfg->previous, cfg->n_previous);
        if (r < 0) {
                up_target_info_free(info);
                return run_fail(run, UP_REPOSITORY_DIRECTOR_VS_IMAGE, r, d->name,
                                "director-vs-image: %s: %s", d->name, up_strerror(r));
        }
        *ret = info;
        return 0;
}

static int match_all(Run *run) {
        UpFullVerification *v = run->result;
        const UpDirectorTargets *t = v->director;
        int r;

        v->images = calloc(t->n_targets ? t->n_targets : 1, sizeof(UpTargetInfo *));
        if (!v->images)
                return run_fail(run, UP_REPOSITORY_NONE, -ENOMEM, NULL, "out of memory");
        v->image_consistent_snapshot = up_updater_consistent_snapshot(run->image);
        for (size_t i = 0; i < t->n_targets; i++) {
                r = match_one(run, &t->targets[i], &v->images[i]);
                if (r < 0)
                        return r;
                v->n_images++;
        }
        return 0;
}

/* --- The run ------------------------------------------------------------------ */

static int run_steps(Run *run) {
        int r;

        r = refresh_director(run);
        if (r < 0)
                return r;
        if (r > 0) {
                run->result->state = UP_FULL_VERIFICATION_NO_CHANGE;
                return 0;
        }
        r = check_director(run);
        if (r < 0)
                return r;
        if (!anything_new(run->cfg, run->result->director)) {
                run->result->state = UP_FULL_VERIFICATION_UP_TO_DATE;
                return 0;
        }
        r = refresh_repo(run, &run->cfg->image, UP_REPOSITORY_IMAGE, &run->image);
        if (r < 0)
                return r;
        r = match_all(run);
        if (r < 0)
                return r;
        run->result->state = UP_FULL_VERIFICATION_UPDATES;
        return 0;
}

int up_full_verification_run(const UpFullVerificationConfig *cfg, UpFullVerification **ret,
                             UpFullVerificationError *ret_error) {
        Run run = { .cfg = cfg, .error = ret_error };
        int r;

        if (!cfg || !ret || !cfg->vin || (cfg->n_ecu_serials > 0 && !cfg->ecu_serials) ||
            (cfg->n_previous > 0 && !cfg->previous) || (cfg->n_installed > 0 && !cfg->installed))
                return run_fail(&run, UP_REPOSITORY_NONE, -EINVAL, NULL, "invalid configuration");
        run.result = calloc(1, sizeof(UpFullVerification));
        if (!run.result)
                return run_fail(&run, UP_REPOSITORY_NONE, -ENOMEM, NULL, "out of memory");
        r = run_steps(&run);
        up_updater_free(run.director);
        up_updater_free(run.image);
        if (r < 0) {
                up_full_verification_free(run.result);
                return r;
        }
        *ret = run.result;
        return 0;
}
