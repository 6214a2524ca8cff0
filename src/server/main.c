/* SPDX-License-Identifier: MIT */
/*
 * uptane-server: the Image repository, the Director and the time server of an
 * Uptane deployment in one daemon. Exit status: 0 after SIGTERM, 1 on a
 * runtime failure, 2 on a usage error, 78 on a configuration error. Under
 * systemd it sends READY=1, WATCHDOG=1 (with WatchdogSec=) and STOPPING=1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "inventory.h"
#include "refresh.h"
#include "server.h"
#include "uptane/json.h"
#include "uptane/key.h"

#define EXIT_USAGE 2
#define EXIT_CONFIG 78
#define DEFAULT_CONFIG "/etc/uptane-server.conf"

static void usage(FILE *f) {
        fputs("Usage: uptane-server [OPTIONS]\n"
              "Serves an Image repository, a Director and a time server over HTTP.\n\n"
              "  --config FILE              INI configuration (default " DEFAULT_CONFIG " if it exists)\n"
              "  --listen-address ADDR      numeric address to listen on (default 127.0.0.1)\n"
              "  --port N                   TCP port (default 8000; 0: any, printed at start)\n"
              "  --image DIR                Image repository made with uptane-repo\n"
              "  --director DIR             Director repository made with uptane-repo\n"
              "  --database FILE            the Director's inventory (SQLite)\n"
              "  --provisioning-token-file FILE  token that ECU registration must present\n"
              "  --timeserver-key FILE      time server private key (made if missing; public key\n"
              "                             written next to it as FILE.pub.json)\n"
              "  --check-config             print the effective configuration and exit\n"
              "  --help\n",
              f);
}

static int read_token_file(ServerConfig *c, const char *path) {
        char buf[512];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0] == '\0')
                return -EINVAL;
        free(c->provisioning_token);
        c->provisioning_token = strdup(buf);
        return c->provisioning_token ? 0 : -ENOMEM;
}

/* What parse_args() tells main(). */
enum { PARSE_CONFIG = -2, PARSE_USAGE = -1, PARSE_EXIT = 0, PARSE_RUN = 1 };

typedef struct Flag {
        const char *section, *key;
} Flag;

static int parse_args(int argc, char **argv, ServerConfig *c, bool *check_only) {
        enum { OPT_CONFIG = 256, OPT_TOKEN_FILE, OPT_CHECK, OPT_SETTING };
        static const struct option options[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "provisioning-token-file", required_argument, NULL, OPT_TOKEN_FILE },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                { "listen-address", required_argument, NULL, OPT_SETTING + 0 },
                { "port", required_argument, NULL, OPT_SETTING + 1 },
                { "image", required_argument, NULL, OPT_SETTING + 2 },
                { "director", required_argument, NULL, OPT_SETTING + 3 },
                { "database", required_argument, NULL, OPT_SETTING + 4 },
                { "timeserver-key", required_argument, NULL, OPT_SETTING + 5 },
                {}
        };
        static const Flag settings[] = {
                { "server", "listen-address" }, { "server", "port" }, { "repositories", "image" },
                { "repositories", "director" }, { "inventory", "database" }, { "timeserver", "key" },
        };
        const char *config = NULL;
        int opt, r;

        /* The config file first, whatever the order: flags override it. */
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                if (opt == OPT_CONFIG)
                        config = optarg;
                else if (opt == 'h') {
                        usage(stdout);
                        return PARSE_EXIT;
                } else if (opt == '?')
                        return PARSE_USAGE;
        if (config || access(DEFAULT_CONFIG, F_OK) == 0) {
                r = server_config_load(c, config ? config : DEFAULT_CONFIG);
                if (r < 0)
                        return PARSE_CONFIG;
        }
        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (opt == OPT_CHECK)
                        *check_only = true;
                else if (opt == OPT_TOKEN_FILE && read_token_file(c, optarg) < 0) {
                        fprintf(stderr, "cannot read a token from '%s'\n", optarg);
                        return PARSE_CONFIG;
                } else if (opt >= OPT_SETTING) {
                        const Flag *f = &settings[opt - OPT_SETTING];

                        if (server_config_set(c, f->section, f->key, optarg) < 0) {
                                fprintf(stderr, "--%s: invalid value '%s'\n", options[opt - OPT_SETTING + 4].name,
                                        optarg);
                                return PARSE_CONFIG;
                        }
                }
        }
        if (optind < argc) {
                fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
                return PARSE_USAGE;
        }
        return PARSE_RUN;
}

/* The time server's key: loaded, or made on first start with its public
 * half next to it for clients to pin. */
