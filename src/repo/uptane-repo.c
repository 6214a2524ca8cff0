/* SPDX-License-Identifier: MIT */
/*
 * uptane-repo: Image and Director repositories on the command line, a thin
 * layer over uptane/repository.h and uptane/director.h. Git-style
 * subcommands, each with --help. Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/repository.h"
#include "uptane/storage.h"

#define _unused_ __attribute__((unused))

#define EXIT_USAGE 2
#define MAX_MULTI 256
#define MAX_CONTENT (64u * 1024u * 1024u)

enum {
        OPT_REPO = 'r',
        OPT_HELP = 'h',
        OPT_IMAGE_REPO = 256,
        OPT_DIRECTOR,
        OPT_NAME,
        OPT_ROLE,
        OPT_HARDWARE_ID,
        OPT_RELEASE_COUNTER,
        OPT_FORMAT,
        OPT_URI,
        OPT_PATH,
        OPT_DELEGATOR,
        OPT_THRESHOLD,
        OPT_KEYS,
        OPT_TERMINATING,
        OPT_BUMP,
        OPT_SCHEME,
        OPT_EXPIRES,
        OPT_JSON,
        OPT_VIN,
        OPT_ECU,
        OPT_CONTENT,
        OPT_SIZE,
        OPT_TARGET,
        OPT_OSTREE_COMMIT,
};

static const struct option all_options[] = {
        { "repo",            required_argument, NULL, OPT_REPO            },
        { "help",            no_argument,       NULL, OPT_HELP            },
        { "image-repo",      required_argument, NULL, OPT_IMAGE_REPO      },
        { "director",        required_argument, NULL, OPT_DIRECTOR        },
        { "name",            required_argument, NULL, OPT_NAME            },
        { "role",            required_argument, NULL, OPT_ROLE            },
        { "hardware-id",     required_argument, NULL, OPT_HARDWARE_ID     },
        { "release-counter", required_argument, NULL, OPT_RELEASE_COUNTER },
        { "format",          required_argument, NULL, OPT_FORMAT          },
        { "uri",             required_argument, NULL, OPT_URI             },
        { "path",            required_argument, NULL, OPT_PATH            },
        { "delegator",       required_argument, NULL, OPT_DELEGATOR       },
        { "threshold",       required_argument, NULL, OPT_THRESHOLD       },
        { "keys",            required_argument, NULL, OPT_KEYS            },
        { "terminating",     no_argument,       NULL, OPT_TERMINATING     },
        { "bump",            required_argument, NULL, OPT_BUMP            },
        { "scheme",          required_argument, NULL, OPT_SCHEME          },
        { "expires",         required_argument, NULL, OPT_EXPIRES         },
        { "json",            no_argument,       NULL, OPT_JSON            },
        { "vin",             required_argument, NULL, OPT_VIN             },
        { "ecu",             required_argument, NULL, OPT_ECU             },
        { "content",         required_argument, NULL, OPT_CONTENT         },
        { "size",            required_argument, NULL, OPT_SIZE            },
        { "target",          required_argument, NULL, OPT_TARGET          },
        { "ostree-commit",   required_argument, NULL, OPT_OSTREE_COMMIT   },
        {}
};

/* Everything any subcommand takes; each command says which options it allows. */
typedef struct Args {
        const char *repo, *image_repo, *director, *name, *role, *format, *uri, *delegator, *scheme;
        const char *vin, *ecu, *content, *target, *ostree_commit;
        const char *hardware_ids[MAX_MULTI], *paths[MAX_MULTI], *bump[MAX_MULTI];
        const char *thresholds[MAX_MULTI], *expires[MAX_MULTI];
        size_t n_hardware_ids, n_paths, n_bump, n_thresholds, n_expires;
        const char *release_counter, *keys, *size;
        bool terminating, json, help;
        char **pos;
        size_t n_pos;
        time_t now;
} Args;

/* What a command does to a repository: it prints what it did, and returns
 * 0 or a negative errno (the repository says why). */
typedef int (*RepoOp)(UpRepo *repo, const Args *a, const void *userdata);

typedef struct Command {
        const char *name;
        const char *options; /* allowed long options, each followed by a space */
        size_t min_pos, max_pos;
        int (*run)(const Args *a);
        const char *help;
        bool repo_optional;
        RepoOp op;           /* instead of run: op on the repository --repo */
} Command;

static const char *program = "uptane-repo";

/* --- Parsing -------------------------------------------------------------------- */

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s %s--help'.\n", program, cmd ? cmd : "");
        return EXIT_USAGE;
}

static bool option_allowed(const Command *c, const char *name) {
        size_t n = strlen(name);

        if (strcmp(name, "help") == 0)
                return true;
        for (const char *p = c->options; *p;) {
                const char *space = strchr(p, ' ');
                size_t len = space ? (size_t) (space - p) : strlen(p);

                if (len == n && strncmp(p, name, n) == 0)
                        return true;
                p += len + (space ? 1 : 0);
        }
        return false;
}

