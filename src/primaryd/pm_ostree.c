/* SPDX-License-Identifier: MIT */
/*
 * The OSTree package manager: the Primary's image is an OSTree commit named
 * by the target's sha256 (custom.targetFormat "OSTREE"). fetch() pulls it by
 * checksum into the sysroot's repository, install() deploys it as the default
 * of the next boot, finalize() tells in that boot whether it really booted.
 *
 * Threads: the daemon calls every op on its worker thread, never on its event
 * loop, so libostree's blocking calls (disk, network, the sysroot lock) are
 * fine here. A pull iterates the thread-default GMainContext: fetch() pushes
 * a fresh one on the calling thread, and progress and the cancel poll are
 * dispatched there. OstreeSysroot and OstreeRepo are made for each call:
 * they are not thread-safe and cache what is on disk.
 *
 * Trust: no GPG. The commit checksum is signed in Uptane's targets metadata
 * and libostree checks every object it pulls against its checksum, the
 * commit's down to each file, so what is deployed is what was signed.
 *
 * This is the only file of the daemon that sees GLib and libostree. Errors
 * leave it as negative errnos; a GError's message only as last_error() or in
 * an InstallOutcome's description.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/tcp.h> /* tcpi_bytes_received, which glibc's netinet/tcp.h lacks */
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <ostree.h>

#include "uptane/hash.h"
#include "package_manager.h"
#include "macro.h"

#define REMOTE "uptane"
/* Keeps a fetched commit from a prune until it is deployed: a pull by
 * checksum writes no ref. */
#define PENDING_REF "uptane/pending"
/* In the origin of a deployment we made: the boot that made it. */
#define ORIGIN_GROUP "uptane"
#define ORIGIN_BOOT_ID "deployed-boot-id"

#define LOCK_WAIT_MS (30 * 1000)
#define LOCK_POLL_MS 100
#define POLL_MS 200     /* cancel, speed and size checks during a pull */
#define PROGRESS_MS 200 /* libostree's progress updates */
#define MIB (UINT64_C(1) << 20)
#define CSUM_LEN 64

typedef struct OstreePackageManager {
        PackageManager pm;
        char *sysroot;
        char *osname;
        char *remote_url;
        char *tls_ca, *tls_cert, *tls_key;
        uint64_t min_free_space;       /* bytes; 0: the repository's setting */
        uint64_t max_bytes;            /* a pull transferring more is stopped */
        uint64_t min_bytes_per_second; /* over min_speed_window_s, or stopped */
        uint64_t min_speed_window_s;
        char error[512];               /* why the last call failed */
} OstreePackageManager;

/* One pull: what the daemon asked for and what stopped it. */
typedef struct Pull {
        OstreePackageManager *o;
        GCancellable *cancellable;
        PackageManagerProgress progress;
        void *userdata;
        uint64_t done, total, bytes;
        bool waiting;        /* for the network: fetches outstanding, no writes */
        bool half;           /* ostree-pull-half passed */
        gint64 window_start; /* of the speed floor */
        uint64_t window_bytes;
        atomic_bool checked; /* pull_check() ran: libostree's main loop turns */
        _Atomic int stop;    /* why we stopped it: -ECANCELED, -ETIMEDOUT, -EFBIG; 0: we did not */
} Pull;