static int load_time_key(Server *s) {
        const char *path = s->cfg.timeserver_key;
        struct json_object *pub;
        char *pub_path = NULL;
        int r;

        if (!path)
                return 0;
        if (access(path, F_OK) == 0)
                return up_key_load_private(path, &s->time_key);
        r = up_key_generate(UP_SCHEME_ED25519, &s->time_key);
        if (r >= 0)
                r = up_key_save_private(s->time_key, path);
        if (r < 0 || asprintf(&pub_path, "%s.pub.json", path) < 0)
                return r < 0 ? r : -ENOMEM;
        pub = up_key_to_json(s->time_key);
        if (json_object_to_file_ext(pub_path, pub, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                r = -EIO;
        json_object_put(pub);
        if (r >= 0)
                log_msg(5, "time server key made: %s (public key %s)", path, pub_path);
        free(pub_path);
        return r;
}

static int make_address(const ServerConfig *c, struct sockaddr_storage *ret) {
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, c->listen_address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(c->port);
                return 0;
        }
        if (inet_pton(AF_INET6, c->listen_address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(c->port);
                return 0;
        }
        return -EINVAL;
}

static uint16_t bound_port(struct MHD_Daemon *d) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

        return info ? info->port : 0;
}

/* Serves until SIGTERM or SIGINT. */
static int serve(Server *s) {
        struct sockaddr_storage addr;
        struct MHD_Daemon *d = NULL;
        Refresher *refresher = NULL;
        uint64_t watchdog_usec = 0;
        sigset_t mask;
        int r, sig = 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* Before any thread starts, so that they all inherit it. */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (make_address(&s->cfg, &addr) < 0) {
                log_msg(3, "listen-address '%s' is not a numeric IPv4 or IPv6 address", s->cfg.listen_address);
                return -EINVAL;
        }
        r = http_start(s, (struct sockaddr *) &addr, &d);
        if (r < 0) {
                log_msg(3, "cannot listen on %s port %u", s->cfg.listen_address, s->cfg.port);
                return r;
        }
        r = refresher_start(s, &refresher);
        if (r < 0) {
                MHD_stop_daemon(d);
                return r;
        }
        log_msg(6, "listening on %s port %u", s->cfg.listen_address, bound_port(d));
        printf("listening on %s port %u\n", s->cfg.listen_address, bound_port(d));
        fflush(stdout);
        (void) sd_notify(0, "READY=1\nSTATUS=Serving");
        /* With WatchdogSec=, ping at half the interval while waiting for a signal. */
        if (sd_watchdog_enabled(0, &watchdog_usec) <= 0)
                watchdog_usec = 0;
        while (sig != SIGTERM && sig != SIGINT) {
                struct timespec ts = { .tv_sec = (time_t) (watchdog_usec / 2000000),
                                       .tv_nsec = (long) (watchdog_usec / 2 % 1000000) * 1000 };

                sig = watchdog_usec ? sigtimedwait(&mask, NULL, &ts) : sigwaitinfo(&mask, NULL);
                if (sig < 0 && errno == EAGAIN)
                        (void) sd_notify(0, "WATCHDOG=1");
                else if (sig < 0 && errno != EINTR)
                        break;
        }
        (void) sd_notify(0, "STOPPING=1");
        log_msg(6, "stopping");
        refresher = refresher_stop(refresher);
        /* Lets running requests finish: their transactions end before we close. */
        MHD_stop_daemon(d);
        return 0;
}

int main(int argc, char **argv) {
        Server s = {};
        bool check_only = false;
        int r;

        server_config_init(&s.cfg);
        r = parse_args(argc, argv, &s.cfg, &check_only);
        if (r <= PARSE_EXIT) {
                server_config_done(&s.cfg);
                return r == PARSE_EXIT ? EXIT_SUCCESS : r == PARSE_USAGE ? EXIT_USAGE : EXIT_CONFIG;
        }
        if (check_only) {
                server_config_print(&s.cfg);
                server_config_done(&s.cfg);
                return EXIT_SUCCESS;
        }
        pthread_mutex_init(&s.director_lock, NULL);
        r = load_time_key(&s);
        if (r < 0)
                log_msg(3, "time server key '%s': %s", s.cfg.timeserver_key, strerror(-r));
        if (r >= 0) {
                r = inventory_open(s.cfg.database, &s.inventory);
                if (r < 0)
                        log_msg(3, "inventory '%s': %s", s.cfg.database, strerror(-r));
        }
        if (r >= 0)
                r = serve(&s);
        inventory_close(s.inventory);
        up_key_unref(s.time_key);
        pthread_mutex_destroy(&s.director_lock);
        server_config_done(&s.cfg);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
