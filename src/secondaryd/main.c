/* SPDX-License-Identifier: MIT */
/*
 * uptane-secondaryd: the reference Uptane Secondary, serving the
 * Uptane-over-UDS mapping (docs/POUF.md) on DoIP and ISO-TP. This file reads
 * the command line and the configuration; secondary_daemon.c runs the loop.
 *
 * Exit status: 0 stopped, 64 usage error, 70 the state cannot be set up,
 * 78 configuration error (also a transport this host cannot provide).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "secondary_config.h"
#include "secondary_daemon.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

static const char *arg_config = SECONDARY_CONFIG_DEFAULT_PATH;
static bool arg_check = false;
static bool arg_print_default = false;

static void help(void) {
        printf("Usage: uptane-secondaryd [OPTIONS]\n"
               "The reference Uptane Secondary: verifies and installs what its Primary sends over UDS\n"
               "(DoIP or ISO-TP).\n\n"
               "  --config FILE     configuration file (default %s);\n"
               "                    drop-ins are read from FILE.d/*.conf\n"
               "  --check-config    check the configuration, print the effective one\n"
               "  --print-default-config\n"
               "                    print every key commented out at its default\n"
               "                    (conf/uptane-secondary.conf)\n"
               "  --help            show this help\n"
               "  --version         show the version\n\n"
               "Exit status: 0 stopped, 64 usage error, 70 state error, 78 configuration error.\n",
               SECONDARY_CONFIG_DEFAULT_PATH);
}

/* 1: done (help, version); 0: go on; < 0: usage error. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_CONFIG = 256, ARG_CHECK, ARG_PRINT_DEFAULT, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "print-default-config", no_argument, NULL, ARG_PRINT_DEFAULT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_CHECK:
                        arg_check = true;
                        break;
                case ARG_PRINT_DEFAULT:
                        arg_print_default = true;
                        break;
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("uptane-secondaryd %s\n", PROJECT_VERSION);
                        return 1;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "uptane-secondaryd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv) {
        SecondaryConfig c;
        char *message = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r != 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;
        if (arg_print_default)
                return secondary_config_print_default(stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = secondary_config_init(&c);
        if (r < 0) {
                fprintf(stderr, "uptane-secondaryd: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = secondary_config_load(&c, arg_config, &message);
        if (r < 0) {
                fprintf(stderr, "%s\n", message ?: strerror(-r));
                free(message);
                secondary_config_done(&c);
                return r == -ENOMEM ? EXIT_FAILURE : EX_CONFIG;
        }
        if (arg_check) {
                r = secondary_config_print(&c, stdout);
                secondary_config_done(&c);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        log_open("uptane-secondaryd");
        r = secondary_daemon_run(&c);
        secondary_config_done(&c);
        return r;
}