static int fail(OstreePackageManager *o, int r, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(OstreePackageManager *o, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(o->error, sizeof(o->error), fmt, ap);
        va_end(ap);
        return r;
}

/* libostree 2022.7 reports most failures of a pull as G_IO_ERROR_FAILED; its
 * message is all that tells a bad object from a broken network. */
static int errno_from_message(const char *m) {
        if (strstr(m, "would be exceeded"))                /* core.min-free-space-* */
                return -ENOSPC;
        if (strstr(m, "Corrupted ") || strstr(m, "checksum expected") || strstr(m, "Parsing "))
                return -EILSEQ;                            /* an object that is not what its checksum says */
        if (strstr(m, "While fetching") && strstr(m, "[28]")) /* CURLE_OPERATION_TIMEDOUT */
                return -ETIMEDOUT;
        return -EIO;
}

static int errno_from_gerror(const GError *e) {
        if (!e)
                return -EIO;
        if (e->domain == G_IO_ERROR)
                switch (e->code) {
                case G_IO_ERROR_CANCELLED:
                        return -ECANCELED;
                case G_IO_ERROR_NOT_FOUND:
                        return -ENOENT;
                case G_IO_ERROR_NO_SPACE:
                        return -ENOSPC;
                case G_IO_ERROR_TIMED_OUT:
                        return -ETIMEDOUT;
                case G_IO_ERROR_PERMISSION_DENIED:
                        return -EACCES;
                case G_IO_ERROR_BUSY:
                        return -EBUSY;
                case G_IO_ERROR_INVALID_DATA:
                case G_IO_ERROR_PARTIAL_INPUT: /* an object that does not even decompress */
                        return -EILSEQ;
                default:
                        break;
                }
        return errno_from_message(e->message);
}

static int fail_gerror(OstreePackageManager *o, const GError *e, const char *what) {
        return fail(o, errno_from_gerror(e), "%s: %s", what, e ? e->message : "unknown error");
}

/* --- Helpers -------------------------------------------------------------------------------------- */

static bool is_checksum(const char *s) {
        return s && strlen(s) == CSUM_LEN && strspn(s, "0123456789abcdef") == CSUM_LEN;
}

static int target_commit(const UpDirectorTarget *t, char ret[static CSUM_LEN + 1]) {
        for (size_t i = 0; i < t->n_hashes; i++)
                if (t->hashes[i].alg == UP_HASH_SHA256) {
                        up_hex_encode(t->hashes[i].digest, up_hash_alg_size(UP_HASH_SHA256), ret);
                        return 0;
                }
        return -EOPNOTSUPP;
}

static int pending_commit(const ImageRecord *pending, char ret[static CSUM_LEN + 1]) {
        struct json_object *sha;
        const char *hex;

        if (!json_object_object_get_ex(pending->hashes, "sha256", &sha) || !(hex = json_object_get_string(sha)) ||
            strlen(hex) != CSUM_LEN)
                return -EINVAL;
        for (size_t i = 0; i <= CSUM_LEN; i++)
                ret[i] = (char) g_ascii_tolower(hex[i]);
        return is_checksum(ret) ? 0 : -EINVAL;
}

static bool deployment_is(OstreeDeployment *d, const char *osname, const char *csum) {
        return d && g_str_equal(ostree_deployment_get_osname(d), osname) &&
               g_str_equal(ostree_deployment_get_csum(d), csum);
}

static void sysroot_closep(OstreeSysroot **s) {
        if (!*s)
                return;
        ostree_sysroot_unlock(*s); /* a no-op when not locked */
        g_object_unref(*s);
}

/* Waits at most LOCK_WAIT_MS for ostree admin or another daemon, and stops
 * waiting when the pull is cancelled. */
static int sysroot_lock(OstreePackageManager *o, OstreeSysroot *s, Pull *p) {
        for (int waited = 0;; waited += LOCK_POLL_MS) {
                g_autoptr(GError) e = NULL;
                gboolean acquired = FALSE;

                if (!ostree_sysroot_try_lock(s, &acquired, &e))
                        return fail_gerror(o, e, "locking the sysroot");
                if (acquired)
                        return 0;
                if (p && p->progress && p->progress(p->userdata, 0, 0) != 0)
                        return fail(o, -ECANCELED, "cancelled while waiting for the sysroot lock");
                if (waited >= LOCK_WAIT_MS)
                        return fail(o, -EBUSY, "the sysroot %s stayed locked by another process for %d s",
                                    o->sysroot, LOCK_WAIT_MS / 1000);
                g_usleep(LOCK_POLL_MS * 1000);
        }
}

static int sysroot_open(OstreePackageManager *o, bool lock, Pull *p, OstreeSysroot **ret) {
        g_autoptr(GFile) path = g_file_new_for_path(o->sysroot);
        _cleanup_(sysroot_closep) OstreeSysroot *s = ostree_sysroot_new(path);
        g_autoptr(GError) e = NULL;
        int r;

        if (lock) {
                r = sysroot_lock(o, s, p);
                if (r < 0)
                        return r;
        }
        if (!ostree_sysroot_load(s, NULL, &e))
                return fail_gerror(o, e, "loading the sysroot");
        *ret = TAKE_PTR(s);
        return 0;
}

static int sysroot_repo(OstreePackageManager *o, OstreeSysroot *s, OstreeRepo **ret) {
        g_autoptr(GError) e = NULL;

        if (!ostree_sysroot_get_repo(s, ret, NULL, &e))
                return fail_gerror(o, e, "opening the sysroot's repository");
        return 0;
}

/* 1: the whole commit is in the repository; 0: absent, or partly pulled
 * (a .commitpartial marks it until the last object is in). */
static int commit_complete(OstreePackageManager *o, OstreeRepo *repo, const char *csum) {
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) commit = NULL;
        OstreeRepoCommitState state = 0;

        if (!ostree_repo_load_commit(repo, csum, &commit, &state, &e)) {
                if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
                        return 0;
                return fail_gerror(o, e, "reading the commit");
        }
        return (state & OSTREE_REPO_COMMIT_STATE_PARTIAL) ? 0 : 1;
}

static int set_pending_ref(OstreePackageManager *o, OstreeRepo *repo, const char *csum) {
        g_autoptr(GError) e = NULL;

        if (!ostree_repo_set_ref_immediate(repo, NULL, PENDING_REF, csum, NULL, &e))
                return fail_gerror(o, e, "setting the ref " PENDING_REF);
        return 0;
}