static int push(const char **v, size_t *n, const char *s, const char *opt) {
        if (*n >= MAX_MULTI)
                return usage_error(NULL, "too many --%s options (at most %d)", opt, MAX_MULTI);
        v[(*n)++] = s;
        return 0;
}

static int store_option(Args *a, int c, const char *name) {
        switch (c) {
        case OPT_REPO:            a->repo = optarg; break;
        case OPT_HELP:            a->help = true; break;
        case OPT_IMAGE_REPO:      a->image_repo = optarg; break;
        case OPT_DIRECTOR:        a->director = optarg; break;
        case OPT_NAME:            a->name = optarg; break;
        case OPT_ROLE:            a->role = optarg; break;
        case OPT_RELEASE_COUNTER: a->release_counter = optarg; break;
        case OPT_FORMAT:          a->format = optarg; break;
        case OPT_URI:             a->uri = optarg; break;
        case OPT_DELEGATOR:       a->delegator = optarg; break;
        case OPT_KEYS:            a->keys = optarg; break;
        case OPT_TERMINATING:     a->terminating = true; break;
        case OPT_SCHEME:          a->scheme = optarg; break;
        case OPT_JSON:            a->json = true; break;
        case OPT_VIN:             a->vin = optarg; break;
        case OPT_ECU:             a->ecu = optarg; break;
        case OPT_CONTENT:         a->content = optarg; break;
        case OPT_SIZE:            a->size = optarg; break;
        case OPT_TARGET:          a->target = optarg; break;
        case OPT_OSTREE_COMMIT:   a->ostree_commit = optarg; break;
        case OPT_HARDWARE_ID:     return push(a->hardware_ids, &a->n_hardware_ids, optarg, name);
        case OPT_PATH:            return push(a->paths, &a->n_paths, optarg, name);
        case OPT_BUMP:            return push(a->bump, &a->n_bump, optarg, name);
        case OPT_THRESHOLD:       return push(a->thresholds, &a->n_thresholds, optarg, name);
        case OPT_EXPIRES:         return push(a->expires, &a->n_expires, optarg, name);
        default:                  return EXIT_USAGE;
        }
        return 0;
}

