/* SPDX-License-Identifier: MIT */
/*
 * up-test-repo: writes a static TUF repository with libuptane's signing code,
 * for interoperability tests with other clients and for benchmarks.
 *
 *   OUTDIR/metadata/   N.root.json (every version), root.json (newest),
 *                      timestamp.json, 1.snapshot.json, 1.targets.json,
 *                      1.<ROLE>.json, and snapshot.json, targets.json,
 *                      <ROLE>.json (role names percent-encoded)
 *   OUTDIR/targets/    every artifact as <dir>/<path> and <dir>/<sha256>.<name>
 *   OUTDIR/initial_root.json  (= 1.root.json)
 *
 * Target i (from 0) is "dir<i % 16>/file<i>.bin" with target-size bytes of
 * pseudo-random content derived from i, listed by the first --delegate role
 * whose pattern matches the path, or else by the top-level targets role.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/hash.h"
#include "uptane/key.h"

#define MAX_DELEGATIONS 64
#define DIR_COUNT 16

typedef struct Delegation {
        char *role;
        char *pattern;
} Delegation;

typedef struct Options {
        const char *outdir;
        UpKeyScheme scheme;
        uint64_t n_targets;
        uint64_t target_size;
        uint64_t root_versions;
        uint64_t expires_days;
        bool consistent_snapshot;
        bool meta_hashes;
        const char *keys_dir;  /* reuse (or create) the top-level keys there */
        uint64_t version;      /* version of targets, snapshot and timestamp */
        Delegation delegations[MAX_DELEGATIONS];
        size_t n_delegations;
} Options;