/* Best effort: once deployed, the deployment keeps the commit. */
static void drop_pending_ref(OstreeSysroot *s) {
        g_autoptr(OstreeRepo) repo = NULL;

        if (ostree_sysroot_get_repo(s, &repo, NULL, NULL))
                (void) ostree_repo_set_ref_immediate(repo, NULL, PENDING_REF, NULL, NULL, NULL);
}

/* --- fetches() and fetch() --------------------------------------------------------------------------- */

static bool pm_ostree_fetches(PackageManager *pm, const UpDirectorTarget *t) {
        (void) pm;
        return t->format && strcasecmp(t->format, "OSTREE") == 0;
}

static void add_option(GVariantBuilder *b, const char *key, GVariant *value) {
        g_variant_builder_add(b, "{s@v}", key, g_variant_new_variant(value));
}

/* The remote is replaced every time: the URL may come from the target. */
static int set_remote(OstreePackageManager *o, OstreeRepo *repo, const char *url, GCancellable *c) {
        g_auto(GVariantBuilder) b;
        g_autoptr(GVariant) options = NULL;
        g_autoptr(GError) e = NULL;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        add_option(&b, "gpg-verify", g_variant_new_boolean(FALSE));
        if (o->tls_ca)
                add_option(&b, "tls-ca-path", g_variant_new_string(o->tls_ca));
        if (o->tls_cert && o->tls_key) {
                add_option(&b, "tls-client-cert-path", g_variant_new_string(o->tls_cert));
                add_option(&b, "tls-client-key-path", g_variant_new_string(o->tls_key));
        }
        options = g_variant_ref_sink(g_variant_builder_end(&b));
        if (!ostree_repo_remote_change(repo, NULL, OSTREE_REPO_REMOTE_CHANGE_REPLACE, REMOTE, url, options, c, &e))
                return fail_gerror(o, e, "configuring the remote " REMOTE);
        return 0;
}

/* libostree checks core.min-free-space-size while it writes the pulled
 * content; the repository config is only rewritten when it differs. */
static int set_min_free_space(OstreePackageManager *o, OstreeRepo *repo, GCancellable *c) {
        g_autoptr(GKeyFile) config = NULL;
        g_autofree char *want = NULL, *have = NULL;
        g_autoptr(GError) e = NULL;

        if (o->min_free_space == 0)
                return 0;
        want = g_strdup_printf("%" G_GUINT64_FORMAT "MB", (o->min_free_space + MIB - 1) / MIB); /* MB: 2^20 */
        config = ostree_repo_copy_config(repo);
        have = g_key_file_get_string(config, "core", "min-free-space-size", NULL);
        if (have && g_str_equal(have, want))
                return 0;
        g_key_file_set_string(config, "core", "min-free-space-size", want);
        if (!ostree_repo_write_config(repo, config, &e) || !ostree_repo_reload_config(repo, c, &e))
                return fail_gerror(o, e, "setting core.min-free-space-size");
        return 0;
}

/* From either thread: GCancellable is made for that. */
static void pull_stop(Pull *p, int r) {
        int none = 0;

        (void) atomic_compare_exchange_strong(&p->stop, &none, r);
        g_cancellable_cancel(p->cancellable);
}

/* On the pulling thread: the daemon's cancel, the size limit and the speed
 * floor (libostree 2022.7 has none). Time spent writing is not slow. */
static void pull_check(Pull *p) {
        OstreePackageManager *o = p->o;
        gint64 now = g_get_monotonic_time();

        atomic_store(&p->checked, true);
        if (atomic_load(&p->stop) != 0)
                return;
        if (p->progress && p->progress(p->userdata, p->done, p->total) != 0)
                pull_stop(p, -ECANCELED);
        else if (p->bytes > o->max_bytes)
                pull_stop(p, -EFBIG);
        else if (!p->waiting || p->bytes - p->window_bytes >= o->min_bytes_per_second * o->min_speed_window_s) {
                p->window_start = now;
                p->window_bytes = p->bytes;
        } else if (now - p->window_start >= (gint64) o->min_speed_window_s * G_USEC_PER_SEC)
                pull_stop(p, -ETIMEDOUT);
}

static gboolean on_poll(gpointer userdata) {
        pull_check(userdata);
        return G_SOURCE_CONTINUE;
}

static void on_progress(OstreeAsyncProgress *progress, gpointer userdata) {
        Pull *p = userdata;
        guint fetched = 0, requested = 0, writes = 0, fetches = 0, metadata = 0, scanning = 0;
        guint64 bytes = 0;

        ostree_async_progress_get(progress, "fetched", "u", &fetched, "requested", "u", &requested,
                                  "outstanding-writes", "u", &writes, "outstanding-fetches", "u", &fetches,
                                  "outstanding-metadata-fetches", "u", &metadata, "scanning", "u", &scanning,
                                  "bytes-transferred", "t", &bytes, NULL);
        p->done = fetched;
        p->total = requested;
        p->bytes = bytes;
        p->waiting = fetches > 0 && writes == 0;
        /* Once the tree is known and half of it is in: where kill -9 tests cut a pull. */
        if (!p->half && scanning == 0 && metadata == 0 && fetches > 0 && requested > 0 && fetched * 2 >= requested) {
                p->half = true;
                test_crash_point("ostree-pull-half");
        }
        pull_check(p);
}