static const char *option_name(int c) {
        for (const struct option *o = all_options; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

static int parse_command_args(const Command *c, int argc, char **argv, Args *a) {
        int ch, r;

        optind = 0; /* GNU getopt: start over on this argv */
        opterr = 0;
        while ((ch = getopt_long(argc, argv, ":r:h", all_options, NULL)) >= 0) {
                if (ch == '?')
                        return usage_error(c->name, "'%s': unknown option '%s'", c->name, argv[optind - 1]);
                if (ch == ':')
                        return usage_error(c->name, "'%s': option '%s' needs a value", c->name, argv[optind - 1]);
                if (!option_allowed(c, option_name(ch)))
                        return usage_error(c->name, "'%s' takes no --%s", c->name, option_name(ch));
                r = store_option(a, ch, option_name(ch));
                if (r != 0)
                        return r;
        }
        a->pos = argv + optind;
        a->n_pos = (size_t) (argc - optind);
        if (a->help)
                return 0;
        if (a->n_pos < c->min_pos || a->n_pos > c->max_pos)
                return usage_error(c->name, "'%s' takes %zu to %zu arguments, not %zu", c->name, c->min_pos,
                                   c->max_pos, a->n_pos);
        if (!c->repo_optional && option_allowed(c, "repo") && !a->repo)
                return usage_error(c->name, "'%s' needs --repo DIR", c->name);
        return 0;
}

static int parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* N with an optional unit s, m, h, d or w; no unit means days. */
static int parse_duration(const char *s, int64_t *ret) {
        static const struct { char unit; int64_t seconds; } units[] = {
                { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
        };
        size_t n = strlen(s);
        char num[32];
        int64_t mul = 86400;
        uint64_t v;

        if (n == 0 || n >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, n + 1);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (num[n - 1] == units[i].unit) {
                        mul = units[i].seconds;
                        num[n - 1] = '\0';
                }
        if (parse_uint64(num, (uint64_t) (INT64_MAX / mul), &v) < 0 || v == 0)
                return -EINVAL;
        *ret = (int64_t) v * mul;
        return 0;
}

static int parse_role_type(const char *s, UpRoleType *ret) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (strcmp(s, up_role_type_name(t)) == 0) {
                        *ret = t;
                        return 0;
                }
        return -EINVAL;
}

/* "ROLE=VALUE" */
static int split_role_value(const char *s, UpRoleType *ret_role, const char **ret_value) {
        const char *eq = strchr(s, '=');
        char role[16];

        if (!eq || (size_t) (eq - s) >= sizeof(role))
                return -EINVAL;
        memcpy(role, s, (size_t) (eq - s));
        role[eq - s] = '\0';
        *ret_value = eq + 1;
        return parse_role_type(role, ret_role);
}

static int parse_scheme(const char *s, UpKeyScheme *ret) {
        int k;

        if (!s || strcmp(s, "ed25519") == 0)
                k = UP_SCHEME_ED25519;
        else if (strcmp(s, "ecdsa") == 0)
                k = UP_SCHEME_ECDSA_SHA2_NISTP256;
        else if (strcmp(s, "rsa") == 0)
                k = UP_SCHEME_RSASSA_PSS_SHA256;
        else
                k = up_key_scheme_from_name(s);
        if (k < 0)
                return k;
        *ret = k;
        return 0;
}

/* --now: "YYYY-MM-DDTHH:MM:SSZ" or "@SECONDS". */
static int parse_now(const char *s, time_t *ret) {
        uint64_t v;

        if (s[0] == '@') {
                if (parse_uint64(s + 1, INT64_MAX, &v) < 0)
                        return -EINVAL;
                *ret = (time_t) v;
                return 0;
        }
        return up_parse_iso8601(s, ret);
}

/* --- Output helpers -------------------------------------------------------------- */

static int failed(const char *what, int r, const UpRepo *repo) {
        const char *why = repo && up_repo_error(repo)[0] ? up_repo_error(repo) : up_strerror(r);

        fprintf(stderr, "%s: %s: %s\n", program, what, why);
        return EXIT_FAILURE;
}

static int load(const char *dir, UpRepo **ret) {
        char *error = NULL;
        int r;

        r = up_repo_load(dir, ret, &error);
        if (r < 0) {
                fprintf(stderr, "%s: cannot open repository '%s': %s\n", program, dir,
                        error && *error ? error : up_strerror(r));
                free(error);
                return EXIT_FAILURE;
        }
        return 0;
}

/* Runs op on repo (which it frees); what names the command on failure. */
static int run_op(const char *what, UpRepo *repo, RepoOp op, const Args *a, const void *userdata) {
        int r;

        r = op(repo, a, userdata);
        if (r < 0)
                r = failed(what, r, repo);
        up_repo_free(repo);
        return r;
}

/* Prints what a command did, when it succeeded (r >= 0); returns r. */
static int report(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int report(int r, const char *fmt, ...) {
        va_list ap;

        if (r < 0)
                return r;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        return r;
}

/* Runs op on the repository --repo names. */
static int with_repo(const Args *a, const char *what, RepoOp op, const void *userdata) {
        UpRepo *repo = NULL;

        if (load(a->repo, &repo) != 0)
                return EXIT_FAILURE;
        return run_op(what, repo, op, a, userdata);
}

/* --- Repository commands ------------------------------------------------------------ */

static int init_options(const Args *a, UpRepoKind kind, UpRepoInitOptions *o) {
        *o = (UpRepoInitOptions) { .kind = kind };
        if (parse_scheme(a->scheme, &o->scheme) < 0)
                return usage_error("init ", "unknown key scheme '%s' (ed25519, ecdsa, rsa)", a->scheme);
        for (size_t i = 0; i < a->n_thresholds; i++) {
                const char *v;
                UpRoleType t;
                uint64_t n;

                if (split_role_value(a->thresholds[i], &t, &v) < 0 || parse_uint64(v, 64, &n) < 0 || n == 0)
                        return usage_error("init ", "--threshold wants ROLE=N (N from 1 to 64), not '%s'",
                                           a->thresholds[i]);
                o->threshold[t] = (unsigned) n;
        }
        for (size_t i = 0; i < a->n_expires; i++) {
                const char *v;
                UpRoleType t;

                if (split_role_value(a->expires[i], &t, &v) < 0 || parse_duration(v, &o->expires[t]) < 0)
                        return usage_error("init ", "--expires wants ROLE=DURATION (e.g. timestamp=12h), not '%s'",
                                           a->expires[i]);
        }
        return 0;
}

static int op_create(UpRepo *repo, const Args *a, const void *userdata) {
        const UpRepoInitOptions *o = userdata;

        return report(up_repo_create(repo, o, a->now), "created %s repository '%s' (%s keys in %s/keys)\n",
                      up_repo_kind_name(o->kind), a->repo, up_key_scheme_name(o->scheme), a->repo);
}

static int create(const Args *a, UpRepoKind kind) {
        UpRepoInitOptions o;
        UpRepo *repo = NULL;
        int r;

        r = init_options(a, kind, &o);
        if (r != 0)
                return r;
        r = up_repo_new(a->repo, &repo);
        if (r < 0)
                return failed("init", r, NULL);
        return run_op("init", repo, op_create, a, &o);
}

static int cmd_init(const Args *a) {
        return create(a, UP_REPO_IMAGE);
}

static int cmd_director_init(const Args *a) {
        return create(a, UP_REPO_DIRECTOR);
}

static int op_add_target(UpRepo *repo, const Args *a, const void *userdata) {
        const char *slash;

        if (a->ostree_commit)
                return report(up_repo_add_ostree_target(repo, userdata, a->ostree_commit),
                              "staged OSTree commit %s as '%s' in %s (run publish)\n", a->ostree_commit, a->name,
                              a->role ? a->role : "targets");
        slash = strrchr(a->pos[0], '/');
        return report(up_repo_add_target_file(repo, userdata, a->pos[0]), "staged '%s' in %s (run publish)\n",
                      a->name ? a->name : slash ? slash + 1 : a->pos[0], a->role ? a->role : "targets");
}

static int cmd_add_target(const Args *a) {
        UpRepoTarget t = {
                .name = a->name, .role = a->role, .hardware_ids = a->hardware_ids,
                .n_hardware_ids = a->n_hardware_ids, .format = a->format, .uri = a->uri,
        };
        uint64_t rc = 0;

        if (a->release_counter && parse_uint64(a->release_counter, INT64_MAX, &rc) < 0)
                return usage_error("add-target ", "invalid release counter '%s'", a->release_counter);
        if (a->ostree_commit && a->n_pos > 0)
                return usage_error("add-target ", "give FILE or --ostree-commit CSUM, not both");
        if (!a->ostree_commit && a->n_pos == 0)
                return usage_error("add-target ", "give FILE (or --ostree-commit CSUM --name NAME)");
        if (a->ostree_commit && !a->name)
                return usage_error("add-target ", "--ostree-commit needs --name NAME");
        t.release_counter = (int64_t) rc;
        return with_repo(a, "add-target", op_add_target, &t);
}

static int op_remove_target(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_repo_remove_target(repo, a->role, a->pos[0]), "unlisted '%s' (run publish)\n", a->pos[0]);
}

static int op_delegate(UpRepo *repo, _unused_ const Args *a, const void *userdata) {
        const UpRepoDelegation *d = userdata;

        return report(up_repo_delegate(repo, d), "delegated to '%s' (run publish)\n", d->role);
}

static int cmd_delegate(const Args *a) {
        UpRepoDelegation d = {
                .role = a->pos[0], .delegator = a->delegator, .paths = a->paths, .n_paths = a->n_paths,
                .terminating = a->terminating,
        };
        uint64_t threshold = 1, keys = 0;

        if (a->n_thresholds > 1 || (a->n_thresholds == 1 && (parse_uint64(a->thresholds[0], 64, &threshold) < 0 ||
                                                             threshold == 0)))
                return usage_error("delegate ", "--threshold wants one number from 1 to 64");
        if (a->keys && (parse_uint64(a->keys, 64, &keys) < 0 || keys == 0))
                return usage_error("delegate ", "--keys wants a number from 1 to 64");
        if (a->n_paths == 0)
                return usage_error("delegate ", "give at least one --path PATTERN");
        d.threshold = (unsigned) threshold;
        d.n_keys = (unsigned) keys;
        return with_repo(a, "delegate", op_delegate, &d);
}

static int op_publish(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_repo_publish(repo, a->bump, a->n_bump, a->now), "published '%s'\n", a->repo);
}

static int op_rotate(UpRepo *repo, const Args *a, const void *userdata) {
        const uint64_t *keys = userdata;

        return report(up_repo_rotate(repo, a->pos[0], (unsigned) *keys), "new keys for %s (run publish)\n",
                      a->pos[0]);
}

static int cmd_rotate(const Args *a) {
        uint64_t keys = 0;

        if (a->keys && (parse_uint64(a->keys, 64, &keys) < 0 || keys == 0))
                return usage_error("rotate ", "--keys wants a number from 1 to 64");
        return with_repo(a, "rotate", op_rotate, &keys);
}

static int op_revoke(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_repo_revoke(repo, a->pos[0]), "revoked %s (run publish)\n", a->pos[0]);
}

