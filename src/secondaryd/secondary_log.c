/* SPDX-License-Identifier: MIT */
/* CODE_FILE= and friends would always name this file, not the caller. */
#define SD_JOURNAL_SUPPRESS_LOCATION

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "daemon_macro.h"
#include "secondary_log.h"

/* Fixed forever: systemd/uptane-secondaryd.catalog and users' journal queries
 * refer to them. A new event gets a new id (systemd-id128 new). */
static const struct {
        const char *id;
        const char *name;
} events[_SECONDARY_EVENT_MAX] = {
        [SECONDARY_EVENT_IMAGE_RECEIVED]      = { "3b25795b888b465a9fcb20cda74c78b8", "image-received" },
        [SECONDARY_EVENT_VERIFICATION_FAILED] = { "e05d2f207de2411d9e90527f82386145", "verification-failed" },
        [SECONDARY_EVENT_ATTACK_REFUSED]      = { "d17be6b2984149c099a6d6e594c2ec22", "attack-refused" },
        [SECONDARY_EVENT_INSTALLED]           = { "0028a6e9d078435f80a7d06d05b73527", "installed" },
        [SECONDARY_EVENT_TIME_REFUSED]        = { "dc9bf34f7f18437e9e82ed4dbc0a840e", "time-refused" },
        [SECONDARY_EVENT_NONCE_ROTATED]       = { "4be191fb6c394c0086ebe741703bb9c2", "nonce-rotated" },
        [SECONDARY_EVENT_REPORT_SIGNED]       = { "42bd1ba977d84a399997f44050d018b2", "report-signed" },
};

const char *secondary_event_message_id(SecondaryEvent e) {
        return (unsigned) e < _SECONDARY_EVENT_MAX ? events[e].id : NULL;
}

const char *secondary_event_name(SecondaryEvent e) {
        return (unsigned) e < _SECONDARY_EVENT_MAX ? events[e].name : NULL;
}

/* log.c's choice of the journal, as log.h documents it: UPTANE_LOG_TARGET, or
 * stderr being the journal stream (JOURNAL_STREAM), and journald running. */
static bool journal_is_target(void) {
        const char *t = secure_getenv("UPTANE_LOG_TARGET"), *e = secure_getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int end = 0;

        if (t && (strcmp(t, "stderr") == 0 || strcmp(t, "json") == 0))
                return false;
        if (!t || strcmp(t, "journal") != 0) {
                if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 || e[end] != '\0' ||
                    fstat(STDERR_FILENO, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
                        return false;
        }
        return access("/run/systemd/journal/socket", F_OK) == 0;
}

static int add(char **fields, size_t *n, const char *fmt, ...) _printf_(3, 4);
static int add(char **fields, size_t *n, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&fields[*n], fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int send_journal(int priority, SecondaryEvent e, const LogFields *f, const char *message) {
        char *fields[12];
        struct iovec iov[ELEMENTSOF(fields)];
        size_t n = 0;
        int r;

        r = add(fields, &n, "MESSAGE=%s", message);
        if (r >= 0)
                r = add(fields, &n, "PRIORITY=%d", priority);
        if (r >= 0)
                r = add(fields, &n, "SYSLOG_IDENTIFIER=uptane-secondaryd");
        if (r >= 0)
                r = add(fields, &n, "MESSAGE_ID=%s", events[e].id);
        if (r >= 0)
                r = add(fields, &n, "UPTANE_EVENT=%s", events[e].name);
        if (r >= 0 && f && f->ecu_serial)
                r = add(fields, &n, "UPTANE_ECU_SERIAL=%s", f->ecu_serial);
        if (r >= 0 && f && f->target)
                r = add(fields, &n, "UPTANE_TARGET=%s", f->target);
        if (r >= 0 && f && f->repo)
                r = add(fields, &n, "UPTANE_REPO=%s", f->repo);
        if (r >= 0 && f && f->attack)
                r = add(fields, &n, "UPTANE_ATTACK=%s", f->attack);
        if (r >= 0 && f && f->error != 0)
                r = add(fields, &n, "UPTANE_ERRNO=%d", abs(f->error));
        if (r >= 0 && f && f->error != 0)
                r = add(fields, &n, "ERRNO=%d", abs(f->error));
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        if (r >= 0)
                r = sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < n; i++)
                free(fields[i]);
        return r;
}

void secondary_log_event(int priority, SecondaryEvent e, const LogFields *fields, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        int saved = errno;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;
        va_end(ap);
        if (!message || (unsigned) e >= _SECONDARY_EVENT_MAX || !journal_is_target() ||
            send_journal(priority, e, fields, message) < 0)
                log_event(priority, LOG_EVENT_NONE, fields, "%s", message ?: "(message lost: out of memory)");
        errno = saved;
}