/* --- The watchdog ---
 * libostree 2022.7's curl fetcher never looks at the GCancellable while a
 * request is in flight and has no speed limit; and before its main loop
 * turns, the pull fetches config and summary on a private main context where
 * pull_check() does not run. A server that goes silent would hold the pull,
 * and the daemon's worker, for ever; a cancel would wait for the object in
 * flight. So a thread watches the TCP sockets opened since the pull started
 * (the daemon opens none while its worker is in here): when the pull is to
 * stop, it shuts them down (the fds stay curl's to close) and the pull fails
 * at once; until pull_check() first runs, it applies the speed floor to the
 * bytes they received. */

typedef struct Watchdog {
        Pull *p;
        GArray *before; /* ino_t of the TCP sockets there before the pull */
        gint64 window_start;
        uint64_t window_bytes;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool done;
} Watchdog;

typedef enum ScanMode {
        SCAN_SNAPSHOT,
        SCAN_COUNT,
        SCAN_SHUT,
} ScanMode;

static bool tcp_socket(int fd, ino_t *ret_ino, struct tcp_info *ret) {
        struct stat st;
        socklen_t len = sizeof(*ret);
        int listening = 0;
        socklen_t l = sizeof(listening);

        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || getsockopt(fd, IPPROTO_TCP, TCP_INFO, ret, &len) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) < 0 || listening)
                return false;
        *ret_ino = st.st_ino;
        return true;
}

static bool known_before(Watchdog *w, ino_t ino) {
        for (guint i = 0; i < w->before->len; i++)
                if (g_array_index(w->before, ino_t, i) == ino)
                        return true;
        return false;
}

/* The bytes the pull's sockets received (-1: it has none), after mode. */
static int64_t scan(Watchdog *w, ScanMode mode) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int64_t bytes = -1;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);
                struct tcp_info info = {};
                ino_t ino;

                if (de->d_name[0] == '.' || fd == dirfd(d) || !tcp_socket(fd, &ino, &info))
                        continue;
                if (mode == SCAN_SNAPSHOT) {
                        g_array_append_val(w->before, ino);
                        continue;
                }
                if (known_before(w, ino))
                        continue;
                if (mode == SCAN_SHUT)
                        (void) shutdown(fd, SHUT_RDWR);
                bytes = MAX(bytes, 0) + (int64_t) info.tcpi_bytes_received;
        }
        closedir(d);
        return bytes;
}

static void watch_once(Watchdog *w) {
        Pull *p = w->p;
        OstreePackageManager *o = p->o;
        gint64 now = g_get_monotonic_time();
        int64_t bytes;

        if (atomic_load(&p->stop) != 0) {
                (void) scan(w, SCAN_SHUT);
                return;
        }
        if (atomic_load(&p->checked) || o->min_bytes_per_second == 0)
                return;
        bytes = scan(w, SCAN_COUNT);
        /* No connection yet, or one closed (its bytes gone from the sum): start over. */
        if (bytes < 0 || (uint64_t) bytes < w->window_bytes ||
            (uint64_t) bytes - w->window_bytes >= o->min_bytes_per_second * o->min_speed_window_s) {
                w->window_start = now;
                w->window_bytes = (uint64_t) MAX(bytes, 0);
        } else if (now - w->window_start >= (gint64) o->min_speed_window_s * G_USEC_PER_SEC) {
                pull_stop(p, -ETIMEDOUT);
                (void) scan(w, SCAN_SHUT);
        }
}