typedef struct Expiry {
        UpRoleType role;
        int64_t seconds;
} Expiry;

static int op_expires(UpRepo *repo, const Args *a, const void *userdata) {
        const Expiry *e = userdata;

        return report(up_repo_set_expires(repo, e->role, e->seconds), "%s now expires %" PRId64
                      " s after each publish\n", a->pos[0], e->seconds);
}

static int cmd_expires(const Args *a) {
        Expiry e;

        if (parse_role_type(a->pos[0], &e.role) < 0)
                return usage_error("expires ", "unknown role '%s' (root, targets, snapshot, timestamp)", a->pos[0]);
        if (parse_duration(a->pos[1], &e.seconds) < 0)
                return usage_error("expires ", "invalid duration '%s' (e.g. 30d, 12h)", a->pos[1]);
        return with_repo(a, "expires", op_expires, &e);
}

/* --- Status ---------------------------------------------------------------------------- */

static struct json_object *member(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);

        return v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : "-";
}

static void print_roles(struct json_object *roles) {
        printf("%-20s %8s  %-21s %-9s %-8s %s\n", "ROLE", "VERSION", "EXPIRES", "THRESHOLD", "PENDING", "KEYS");
        for (size_t i = 0; i < json_object_array_length(roles); i++) {
                struct json_object *r = json_object_array_get_idx(roles, i), *keys = member(r, "keys");

                printf("%-20s %8s  %-21s %-9s %-8s", str(r, "name"), str(r, "version"), str(r, "expires"),
                       str(r, "threshold"),
                       json_object_get_boolean(member(r, "pending")) ? "yes" :
                       json_object_get_boolean(member(r, "expired")) ? "expired" : "no");
                for (size_t j = 0; j < json_object_array_length(keys); j++) {
                        struct json_object *k = json_object_array_get_idx(keys, j);

                        printf(" %.16s%s", str(k, "keyid"),
                               json_object_get_boolean(member(k, "private")) ? "" : "(no private key)");
                }
                printf("\n");
        }
}

