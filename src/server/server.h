/* SPDX-License-Identifier: MIT */
#pragma once

/* uptane-server: the Image repository, the Director and the time server over
 * HTTP (libmicrohttpd), with the Director's inventory in SQLite. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "uptane/key.h"

typedef struct ServerConfig {
        char *listen_address;     /* numeric IPv4 or IPv6 address */
        uint16_t port;
        char *image_dir;          /* an Image repository written by uptane-repo */
        char *director_dir;       /* a Director repository written by uptane-repo */
        char *database;           /* the Director's inventory */
        char *provisioning_token; /* fleet token for ECU registration */
        char *timeserver_key;     /* private key file of the time server */
        unsigned threads;
        size_t max_body;          /* bytes of a request body */
        unsigned max_clock_skew;  /* seconds a report's time may be ahead of ours */
        unsigned refresh_interval; /* seconds between checks of the Director's timestamps */
        unsigned refresh_margin;   /* renew a timestamp that expires within this many seconds */
} ServerConfig;

void server_config_init(ServerConfig *c);
void server_config_done(ServerConfig *c);
/* Reads an INI file over what c holds; errors name file, line and key. */
int server_config_load(ServerConfig *c, const char *path);
int server_config_set(ServerConfig *c, const char *section, const char *key, const char *value);
void server_config_print(const ServerConfig *c);

typedef struct Inventory Inventory;

typedef struct Server {
        ServerConfig cfg;
        Inventory *inventory;
        UpKey *time_key;
        pthread_mutex_t director_lock; /* one writer of the Director repository at a time */
} Server;

/* An answer to a request. Either body (malloc()ed) or fd (a file to send). */
typedef struct Reply {
        unsigned status;
        const char *content_type;
        char *body;
        size_t body_len;
        int fd;
        uint64_t fd_size;
        unsigned slow_rate; /* bytes/s: the slow-retrieval attack is staged */
} Reply;

void reply_done(Reply *r);
/* {"error": message} with status; returns 0 so handlers can "return reply_error(...)". */
int reply_error(Reply *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int reply_json(Reply *r, unsigned status, struct json_object *o);

typedef struct Request {
        const char *method;
        const char *url;
        const char *authorization;
        const char *body;
        size_t body_len;
        const char *peer; /* for the log */
} Request;

/* Dispatch (routes.c). */
int server_handle(Server *s, const Request *req, Reply *reply);

/* Decided before a request's body is read: how many bytes of body it may
 * carry, or (returning > 0) the HTTP status to refuse it with at once, so that
 * nobody makes the server buffer a body it will not use. */
unsigned server_admit(Server *s, const char *method, const char *url, const char *authorization,
                      size_t *ret_body_limit);

/* Static files below root, part of the repository repo_dir: path is
 * checked segment by segment. */
int files_reply(const char *repo_dir, const char *root, const char *path, Reply *reply);
bool path_segment_valid(const char *seg, size_t len);

/* Handlers. */
int handle_registration(Server *s, const Request *req, Reply *reply);
int handle_manifest(Server *s, const Request *req, const char *vin, Reply *reply);
int handle_time(Server *s, const Request *req, Reply *reply);

/* Logging to stderr, with a syslog priority prefix when journald reads it. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