static void *watch(void *userdata) {
        Watchdog *w = userdata;

        pthread_mutex_lock(&w->lock);
        while (!w->done) {
                struct timespec until;

                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_nsec += POLL_MS * 1000000L;
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
                if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0 || w->done)
                        continue;
                pthread_mutex_unlock(&w->lock);
                watch_once(w);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int watchdog_start(Watchdog *w, Pull *p) {
        pthread_condattr_t attr;
        int r;

        *w = (Watchdog) { .p = p, .before = g_array_new(FALSE, FALSE, sizeof(ino_t)),
                          .window_start = g_get_monotonic_time() };
        (void) scan(w, SCAN_SNAPSHOT);
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = -pthread_create(&w->thread, NULL, watch, w);
        if (r < 0) {
                pthread_cond_destroy(&w->wake);
                pthread_mutex_destroy(&w->lock);
                g_array_unref(w->before);
                return fail(p->o, r, "starting the pull's watchdog: %s", strerror(-r));
        }
        return 0;
}

static void watchdog_stop(Watchdog *w) {
        pthread_mutex_lock(&w->lock);
        w->done = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        g_array_unref(w->before);
}

static int pull_error(OstreePackageManager *o, const Pull *p, const GError *e, const char *url) {
        switch (atomic_load(&p->stop)) {
        case -ECANCELED:
                return fail(o, -ECANCELED, "pull from %s cancelled", url);
        case -EFBIG:
                return fail(o, -EFBIG, "pull from %s stopped after more than %" G_GUINT64_FORMAT " bytes "
                            "([download] max-image-size)", url, o->max_bytes);
        case -ETIMEDOUT:
                return fail(o, -ETIMEDOUT, "pull from %s stopped: less than %" G_GUINT64_FORMAT " bytes in %"
                            G_GUINT64_FORMAT " s while waiting for the server ([download] min-bytes-per-second)",
                            url, o->min_bytes_per_second * o->min_speed_window_s, o->min_speed_window_s);
        default:
                return fail_gerror(o, e, url);
        }
}

static int pull(OstreePackageManager *o, OstreeRepo *repo, const char *csum, const char *url, Pull *p) {
        const char *refs[] = { csum, NULL };
        g_auto(GVariantBuilder) b;
        g_autoptr(GVariant) options = NULL;
        g_autoptr(OstreeAsyncProgress) progress = NULL;
        g_autoptr(GSource) ticker = NULL;
        g_autoptr(GError) e = NULL;
        Watchdog w;
        gboolean ok;
        int r;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        add_option(&b, "refs", g_variant_new_strv(refs, -1));
        add_option(&b, "update-frequency", g_variant_new_uint32(PROGRESS_MS));
        /* libostree >= 2023.1 only (2022.7 ignores them): its own curl speed limit. */
        add_option(&b, "low-speed-limit-bytes", g_variant_new_uint32(MIN(o->min_bytes_per_second, G_MAXUINT32)));
        add_option(&b, "low-speed-time-seconds", g_variant_new_uint32(MIN(o->min_speed_window_s, G_MAXUINT32)));
        options = g_variant_ref_sink(g_variant_builder_end(&b));

        /* Both on the thread-default context that the pull iterates. */
        progress = ostree_async_progress_new_and_connect(on_progress, p);
        ticker = g_timeout_source_new(POLL_MS);
        g_source_set_callback(ticker, on_poll, p, NULL);
        g_source_attach(ticker, g_main_context_get_thread_default());

        p->window_start = g_get_monotonic_time();
        r = watchdog_start(&w, p);
        if (r < 0) {
                g_source_destroy(ticker);
                return r;
        }
        ok = ostree_repo_pull_with_options(repo, REMOTE, options, progress, p->cancellable, &e);
        watchdog_stop(&w);
        ostree_async_progress_finish(progress);
        g_source_destroy(ticker);
        if (!ok)
                return pull_error(o, p, e, url);
        /* A pull faster than the progress ticks never showed its half: cut here
         * then, the content in but not yet protected by a ref or deployed. */
        if (!p->half) {
                p->half = true;
                test_crash_point("ostree-pull-half");
        }
        return 0;
}

static bool is_http_url(const char *url) {
        return g_str_has_prefix(url, "http://") || g_str_has_prefix(url, "https://");
}

static int fetch_locked(OstreePackageManager *o, const char *csum, const char *url, Pull *p) {
        _cleanup_(sysroot_closep) OstreeSysroot *sysroot = NULL;
        g_autoptr(OstreeRepo) repo = NULL;
        int r;

        r = sysroot_open(o, true, p, &sysroot);
        if (r >= 0)
                r = sysroot_repo(o, sysroot, &repo);
        if (r >= 0)
                r = commit_complete(o, repo, csum);
        if (r < 0)
                return r;
        if (r == 0) {
                r = set_remote(o, repo, url, p->cancellable);
                if (r >= 0)
                        r = set_min_free_space(o, repo, p->cancellable);
                if (r >= 0)
                        r = pull(o, repo, csum, url, p);
                if (r >= 0)
                        r = commit_complete(o, repo, csum);
                if (r == 0)
                        r = fail(o, -EIO, "the pull from %s ended without the whole commit %s", url, csum);
                if (r < 0)
                        return r;
        }
        return set_pending_ref(o, repo, csum);
}

static int pm_ostree_fetch(PackageManager *pm, const UpDirectorTarget *t, PackageManagerProgress progress,
                           void *userdata) {
        OstreePackageManager *o = (OstreePackageManager *) pm;
        const char *url = t->uri && *t->uri ? t->uri : o->remote_url;
        char csum[CSUM_LEN + 1];
        g_autoptr(GMainContext) context = NULL;
        g_autoptr(GCancellable) cancellable = NULL;
        Pull p;
        int r;

        o->error[0] = '\0';
        if (target_commit(t, csum) < 0)
                return fail(o, -EOPNOTSUPP, "%s: no sha256, which names the commit", t->name);
        if (!url || !is_http_url(url))
                return fail(o, -EOPNOTSUPP, "%s: the OSTree repository '%s' is not an http(s) URL", t->name,
                            url ?: "");
        context = g_main_context_new();
        cancellable = g_cancellable_new();
        p = (Pull) { .o = o, .cancellable = cancellable, .progress = progress, .userdata = userdata };
        g_main_context_push_thread_default(context);
        r = fetch_locked(o, csum, url, &p);
        g_main_context_pop_thread_default(context);
        return r;
}

/* --- install() ---------------------------------------------------------------------------------------- */

/* The merge deployment's kernel arguments without ostree=, which libostree
 * sets for the new deployment. */
static char **merge_kargs(OstreeDeployment *merge) {
        OstreeBootconfigParser *bc = merge ? ostree_deployment_get_bootconfig(merge) : NULL;
        const char *options = bc ? ostree_bootconfig_parser_get(bc, "options") : NULL;
        g_autoptr(OstreeKernelArgs) ka = NULL;

        if (!options)
                return NULL;
        ka = ostree_kernel_args_from_string(options);
        (void) ostree_kernel_args_delete_key_entry(ka, "ostree", NULL);
        return ostree_kernel_args_to_strv(ka);
}

static GKeyFile *new_origin(OstreeSysroot *s, const char *csum) {
        GKeyFile *origin = ostree_sysroot_origin_new_from_refspec(s, csum);
        char boot[64];

        if (package_manager_boot_id(boot) >= 0)
                g_key_file_set_string(origin, ORIGIN_GROUP, ORIGIN_BOOT_ID, boot);
        return origin;
}

/* The default deployment after a write with the merge deployment kept: the
 * booted one (or, unbooted, the previous default) becomes the rollback. */
static int deploy(OstreePackageManager *o, OstreeSysroot *s, const char *csum, OstreeDeployment **ret) {
        g_autoptr(OstreeDeployment) merge = ostree_sysroot_get_merge_deployment(s, o->osname);
        g_autoptr(OstreeDeployment) d = NULL;
        g_autoptr(GKeyFile) origin = new_origin(s, csum);
        g_auto(GStrv) kargs = merge_kargs(merge);
        OstreeSysrootDeployTreeOpts opts = { .override_kernel_argv = kargs };
        g_autoptr(GError) e = NULL;

        if (!ostree_sysroot_prepare_cleanup(s, NULL, &e) ||
            !ostree_sysroot_deploy_tree_with_options(s, o->osname, csum, origin, merge, &opts, &d, NULL, &e) ||
            !ostree_sysroot_simple_write_deployment(s, o->osname, d, merge,
                                                    OSTREE_SYSROOT_SIMPLE_WRITE_DEPLOYMENT_FLAGS_NONE, NULL, &e))
                return fail_gerror(o, e, "deploying");
        *ret = TAKE_PTR(d);
        return 0;
}

static int install_commit(OstreePackageManager *o, const char *csum, InstallOutcome *ret) {
        _cleanup_(sysroot_closep) OstreeSysroot *s = NULL;
        g_autoptr(OstreeRepo) repo = NULL;
        g_autoptr(GPtrArray) all = NULL;
        g_autoptr(OstreeDeployment) d = NULL;
        int r;

        r = sysroot_open(o, true, NULL, &s);
        if (r >= 0)
                r = sysroot_repo(o, s, &repo);
        if (r < 0)
                return r;
        all = ostree_sysroot_get_deployments(s);
        if (deployment_is(ostree_sysroot_get_booted_deployment(s), o->osname, csum)) {
                drop_pending_ref(s);
                install_outcome_set(ret, true, "OK", "%s is the booted deployment already", csum);
                return 0;
        }
        if (all->len > 0 && deployment_is(all->pdata[0], o->osname, csum)) {
                drop_pending_ref(s);
                install_outcome_set(ret, true, "OK", "%s is deployed already, for the next boot", csum);
                ret->reboot_needed = true;
                return 0;
        }
        r = commit_complete(o, repo, csum);
        if (r == 0)
                r = fail(o, -ENOENT, "commit %s is not (completely) in the repository", csum);
        if (r >= 0)
                r = deploy(o, s, csum, &d);
        if (r < 0)
                return r;
        test_crash_point("ostree-deployed");
        drop_pending_ref(s);
        install_outcome_set(ret, true, "OK", "%s deployed as %s.%d, the default for the next boot; the running "
                            "deployment is kept as the rollback", csum, csum, ostree_deployment_get_deployserial(d));
        ret->reboot_needed = true;
        return 0;
}

static int pm_ostree_install(PackageManager *pm, const UpDirectorTarget *t, const char *image_path,
                             InstallOutcome *ret) {
        OstreePackageManager *o = (OstreePackageManager *) pm;
        char csum[CSUM_LEN + 1];
        int r;

        o->error[0] = '\0';
        if (image_path || target_commit(t, csum) < 0) {
                install_outcome_set(ret, false, "INSTALL_FAILED",
                                    "%s is not an OSTree commit (custom.targetFormat OSTREE with a sha256)", t->name);
                return 0;
        }
        r = install_commit(o, csum, ret);
        if (r < 0)
                install_outcome_set(ret, false, "INSTALL_FAILED", "%s: %s", t->name,
                                    o->error[0] ? o->error : strerror(-r));
        return 0;
}

/* --- finalize() --------------------------------------------------------------------------------------- */

/* The deployment of csum that we made and that did not boot, if any. */
static OstreeDeployment *find_deployment(OstreeSysroot *s, const char *osname, const char *csum,
                                         OstreeDeployment *booted) {
        g_autoptr(GPtrArray) all = ostree_sysroot_get_deployments(s);

        for (guint i = 0; i < all->len; i++)
                if (deployment_is(all->pdata[i], osname, csum) && !ostree_deployment_equal(all->pdata[i], booted))
                        return g_object_ref(all->pdata[i]);
        return NULL;
}

/* Written by a kill -9'ed install of this very boot: no reboot happened yet. */
static bool deployed_in_this_boot(OstreeDeployment *d) {
        GKeyFile *origin = ostree_deployment_get_origin(d);
        g_autofree char *then = origin ? g_key_file_get_string(origin, ORIGIN_GROUP, ORIGIN_BOOT_ID, NULL) : NULL;
        char now[64];

        return then && package_manager_boot_id(now) >= 0 && g_str_equal(then, now);
}

/* So that the next boot does not try the failed deployment again. */
static int undeploy(OstreePackageManager *o, OstreeSysroot *s, OstreeDeployment *failed) {
        g_autoptr(GPtrArray) all = ostree_sysroot_get_deployments(s);
        g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_object_unref);
        g_autoptr(GError) e = NULL;

        for (guint i = 0; i < all->len; i++)
                if (!ostree_deployment_equal(all->pdata[i], failed))
                        g_ptr_array_add(keep, g_object_ref(all->pdata[i]));
        if (!ostree_sysroot_write_deployments(s, keep, NULL, &e))
                return fail_gerror(o, e, "removing the failed deployment");
        return 0;
}

