/* SPDX-License-Identifier: MIT */
/*
 * URL layout:
 *   GET  /health
 *   GET  /image/metadata/FILE, /image/targets/PATH   the Image repository
 *   GET  /director/VIN/metadata/FILE                 a vehicle's Director metadata
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
        else if (starts_with(what, "metadata/", &file) && strcmp(req->method, "GET") == 0) {
                r = director_metadata_dir(s, vin, &dir);
                r = r < 0 ? reply_error(reply, 404, "unknown vehicle") : files_reply(s->cfg.director_dir, dir, file, reply);
        } else
                r = reply_error(reply, 404, "not found");
        free(vin);
        free(dir);
        return r;
}

int server_handle(Server *s, const Request *req, Reply *reply) {
        const char *rest;

        if (strcmp(req->url, "/health") == 0) {
                reply->status = 200;
                reply->content_type = "application/json";
                reply->body = strdup("{\"status\":\"ok\"}");
                reply->body_len = reply->body ? strlen(reply->body) : 0;
                return reply->body ? 0 : -ENOMEM;
        }
        if (starts_with(req->url, "/image/", &rest))
                return strcmp(req->method, "GET") == 0 ? route_image(s, rest, reply)
                                                       : reply_error(reply, 405, "use GET");
        if (starts_with(req->url, "/director/", &rest))
                return route_director(s, req, rest, reply);
        if (strcmp(req->url, "/timeserver") == 0)
                return strcmp(req->method, "POST") == 0 ? handle_time(s, req, reply)
                                                        : reply_error(reply, 405, "use POST");
        return reply_error(reply, 404, "not found");
}