static void print_status(struct json_object *s) {
        struct json_object *targets = member(s, "targets"), *vehicles = member(s, "vehicles");
        struct json_object *retired = member(s, "retired_keys"), *attacks = member(s, "attacks");

        printf("repository %s (%s, %s keys)\n\n", str(s, "dir"), str(s, "kind"), str(s, "scheme"));
        print_roles(member(s, "roles"));
        if (strcmp(str(s, "kind"), "image") == 0) {
                printf("\n%zu staged target(s)\n", json_object_array_length(targets));
                for (size_t i = 0; i < json_object_array_length(targets); i++) {
                        struct json_object *t = json_object_array_get_idx(targets, i);

                        printf("  %-40s %-16s %10s bytes  releaseCounter %s\n", str(t, "name"), str(t, "role"),
                               str(t, "length"), str(t, "releaseCounter"));
                }
        } else {
                printf("\n%zu vehicle(s)\n", json_object_array_length(vehicles));
                for (size_t i = 0; i < json_object_array_length(vehicles); i++) {
                        struct json_object *v = json_object_array_get_idx(vehicles, i);

                        printf("  %-20s targets version %s, %s image(s)\n", str(v, "vin"), str(v, "version"),
                               str(v, "targets"));
                }
        }
        printf("\n%zu retired key(s)\n", json_object_array_length(retired));
        for (size_t i = 0; i < json_object_array_length(retired); i++)
                printf("  %s (%s)\n", str(json_object_array_get_idx(retired, i), "keyid"),
                       str(json_object_array_get_idx(retired, i), "role"));
        for (size_t i = 0; i < json_object_array_length(attacks); i++)
                printf("%sattack staged: %s\n", i ? "" : "\n", str(json_object_array_get_idx(attacks, i), "name"));
}

static int op_status(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        struct json_object *s = NULL;
        int r;

        r = up_repo_status(repo, a->now, &s);
        if (r < 0)
                return r;
        if (a->json)
                printf("%s\n",
                       json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                print_status(s);
        json_object_put(s);
        return 0;
}

/* --- Director commands ------------------------------------------------------------------- */

static int director_assign(const Args *a, UpRepo *director, UpRepo *image) {
        struct json_object *entry = NULL;
        char *image_file = NULL;
        int r;

        r = up_repo_find_target(image, a->pos[2], &entry, NULL);
        if (r < 0)
                return failed("director assign", r, image);
        r = up_repo_image_path(image, NULL, a->pos[2], member(entry, "hashes"), &image_file);
        if (r >= 0)
                r = up_director_assign(director, a->pos[0], &(UpDirectorAssignment) {
                        .ecu_serial = a->pos[1], .hardware_id = a->n_hardware_ids ? a->hardware_ids[0] : NULL,
                        .target_name = a->pos[2], .image_target = entry, .image_file = image_file,
                }, 1, a->now);
        json_object_put(entry);
        free(image_file);
        if (r < 0)
                return failed("director assign", r, director);
        printf("assigned '%s' to ECU %s of %s (published)\n", a->pos[2], a->pos[1], a->pos[0]);
        return 0;
}

static int cmd_director_assign(const Args *a) {
        UpRepo *director = NULL, *image = NULL;
        int r;

        if (!a->image_repo)
                return usage_error("director assign ", "give --image-repo DIR (where TARGET is published)");
        if (a->n_hardware_ids > 1)
                return usage_error("director assign ", "one --hardware-id only");
        if (load(a->repo, &director) != 0)
                return EXIT_FAILURE;
        if (load(a->image_repo, &image) != 0) {
                up_repo_free(director);
                return EXIT_FAILURE;
        }
        r = director_assign(a, director, image);
        up_repo_free(image);
        up_repo_free(director);
        return r;
}

static int op_director_clear(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        const char *ecu = a->n_pos > 1 ? a->pos[1] : NULL;

        return report(up_director_clear(repo, a->pos[0], ecu, a->now), "cleared %s%s%s (published)\n", a->pos[0],
                      ecu ? " ECU " : "", ecu ?: "");
}

static int op_director_add_vehicle(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_director_add_vehicle(repo, a->pos[0], a->now), "vehicle %s (published)\n", a->pos[0]);
}

/* --- Attacks ------------------------------------------------------------------------------- */

static const UpRepoAttackInfo *find_attack(const char *name) {
        for (const UpRepoAttackInfo *i = up_repo_attacks(); i->name; i++)
                if (strcmp(i->name, name) == 0)
                        return i;
        return NULL;
}