static int pm_ostree_finalize(PackageManager *pm, const ImageRecord *pending, InstallOutcome *ret) {
        OstreePackageManager *o = (OstreePackageManager *) pm;
        _cleanup_(sysroot_closep) OstreeSysroot *s = NULL;
        g_autoptr(OstreeDeployment) ours = NULL;
        OstreeDeployment *booted;
        char csum[CSUM_LEN + 1], booted_csum[CSUM_LEN + 1];
        int r;

        o->error[0] = '\0';
        if (pending_commit(pending, csum) < 0)
                return fail(o, -EINVAL, "the pending install %s names no commit", pending->name);
        r = sysroot_open(o, true, NULL, &s);
        if (r < 0)
                return r;
        booted = ostree_sysroot_get_booted_deployment(s);
        if (deployment_is(booted, o->osname, csum)) {
                drop_pending_ref(s);
                install_outcome_set(ret, true, "OK", "booted into %s", csum);
                return 0;
        }
        ours = find_deployment(s, o->osname, csum, booted);
        if (!ours || deployed_in_this_boot(ours))
                return -EAGAIN; /* not deployed, or no reboot since: install (again) */
        if (!booted)
                return fail(o, -ENODEV, "no booted deployment: %s is not an OSTree-booted system", o->sysroot);
        /* Copied: writing the deployments reloads the sysroot, and frees booted. */
        snprintf(booted_csum, sizeof(booted_csum), "%s", ostree_deployment_get_csum(booted));
        r = undeploy(o, s, ours);
        install_outcome_set(ret, false, "BOOT_ROLLED_BACK",
                            "%s did not boot, %s did (the bootloader rolled back, or %s failed to start); %s%s",
                            csum, booted_csum, csum,
                            r < 0 ? "it stays deployed: " : "its deployment was removed",
                            r < 0 ? o->error : "");
        return 0;
}

