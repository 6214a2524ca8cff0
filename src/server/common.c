/* SPDX-License-Identifier: MIT */
/* Replies, static files and logging shared by the handlers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "server.h"
#include "uptane/repository.h"

void reply_done(Reply *r) {
        free(r->body);
        r->body = NULL;
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
}

int reply_json(Reply *r, unsigned status, struct json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        r->status = status;
        r->content_type = "application/json";
        r->body = strdup(s ? s : "{}");
        r->body_len = r->body ? strlen(r->body) : 0;
        return r->body ? 0 : -ENOMEM;
}

int reply_error(Reply *r, unsigned status, const char *fmt, ...) {
        struct json_object *o = json_object_new_object();
        char *msg = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        json_object_object_add(o, "error", json_object_new_string(k >= 0 ? msg : "error"));
        free(msg);
        k = reply_json(r, status, o);
        json_object_put(o);
        return k;
}

/* One path segment: no empty, ".", ".." or hidden names, no control bytes or
 * backslashes. This is what makes path traversal impossible. */
bool path_segment_valid(const char *seg, size_t len) {
        if (len == 0 || len > 255 || seg[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) seg[i] < 0x20 || seg[i] == '\\' || seg[i] == 0x7f)
                        return false;
        return true;
}

static bool path_valid(const char *path) {
        const char *p = path;

        if (*p == '\0')
                return false;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);

                if (!path_segment_valid(p, len))
                        return false;
                if (!slash)
                        return true;
                p = slash + 1;
        }
}

/* The rate of a staged slow-retrieval attack on the repository; 0: none. */
static unsigned slow_rate(const char *repo_dir) {
        char *marker = NULL, buf[32] = "";
        unsigned long rate = 0;
        FILE *f;

        if (asprintf(&marker, "%s/" UP_REPO_SLOW_RETRIEVAL_MARKER, repo_dir) < 0)
                return 0;
        f = fopen(marker, "re");
        free(marker);
        if (!f)
                return 0;
        if (fgets(buf, sizeof(buf), f))
                rate = strtoul(buf, NULL, 10);
        fclose(f);
        return rate > 0 && rate < 1u << 20 ? (unsigned) rate : 16;
}

int files_reply(const char *repo_dir, const char *root, const char *path, Reply *reply) {
        char *full = NULL;
        struct stat st;
        int fd;

        if (!path_valid(path))
                return reply_error(reply, 400, "invalid path");
        if (asprintf(&full, "%s/%s", root, path) < 0)
                return -ENOMEM;
        fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        free(full);
        if (fd < 0)
                return reply_error(reply, 404, "not found");
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return reply_error(reply, 404, "not found");
        }
        reply->status = 200;
        reply->content_type = "application/octet-stream";
        reply->fd = fd;
        reply->fd_size = (uint64_t) st.st_size;
        reply->slow_rate = slow_rate(repo_dir);
        return 0;
}

void log_msg(int priority, const char *fmt, ...) {
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
        va_list ap;

        /* journald reads "<N>" as the priority; a terminal reader wants words. */
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%d>", priority);
        else
                fprintf(stderr, "uptane-server: %s: ", names[priority & 7]);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