static void usage(FILE *f) {
        fprintf(f,
                "Usage: up-test-repo OUTDIR [OPTIONS]\n"
                "Writes a signed static TUF repository to OUTDIR/metadata and OUTDIR/targets.\n\n"
                "  --scheme NAME            ed25519 (default), ecdsa-sha2-nistp256, rsassa-pss-sha256\n"
                "  --targets N              number of artifacts (default 10)\n"
                "  --target-size BYTES      size of each artifact (default 1024)\n"
                "  --delegate ROLE:PATTERN  delegate PATTERN from targets to ROLE (repeatable)\n"
                "  --root-versions K        publish roots 1..K, each rotating the root and\n"
                "                           timestamp keys (default 1)\n"
                "  --expires-days D         expiry of every role, from now (default 365)\n"
                "  --meta-hashes            add length and sha256 to timestamp/snapshot meta\n"
                "  --no-consistent-snapshot plain file names instead of N.role.json\n"
                "  --keys-dir DIR           take the top-level keys from DIR (made on first use),\n"
                "                           so that several runs write versions of one repository\n"
                "  --version N              version of targets, snapshot and timestamp, and a\n"
                "                           different content of every artifact (default 1)\n"
                "  --help                   this text\n\n"
                "Target i is dir<i%%16>/file<i>.bin.\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_delegation(Options *o, const char *arg) {
        const char *colon = strchr(arg, ':');

        if (!colon || colon == arg || colon[1] == '\0' || o->n_delegations == MAX_DELEGATIONS)
                return -EINVAL;
        o->delegations[o->n_delegations] = (Delegation) {
                .role = strndup(arg, (size_t) (colon - arg)),
                .pattern = strdup(colon + 1),
        };
        if (!o->delegations[o->n_delegations].role || !o->delegations[o->n_delegations].pattern)
                return -ENOMEM;
        o->n_delegations++;
        return 0;
}

enum {
        OPT_SCHEME = 0x100,
        OPT_TARGETS,
        OPT_TARGET_SIZE,
        OPT_DELEGATE,
        OPT_ROOT_VERSIONS,
        OPT_EXPIRES_DAYS,
        OPT_META_HASHES,
        OPT_NO_CONSISTENT,
        OPT_KEYS_DIR,
        OPT_VERSION,
        OPT_HELP,
};

static int parse_option(Options *o, int c, const char *arg) {
        int r;

        switch (c) {
        case OPT_SCHEME:
                r = up_key_scheme_from_name(arg);
                if (r < 0 || r == UP_SCHEME_RSA_PKCS1V15_SHA256)
                        return -EINVAL;
                o->scheme = (UpKeyScheme) r;
                return 0;
        case OPT_TARGETS:       return parse_u64(arg, 0, 100000000, &o->n_targets);
        case OPT_TARGET_SIZE:   return parse_u64(arg, 0, 1u << 30, &o->target_size);
        case OPT_DELEGATE:      return parse_delegation(o, arg);
        case OPT_ROOT_VERSIONS: return parse_u64(arg, 1, 10000, &o->root_versions);
        case OPT_EXPIRES_DAYS:  return parse_u64(arg, 0, 100 * 365, &o->expires_days);
        case OPT_META_HASHES:   o->meta_hashes = true; return 0;
        case OPT_NO_CONSISTENT: o->consistent_snapshot = false; return 0;
        case OPT_KEYS_DIR:      o->keys_dir = arg; return 0;
        case OPT_VERSION:       return parse_u64(arg, 1, 1000000, &o->version);
        default:                return -EINVAL;
        }
}

/* 1: --help, 0: options parsed, <0: error (reported). */
static int parse_argv(int argc, char *argv[], Options *o) {
        static const struct option options[] = {
                { "scheme", required_argument, NULL, OPT_SCHEME },
                { "targets", required_argument, NULL, OPT_TARGETS },
                { "target-size", required_argument, NULL, OPT_TARGET_SIZE },
                { "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
                { "version", required_argument, NULL, OPT_VERSION },
                { "delegate", required_argument, NULL, OPT_DELEGATE },
                { "root-versions", required_argument, NULL, OPT_ROOT_VERSIONS },
                { "expires-days", required_argument, NULL, OPT_EXPIRES_DAYS },
                { "meta-hashes", no_argument, NULL, OPT_META_HASHES },
                { "no-consistent-snapshot", no_argument, NULL, OPT_NO_CONSISTENT },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == OPT_HELP)
                        return 1;
                if (c == '?' || parse_option(o, c, optarg) < 0) {
                        if (c != '?')
                                fprintf(stderr, "up-test-repo: invalid value '%s' for --%s\n", optarg,
                                        options[c - OPT_SCHEME].name);
                        return -EINVAL;
                }
        }
        if (optind != argc - 1) {
                fprintf(stderr, "up-test-repo: exactly one OUTDIR expected\n");
                return -EINVAL;
        }
        o->outdir = argv[optind];
        return 0;
}

/* --- Artifacts ------------------------------------------------------------- */

/* Deterministic, distinct content for target i (xorshift64*). */
static void fill_content(uint64_t i, uint64_t version, uint8_t *buf, size_t len) {
        uint64_t x = (i + 1 + ((version - 1) << 32)) * 0x9E3779B97F4A7C15ull;

        for (size_t k = 0; k < len; k++) {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                buf[k] = (uint8_t) ((x * 0x2545F4914F6CDD1Dull) >> 56);
        }
}

static int write_all(const char *path, const void *data, size_t len) {
        const uint8_t *p = data;
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        int r = -errno;

                        close(fd);
                        return r;
                }
                p += n;
                len -= (size_t) n;
        }
        return close(fd) < 0 ? -errno : 0;
}

/* targets/<dir>/<file> and targets/<dir>/<sha256>.<file> (a hard link when possible). */
static int write_artifact(const char *targets_dir, uint64_t i, const char *sha256, const void *data, size_t len) {
        char plain[4096], hashed[4096];
        unsigned dir = (unsigned) (i % DIR_COUNT);
        int r;

        snprintf(plain, sizeof(plain), "%s/dir%u/file%" PRIu64 ".bin", targets_dir, dir, i);
        snprintf(hashed, sizeof(hashed), "%s/dir%u/%s.file%" PRIu64 ".bin", targets_dir, dir, sha256, i);
        r = write_all(plain, data, len);
        if (r < 0)
                return r;
        (void) unlink(hashed);
        if (link(plain, hashed) == 0)
                return 0;
        return write_all(hashed, data, len);
}