/* --- factory_image() ------------------------------------------------------------------------------------ */

/* The booted deployment, or unbooted the first of our OS (the next boot's). */
static OstreeDeployment *current_deployment(OstreeSysroot *s, const char *osname) {
        OstreeDeployment *booted = ostree_sysroot_get_booted_deployment(s);
        g_autoptr(GPtrArray) all = NULL;

        if (booted && g_str_equal(ostree_deployment_get_osname(booted), osname))
                return g_object_ref(booted);
        all = ostree_sysroot_get_deployments(s);
        for (guint i = 0; i < all->len; i++)
                if (g_str_equal(ostree_deployment_get_osname(all->pdata[i]), osname))
                        return g_object_ref(all->pdata[i]);
        return NULL;
}

/* Named "OSNAME-" and the commit's first 12 hex digits, length 0 as OSTree
 * targets have, the commit checksum as sha256. */
static int pm_ostree_factory_image(PackageManager *pm, char **ret_name, uint64_t *ret_length,
                                   struct json_object **ret_hashes) {
        OstreePackageManager *o = (OstreePackageManager *) pm;
        _cleanup_(sysroot_closep) OstreeSysroot *s = NULL;
        g_autoptr(OstreeDeployment) d = NULL;
        _cleanup_json_ struct json_object *hashes = NULL;
        char *name = NULL;
        const char *csum;
        int r;

        o->error[0] = '\0';
        r = sysroot_open(o, false, NULL, &s);
        if (r < 0)
                return r;
        d = current_deployment(s, o->osname);
        if (!d)
                return fail(o, -ENODEV, "no deployment of %s in %s", o->osname, o->sysroot);
        csum = ostree_deployment_get_csum(d);
        hashes = json_object_new_object();
        if (!hashes || json_object_object_add(hashes, "sha256", json_object_new_string(csum)) < 0 ||
            asprintf(&name, "%s-%.12s", o->osname, csum) < 0)
                return -ENOMEM;
        *ret_name = name;
        *ret_length = 0;
        *ret_hashes = TAKE_PTR(hashes);
        return 0;
}

