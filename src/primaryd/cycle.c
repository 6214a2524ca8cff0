/* SPDX-License-Identifier: MIT */
/*
 * One update cycle of the Primary (Uptane 2.1 §5.4.2), on the worker thread:
 *
 *   0. settle an install a restart interrupted;
 *   1. register the vehicle's ECUs with the Director (first start only);
 *   2. secure time: a time attestation over a fresh nonce;
 *   3. full verification of both repositories (libuptane);
 *   4. download the Primary's image, hashed while written;
 *   5. install it through the package manager;
 *   6. sign and send the vehicle version manifest.
 *
 * Every blocking call goes through http.c (the loop does the transfer) or
 * the disk. Failures are logged once, with their class, where they happen.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "uptane/download.h"
#include "uptane/error.h"
#include "uptane/full_verification.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/storage.h"
#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "secondary_pool.h"

#define TOKEN_MAX_BYTES 4096u
#define ANSWER_MAX_BYTES (64u * 1024u)

typedef struct Cycle Cycle;

/* One Secondary in this cycle: what its pool thread writes (secondary_pool.h). */
typedef struct SecondaryRun {
        Secondary *s;
        Cycle *cycle;
        UpEcuReportDoc *report; /* verified with its key; NULL: left out of this cycle */
        int64_t nonce;
        bool nonce_rotated;     /* it took this cycle's attestation: a new nonce for its next report */
        bool failed;            /* left out of this cycle (logged) */
        const UpDirectorTarget *target; /* its image, downloaded and verified into path: to deliver */
        char *path;
        bool delivered;         /* it was asked to install: outcome */
        InstallOutcome outcome;
        atomic_uint_fast64_t sent; /* bytes of its image sent */
        pthread_mutex_t *bus_lock; /* held while it runs a phase: shared by those on one CAN interface */
} SecondaryRun;

/* Metadata for the Secondaries: every trusted file of both repositories. */
typedef struct MetadataSet {
        SecondaryMetadataFile files[256];
        char *roles[256];
        uint8_t *data[256];
        size_t n;
} MetadataSet;

struct Cycle {
        Daemon *d;
        SecondaryRun *runs;      /* one per d->secondaries */
        uint8_t *attestation;    /* the time server's answer, for the Secondaries */
        size_t attestation_len;
        int64_t nonce;
        time_t now;              /* the time expiry is checked against */
        bool report_needed;      /* something the Director should hear about */
        bool installed;
        UpFullVerification *fv;
        const char *mirror;      /* where the image came from: "image" or "director" */
        size_t secondaries_failed; /* left out of this cycle: the vehicle is not all done */
        MetadataSet metadata;    /* for the Secondaries that get an image */
        uint64_t deliver_total;  /* bytes of their images */
        pthread_mutex_t *bus_locks; /* one per Secondary; the first of a CAN interface is its lock */
};

/* --- Helpers ------------------------------------------------------------------------------------------- */

static CycleResult classify(int r) {
        if (up_error_attack(r) != UP_ATTACK_NONE)
                return CYCLE_REJECTED;
        switch (-r) {
        case ENOEXEC: case ENODEV: case ENOTUNIQ: case EMEDIUMTYPE: case EOPNOTSUPP: case ELOOP:
                return CYCLE_REJECTED;
        case ENOMEM:
                return CYCLE_FATAL;
        default:
                return CYCLE_TEMPORARY;
        }
}

/* Logs a refusal with its attack class and keeps it for the next ECU report. */
static CycleResult rejected(Cycle *c, int r, const char *repo, const char *target, const char *message) {
        UpAttack attack = up_error_attack(r);
        LogFields f = { .ecu_serial = c->d->config.ecu_serial, .target = target, .repo = repo, .error = r };
        _cleanup_free_ char *text = NULL;

        if (attack != UP_ATTACK_NONE) {
                f.attack = up_attack_name(attack);
                log_event(LOG_WARNING, LOG_EVENT_ATTACK_DETECTED, &f, "Attack detected (%s): %s", f.attack, message);
                if (asprintf(&text, "%s: %s", f.attack, message) >= 0)
                        (void) state_add_attack(&c->d->state, text);
                daemon_set_result(c->d, "attack: %s", f.attack);
        } else {
                log_event(LOG_WARNING, LOG_EVENT_VERIFICATION_FAILED, &f, "Verification failed: %s", message);
                if (asprintf(&text, "verification-failed: %s", message) >= 0)
                        (void) state_add_attack(&c->d->state, text);
                daemon_set_result(c->d, "rejected: %s", up_strerror(r));
        }
        (void) state_save(&c->d->state);
        c->report_needed = true;
        return CYCLE_REJECTED;
}

static CycleResult temporary(Cycle *c, int r, const char *what) {
        LogFields f = { .ecu_serial = c->d->config.ecu_serial, .error = r };

        log_event(LOG_WARNING, LOG_EVENT_TEMPORARY_FAILURE, &f, "%s: %s; trying again at the next check", what,
                  up_strerror(r));
        daemon_set_result(c->d, "error: %s: %s", what, up_strerror(r));
        return CYCLE_TEMPORARY;
}

static bool cancelled(Cycle *c) {
        return atomic_load(&c->d->cancel);
}

static char *url_join(const char *base, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *url_join(const char *base, const char *fmt, ...) {
        _cleanup_free_ char *tail = NULL;
        size_t n = strlen(base);
        char *url = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&tail, fmt, ap) < 0)
                tail = NULL;
        va_end(ap);
        if (tail && asprintf(&url, "%.*s/%s", (int) (n > 0 && base[n - 1] == '/' ? n - 1 : n), base, tail) < 0)
                url = NULL;
        return url;
}

static bool pending_waits_for_reboot(Daemon *d) {
        struct json_object *pending = state_get_object(&d->state, "pending"), *v;
        char boot[64];

        if (!pending || !json_object_object_get_ex(pending, "boot_id", &v) || package_manager_boot_id(boot) < 0)
                return false;
        return strcmp(json_object_get_string(v), boot) == 0;
}