static const char *role_for(const Options *o, const char *path) {
        for (size_t k = 0; k < o->n_delegations; k++)
                if (fnmatch(o->delegations[k].pattern, path, FNM_PATHNAME) == 0)
                        return o->delegations[k].role;
        return "targets";
}

static int add_targets(const Options *o, TestRepo *repo, const char *targets_dir) {
        uint8_t *buf, digest[32];
        char path[256], sha256[65];
        int r = 0;

        for (unsigned d = 0; d < DIR_COUNT && d < o->n_targets; d++) {
                char dir[4096];

                snprintf(dir, sizeof(dir), "%s/dir%u", targets_dir, d);
                r = testrepo_mkdir_p(dir);
                if (r < 0)
                        return r;
        }
        buf = malloc(o->target_size + 1);
        if (!buf)
                return -ENOMEM;
        for (uint64_t i = 0; i < o->n_targets && r >= 0; i++) {
                snprintf(path, sizeof(path), "dir%u/file%" PRIu64 ".bin", (unsigned) (i % DIR_COUNT), i);
                fill_content(i, o->version, buf, o->target_size);
                r = up_hash_buffer(UP_HASH_SHA256, buf, o->target_size, digest);
                if (r < 0)
                        break;
                up_hex_encode(digest, sizeof(digest), sha256);
                r = write_artifact(targets_dir, i, sha256, buf, o->target_size);
                if (r >= 0)
                        r = testrepo_add_target_info(repo, role_for(o, path), path, (int64_t) o->target_size, sha256);
        }
        free(buf);
        return r;
}

/* --- Metadata --------------------------------------------------------------- */