/* --- Life cycle -------------------------------------------------------------------------------------- */

static const char *pm_ostree_last_error(PackageManager *pm) {
        OstreePackageManager *o = (OstreePackageManager *) pm;

        return o->error[0] ? o->error : NULL;
}

static void pm_ostree_free(PackageManager *pm) {
        OstreePackageManager *o = (OstreePackageManager *) pm;

        free(o->sysroot);
        free(o->osname);
        free(o->remote_url);
        free(o->tls_ca);
        free(o->tls_cert);
        free(o->tls_key);
        free(o);
}

static const PackageManagerOps ostree_ops = {
        .name = "ostree",
        .factory_image = pm_ostree_factory_image,
        .fetches = pm_ostree_fetches,
        .fetch = pm_ostree_fetch,
        .install = pm_ostree_install,
        .finalize = pm_ostree_finalize,
        .last_error = pm_ostree_last_error,
        .free = pm_ostree_free,
};

static int message(char **reterr, int r, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int message(char **reterr, int r, const char *fmt, ...) {
        va_list ap;

        if (!reterr)
                return r;
        va_start(ap, fmt);
        if (vasprintf(reterr, fmt, ap) < 0)
                *reterr = NULL;
        va_end(ap);
        return r;
}

/* ostree-os unset: the only stateroot there is. A plain directory listing,
 * so that start-up does not load the sysroot. */
static int find_osname(const char *sysroot, char **ret, char **reterr) {
        _cleanup_free_ char *dir = NULL, *found = NULL;
        DIR *d;
        struct dirent *de;
        int n = 0;

        if (asprintf(&dir, "%s/ostree/deploy", strcmp(sysroot, "/") == 0 ? "" : sysroot) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                int r = -errno;
                return message(reterr, r, "[package-manager] ostree-sysroot: cannot read %s: %s", dir, strerror(-r));
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) && n++ == 0)
                        found = strdup(de->d_name);
        closedir(d);
        if (n == 1 && !found)
                return -ENOMEM;
        if (n != 1)
                return message(reterr, -EINVAL, "[package-manager] ostree-os: not set, and %s has %s stateroot: set it",
                               dir, n == 0 ? "no" : "more than one");
        *ret = TAKE_PTR(found);
        return 0;
}

static int copy_string(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

int package_manager_ostree_new(const PrimaryConfig *c, PackageManager **ret, char **reterr) {
        OstreePackageManager *o = calloc(1, sizeof(*o));
        int r;

        if (!o)
                return -ENOMEM;
        o->pm.ops = &ostree_ops;
        o->min_free_space = c->ostree_min_free_space;
        o->max_bytes = c->max_image_size ?: UINT64_MAX;
        o->min_bytes_per_second = c->min_bytes_per_second;
        o->min_speed_window_s = c->min_speed_window_s ?: 1;
        r = copy_string(c->ostree_sysroot ?: "/", &o->sysroot);
        if (r >= 0)
                r = copy_string(c->ostree_remote_url, &o->remote_url);
        if (r >= 0)
                r = copy_string(c->ca_file, &o->tls_ca);
        if (r >= 0)
                r = copy_string(c->client_certificate, &o->tls_cert);
        if (r >= 0)
                r = copy_string(c->client_key, &o->tls_key);
        if (r >= 0)
                r = c->ostree_os ? copy_string(c->ostree_os, &o->osname) : find_osname(o->sysroot, &o->osname, reterr);
        if (r < 0) {
                pm_ostree_free(&o->pm);
                return r;
        }
        *ret = &o->pm;
        return 0;
}
