/* SPDX-License-Identifier: MIT */
/*
 * uptane-primaryd: the Uptane Primary daemon. This file reads the command
 * line and the configuration; daemon.c runs the loop, cycle.c the updates.
 *
 * Exit status: 0 success, 64 usage error, 78 configuration error; with
 * --once: 0 up to date or updated, 65 an attack or verification failure,
 * 75 a temporary failure; 70 when the state cannot be set up.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

typedef enum Action {
        ACTION_RUN,
        ACTION_CHECK_CONFIG,
        ACTION_PRINT_DEFAULT_CONFIG,
        ACTION_PRINT_CONFIG_REFERENCE,
        ACTION_HELP,
        ACTION_VERSION,
} Action;

static const char *arg_config = PRIMARY_CONFIG_DEFAULT_PATH;
static Action arg_action = ACTION_RUN;
static bool arg_once = false;

static void help(void) {
        printf("Usage: uptane-primaryd [OPTIONS]\n"
               "The Uptane Primary daemon: checks for, verifies and installs updates.\n\n"
               "  --config FILE             configuration file (default %s);\n"
               "                            drop-ins are read from FILE.d/*.conf\n"
               "  --once                    run one update cycle in the foreground and exit\n"
               "  --check-config            check the configuration, print the effective one\n"
               "  --print-default-config    print every key commented out at its default\n"
               "  --print-config-reference  print the configuration reference (Markdown)\n"
               "  --help                    show this help\n"
               "  --version                 show the version\n\n"
               "Exit status: 0 success, 64 usage error, 78 configuration error; with --once\n"
               "0 up to date or updated, 65 attack or verification failure, 75 temporary failure.\n",
               PRIMARY_CONFIG_DEFAULT_PATH);
}

/* < 0: usage error, reported. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_CONFIG = 256, ARG_ONCE, ARG_CHECK, ARG_PRINT_DEFAULT, ARG_PRINT_REFERENCE, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "once", no_argument, NULL, ARG_ONCE },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "print-default-config", no_argument, NULL, ARG_PRINT_DEFAULT },
                { "print-config-reference", no_argument, NULL, ARG_PRINT_REFERENCE },
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
                case ARG_ONCE:
                        arg_once = true;
                        break;
                case ARG_CHECK:
                        arg_action = ACTION_CHECK_CONFIG;
                        break;
                case ARG_PRINT_DEFAULT:
                        arg_action = ACTION_PRINT_DEFAULT_CONFIG;
                        break;
                case ARG_PRINT_REFERENCE:
                        arg_action = ACTION_PRINT_CONFIG_REFERENCE;
                        break;
                case 'h':
                        arg_action = ACTION_HELP;
                        break;
                case ARG_VERSION:
                        arg_action = ACTION_VERSION;
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }
        if (optind < argc) {
                fprintf(stderr, "uptane-primaryd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static int exit_status(int r) {
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int run_daemon(PrimaryConfig *c) {
        Daemon d = { .config = *c, .config_path = arg_config, .once = arg_once };
        int r;

        log_open("uptane-primaryd");
        r = daemon_run(&d);
        primary_config_done(&d.config);
        return r == CYCLE_UPDATED ? 0 : r;
}

/* Loads, checks and, for --check-config, prints the configuration. */
static int run(void) {
        PrimaryConfig c;
        char *message = NULL;
        int r;

        r = primary_config_init(&c);
        if (r < 0) {
                fprintf(stderr, "uptane-primaryd: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = primary_config_load(&c, arg_config, &message);
        if (r < 0) {
                fprintf(stderr, "%s\n", message ?: strerror(-r));
                free(message);
                primary_config_done(&c);
                return r == -ENOMEM ? EXIT_FAILURE : EX_CONFIG;
        }
        if (arg_action == ACTION_CHECK_CONFIG) {
                r = exit_status(primary_config_print(&c, stdout));
                primary_config_done(&c);
                return r;
        }
        return run_daemon(&c);
}

int main(int argc, char **argv) {
        if (parse_argv(argc, argv) < 0)
                return EX_USAGE;

        switch (arg_action) {
        case ACTION_HELP:
                help();
                return exit_status(fflush(stdout) == 0 ? 0 : -EIO);
        case ACTION_VERSION:
                printf("uptane-primaryd %s\n", PROJECT_VERSION);
                return exit_status(fflush(stdout) == 0 ? 0 : -EIO);
        case ACTION_PRINT_DEFAULT_CONFIG:
                return exit_status(primary_config_print_default(stdout));
        case ACTION_PRINT_CONFIG_REFERENCE:
                return exit_status(primary_config_print_reference(stdout));
        default:
                return run();
        }
}