static int attack_options(const Args *a, UpRepoAttackOptions *o, uint8_t **content) {
        uint64_t size = 0;
        size_t len = 0;
        int r;

        if (a->size && (parse_uint64(a->size, MAX_CONTENT, &size) < 0 || size == 0))
                return usage_error("attack ", "--size wants a byte count up to %u", MAX_CONTENT);
        if (a->image_repo && a->director)
                return usage_error("attack ", "give --image-repo or --director, not both");
        if (a->content) {
                r = up_read_file(a->content, MAX_CONTENT, content, &len);
                if (r < 0) {
                        fprintf(stderr, "%s: cannot read '%s': %s\n", program, a->content, up_strerror(r));
                        return EXIT_FAILURE;
                }
        }
        *o = (UpRepoAttackOptions) {
                .vin = a->vin, .ecu_serial = a->ecu, .hardware_id = a->n_hardware_ids ? a->hardware_ids[0] : NULL,
                .target = a->target ? a->target : a->n_pos > 1 ? a->pos[1] : NULL, .role = a->role,
                .content = *content, .content_len = len, .size = (size_t) size, .now = a->now,
        };
        return 0;
}

static int run_attack(const Args *a, UpRepo *repo, UpRepo *other, UpRepoAttackOptions *o) {
        int r;

        o->other = other;
        r = up_repo_attack(repo, a->pos[0], o);
        if (r < 0)
                return failed(a->pos[0], r, repo);
        if (strcmp(a->pos[0], "save-timestamp") == 0)
                printf("saved the timestamp of '%s'%s%s\n", a->repo, a->vin ? " for " : "", a->vin ? a->vin : "");
        else
                printf("attack %s staged (undo: %s attack undo %s --repo %s)\n", a->pos[0], program, a->pos[0],
                       a->repo);
        return 0;
}

static int cmd_attack(const Args *a) {
        const char *other_dir = a->image_repo ? a->image_repo : a->director;
        UpRepo *repo = NULL, *other = NULL;
        uint8_t *content = NULL;
        UpRepoAttackOptions o;
        int r;

        if (!find_attack(a->pos[0]))
                return usage_error("attack ", "unknown attack '%s'", a->pos[0]);
        r = attack_options(a, &o, &content);
        if (r != 0)
                return r;
        r = load(a->repo, &repo);
        if (r == 0 && other_dir)
                r = load(other_dir, &other);
        if (r == 0)
                r = run_attack(a, repo, other, &o);
        up_repo_free(other);
        up_repo_free(repo);
        free(content);
        return r;
}

static int op_attack_undo(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_repo_attack_undo(repo, a->pos[0]), "undid %s\n", a->pos[0]);
}

static int op_attack_drop(UpRepo *repo, const Args *a, _unused_ const void *userdata) {
        return report(up_repo_attack_drop(repo, a->pos[0]), "dropped the backup of %s\n", a->pos[0]);
}

static int op_attack_list(UpRepo *repo, _unused_ const Args *a, _unused_ const void *userdata) {
        struct json_object *list = NULL;
        int r;

        r = up_repo_attack_list(repo, &list);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(list); i++)
                printf("%s\n", str(json_object_array_get_idx(list, i), "name"));
        json_object_put(list);
        return 0;
}

static int cmd_attack_list(const Args *a) {
        if (!a->repo) {
                for (const UpRepoAttackInfo *i = up_repo_attacks(); i->name; i++)
                        printf("%-26s %-4s %s\n", i->name, i->section, i->summary);
                return 0;
        }
        return with_repo(a, "attack list", op_attack_list, NULL);
}

/* --- Commands ------------------------------------------------------------------------------ */

#define INIT_HELP                                                                                          \
        "  --scheme S            key type: ed25519 (default), ecdsa, rsa\n"                                \
        "  --threshold ROLE=N    N keys and threshold N for ROLE (root, targets, snapshot, timestamp)\n"   \
        "  --expires ROLE=TIME   how long ROLE stays valid after each publish (N[smhdw], no unit: days);\n" \
        "                        defaults root=365d targets=90d snapshot=7d timestamp=1d\n"

