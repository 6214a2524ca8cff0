/* SPDX-License-Identifier: MIT */
/*
 * uptane-tuf-client: a TUF client on the command line (init / refresh /
 * download), speaking the protocol of the TUF conformance suite. Exit status
 * is exactly 0 (success) or 1 (any failure).
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uptane/error.h"
#include "uptane/storage.h"
#include "uptane/updater.h"

#define MAX_TARGET_NAMES 1024
#define MAX_ROOT_FILE (512u * 1024u)

typedef struct Args {
        const char *metadata_dir;
        const char *metadata_url;
        const char *target_dir;
        const char *target_base_url;
        const char *target_names[MAX_TARGET_NAMES];
        size_t n_target_names;
        const char *command;
        const char *command_arg;
} Args;

static void usage(FILE *f) {
        fputs("Usage: uptane-tuf-client --metadata-dir DIR init TRUSTED_ROOT\n"
              "       uptane-tuf-client --metadata-dir DIR --metadata-url URL refresh\n"
              "       uptane-tuf-client --metadata-dir DIR --metadata-url URL --target-dir DIR\n"
              "                         --target-base-url URL --target-name PATH [--target-name PATH...] download\n"
              "Exit status: 0 on success, 1 on any failure.\n",
              f);
}

static int parse_args(int argc, char **argv, Args *a) {
        enum { OPT_MD_DIR = 256, OPT_MD_URL, OPT_T_DIR, OPT_T_URL, OPT_T_NAME };
        static const struct option options[] = {
                { "metadata-dir",    required_argument, NULL, OPT_MD_DIR },
                { "metadata-url",    required_argument, NULL, OPT_MD_URL },
                { "target-dir",      required_argument, NULL, OPT_T_DIR  },
                { "target-base-url", required_argument, NULL, OPT_T_URL  },
                { "target-name",     required_argument, NULL, OPT_T_NAME },
                { "help",            no_argument,       NULL, 'h'        },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_MD_DIR: a->metadata_dir = optarg; break;
                case OPT_MD_URL: a->metadata_url = optarg; break;
                case OPT_T_DIR:  a->target_dir = optarg; break;
                case OPT_T_URL:  a->target_base_url = optarg; break;
                case OPT_T_NAME:
                        if (a->n_target_names >= MAX_TARGET_NAMES) {
                                fprintf(stderr, "too many --target-name options (at most %d)\n", MAX_TARGET_NAMES);
                                return -E2BIG;
                        }
                        a->target_names[a->n_target_names++] = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return -EINVAL;
        }
        a->command = argv[optind++];
        if (optind < argc)
                a->command_arg = argv[optind++];
        if (optind < argc || !a->metadata_dir) {
                usage(stderr);
                return -EINVAL;
        }
        return 1;
}

/* init: trust the given root. It is checked here already (a bad one would
 * also be refused by refresh, before any request). */
static int cmd_init(const Args *a) {
        uint8_t *data = NULL;
        size_t len;
        int r;

        if (!a->command_arg) {
                fprintf(stderr, "init needs the trusted root file\n");
                return -EINVAL;
        }
        r = up_read_file(a->command_arg, MAX_ROOT_FILE, &data, &len);
        if (r < 0) {
                fprintf(stderr, "cannot read '%s': %s\n", a->command_arg, up_strerror(r));
                return r;
        }
        r = up_write_file_atomic(a->metadata_dir, "root.json", data, len, 0644);
        free(data);
        if (r < 0)
                fprintf(stderr, "cannot store root in '%s': %s\n", a->metadata_dir, up_strerror(r));
        return r;
}

static int download_one(UpUpdater *u, const char *name) {
        UpTargetInfo *t = NULL;
        int r;

        r = up_updater_get_target_info(u, name, &t);
        if (r < 0)
                return r;
        if (up_updater_find_cached_target(u, t) == 0) {
                fprintf(stderr, "%s: cached copy is valid\n", name);
                up_target_info_free(t);
                return 0;
        }
        r = up_updater_download_target(u, t);
        if (r >= 0)
                fprintf(stderr, "%s: downloaded and verified (%lld bytes)\n", name, (long long) t->length);
        up_target_info_free(t);
        return r;
}

static int cmd_update(const Args *a, UpHttpFetcher *http) {
        UpUpdaterConfig cfg = {
                .metadata_dir = a->metadata_dir,
                .metadata_url = a->metadata_url,
                .target_dir = a->target_dir,
                .target_base_url = a->target_base_url,
                .now = time(NULL),
                .fetcher = up_http_fetcher_as_fetcher(http),
        };
        UpUpdater *u = NULL;
        int r;

        if (!a->metadata_url) {
                fprintf(stderr, "%s needs --metadata-url\n", a->command);
                return -EINVAL;
        }
        r = up_updater_new(&cfg, &u);
        if (r < 0) {
                fprintf(stderr, "trusted root in '%s' is not usable: %s\n", a->metadata_dir, up_strerror(r));
                return r;
        }
        r = up_updater_refresh(u);
        for (size_t i = 0; r >= 0 && i < a->n_target_names; i++)
                r = download_one(u, a->target_names[i]);
        if (r < 0)
                fprintf(stderr, "%s failed: %s [%s]\n", a->command, up_updater_error(u),
                        up_attack_name(up_error_attack(r)));
        up_updater_free(u);
        return r;
}

int main(int argc, char **argv) {
        UpHttpFetcher *http = NULL;
        Args a = {};
        int r;

        r = parse_args(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (strcmp(a.command, "init") == 0)
                return cmd_init(&a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (strcmp(a.command, "download") == 0 && (!a.target_dir || !a.target_base_url || a.n_target_names == 0)) {
                fprintf(stderr, "download needs --target-dir, --target-base-url and --target-name\n");
                return EXIT_FAILURE;
        }
        if (strcmp(a.command, "refresh") != 0 && strcmp(a.command, "download") != 0) {
                fprintf(stderr, "unknown command '%s'\n", a.command);
                return EXIT_FAILURE;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_FAILURE;
        r = up_http_fetcher_new(NULL, &http);
        if (r >= 0)
                r = cmd_update(&a, http);
        up_http_fetcher_free(http);
        curl_global_cleanup();
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