static int set_all_expiries(const Options *o, TestRepo *repo, time_t expires) {
        static const char *const top_level[] = { "root", "timestamp", "snapshot", "targets" };
        int r;

        for (size_t i = 0; i < sizeof(top_level) / sizeof(top_level[0]); i++) {
                r = testrepo_set_expires(repo, top_level[i], expires);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < o->n_delegations; i++) {
                r = testrepo_set_expires(repo, o->delegations[i].role, expires);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Root v+1: new root and timestamp keys, signed by the old and new root keys. */
static int publish_rotated_root(TestRepo *repo) {
        UpKey *old = up_key_ref(testrepo_signer(repo, "root", 0));
        int r;

        r = testrepo_rotate_keys(repo, "root");
        if (r >= 0)
                r = testrepo_rotate_keys(repo, "timestamp");
        if (r >= 0)
                r = testrepo_add_signer(repo, "root", old, NULL);
        if (r >= 0)
                r = testrepo_publish(repo, "root");
        if (r >= 0)
                r = testrepo_remove_signer(repo, "root", old);
        up_key_unref(old);
        return r;
}

static int add_delegations(const Options *o, TestRepo *repo) {
        for (size_t i = 0; i < o->n_delegations; i++) {
                int r = testrepo_add_delegation(repo, "targets", o->delegations[i].role, false, 1,
                                                o->delegations[i].pattern, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every role at version 1, except root (1..K). Nothing of the repository's
 * initial versions is kept: they are signed again. */
static int build_repository(const Options *o, TestRepo *repo, const char *targets_dir) {
        int r;

        testrepo_set_compute_metafile_hashes_length(repo, o->meta_hashes);
        r = testrepo_set_consistent_snapshot(repo, o->consistent_snapshot);
        if (r >= 0)
                r = add_delegations(o, repo);
        if (r >= 0)
                r = set_all_expiries(o, repo, time(NULL) + (time_t) o->expires_days * 86400);
        if (r >= 0)
                r = testrepo_publish_no_bump(repo, "root");
        for (uint64_t v = 2; r >= 0 && v <= o->root_versions; v++)
                r = publish_rotated_root(repo);
        if (r >= 0)
                r = add_targets(o, repo, targets_dir);
        for (size_t i = 0; r >= 0 && i < o->n_delegations; i++) {
                r = testrepo_set_version(repo, o->delegations[i].role, (int64_t) o->version);
                if (r >= 0)
                        r = testrepo_publish_no_bump(repo, o->delegations[i].role);
        }
        if (r >= 0)
                r = testrepo_set_version(repo, "targets", (int64_t) o->version);
        if (r >= 0)
                r = testrepo_publish_no_bump(repo, "targets");
        /* update_snapshot() publishes snapshot and timestamp one version up. */
        if (r >= 0)
                r = testrepo_set_version(repo, "snapshot", (int64_t) o->version - 1);
        if (r >= 0)
                r = testrepo_set_version(repo, "timestamp", (int64_t) o->version - 1);
        if (r >= 0)
                r = testrepo_update_snapshot(repo);
        return r;
}

/* The same keys in every run that names keys_dir: one repository, new versions. */
static int use_keys_dir(const Options *o, TestRepo *repo) {
        static const char *const top_level[] = { "root", "timestamp", "snapshot", "targets" };
        int r;

        if (!o->keys_dir)
                return 0;
        r = testrepo_mkdir_p(o->keys_dir);
        for (size_t i = 0; r >= 0 && i < sizeof(top_level) / sizeof(top_level[0]); i++) {
                char path[4096];
                UpKey *key = NULL;

                snprintf(path, sizeof(path), "%s/%s.key", o->keys_dir, top_level[i]);
                if (access(path, F_OK) < 0) {
                        r = up_key_save_private(testrepo_signer(repo, top_level[i], 0), path);
                        continue;
                }
                r = up_key_load_private(path, &key);
                if (r >= 0)
                        r = testrepo_remove_key(repo, top_level[i], testrepo_signer(repo, top_level[i], 0));
                if (r >= 0)
                        r = testrepo_add_existing_key(repo, top_level[i], key);
                up_key_unref(key);
        }
        return r;
}

static void options_done(Options *o) {
        for (size_t i = 0; i < o->n_delegations; i++) {
                free(o->delegations[i].role);
                free(o->delegations[i].pattern);
        }
}

static int run(const Options *o) {
        TestRepo *repo = NULL;
        char *targets_dir = NULL;
        int r;

        if (asprintf(&targets_dir, "%s/targets", o->outdir) < 0)
                return -ENOMEM;
        r = testrepo_mkdir_p(targets_dir);
        if (r >= 0)
                r = testrepo_new(o->scheme, &repo);
        if (r >= 0)
                r = use_keys_dir(o, repo);
        if (r >= 0)
                r = build_repository(o, repo, targets_dir);
        if (r >= 0)
                r = testrepo_write_dir(repo, o->outdir);
        if (r >= 0)
                printf("%s: root v1..%" PRIu64 ", %" PRIu64 " targets of %" PRIu64 " bytes, %zu delegated roles, "
                       "%s, consistent snapshot %s\n",
                       o->outdir, o->root_versions, o->n_targets, o->target_size, o->n_delegations,
                       up_key_scheme_name(o->scheme), o->consistent_snapshot ? "on" : "off");
        testrepo_free(repo);
        free(targets_dir);
        return r;
}

int main(int argc, char *argv[]) {
        Options o = {
                .scheme = UP_SCHEME_ED25519,
                .n_targets = 10,
                .target_size = 1024,
                .root_versions = 1,
                .expires_days = 365,
                .version = 1,
                .consistent_snapshot = true,
        };
        int r;

        r = parse_argv(argc, argv, &o);
        if (r != 0) {
                usage(r > 0 ? stdout : stderr);
                options_done(&o);
                return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        r = run(&o);
        if (r < 0)
                fprintf(stderr, "up-test-repo: %s: %s\n", o.outdir, strerror(-r));
        options_done(&o);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