static const Command commands[] = {
        { "init", "repo scheme threshold expires ", 0, 0, cmd_init,
          "init --repo DIR [--scheme S] [--threshold ROLE=N]... [--expires ROLE=TIME]...\n"
          "Creates an Image repository in DIR (new or empty): keys for root, targets, snapshot and timestamp\n"
          "(private keys 0600 in DIR/keys), and publishes version 1 of every role.\n" INIT_HELP },
        { "add-target", "repo name role hardware-id release-counter format uri ostree-commit ", 0, 1, cmd_add_target,
          "add-target --repo DIR FILE [--name NAME] [--role ROLE] [--hardware-id HW]... [--release-counter N]\n"
          "           [--format BINARY|OSTREE] [--uri URI]\n"
          "       add-target --repo DIR --ostree-commit CSUM --name NAME [--role ROLE] [--hardware-id HW]...\n"
          "           [--release-counter N] [--uri URI]\n"
          "Stages FILE as target NAME (default: its base name) in ROLE (default: targets; a delegated role must\n"
          "be delegated NAME), with custom.hardwareIds, releaseCounter (default 0), targetFormat (default\n"
          "BINARY) and uri. The image is stored as targets/HASH.NAME. Clients see it after publish.\n"
          "--ostree-commit: the OSTree commit CSUM (64 lower-case hex digits) instead of a file: length 0,\n"
          "sha256 CSUM, targetFormat OSTREE; nothing is stored (the device pulls the commit by checksum).\n" },
        { "remove-target", "repo role ", 1, 1, NULL,
          "remove-target --repo DIR NAME [--role ROLE]\n"
          "Unlists NAME from ROLE (default: from every role). Takes effect at publish.\n",
          .op = op_remove_target },
        { "delegate", "repo path delegator threshold keys terminating ", 1, 1, cmd_delegate,
          "delegate --repo DIR ROLE --path PATTERN... [--delegator ROLE] [--threshold N] [--keys N] [--terminating]\n"
          "Delegates the target paths matching the patterns ('*' does not match '/') from the delegator\n"
          "(default: targets) to the new role ROLE, with N new keys (default: the threshold, default 1).\n"
          "Add targets to it with add-target --role ROLE. Takes effect at publish.\n" },
        { "publish", "repo bump ", 0, 0, NULL,
          "publish --repo DIR [--bump ROLE]...\n"
          "Signs and writes a new version of every role that changed (content or keys), then snapshot and a new\n"
          "timestamp; --bump forces a new version of ROLE (e.g. to renew its expiry). Root N+1 is signed by the\n"
          "root keys of N and N+1. A Director republishes every vehicle.\n",
          .op = op_publish },
        { "rotate", "repo keys ", 1, 1, cmd_rotate,
          "rotate --repo DIR ROLE [--keys N]\n"
          "Replaces every key of ROLE (root, targets, snapshot, timestamp or a delegated role) by N new keys\n"
          "(default: as many as now); the old keys are retired. Takes effect at publish (a new root signed\n"
          "by the old and the new root keys).\n" },
        { "revoke", "repo ", 1, 1, NULL,
          "revoke --repo DIR KEYID\n"
          "Stops trusting the key KEYID in every role; a role left below its threshold gets new keys.\n"
          "Takes effect at publish.\n",
          .op = op_revoke },
        { "expires", "repo ", 2, 2, cmd_expires,
          "expires --repo DIR ROLE DURATION\n"
          "Sets how long ROLE (root, targets, snapshot, timestamp; delegated roles follow targets) stays valid\n"
          "after each publish: N[smhdw], no unit: days.\n" },
        { "status", "repo json ", 0, 0, NULL,
          "status --repo DIR [--json]\n"
          "Shows every role (published version, expiry, threshold, keys, whether a publish is pending), the\n"
          "targets or vehicles, retired keys and staged attacks.\n",
          .op = op_status },
        { "director init", "repo scheme threshold expires ", 0, 0, cmd_director_init,
          "director init --repo DIR [--scheme S] [--threshold ROLE=N]... [--expires ROLE=TIME]...\n"
          "Creates a Director repository: root, targets, snapshot and timestamp keys, root version 1.\n"
          "Vehicles get their metadata below DIR/vehicles/VIN/.\n" INIT_HELP },
        { "director assign", "repo image-repo hardware-id ", 3, 3, cmd_director_assign,
          "director assign --repo DIR --image-repo IMAGE VIN ECU_SERIAL TARGET [--hardware-id HW]\n"
          "Assigns ECU_SERIAL of vehicle VIN the image TARGET as IMAGE publishes it (length, hashes,\n"
          "releaseCounter, targetFormat, uri; hardware id: HW, which the image must list, or its only one),\n"
          "and publishes the vehicle's targets, snapshot and timestamp. The image is copied to\n"
          "DIR/vehicles/VIN/targets/ (not an OSTree commit: it has no file).\n" },
        { "director clear", "repo ", 1, 2, NULL,
          "director clear --repo DIR VIN [ECU_SERIAL]\n"
          "Unassigns one ECU (default: all) and publishes; an empty targets still carries custom.vin.\n",
          .op = op_director_clear },
        { "director add-vehicle", "repo ", 1, 1, NULL,
          "director add-vehicle --repo DIR VIN\n"
          "Publishes an empty targets (with custom.vin) for a new vehicle.\n",
          .op = op_director_add_vehicle },
        { "attack undo", "repo ", 1, 1, NULL,
          "attack undo NAME --repo DIR\n"
          "Restores, byte for byte, every file the attack NAME changed (in DIR and the other repository it\n"
          "was given). Attacks are undone in reverse order.\n",
          .op = op_attack_undo },
        { "attack drop", "repo ", 1, 1, NULL,
          "attack drop NAME --repo DIR\n"
          "Forgets the backup of the attack NAME, leaving the repository as it is.\n",
          .op = op_attack_drop },
        { "attack list", "repo ", 0, 0, cmd_attack_list,
          "attack list [--repo DIR]\n"
          "Lists the attacks (without --repo) or the attacks staged on DIR, oldest first.\n", true },
        { "attack", "repo image-repo director vin ecu hardware-id role content size target ", 1, 2, cmd_attack,
          "attack NAME --repo DIR [TARGET] [--image-repo DIR | --director DIR] [--vin VIN] [--ecu SERIAL]\n"
          "       [--hardware-id HW] [--role ROLE] [--content FILE] [--size BYTES]\n"
          "Stages the attack NAME for a demo or a test (see 'attack list'; 'attack NAME --help' for one);\n"
          "what it changes is saved below DIR/attack-backup/NAME/ for 'attack undo'.\n" },
        {}
};

