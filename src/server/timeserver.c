/* SPDX-License-Identifier: MIT */
/* The time server: signs the current time with the nonces it was sent. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "server.h"
#include "uptane/json.h"
#include "uptane/manifest.h"

static const UpJsonLimits request_limits = { .max_bytes = 64 * 1024, .max_depth = 4, .max_values = 2048 };

static int parse_nonces(const Request *req, int64_t **ret, size_t *ret_n) {
        struct json_object *o = NULL, *arr;
        int64_t *v;
        size_t n;
        int r;

        r = up_json_parse(req->body, req->body_len, &request_limits, &o);
        if (r >= 0)
                r = up_json_get_array(o, "nonces", &arr);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        n = json_object_array_length(arr);
        v = calloc(n + 1, sizeof(int64_t));
        if (!v) {
                json_object_put(o);
                return -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct json_object *e = json_object_array_get_idx(arr, i);

                if (!json_object_is_type(e, json_type_int) || !up_nonce_valid(json_object_get_int64(e)))
                        r = -EBADMSG;
                else
                        v[i] = json_object_get_int64(e);
        }
        json_object_put(o);
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int handle_time(Server *s, const Request *req, Reply *reply) {
        int64_t *nonces = NULL;
        size_t n = 0, len;
        char *doc = NULL;
        int r;

        if (!s->time_key)
                return reply_error(reply, 503, "no time server key configured");
        r = parse_nonces(req, &nonces, &n);
        if (r == -EFBIG) /* over the parser's limits: too many nonces, or too long a body */
                return reply_error(reply, 413, "at most %u nonces", UP_TIME_ATTESTATION_MAX_NONCES);
        if (r < 0)
                return reply_error(reply, 400, "expected {\"nonces\": [integers 0..2^31-1]}");
        if (n > UP_TIME_ATTESTATION_MAX_NONCES) {
                free(nonces);
                return reply_error(reply, 413, "at most %u nonces", UP_TIME_ATTESTATION_MAX_NONCES);
        }
        r = up_time_attestation_sign(time(NULL), nonces, n, s->time_key, &doc, &len);
        free(nonces);
        if (r < 0)
                return reply_error(reply, 500, "cannot sign the time");
        reply->status = 200;
        reply->content_type = "application/json";
        reply->body = doc;
        reply->body_len = len;
        return 0;
}