/* [package-manager] reboot-command, split on blanks (reboot = report: none). */
static int run_reboot_command(Daemon *d) {
        _cleanup_free_ char *copy = d->config.reboot_command ? strdup(d->config.reboot_command) : NULL;
        char *argv[32], *save = NULL;
        size_t n = 0;
        pid_t pid;
        int status, r;

        if (!copy || d->config.reboot_mode == REBOOT_REPORT)
                return 0;
        for (char *w = strtok_r(copy, " \t", &save); w && n < ELEMENTSOF(argv) - 1; w = strtok_r(NULL, " \t", &save))
                argv[n++] = w;
        argv[n] = NULL;
        if (n == 0)
                return 0;
        r = -posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
        if (r < 0)
                return r;
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* --- 0. An install a restart interrupted ------------------------------------------------------------- */

static int record_outcome(Cycle *c, const char *target, const InstallOutcome *o) {
        struct json_object *rep = json_object_new_object();

        if (!rep)
                return -ENOMEM;
        json_object_object_add(rep, "target", json_object_new_string(target));
        json_object_object_add(rep, "success", json_object_new_boolean(o->success));
        json_object_object_add(rep, "code", json_object_new_string(o->code));
        json_object_object_add(rep, "description", json_object_new_string(o->description));
        c->report_needed = true;
        return state_set_object(&c->d->state, "installation_result", rep);
}

static int finish_install(Cycle *c, const ImageRecord *img, const InstallOutcome *o) {
        State *s = &c->d->state;
        int r;

        if (o->success) {
                r = state_set_object(s, "installed", image_record_to_json(img->name, img->length, img->hashes));
                if (r < 0)
                        return r;
        }
        r = record_outcome(c, img->name, o);
        if (r >= 0)
                r = state_set_object(s, "pending", NULL);
        if (r >= 0)
                r = state_save(s);
        return r;
}

/* Removes the downloaded copy of an image from the cache, as install() does once it ran. */
static void forget_download(Daemon *d, struct json_object *hashes) {
        _cleanup_free_ char *path = NULL;
        struct json_object *sha;
        const char *hex;

        if (!json_object_object_get_ex(hashes, "sha256", &sha) || !(hex = json_object_get_string(sha)) || !*hex ||
            hex[strspn(hex, "0123456789abcdef")] != '\0')
                return;
        if (asprintf(&path, "%s/images/%s", d->config.cache_directory, hex) >= 0)
                (void) unlink(path);
}

static CycleResult settle_pending(Cycle *c) {
        Daemon *d = c->d;
        ImageRecord pending;
        InstallOutcome o = {};
        LogFields f = { .ecu_serial = d->config.ecu_serial };
        _cleanup_free_ char *name = NULL;
        _cleanup_json_ struct json_object *hashes = NULL;
        int r;

        if (!state_get_image(&d->state, "pending", &pending))
                return CYCLE_UP_TO_DATE;
        if (pending_waits_for_reboot(d)) {
                daemon_set_result(d, "reboot needed: %s", pending.name);
                return CYCLE_UP_TO_DATE;
        }
        f.target = pending.name;
        r = d->pm->ops->finalize(d->pm, &pending, &o);
        if (r == -EAGAIN) {
                log_event(LOG_NOTICE, LOG_EVENT_NONE, &f, "The install of %s was interrupted; it runs again",
                          pending.name);
                r = state_set_object(&d->state, "pending", NULL);
                if (r >= 0)
                        r = state_save(&d->state);
                return r < 0 ? temporary(c, r, "saving the state") : CYCLE_UP_TO_DATE;
        }
        if (r < 0)
                return temporary(c, r, "checking the interrupted install");
        /* finish_install() drops the pending record, and pending's strings with it. */
        name = strdup(pending.name);
        hashes = json_object_get(pending.hashes);
        f.target = name;
        {
                ImageRecord copy = { .name = name, .length = pending.length, .hashes = hashes };

                r = name ? finish_install(c, &copy, &o) : -ENOMEM;
        }
        if (r < 0)
                return temporary(c, r, "saving the state");
        forget_download(d, hashes);
        log_event(o.success ? LOG_NOTICE : LOG_ERR, o.success ? LOG_EVENT_INSTALLED : LOG_EVENT_INSTALL_FAILED, &f,
                  "%s", o.description);
        return o.success ? CYCLE_UPDATED : CYCLE_UP_TO_DATE;
}

/* --- 1. Registration --------------------------------------------------------------------------------- */

static int read_token(const char *path, char **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        char *token;
        int r;

        r = up_read_file(path, TOKEN_MAX_BYTES, &data, &len);
        if (r < 0)
                return r;
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
                len--;
        if (len == 0 || memchr(data, '\0', len) || memchr(data, '\n', len))
                return -EBADMSG;
        token = strndup((const char *) data, len);
        if (!token)
                return -ENOMEM;
        *ret = token;
        return 0;
}

static int registration_body(Daemon *d, char **ret) {
        _cleanup_json_ struct json_object *body = json_object_new_object(), *ecus = json_object_new_array(),
                                          *ecu = json_object_new_object();
        struct json_object *pub = up_key_to_json(d->ecu_key);
        char *text;

        if (!body || !ecus || !ecu || !pub) {
                json_object_put(pub);
                return -ENOMEM;
        }
        json_object_object_add(ecu, "ecu_serial", json_object_new_string(d->config.ecu_serial));
        json_object_object_add(ecu, "hardware_id", json_object_new_string(d->config.hardware_id));
        json_object_object_add(ecu, "public_key", pub);
        json_object_array_add(ecus, TAKE_PTR(ecu));
        for (size_t i = 0; i < d->n_secondaries; i++) {
                const Secondary *s = d->secondaries[i];
                struct json_object *e = json_object_new_object();

                if (!e || !(pub = up_key_to_json(s->key))) {
                        json_object_put(e);
                        return -ENOMEM;
                }
                json_object_object_add(e, "ecu_serial", json_object_new_string(s->serial));
                json_object_object_add(e, "hardware_id", json_object_new_string(s->hardware_id));
                json_object_object_add(e, "public_key", pub);
                json_object_array_add(ecus, e);
        }
        json_object_object_add(body, "vin", json_object_new_string(d->config.vin));
        json_object_object_add(body, "primary_ecu_serial", json_object_new_string(d->config.ecu_serial));
        json_object_object_add(body, "ecus", TAKE_PTR(ecus));
        text = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static CycleResult register_ecus(Cycle *c) {
        Daemon *d = c->d;
        _cleanup_free_ char *token = NULL, *body = NULL, *url = NULL;
        _cleanup_free_ uint8_t *answer = NULL;
        LogFields f = { .ecu_serial = d->config.ecu_serial };
        size_t answer_len;
        long status;
        int r;

        if (state_get_bool(&d->state, "registered") || !d->config.provisioning_token_file)
                return CYCLE_UP_TO_DATE;
        r = read_token(d->config.provisioning_token_file, &token);
        if (r < 0) {
                log_event(LOG_ERR, LOG_EVENT_NONE, &f, "Cannot read the provisioning token file %s: %s",
                          d->config.provisioning_token_file, strerror(-r));
                return CYCLE_TEMPORARY;
        }
        url = url_join(d->config.director_url, "ecus");
        r = url ? registration_body(d, &body) : -ENOMEM;
        if (r < 0)
                return CYCLE_FATAL;
        r = http_send_blocking(d->http, "POST", url, token, body, strlen(body), ANSWER_MAX_BYTES, &status, &answer,
                               &answer_len);
        if (r < 0)
                return temporary(c, r, "registering with the Director");
        if (status == 401 || status == 403 || status == 409 || status == 400) {
                log_event(LOG_ERR, LOG_EVENT_NONE, &f, "The Director refused the registration (HTTP %ld): %.*s", status,
                          (int) (answer_len < 512 ? answer_len : 512), answer ? (const char *) answer : "");
                daemon_set_result(d, "error: registration refused (HTTP %ld)", status);
                return CYCLE_REJECTED;
        }
        if (status < 200 || status > 299)
                return temporary(c, -EIO, "registering with the Director");
        r = state_set_bool(&d->state, "registered", true);
        if (r >= 0)
                r = state_save(&d->state);
        if (r < 0)
                return temporary(c, r, "saving the state");
        log_event(LOG_NOTICE, LOG_EVENT_REGISTERED, &f, "Registered VIN %s with the Director", d->config.vin);
        return CYCLE_UP_TO_DATE;
}

/* --- 2. Secure time ---------------------------------------------------------------------------------- */

/* When the time server cannot vouch, the clock is used but never before the
 * last attested time (docs/POUF.md, "Time"). */
static time_t fallback_time(Daemon *d) {
        time_t now = time(NULL);

        return now > d->attested_time ? now : d->attested_time;
}

#define ATTESTED_TIME_SAVE_EVERY 3600 /* s */

/* Into state.json: always before a save for another reason, else hourly. */
static void keep_attested_time(Daemon *d, bool force) {
        time_t saved = (time_t) state_get_int(&d->state, "time_attested", 0);

        if (!force && saved && d->attested_time - saved < ATTESTED_TIME_SAVE_EVERY)
                return;
        (void) state_set_int(&d->state, "time_previous", d->attested_previous);
        (void) state_set_int(&d->state, "time_attested", d->attested_time);
}

/* {"nonces":[PRIMARY, SECONDARY...]}: one attestation for every ECU. */
static int attestation_request(Cycle *c, char **ret) {
        char *body = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&body, &size);

        if (!f)
                return -ENOMEM;
        fprintf(f, "{\"nonces\":[%" PRId64, c->nonce);
        for (size_t i = 0; i < c->d->n_secondaries; i++)
                if (c->runs[i].report)
                        fprintf(f, ",%" PRId64, c->runs[i].nonce);
        fputs("]}", f);
        if (fclose(f) != 0) {
                free(body);
                return -ENOMEM;
        }
        *ret = body;
        return 0;
}

static int fetch_attestation(Cycle *c, UpTimeAttestationDoc **ret) {
        Daemon *d = c->d;
        _cleanup_free_ uint8_t *answer = NULL;
        _cleanup_free_ char *body = NULL;
        size_t len;
        long status;
        int r;

        r = attestation_request(c, &body);
        if (r < 0)
                return r;
        r = http_send_blocking(d->http, "POST", d->config.time_server_url, NULL, body, strlen(body),
                               UP_TIME_ATTESTATION_MAX_BYTES, &status, &answer, &len);
        if (r < 0)
                return r;
        if (status != 200)
                return status == 404 ? -ENOENT : -EIO;
        r = up_time_attestation_parse(answer, len, ret);
        if (r >= 0) {
                c->attestation = TAKE_PTR(answer);
                c->attestation_len = len;
        }
        return r;
}

static int secure_time(Cycle *c) {
        Daemon *d = c->d;
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *doc = NULL;
        time_t last = d->attested_time, t;
        LogFields f = { .ecu_serial = d->config.ecu_serial, .repo = "time-server" };
        int r;

        if (!d->time_server_key) {
                c->now = time(NULL);
                return 0;
        }
        r = fetch_attestation(c, &doc);
        /* Equal times are fine: the fresh nonce already rules out a replay. */
        if (r >= 0)
                r = up_time_attestation_verify_nonces(doc, d->time_server_key, &c->nonce, 1, last - 1);
        if (r < 0) {
                c->now = fallback_time(d);
                f.error = r;
                if (up_error_attack(r) != UP_ATTACK_NONE || r == -EBADMSG) {
                        char what[256];
                        snprintf(what, sizeof(what), "time attestation refused: %s", up_strerror(r));
                        (void) rejected(c, r, "time-server", NULL, what);
                } else
                        log_event(LOG_WARNING, LOG_EVENT_NONE, &f,
                                  "No time attestation (%s): checking expiry against the clock, not before the "
                                  "last attested time", up_strerror(r));
                return 0;
        }
        t = up_time_attestation_time(doc);
        c->now = t;
        if (t != last) {
                d->attested_previous = last ? last : t;
                d->attested_time = t;
                keep_attested_time(d, false);
        }
        log_event(LOG_DEBUG, LOG_EVENT_TIME_UPDATED, &f, "Time attested: %lld", (long long) t);
        return 0;
}

/* --- 3. Full verification ---------------------------------------------------------------------------- */

static int installed_image(Daemon *d, char **ret_name, uint64_t *ret_length, struct json_object **ret_hashes) {
        ImageRecord rec;

        if (state_get_image(&d->state, "installed", &rec)) {
                *ret_name = strdup(rec.name);
                if (!*ret_name)
                        return -ENOMEM;
                *ret_length = rec.length;
                *ret_hashes = json_object_get(rec.hashes);
                return 0;
        }
        return d->pm->ops->factory_image(d->pm, ret_name, ret_length, ret_hashes);
}

static void updater_config(Daemon *d, UpUpdaterConfig *u, const char *dir, const char *url) {
        *u = (UpUpdaterConfig) {
                .metadata_dir = dir,
                .metadata_url = url,
                .fetcher = http_as_fetcher(d->http),
                .keep_root_history = true, /* the chain for Secondaries */
                .root_max_length = d->config.max_root_size,
                .timestamp_max_length = d->config.max_timestamp_size,
                .snapshot_max_length = d->config.max_snapshot_size,
                .targets_max_length = d->config.max_targets_size,
        };
}

static CycleResult verify(Cycle *c) {
        Daemon *d = c->d;
        _cleanup_free_ char *ddir = NULL, *idir = NULL, *durl = NULL, *iurl = NULL, *name = NULL;
        _cleanup_json_ struct json_object *hashes = NULL;
        UpFullVerificationError err = {};
        size_t n = 1 + d->n_secondaries, n_previous = 0, n_installed = 1;
        _cleanup_free_ const char **serials = calloc(n, sizeof(char *));
        _cleanup_free_ UpEcuCounter *previous = calloc(n, sizeof(UpEcuCounter));
        _cleanup_free_ UpInstalledImage *installed = calloc(n, sizeof(UpInstalledImage));
        struct json_object *sha;
        uint64_t length;
        CycleResult res;
        int r;

        r = state_metadata_dir(&d->state, "director", &ddir);
        if (r >= 0)
                r = state_metadata_dir(&d->state, "image", &idir);
        durl = url_join(d->config.director_url, "%s/metadata/", d->config.vin);
        iurl = url_join(d->config.image_url, "metadata/");
        if (r < 0 || !durl || !iurl)
                return CYCLE_FATAL;
        if (!serials || !previous || !installed)
                return CYCLE_FATAL;
        r = installed_image(d, &name, &length, &hashes);
        if (r < 0)
                return temporary(c, r, "reading what is installed");
        installed[0] = (UpInstalledImage) { d->config.ecu_serial, name,
                json_object_object_get_ex(hashes, "sha256", &sha) ? json_object_get_string(sha) : "" };
        /* The vehicle's ECUs: the Primary and every Secondary; what each runs, from its report. */
        for (size_t i = 0; i < n; i++) {
                serials[i] = i == 0 ? d->config.ecu_serial : d->secondaries[i - 1]->serial;
                previous[n_previous] = (UpEcuCounter) { serials[i], state_get_counter(&d->state, serials[i]) };
                if (previous[n_previous].release_counter >= 0)
                        n_previous++;
                if (i > 0 && c->runs[i - 1].report) {
                        const UpImageInfo *img = &up_ecu_report_doc_report(c->runs[i - 1].report)->installed_image;
                        installed[n_installed++] = (UpInstalledImage) { serials[i], img->filepath,
                                up_image_info_hash(img, "sha256") ?: "" };
                }
        }

        UpFullVerificationConfig cfg = {
                .vin = d->config.vin,
                .ecu_serials = serials,
                .n_ecu_serials = n,
                .previous = n_previous > 0 ? previous : NULL,
                .n_previous = n_previous,
                .installed = installed,
                .n_installed = n_installed,
                .verified_director_snapshot = state_get_int(&d->state, "verified_director_snapshot", 0),
                .now = c->now,
        };
        updater_config(d, &cfg.director, ddir, durl);
        updater_config(d, &cfg.image, idir, iurl);

        r = up_full_verification_run(&cfg, &c->fv, &err);
        test_crash_point("metadata-stored");
        if (r < 0) {
                if (cancelled(c))
                        res = temporary(c, -ECANCELED, "checking for updates");
                else if (classify(r) == CYCLE_REJECTED || err.repository == UP_REPOSITORY_DIRECTOR_VS_IMAGE)
                        /* Also an image the Image repository does not list: the seed's 3.1. */
                        res = rejected(c, r, up_repository_name(err.repository), err.target,
                                       err.message ?: up_strerror(r));
                else
                        res = temporary(c, r, err.message ?: "checking for updates");
                up_full_verification_error_done(&err);
                return res;
        }
        return CYCLE_UP_TO_DATE;
}

/* A Secondary left out of this cycle (no valid report, or the time could not
 * be sent) that the Director assigns an image: this snapshot is not handled
 * for it, so the next cycle must not stop early at "no change". */
static bool secondary_missed(const Cycle *c) {
        const UpDirectorTargets *t = c->fv->director;

        for (size_t i = 0; t && i < c->d->n_secondaries; i++)
                if (!c->runs[i].report && up_director_targets_find_ecu(t, c->runs[i].s->serial, NULL))
                        return true;
        return false;
}

/* Remembers the release counters the verified Director gave, and that this
 * snapshot was handled (the next run may stop early) unless a Secondary it
 * assigns an image was missed. */
static int remember_verified(Cycle *c) {
        Daemon *d = c->d;
        const UpDirectorTargets *t = c->fv->director;
        int r;

        for (size_t i = 0; t && i < t->n_targets; i++)
                for (size_t j = 0; j < t->targets[i].n_ecus; j++)
                        if (t->targets[i].release_counter >= 0) {
                                r = state_set_counter(&d->state, t->targets[i].ecus[j].serial,
                                                      t->targets[i].release_counter);
                                if (r < 0)
                                        return r;
                        }
        if (!secondary_missed(c)) {
                r = state_set_int(&d->state, "verified_director_snapshot", c->fv->director_snapshot_version);
                if (r < 0)
                        return r;
        }
        return state_save_if_dirty(&d->state);
}

/* --- 4. Download ------------------------------------------------------------------------------------- */

typedef struct Transfer {
        Cycle *cycle;
        UpImageSink *sink;
        uint64_t offset, total;
} Transfer;

static int transfer_response(long status, int64_t content_range_start, void *userdata) {
        Transfer *t = userdata;
        int r;

        /* A 200 to a range starts over; a 206 must start where the .part ends. */
        r = up_image_sink_begin(t->sink, status, content_range_start);
        if (r >= 0)
                t->offset = up_image_sink_offset(t->sink);
        return r;
}

static int transfer_data(const void *buf, size_t len, void *userdata) {
        Transfer *t = userdata;
        int r;

        if (cancelled(t->cycle))
                return -ECANCELED;
        r = up_image_sink_write(t->sink, buf, len);
        if (r < 0)
                return r;
        if (t->offset < t->total / 2 && t->offset + len >= t->total / 2)
                test_crash_point("download-half");
        t->offset += len;
        daemon_set_progress(t->cycle->d, t->offset, t->total);
        return 0;
}

static int image_expected(const UpDirectorTarget *t, UpImageExpected *ret) {
        *ret = (UpImageExpected) { .length = (uint64_t) t->length, .hashes = t->hashes, .n_hashes = t->n_hashes };
        return 0;
}

static int sha256_hex(const UpDirectorTarget *t, char ret[2 * UP_HASH_MAX_SIZE + 1]) {
        for (size_t i = 0; i < t->n_hashes; i++)
                if (t->hashes[i].alg == UP_HASH_SHA256) {
                        up_hex_encode(t->hashes[i].digest, up_hash_alg_size(UP_HASH_SHA256), ret);
                        return 0;
                }
        return -EOPNOTSUPP;
}

/* Downloads into CACHE/images/SHA256 (resuming a .part), or reuses a
 * complete copy there after checking it again. */
static int download(Cycle *c, const UpDirectorTarget *t, const UpTargetInfo *image, const char *serial,
                    const char *hardware_id, char **ret_path) {
        Daemon *d = c->d;
        _cleanup_free_ char *dir = NULL, *path = NULL, *url_name = NULL, *url = NULL;
        _cleanup_(up_image_sink_closep) UpImageSink *sink = NULL;
        char hex[2 * UP_HASH_MAX_SIZE + 1];
        UpImageExpected expected;
        Transfer tr = { .cycle = c, .total = (uint64_t) t->length };
        int r;

        if ((uint64_t) t->length > d->config.max_image_size)
                return -EFBIG;
        r = sha256_hex(t, hex);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s/images", d->config.cache_directory) < 0 || asprintf(&path, "%s/%s", dir, hex) < 0)
                return -ENOMEM;
        if (mkdir(d->config.cache_directory, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (access(path, F_OK) == 0) {
                r = up_image_verify_file(t, serial, hardware_id, path);
                if (r >= 0) {
                        *ret_path = TAKE_PTR(path);
                        return 0;
                }
                (void) unlink(path); /* damaged since: fetch it again */
        }
        r = up_target_url_name(image, c->fv->image_consistent_snapshot, &url_name);
        if (r < 0)
                return r;
        url = url_join(d->config.image_url, "targets/%s", url_name);
        if (!url)
                return -ENOMEM;
        image_expected(t, &expected);
        r = up_image_sink_open(dir, hex, &expected, 0, &sink);
        if (r < 0)
                return r;
        tr.sink = sink;
        tr.offset = up_image_sink_offset(sink);
        daemon_set_state(d, "downloading");
        daemon_set_progress(d, tr.offset, tr.total);
        HttpStreamCallbacks cb = { transfer_response, transfer_data, &tr };
        c->mirror = "image";
        r = http_download_blocking(d->http, url, tr.offset, (uint64_t) t->length, &cb);
        if (r == -ENOENT) {
                /* The Director's copy is a second mirror, as in the reference
                 * implementation: the verified metadata decides either way. */
                free(url);
                url = url_join(d->config.director_url, "%s/targets/%s", d->config.vin, t->name);
                if (!url)
                        return -ENOMEM;
                c->mirror = "director";
                r = http_download_blocking(d->http, url, tr.offset, (uint64_t) t->length, &cb);
        }
        if (r < 0) {
                /* Transport errors keep the .part for a resume; a bad image never. */
                bool keep = classify(r) == CYCLE_TEMPORARY && r != -EFBIG;
                up_image_sink_close(TAKE_PTR(sink), keep);
                return r;
        }
        r = up_image_sink_commit(sink);
        if (r < 0) {
                up_image_sink_close(TAKE_PTR(sink), false);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int fetch_progress(void *userdata, uint64_t done, uint64_t total) {
        Cycle *c = userdata;

        daemon_set_progress(c->d, done, total);
        return cancelled(c) ? 1 : 0;
}

/* The package manager gets the content itself (an OSTree pull by checksum). */
static int fetch_by_package_manager(Cycle *c, const UpDirectorTarget *t) {
        Daemon *d = c->d;

        c->mirror = d->pm->ops->name;
        daemon_set_state(d, "downloading");
        return d->pm->ops->fetch(d->pm, t, fetch_progress, c);
}

/* --- 5. Install ------------------------------------------------------------------------------------- */

static struct json_object *hashes_json(const UpDirectorTarget *t) {
        struct json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < t->n_hashes; i++) {
                char hex[2 * UP_HASH_MAX_SIZE + 1];
                up_hex_encode(t->hashes[i].digest, up_hash_alg_size(t->hashes[i].alg), hex);
                json_object_object_add(o, up_hash_alg_name(t->hashes[i].alg), json_object_new_string(hex));
        }
        return o;
}

/* Installed for the next boot: the pending record gets this boot's id, and
 * finalize() tells in the next boot whether the new image really booted. */
static CycleResult wait_for_reboot(Cycle *c, const UpDirectorTarget *t, const char *path, const InstallOutcome *o) {
        Daemon *d = c->d;
        struct json_object *pending = state_get_object(&d->state, "pending");
        LogFields f = { .ecu_serial = d->config.ecu_serial, .target = t->name };
        char boot[64];
        int r;

        r = package_manager_boot_id(boot);
        if (r >= 0 && pending)
                r = json_object_object_add(pending, "boot_id", json_object_new_string(boot)) < 0 ? -ENOMEM : 0;
        if (r >= 0) {
                d->state.dirty = true;
                r = state_save(&d->state);
        }
        if (r < 0)
                return temporary(c, r, "recording the pending install");
        if (path)
                (void) unlink(path);
        log_event(LOG_NOTICE, LOG_EVENT_INSTALLED, &f, "Installed %s for the next boot: %s", t->name, o->description);
        daemon_set_result(d, "reboot needed: %s", t->name);
        r = run_reboot_command(d);
        if (r < 0)
                log_event(LOG_WARNING, LOG_EVENT_NONE, &f, "The reboot command failed (%s): reboot to finish the install",
                          strerror(-r));
        c->installed = true;
        return CYCLE_UPDATED;
}

static CycleResult install(Cycle *c, const UpDirectorTarget *t, const char *path) {
        Daemon *d = c->d;
        _cleanup_json_ struct json_object *hashes = hashes_json(t);
        ImageRecord img = { .name = t->name, .length = (uint64_t) t->length, .hashes = hashes };
        LogFields f = { .ecu_serial = d->config.ecu_serial, .target = t->name };
        InstallOutcome o = {};
        int r;

        if (!hashes)
                return CYCLE_FATAL;
        /* Recorded first: a kill -9 from here on is settled by finalize(). */
        r = state_set_object(&d->state, "pending", image_record_to_json(t->name, (uint64_t) t->length, hashes));
        if (r >= 0)
                r = state_save(&d->state);
        if (r < 0)
                return temporary(c, r, "recording the pending install");
        daemon_set_state(d, "installing");
        test_crash_point("install-pending");
        r = d->pm->ops->install(d->pm, t, path, &o);
        test_crash_point("install-done");
        if (r < 0)
                install_outcome_set(&o, false, "INSTALL_FAILED", "%s", strerror(-r));
        if (o.success && o.reboot_needed)
                return wait_for_reboot(c, t, path, &o);
        r = finish_install(c, &img, &o);
        if (r < 0)
                return temporary(c, r, "recording the install");
        if (path)
                (void) unlink(path);
        if (!o.success) {
                log_event(LOG_ERR, LOG_EVENT_INSTALL_FAILED, &f, "Installing %s failed: %s", t->name, o.description);
                daemon_set_result(d, "error: install failed");
                return CYCLE_TEMPORARY;
        }
        log_event(LOG_NOTICE, LOG_EVENT_INSTALLED, &f, "Installed %s", t->name);
        c->installed = true;
        return CYCLE_UPDATED;
}

static CycleResult update_primary(Cycle *c) {
        Daemon *d = c->d;
        const UpDirectorTargets *t = c->fv->director;
        _cleanup_free_ char *path = NULL;
        LogFields f = { .ecu_serial = d->config.ecu_serial };
        char message[512];
        ImageRecord inst;
        int r;

        for (size_t i = 0; i < t->n_targets; i++) {
                const UpDirectorTarget *dt = &t->targets[i];
                char hex[2 * UP_HASH_MAX_SIZE + 1];
                struct json_object *have;

                if (!up_director_targets_find_ecu(t, d->config.ecu_serial, NULL) ||
                    up_director_targets_find_ecu(t, d->config.ecu_serial, NULL) != dt)
                        continue;
                if (sha256_hex(dt, hex) >= 0 && state_get_image(&d->state, "installed", &inst) &&
                    strcmp(inst.name, dt->name) == 0 && json_object_object_get_ex(inst.hashes, "sha256", &have) &&
                    strcasecmp(json_object_get_string(have), hex) == 0)
                        return CYCLE_UP_TO_DATE;
                if (pending_waits_for_reboot(d) && state_get_image(&d->state, "pending", &inst) &&
                    strcmp(inst.name, dt->name) == 0) {
                        daemon_set_result(d, "reboot needed: %s", dt->name);
                        return CYCLE_UP_TO_DATE; /* installed already, for the next boot */
                }
                r = up_image_check_ecu(dt, d->config.ecu_serial, d->config.hardware_id,
                                       state_get_counter(&d->state, d->config.ecu_serial) < 0
                                               ? 0 : state_get_counter(&d->state, d->config.ecu_serial));
                if (r < 0) {
                        snprintf(message, sizeof(message), "%s is not for this ECU: %s", dt->name, up_strerror(r));
                        return rejected(c, r, "director", dt->name, message);
                }
                f.target = dt->name;
                log_event(LOG_NOTICE, LOG_EVENT_UPDATE_AVAILABLE, &f, "Update available: %s (%" PRId64 " bytes)",
                          dt->name, dt->length);
                bool fetched = d->pm->ops->fetches && d->pm->ops->fetches(d->pm, dt);
                if (fetched)
                        r = fetch_by_package_manager(c, dt);
                else
                        r = download(c, dt, c->fv->images[i], d->config.ecu_serial, d->config.hardware_id, &path);
                if (r < 0) {
                        /* The package manager's words: which URL, which object, how much space. */
                        const char *why = fetched ? package_manager_last_error(d->pm) : NULL;

                        if (cancelled(c))
                                return temporary(c, -ECANCELED, "downloading");
                        if (classify(r) == CYCLE_REJECTED) {
                                snprintf(message, sizeof(message), "image %s refused: %s%s%s", dt->name,
                                         up_strerror(r), why ? ": " : "", why ?: "");
                                return rejected(c, r, c->mirror ?: "image", dt->name, message);
                        }
                        snprintf(message, sizeof(message), "downloading the image%s%s%s", why ? " (" : "",
                                 why ?: "", why ? ")" : "");
                        return temporary(c, r, message);
                }
                log_event(LOG_NOTICE, LOG_EVENT_DOWNLOAD_DONE, &f, "Downloaded and verified %s", dt->name);
                return install(c, dt, path);
        }
        return CYCLE_UP_TO_DATE;
}

/* --- Secondaries (docs/POUF.md, "Uptane over UDS") ------------------------------------------------- */

/* Each phase of a Secondary runs on a pool thread (secondary_pool.h): there
 * it touches only its SecondaryRun, the thread-safe log and daemon_set_*;
 * the state and the Cycle are the cycle thread's, after the pool joined. */

static CycleResult combine(CycleResult res, CycleResult one) {
        return res == CYCLE_UPDATED || one == CYCLE_UPDATED ? CYCLE_UPDATED : one != CYCLE_UP_TO_DATE ? one : res;
}

static LogEvent failure_event(int r, uint8_t nrc) {
        if (nrc != 0)
                return LOG_EVENT_SECONDARY_REFUSED;
        switch (-r) {
        case ETIMEDOUT: case ECONNREFUSED: case ECONNRESET: case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN:
        case EPIPE: case ENOTCONN: case EBUSY: case EACCES: case ENODEV: case ENXIO:
                return LOG_EVENT_SECONDARY_UNREACHABLE;
        case ENOMEM: case ENOENT: case ENOSPC: case ECANCELED:
                return LOG_EVENT_TEMPORARY_FAILURE; /* the Primary's own trouble, or a stop */
        default:
                return LOG_EVENT_SECONDARY_MISBEHAVING; /* malformed, wrong identity or key, bad signature */
        }
}

/* Logged with the Secondary's serial (and NRC); it is left out of the rest of this cycle. */
static void secondary_failed(SecondaryRun *run, int r, const char *what) {
        Secondary *s = run->s;
        const char *why = s->ops->last_error(s);
        uint8_t nrc = r == -EREMOTEIO ? s->ops->last_nrc(s) : 0;
        LogFields f = { .ecu_serial = s->serial, .error = r, .uds_nrc = nrc };

        log_event(LOG_WARNING, failure_event(r, nrc), &f, "Secondary %s (%s): %s: %s; left out of this check",
                  s->name, s->serial, what, why && *why ? why : up_strerror(r));
        up_ecu_report_doc_free(run->report);
        run->report = NULL;
        run->failed = true;
}

/* Its signed report, checked with its configured key, and its nonce. */
static int secondary_report(SecondaryRun *run) {
        Secondary *s = run->s;
        _cleanup_free_ uint8_t *data = NULL;
        UpEcuReportDoc *doc = NULL;
        size_t len;
        int r;

        r = s->ops->get_report(s, &data, &len);
        if (r >= 0)
                r = up_ecu_report_parse(data, len, &doc);
        if (r >= 0)
                r = up_ecu_report_verify(doc, s->key);
        if (r >= 0 && strcmp(up_ecu_report_doc_report(doc)->ecu_serial, s->serial) != 0)
                r = -EXDEV;
        if (r >= 0)
                r = s->ops->get_nonce(s, &run->nonce);
        if (r < 0) {
                up_ecu_report_doc_free(doc);
                return r;
        }
        run->report = doc;
        return 0;
}

/* The manifest carries each Secondary's report as read after this cycle's
 * attestation: what it runs now (after an install: the Director ends the
 * assignment at once) and a nonce never sent before (the one read at the
 * start of the cycle went to the time server, and the next cycle's first
 * read would repeat it). */
static void refresh_report(void *item, void *userdata) {
        SecondaryRun *run = item;
        UpEcuReportDoc *old = run->report;
        int r;

        (void) userdata;
        if (!old || !run->nonce_rotated)
                return;
        run->report = NULL;
        r = secondary_report(run);
        up_ecu_report_doc_free(old);
        /* A Secondary that answered before and fails now is contained like any
         * other: logged with its event, left out of the manifest, counted. */
        if (r < 0)
                secondary_failed(run, r, "reading its report for the manifest");
}

static size_t count_failed(const Cycle *c) {
        size_t n = 0;

        for (size_t i = 0; c->runs && i < c->d->n_secondaries; i++)
                n += c->runs[i].failed;
        return n;
}

static void report_one(void *item, void *userdata) {
        SecondaryRun *run = item;
        const UpImageInfo *img;
        int r;

        (void) userdata;
        r = secondary_report(run);
        if (r < 0) {
                secondary_failed(run, r, "no valid ECU version report");
                return;
        }
        img = &up_ecu_report_doc_report(run->report)->installed_image;
        LogFields f = { .ecu_serial = run->s->serial, .target = img->filepath };
        log_event(LOG_INFO, LOG_EVENT_SECONDARY_REPORT, &f, "Secondary %s (%s): signed report verified, runs %s",
                  run->s->name, run->s->serial, img->filepath);
}

static void time_one(void *item, void *userdata) {
        SecondaryRun *run = item;
        Cycle *c = userdata;
        int r;

        if (!run->report)
                return;
        r = run->s->ops->send_time(run->s, c->attestation, c->attestation_len);
        if (r < 0)
                secondary_failed(run, r, "sending the time attestation");
        else
                run->nonce_rotated = true;
}

typedef struct Phase {
        Cycle *cycle;
        SecondaryPoolFn fn;
} Phase;

static void on_bus(void *item, void *userdata) {
        SecondaryRun *run = item;
        const Phase *p = userdata;

        if (run->bus_lock)
                pthread_mutex_lock(run->bus_lock);
        p->fn(run, p->cycle);
        if (run->bus_lock)
                pthread_mutex_unlock(run->bus_lock);
}

/* fn for each Secondary, concurrently, but one at a time on a CAN interface:
 * back on the cycle thread when all are done. */
static void for_each_secondary(Cycle *c, SecondaryPoolFn fn) {
        Phase p = { c, fn };

        (void) secondary_pool_run(c->runs, c->d->n_secondaries, sizeof(SecondaryRun), 0, on_bus, &p, &c->d->cancel);
}

/* The Secondaries of one CAN interface share a lock: the bus carries one
 * transfer at full rate, and interleaved ISO-TP messages gain nothing. */
static int bus_locks_init(Cycle *c) {
        size_t n = c->d->n_secondaries;

        c->bus_locks = calloc(n ?: 1, sizeof(pthread_mutex_t));
        if (!c->bus_locks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *bus = c->runs[i].s->bus;

                pthread_mutex_init(&c->bus_locks[i], NULL);
                for (size_t j = 0; bus && j <= i && !c->runs[i].bus_lock; j++)
                        if (c->runs[j].s->bus && strcmp(c->runs[j].s->bus, bus) == 0)
                                c->runs[i].bus_lock = &c->bus_locks[j];
        }
        return 0;
}

static void bus_locks_done(Cycle *c) {
        for (size_t i = 0; c->bus_locks && i < c->d->n_secondaries; i++)
                pthread_mutex_destroy(&c->bus_locks[i]);
        free(c->bus_locks);
}

static void collect_reports(Cycle *c) {
        for_each_secondary(c, report_one);
}

static void send_time_to_secondaries(Cycle *c) {
        if (c->attestation)
                for_each_secondary(c, time_one);
}

static void metadata_set_done(MetadataSet *m) {
        for (size_t i = 0; i < m->n; i++) {
                free(m->roles[i]);
                free(m->data[i]);
        }
        m->n = 0;
}

static int is_json_file(const struct dirent *e) {
        size_t n = strlen(e->d_name);

        return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

/* The trusted files of one repository, as the Primary stored them, with
 * every accepted N.root.json (the updater keeps the root history): a
 * Secondary that trusts an older root follows the chain itself. */
static int metadata_add_repo(Daemon *d, MetadataSet *m, const char *repo) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **names = NULL;
        int n, r;

        r = state_metadata_dir(&d->state, repo, &dir);
        if (r < 0)
                return r;
        n = scandir(dir, &names, is_json_file, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                size_t len;

                if (r >= 0 && m->n == ELEMENTSOF(m->files))
                        r = -E2BIG;
                if (r >= 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = up_read_file(path, d->config.max_targets_size, &m->data[m->n], &len);
                if (r >= 0 && !(m->roles[m->n] = strndup(names[i]->d_name, strlen(names[i]->d_name) - 5))) {
                        free(m->data[m->n]);
                        r = -ENOMEM;
                }
                if (r >= 0) {
                        m->files[m->n] = (SecondaryMetadataFile) { repo, m->roles[m->n], m->data[m->n], len };
                        m->n++;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

static int record_secondary_outcome(Cycle *c, const char *serial, const char *target, const InstallOutcome *o) {
        struct json_object *all = state_get_object(&c->d->state, "secondary_results"), *rep;

        all = all ? json_object_get(all) : json_object_new_object();
        rep = json_object_new_object();
        if (!all || !rep) {
                json_object_put(all);
                json_object_put(rep);
                return -ENOMEM;
        }
        json_object_object_add(rep, "target", json_object_new_string(target));
        json_object_object_add(rep, "success", json_object_new_boolean(o->success));
        json_object_object_add(rep, "code", json_object_new_string(o->code));
        json_object_object_add(rep, "description", json_object_new_string(o->description));
        json_object_object_add(all, serial, rep);
        c->report_needed = true;
        return state_set_object(&c->d->state, "secondary_results", all);
}

static bool secondary_runs(const SecondaryRun *run, const UpDirectorTarget *dt) {
        const UpImageInfo *img = &up_ecu_report_doc_report(run->report)->installed_image;
        const char *have = up_image_info_hash(img, "sha256");
        char hex[2 * UP_HASH_MAX_SIZE + 1];

        return strcmp(img->filepath, dt->name) == 0 && have && sha256_hex(dt, hex) >= 0 &&
               strcasecmp(have, hex) == 0;
}

/* The bytes sent to all Secondaries of this cycle, over their images' total: one progress figure. */
static int secondary_progress(void *userdata, uint64_t done, uint64_t total) {
        SecondaryRun *run = userdata;
        Cycle *c = run->cycle;
        uint64_t sum = 0;

        (void) total;
        atomic_store(&run->sent, done);
        for (size_t i = 0; i < c->d->n_secondaries; i++)
                sum += atomic_load(&c->runs[i].sent);
        daemon_set_progress(c->d, sum, c->deliver_total);
        return cancelled(c) ? 1 : 0;
}

static double seconds_since(const struct timespec *t0) {
        struct timespec t;

        (void) clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Metadata, image, install, on a pool thread: the steps of a Secondary
 * whose image the cycle thread downloaded and verified (run->target). */
static void deliver_one(void *item, void *userdata) {
        SecondaryRun *run = item;
        Cycle *c = userdata;
        Secondary *s = run->s;
        const UpDirectorTarget *dt = run->target;
        LogFields f = { .ecu_serial = s->serial, .target = dt ? dt->name : NULL };
        struct timespec t0;
        int r;

        if (!run->report || !dt)
                return;
        r = s->ops->send_metadata(s, c->metadata.files, c->metadata.n);
        if (r < 0) {
                secondary_failed(run, r, "sending the metadata");
                return;
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &t0);
        r = s->ops->send_image(s, dt->name, run->path, (uint64_t) dt->length, secondary_progress, run);
        if (r < 0) {
                secondary_failed(run, r, "sending the image");
                return;
        }
        log_event(LOG_INFO, LOG_EVENT_SECONDARY_IMAGE_SENT, &f, "Secondary %s: sent %s (%" PRId64 " bytes in %.3f s)",
                  s->serial, dt->name, dt->length, seconds_since(&t0));
        r = s->ops->install(s, &run->outcome);
        if (r < 0) {
                secondary_failed(run, r, "installing");
                return;
        }
        run->delivered = true;
}

/* On the cycle thread, after the pool: each outcome into the state (one save). */
static CycleResult record_deliveries(Cycle *c) {
        CycleResult res = CYCLE_UP_TO_DATE;
        int r = 0;

        for (size_t i = 0; i < c->d->n_secondaries; i++) {
                SecondaryRun *run = &c->runs[i];
                const InstallOutcome *o = &run->outcome;

                if (!run->target)
                        continue;
                if (!run->delivered) {
                        res = combine(res, CYCLE_TEMPORARY);
                        continue;
                }
                LogFields f = { .ecu_serial = run->s->serial, .target = run->target->name };
                if (r >= 0)
                        r = record_secondary_outcome(c, run->s->serial, run->target->name, o);
                log_event(o->success ? LOG_NOTICE : LOG_ERR,
                          o->success ? LOG_EVENT_SECONDARY_INSTALLED : LOG_EVENT_SECONDARY_INSTALL_FAILED, &f,
                          "Secondary %s: %s: %s", run->s->serial, run->target->name, o->description);
                c->installed = c->installed || o->success;
                res = combine(res, o->success ? CYCLE_UPDATED : CYCLE_TEMPORARY);
        }
        if (r >= 0)
                r = state_save(&c->d->state);
        return r < 0 ? combine(res, temporary(c, r, "recording the installs")) : res;
}

/* On the cycle thread: is an image assigned, is it for this ECU, download and verify it. */
static CycleResult prepare_secondary(Cycle *c, SecondaryRun *run) {
        const UpDirectorTargets *t = c->fv->director;
        const UpDirectorTarget *dt = up_director_targets_find_ecu(t, run->s->serial, NULL);
        Secondary *s = run->s;
        int64_t counter = state_get_counter(&c->d->state, s->serial);
        char message[512];
        int r;

        if (!dt || secondary_runs(run, dt))
                return CYCLE_UP_TO_DATE;
        r = up_image_check_ecu(dt, s->serial, s->hardware_id, counter < 0 ? 0 : counter);
        if (r < 0) {
                snprintf(message, sizeof(message), "%s is not for %s: %s", dt->name, s->serial, up_strerror(r));
                return rejected(c, r, "director", dt->name, message);
        }
        LogFields f = { .ecu_serial = s->serial, .target = dt->name };
        log_event(LOG_NOTICE, LOG_EVENT_UPDATE_AVAILABLE, &f, "Update available for Secondary %s: %s", s->serial,
                  dt->name);
        r = download(c, dt, c->fv->images[dt - t->targets], s->serial, s->hardware_id, &run->path);
        if (r < 0) {
                if (classify(r) == CYCLE_REJECTED) {
                        snprintf(message, sizeof(message), "image %s for %s refused: %s", dt->name, s->serial,
                                 up_strerror(r));
                        return rejected(c, r, c->mirror ?: "image", dt->name, message);
                }
                return temporary(c, r, "downloading a Secondary's image");
        }
        run->target = dt;
        c->deliver_total += (uint64_t) dt->length;
        return CYCLE_UP_TO_DATE;
}

/* The images first, one after the other on the cycle thread (the HTTP
 * transfers share the vehicle's link); then every Secondary that has its
 * image at once, each on its own thread: one that fails is logged and left
 * out, the others go on. */
static CycleResult update_secondaries(Cycle *c) {
        CycleResult res = CYCLE_UP_TO_DATE;
        bool any = false;
        int r;

        for (size_t i = 0; i < c->d->n_secondaries && !cancelled(c); i++) {
                if (!c->runs[i].report)
                        continue;
                res = combine(res, prepare_secondary(c, &c->runs[i]));
                any = any || c->runs[i].target;
        }
        if (!any || cancelled(c))
                return res;
        r = metadata_add_repo(c->d, &c->metadata, "director");
        if (r >= 0)
                r = metadata_add_repo(c->d, &c->metadata, "image");
        if (r < 0)
                return combine(res, temporary(c, r, "reading the trusted metadata"));
        daemon_set_state(c->d, "installing");
        daemon_set_progress(c->d, 0, c->deliver_total);
        for_each_secondary(c, deliver_one);
        return combine(res, record_deliveries(c));
}

/* --- The nonces the Director saw -------------------------------------------------------------------- */

/* A Secondary rotates its nonce only when it takes a time attestation. With
 * no attestation this cycle (time server down), its report repeats the
 * nonce of the report in the last manifest, which the Director refuses as a
 * replay (409) with the whole manifest: that report stays out instead. The
 * nonces sent last are kept in state.json ("secondary_nonces"), saved with
 * the manifest's counter. */
static void withhold_repeated_nonces(Cycle *c) {
        struct json_object *sent = state_get_object(&c->d->state, "secondary_nonces"), *v;

        for (size_t i = 0; sent && i < c->d->n_secondaries; i++) {
                SecondaryRun *run = &c->runs[i];
                int64_t nonce;

                if (!run->report || !json_object_object_get_ex(sent, run->s->serial, &v))
                        continue;
                nonce = up_ecu_report_doc_report(run->report)->nonce;
                if (json_object_get_int64(v) != nonce)
                        continue;
                LogFields f = { .ecu_serial = run->s->serial };
                log_event(LOG_NOTICE, LOG_EVENT_SECONDARY_REPORT_WITHHELD, &f,
                          "Secondary %s: its report repeats the nonce of the last manifest (no time attestation "
                          "this check): left out of the manifest", run->s->serial);
                up_ecu_report_doc_free(run->report);
                run->report = NULL;
        }
}

/* Those of this manifest's reports; the others' stay (a withheld report was not sent). */
static void remember_sent_nonces(Cycle *c) {
        struct json_object *old = state_get_object(&c->d->state, "secondary_nonces");
        struct json_object *sent = old ? json_object_get(old) : json_object_new_object();

        for (size_t i = 0; sent && i < c->d->n_secondaries; i++)
                if (c->runs[i].report)
                        json_object_object_add(sent, c->runs[i].s->serial,
                                               json_object_new_int64(up_ecu_report_doc_report(c->runs[i].report)->nonce));
        if (sent)
                (void) state_set_object(&c->d->state, "secondary_nonces", sent);
}

/* --- 6. The vehicle version manifest ------------------------------------------------------------------ */

static int hashes_to_array(struct json_object *hashes, UpHashHex *ret, size_t *ret_n) {
        size_t n = 0;

        json_object_object_foreach(hashes, alg, hex) {
                if (n == UP_MSG_MAX_HASHES || !json_object_is_type(hex, json_type_string))
                        return -EBADMSG;
                ret[n++] = (UpHashHex) { alg, json_object_get_string(hex) };
        }
        *ret_n = n;
        return 0;
}

static int sign_ecu_report(Cycle *c, char **ret, size_t *ret_len) {
        Daemon *d = c->d;
        _cleanup_free_ char *name = NULL;
        _cleanup_json_ struct json_object *hashes = NULL;
        UpHashHex hex[UP_MSG_MAX_HASHES];
        size_t n_hex;
        uint64_t length;
        time_t t = d->attested_time;
        int r;

        r = installed_image(d, &name, &length, &hashes);
        if (r >= 0)
                r = hashes_to_array(hashes, hex, &n_hex);
        if (r < 0)
                return r;
        UpEcuReport rep = {
                .ecu_serial = d->config.ecu_serial,
                .installed_image = { .filepath = name, .length = (int64_t) length, .hashes = hex, .n_hashes = n_hex },
                .timeserver_time = d->time_server_key && t ? t : c->now,
                .previous_timeserver_time = d->attested_previous ? d->attested_previous : t,
                .attacks_detected = state_get_string(&d->state, "attacks_detected") ?: "",
                .nonce = c->nonce,
                .report_counter = state_get_int(&d->state, "report_counter", 0),
        };
        if (!d->time_server_key || !t)
                rep.previous_timeserver_time = rep.timeserver_time;
        return up_ecu_report_sign(&rep, d->ecu_key, ret, ret_len);
}

static UpInstallResult result_from_json(struct json_object *result) {
        struct json_object *v;

        return (UpInstallResult) {
                json_object_object_get_ex(result, "success", &v) && json_object_get_boolean(v),
                json_object_object_get_ex(result, "code", &v) ? json_object_get_string(v) : "",
                json_object_object_get_ex(result, "description", &v) ? json_object_get_string(v) : "",
        };
}

/* One item per ECU that installed something since the last accepted manifest. */
static size_t install_items(Cycle *c, UpInstallItem *items, size_t max) {
        struct json_object *result = state_get_object(&c->d->state, "installation_result"),
                           *others = state_get_object(&c->d->state, "secondary_results");
        size_t n = 0;

        if (result)
                items[n++] = (UpInstallItem) { c->d->config.ecu_serial, result_from_json(result) };
        if (others) {
                json_object_object_foreach(others, serial, one) {
                        if (n == max)
                                break;
                        items[n++] = (UpInstallItem) { serial, result_from_json(one) };
                }
        }
        return n;
}

static int sign_manifest(Cycle *c, char **ret, size_t *ret_len) {
        Daemon *d = c->d;
        _cleanup_free_ char *report = NULL;
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *doc = NULL;
        _cleanup_free_ const UpEcuReportDoc **reports = calloc(1 + d->n_secondaries, sizeof(UpEcuReportDoc *));
        _cleanup_free_ UpInstallItem *items = calloc(1 + d->n_secondaries, sizeof(UpInstallItem));
        UpInstallationReport ir;
        char correlation[64];
        size_t len, n_reports = 1, n_items;
        int r;

        if (!reports || !items)
                return -ENOMEM;
        r = sign_ecu_report(c, &report, &len);
        if (r >= 0)
                r = up_ecu_report_parse(report, len, &doc);
        if (r < 0)
                return r;
        reports[0] = doc;
        for (size_t i = 0; c->runs && i < d->n_secondaries; i++)
                if (c->runs[i].report)
                        reports[n_reports++] = c->runs[i].report;
        UpVehicleManifest m = {
                .vin = d->config.vin,
                .primary_ecu_serial = d->config.ecu_serial,
                .reports = reports,
                .n_reports = n_reports,
        };
        n_items = install_items(c, items, 1 + d->n_secondaries);
        if (n_items > 0) {
                UpInstallResult all = { true, "OK", "" };

                for (size_t i = 0; i < n_items; i++)
                        if (!items[i].result.success)
                                all = (UpInstallResult) { false, "INSTALL_FAILED", "an ECU did not install" };
                if (n_items == 1)
                        all = items[0].result;
                snprintf(correlation, sizeof(correlation), "primary-install-%" PRId64,
                         state_get_int(&d->state, "report_counter", 0));
                ir = (UpInstallationReport) { correlation, all, items, n_items };
                m.installation_report = &ir;
        }
        return up_vehicle_manifest_sign(&m, d->ecu_key, ret, ret_len);
}

static CycleResult send_manifest(Cycle *c) {
        Daemon *d = c->d;
        _cleanup_free_ char *manifest = NULL, *url = NULL;
        _cleanup_free_ uint8_t *answer = NULL;
        LogFields f = { .ecu_serial = d->config.ecu_serial };
        size_t len, answer_len;
        long status;
        int r;

        daemon_set_state(d, "reporting");
        withhold_repeated_nonces(c);
        r = sign_manifest(c, &manifest, &len);
        if (r < 0)
                return temporary(c, r, "signing the vehicle manifest");
        url = url_join(d->config.director_url, "%s/manifest", d->config.vin);
        if (!url)
                return CYCLE_FATAL;
        r = http_send_blocking(d->http, "PUT", url, NULL, manifest, len, ANSWER_MAX_BYTES, &status, &answer,
                               &answer_len);
        if (r < 0)
                return temporary(c, r, "sending the vehicle manifest");
        keep_attested_time(d, true);
        remember_sent_nonces(c);
        /* The counter and nonces are spent either way. */
        (void) state_set_int(&d->state, "report_counter", state_get_int(&d->state, "report_counter", 0) + 1);
        if (status < 200 || status > 299) {
                (void) state_save(&d->state);
                log_event(LOG_WARNING, LOG_EVENT_TEMPORARY_FAILURE, &f,
                          "The Director refused the vehicle manifest (HTTP %ld): %.*s", status,
                          (int) (answer_len < 512 ? answer_len : 512), answer ? (const char *) answer : "");
                return CYCLE_TEMPORARY;
        }
        /* Reported: the Director has the attacks and the result now. */
        (void) state_set_string(&d->state, "attacks_detected", NULL);
        (void) state_set_object(&d->state, "installation_result", NULL);
        (void) state_set_object(&d->state, "secondary_results", NULL);
        (void) state_set_bool(&d->state, "manifest_sent", true);
        r = state_save(&d->state);
        if (r < 0)
                return temporary(c, r, "saving the state");
        log_event(LOG_INFO, LOG_EVENT_MANIFEST_SENT, &f, "Vehicle manifest accepted by the Director");
        return CYCLE_UP_TO_DATE;
}

/* --- The cycle ------------------------------------------------------------------------------------- */

static CycleResult worst(CycleResult a, CycleResult b) {
        static const int rank[] = { [CYCLE_UP_TO_DATE] = 0, [CYCLE_UPDATED] = 1, [CYCLE_TEMPORARY] = 2,
                                    [CYCLE_REJECTED] = 3, [CYCLE_FATAL] = 4 };
        return rank[a] >= rank[b] ? a : b;
}

static CycleResult run_steps(Cycle *c) {
        CycleResult res;
        int r;

        res = settle_pending(c);
        if (res != CYCLE_UP_TO_DATE && res != CYCLE_UPDATED)
                return res;
        res = worst(res, register_ecus(c));
        if (res != CYCLE_UP_TO_DATE && res != CYCLE_UPDATED)
                return res;
        r = up_nonce_generate(&c->nonce);
        if (r < 0)
                return CYCLE_FATAL;
        daemon_set_state(c->d, "checking");
        collect_reports(c);
        (void) secure_time(c);
        send_time_to_secondaries(c);
        res = worst(res, verify(c));
        if (res != CYCLE_UP_TO_DATE && res != CYCLE_UPDATED)
                return res;
        if (c->fv->state == UP_FULL_VERIFICATION_UPDATES) {
                /* The Primary first, then each Secondary, whatever the others did. */
                res = worst(res, update_primary(c));
                res = worst(res, update_secondaries(c));
        }
        if (res == CYCLE_UP_TO_DATE || res == CYCLE_UPDATED) {
                r = remember_verified(c);
                if (r < 0)
                        return temporary(c, r, "saving the state");
                if (c->fv->state != UP_FULL_VERIFICATION_NO_CHANGE)
                        c->report_needed = true;
        }
        return res;
}

static int cycle_init(Cycle *c) {
        Daemon *d = c->d;

        c->runs = calloc(d->n_secondaries ?: 1, sizeof(SecondaryRun));
        if (!c->runs)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_secondaries; i++) {
                c->runs[i].s = d->secondaries[i];
                c->runs[i].cycle = c;
                d->secondaries[i]->cancel = &d->cancel;
        }
        return bus_locks_init(c);
}

static void cycle_done(Cycle *c) {
        up_full_verification_free(c->fv);
        for (size_t i = 0; c->runs && i < c->d->n_secondaries; i++) {
                up_ecu_report_doc_free(c->runs[i].report);
                free(c->runs[i].path);
        }
        bus_locks_done(c);
        metadata_set_done(&c->metadata);
        free(c->runs);
        free(c->attestation);
}

CycleResult cycle_run(Daemon *d) {
        Cycle c = { .d = d };
        LogFields f = { .ecu_serial = d->config.ecu_serial };
        CycleResult res, sent;

        log_event(LOG_INFO, LOG_EVENT_CHECK_STARTED, &f, "Checking for updates");
        if (cycle_init(&c) < 0) {
                cycle_done(&c);
                return CYCLE_FATAL;
        }
        daemon_set_progress(d, 0, 0);
        res = run_steps(&c);
        c.secondaries_failed = count_failed(&c);
        if (c.secondaries_failed > 0)
                c.report_needed = true;
        if (!state_get_bool(&d->state, "manifest_sent") || state_get_string(&d->state, "attacks_detected") ||
            state_get_object(&d->state, "installation_result") || state_get_object(&d->state, "secondary_results"))
                c.report_needed = true;
        if (c.report_needed && res != CYCLE_FATAL && !cancelled(&c)) {
                for_each_secondary(&c, refresh_report);
                c.secondaries_failed = count_failed(&c);
                if (!c.nonce)
                        (void) up_nonce_generate(&c.nonce);
                if (!c.now)
                        c.now = fallback_time(d);
                sent = send_manifest(&c);
                if (res == CYCLE_UP_TO_DATE || res == CYCLE_UPDATED)
                        res = worst(res, sent);
        }
        if ((res == CYCLE_UP_TO_DATE || res == CYCLE_UPDATED) && c.secondaries_failed > 0) {
                /* The others were served; this one is for the next check (and for whoever watches --once). */
                daemon_set_result(d, "error: %zu Secondary ECU(s) left out of this check", c.secondaries_failed);
                res = CYCLE_TEMPORARY;
        } else if (res == CYCLE_UP_TO_DATE) {
                const char *what = c.fv && c.fv->state == UP_FULL_VERIFICATION_NO_CHANGE ? "no-change" : "up-to-date";
                log_event(LOG_INFO, LOG_EVENT_UP_TO_DATE, &f, "Up to date (%s)", what);
                daemon_set_result(d, "%s", what);
        } else if (res == CYCLE_UPDATED)
                daemon_set_result(d, "updated");
        cycle_done(&c);
        daemon_set_progress(d, 0, 0);
        return res;
}
