/* SPDX-License-Identifier: MIT */
/*
 * URL layout:
 *   GET  /health
 *   GET  /image/metadata/FILE, /image/targets/PATH   the Image repository
 *   GET  /director/VIN/metadata/FILE                 a vehicle's Director metadata
 *   GET  /director/VIN/targets/PATH                  the Director's copies of its images
 *   POST /director/ecus                              ECU registration (provisioning token)
 *   PUT  /director/VIN/manifest                      vehicle version manifest
 *   POST /timeserver                                 {"nonces": [...]} -> signed time
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "director_glue.h"
#include "server.h"

static bool starts_with(const char *s, const char *prefix, const char **ret_rest) {
        size_t n = strlen(prefix);

        if (strncmp(s, prefix, n) != 0)
                return false;
        *ret_rest = s + n;
        return true;
}

static bool is_get(const char *method) {
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static int route_image(Server *s, const char *rest, Reply *reply) {
        char *root = NULL;
        const char *path;
        int r;

        if (starts_with(rest, "metadata/", &path))
                r = asprintf(&root, "%s/metadata", s->cfg.image_dir);
        else if (starts_with(rest, "targets/", &path))
                r = asprintf(&root, "%s/targets", s->cfg.image_dir);
        else
                return reply_error(reply, 404, "not found");
        if (r < 0)
                return -ENOMEM;
        r = files_reply(s->cfg.image_dir, root, path, reply);
        free(root);
        return r;
}

/* "VIN/what" -> vin (malloc()ed) and what */
static int split_vin(const char *rest, char **ret_vin, const char **ret_what) {
        const char *slash = strchr(rest, '/');
        char *vin;

        if (!slash)
                return -EINVAL;
        vin = strndup(rest, (size_t) (slash - rest));
        if (!vin)
                return -ENOMEM;
        if (!vin_valid(vin)) {
                free(vin);
                return -EINVAL;
        }
        *ret_vin = vin;
        *ret_what = slash + 1;
        return 0;
}

static int route_director(Server *s, const Request *req, const char *rest, Reply *reply) {
        const char *what, *file;
        char *vin = NULL, *dir = NULL;
        int r;

        if (strcmp(rest, "ecus") == 0)
                return strcmp(req->method, "POST") == 0 ? handle_registration(s, req, reply)
                                                        : reply_error(reply, 405, "use POST");
        if (split_vin(rest, &vin, &what) < 0)
                return reply_error(reply, 404, "not found");
        if (strcmp(what, "manifest") == 0)
                r = strcmp(req->method, "PUT") == 0 ? handle_manifest(s, req, vin, reply)
                                                    : reply_error(reply, 405, "use PUT");
        else if (starts_with(what, "metadata/", &file) && is_get(req->method)) {
                r = director_metadata_dir(s, vin, &dir);
                r = r < 0 ? reply_error(reply, 404, "unknown vehicle") : files_reply(s->cfg.director_dir, dir, file, reply);
        } else if (starts_with(what, "targets/", &file) && is_get(req->method)) {
                r = director_targets_dir(s, vin, &dir);
                r = r < 0 ? -ENOMEM : files_reply(s->cfg.director_dir, dir, file, reply);
        } else
                r = reply_error(reply, 404, "not found");
        free(vin);
        free(dir);
        return r;
}

#define REGISTRATION_MAX_BODY (1024u * 1024u)
#define TIMESERVER_MAX_BODY (64u * 1024u)

unsigned server_admit(Server *s, const char *method, const char *url, const char *authorization,
                      size_t *ret_body_limit) {
        const char *rest, *what;
        char *vin = NULL;
        bool manifest;

        *ret_body_limit = 0;
        if (strcmp(url, "/health") == 0 || starts_with(url, "/image/", &rest))
                return is_get(method) ? 0 : 405;
        if (strcmp(url, "/timeserver") == 0) {
                *ret_body_limit = TIMESERVER_MAX_BODY;
                return strcmp(method, "POST") == 0 ? 0 : 405;
        }
        if (strcmp(url, "/director/ecus") == 0) {
                if (strcmp(method, "POST") != 0)
                        return 405;
                *ret_body_limit = REGISTRATION_MAX_BODY;
                return token_valid(s, authorization) ? 0 : 401;
        }
        if (!starts_with(url, "/director/", &rest) || split_vin(rest, &vin, &what) < 0)
                return 404;
        free(vin);
        manifest = strcmp(what, "manifest") == 0;
        if (manifest)
                *ret_body_limit = s->cfg.max_body;
        if (manifest ? strcmp(method, "PUT") != 0 : !is_get(method))
                return 405;
        return manifest || starts_with(what, "metadata/", &rest) || starts_with(what, "targets/", &rest) ? 0 : 404;
}

int server_handle(Server *s, const Request *req, Reply *reply) {
        const char *rest;

        if (strcmp(req->url, "/health") == 0 && is_get(req->method)) {
                reply->status = 200;
                reply->content_type = "application/json";
                reply->body = strdup("{\"status\":\"ok\"}");
                reply->body_len = reply->body ? strlen(reply->body) : 0;
                return reply->body ? 0 : -ENOMEM;
        }
        if (starts_with(req->url, "/image/", &rest))
                return is_get(req->method) ? route_image(s, rest, reply) : reply_error(reply, 405, "use GET");
        if (starts_with(req->url, "/director/", &rest))
                return route_director(s, req, rest, reply);
        if (strcmp(req->url, "/timeserver") == 0)
                return strcmp(req->method, "POST") == 0 ? handle_time(s, req, reply)
                                                        : reply_error(reply, 405, "use POST");
        return reply_error(reply, 404, "not found");
}