static const Command *find_command(int argc, char **argv, int *ret_words) {
        char two[64];

        if (argc >= 2 && (strcmp(argv[0], "director") == 0 || strcmp(argv[0], "attack") == 0)) {
                snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
                for (const Command *c = commands; c->name; c++)
                        if (strcmp(c->name, two) == 0) {
                                *ret_words = 2;
                                return c;
                        }
        }
        for (const Command *c = commands; c->name; c++)
                if (strcmp(c->name, argv[0]) == 0) {
                        *ret_words = 1;
                        return c;
                }
        return NULL;
}

static void print_attack_help(const char *name) {
        const UpRepoAttackInfo *i = find_attack(name);

        if (!i)
                return;
        printf("\n%s%s%s: %s.\nA client: %s.\n", i->name, i->section[0] ? " (demo section " : "", i->section[0] ?
               i->section : "", i->summary, i->expected);
        if (i->section[0])
                printf("(see the Uptane reference demo README section %s)\n", i->section);
}

static void print_help(const Command *c, const Args *a) {
        printf("Usage: %s [--now TIME] %s", program, c->help);
        if (strcmp(c->name, "attack") == 0) {
                if (a->n_pos > 0 && find_attack(a->pos[0]))
                        print_attack_help(a->pos[0]);
                else
                        for (const UpRepoAttackInfo *i = up_repo_attacks(); i->name; i++)
                                printf("  %-26s %s\n", i->name, i->summary);
        }
}

static void usage(FILE *f) {
        fprintf(f, "Usage: %s [--now TIME] COMMAND [ARGS]\n"
                   "Uptane Image and Director repositories: keys, targets, delegations, publishing, and the\n"
                   "demo's attacks. TIME is YYYY-MM-DDTHH:MM:SSZ or @SECONDS (default: now).\n\nCommands:\n", program);
        for (const Command *c = commands; c->name; c++) {
                const char *nl = strchr(c->help, '\n');

                fprintf(f, "  %.*s\n", (int) (nl - c->help), c->help);
        }
        fprintf(f, "\n'%s COMMAND --help' describes one command. Exit status: 0 success, 1 failure, 2 usage.\n",
                program);
}

/* "director" alone, or with --help: what its subcommands are. */
static int group_usage(const char *group, bool help) {
        FILE *f = help ? stdout : stderr;
        size_t n = strlen(group);

        fprintf(f, "Usage: %s [--now TIME] %s SUBCOMMAND [ARGS]\n", program, group);
        for (const Command *c = commands; c->name; c++) {
                const char *nl = strchr(c->help, '\n');

                if (strncmp(c->name, group, n) == 0 && c->name[n] == ' ')
                        fprintf(f, "  %.*s\n", (int) (nl - c->help), c->help);
        }
        return help ? EXIT_SUCCESS : EXIT_USAGE;
}

static int parse_global(int argc, char **argv, time_t *now, int *ret_index) {
        static const struct option options[] = {
                { "now",     required_argument, NULL, 'n' },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                {}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        if (parse_now(optarg, now) < 0)
                                return usage_error(NULL, "--now wants YYYY-MM-DDTHH:MM:SSZ or @SECONDS, not '%s'",
                                                   optarg);
                        break;
                case 'h':
                        usage(stdout);
                        return -1;
                case 'V':
                        printf("%s (uptane-primaryd)\n", program);
                        return -1;
                default:
                        return usage_error(NULL, "unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        *ret_index = optind;
        return 0;
}

int main(int argc, char **argv) {
        const Command *c;
        Args a = {};
        int i = 0, words = 1, r;

        a.now = time(NULL);
        r = parse_global(argc, argv, &a.now, &i);
        if (r != 0)
                return r < 0 ? EXIT_SUCCESS : r;
        if (i >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        c = find_command(argc - i, argv + i, &words);
        if (!c && strcmp(argv[i], "director") == 0 && (i + 1 >= argc || strcmp(argv[i + 1], "--help") == 0 ||
                                                       strcmp(argv[i + 1], "-h") == 0))
                return group_usage(argv[i], i + 1 < argc);
        if (!c)
                return usage_error(NULL, "unknown command '%s%s%s'", argv[i], i + 1 < argc ? " " : "",
                                   i + 1 < argc && strcmp(argv[i], "director") == 0 ? argv[i + 1] : "");
        /* argv[i + words - 1] plays argv[0] for getopt. */
        r = parse_command_args(c, argc - i - words + 1, argv + i + words - 1, &a);
        if (r != 0)
                return r;
        if (a.help) {
                print_help(c, &a);
                return EXIT_SUCCESS;
        }
        if (c->op)
                return with_repo(&a, c->name, c->op, NULL);
        return c->run(&a);
}
