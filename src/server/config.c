/* SPDX-License-Identifier: MIT */
/* /etc/uptane-server.conf (INI, parsed with inih), overridden by flags. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void server_config_init(ServerConfig *c) {
        *c = (ServerConfig) {
                .listen_address = strdup("127.0.0.1"),
                .port = 8000,
                .image_dir = strdup("/var/lib/uptane-server/image"),
                .director_dir = strdup("/var/lib/uptane-server/director"),
                .database = strdup("/var/lib/uptane-server/inventory.sqlite"),
                .threads = 4,
                .max_body = 16u * 1024u * 1024u,
                .max_clock_skew = 300,
                .refresh_interval = 3600,
                .refresh_margin = 6 * 3600,
        };
}

void server_config_done(ServerConfig *c) {
        free(c->listen_address);
        free(c->image_dir);
        free(c->director_dir);
        free(c->database);
        free(c->provisioning_token);
        free(c->timeserver_key);
        memset(c, 0, sizeof(*c));
}

static int set_string(char **field, const char *value) {
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

static int set_uint(unsigned long *out, const char *value, unsigned long min, unsigned long max) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min || v > max)
                return -EINVAL;
        *out = v;
        return 0;
}

int server_config_set(ServerConfig *c, const char *section, const char *key, const char *value) {
        unsigned long v;
        int r;

#define IS(s, k) (strcmp(section, s) == 0 && strcmp(key, k) == 0)
        if (IS("server", "listen-address"))
                return set_string(&c->listen_address, value);
        if (IS("server", "port")) {
                r = set_uint(&v, value, 0, 65535);
                if (r >= 0)
                        c->port = (uint16_t) v;
                return r;
        }
        if (IS("server", "threads")) {
                r = set_uint(&v, value, 1, 64);
                if (r >= 0)
                        c->threads = (unsigned) v;
                return r;
        }
        if (IS("server", "max-body-bytes")) {
                r = set_uint(&v, value, 1024, 256ul * 1024 * 1024);
                if (r >= 0)
                        c->max_body = v;
                return r;
        }
        if (IS("repositories", "image"))
                return set_string(&c->image_dir, value);
        if (IS("repositories", "director"))
                return set_string(&c->director_dir, value);
        if (IS("inventory", "database"))
                return set_string(&c->database, value);
        if (IS("inventory", "max-clock-skew-seconds")) {
                r = set_uint(&v, value, 0, 86400);
                if (r >= 0)
                        c->max_clock_skew = (unsigned) v;
                return r;
        }
        if (IS("repositories", "refresh-interval-seconds")) {
                r = set_uint(&v, value, 1, 86400);
                if (r >= 0)
                        c->refresh_interval = (unsigned) v;
                return r;
        }
        if (IS("repositories", "refresh-margin-seconds")) {
                r = set_uint(&v, value, 0, 30 * 86400);
                if (r >= 0)
                        c->refresh_margin = (unsigned) v;
                return r;
        }
        if (IS("provisioning", "token"))
                return set_string(&c->provisioning_token, value);
        if (IS("timeserver", "key"))
                return set_string(&c->timeserver_key, value);
#undef IS
        return -ENOKEY;
}

typedef struct LoadState {
        ServerConfig *c;
        int error;
        char msg[512]; /* the first error; inih gives its line */
} LoadState;

static int on_ini(void *user, const char *section, const char *key, const char *value) {
        LoadState *st = user;
        int r = server_config_set(st->c, section, key, value);

        if (r >= 0)
                return 1;
        if (st->error == 0) {
                st->error = r;
                if (r == -ENOKEY)
                        snprintf(st->msg, sizeof(st->msg), "unknown key '%s' in section [%s]", key, section);
                else
                        snprintf(st->msg, sizeof(st->msg), "[%s] %s = '%s' is not a valid value", section, key,
                                 value);
        }
        return 0;
}

int server_config_load(ServerConfig *c, const char *path) {
        LoadState st = { .c = c };
        int line;

        line = ini_parse(path, on_ini, &st);
        if (line == -1) {
                fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
                return -ENOENT;
        }
        if (line == 0)
                return 0;
        fprintf(stderr, "%s:%d: %s\n", path, line, st.error ? st.msg : "syntax error");
        return st.error ? st.error : -EINVAL;
}

void server_config_print(const ServerConfig *c) {
        printf("[server]\nlisten-address = %s\nport = %u\nthreads = %u\nmax-body-bytes = %zu\n\n", c->listen_address,
               c->port, c->threads, c->max_body);
        printf("[repositories]\nimage = %s\ndirector = %s\nrefresh-interval-seconds = %u\nrefresh-margin-seconds = %u\n\n",
               c->image_dir, c->director_dir, c->refresh_interval, c->refresh_margin);
        printf("[inventory]\ndatabase = %s\nmax-clock-skew-seconds = %u\n\n", c->database, c->max_clock_skew);
        /* The token is a secret: say only whether there is one. */
        printf("[provisioning]\ntoken = %s\n\n", c->provisioning_token ? "(set)" : "(none: registration disabled)");
        printf("[timeserver]\nkey = %s\n", c->timeserver_key ? c->timeserver_key : "(none: time server disabled)");
}
