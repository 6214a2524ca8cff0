/* SPDX-License-Identifier: MIT */
/* CODE_FILE= and friends would always name this file, not the caller. */
#define SD_JOURNAL_SUPPRESS_LOCATION

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

/* This library does not link libuptane, so it keeps its own two helpers. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

static inline void freep(void *p) {
        free(*(void **) p);
}

#define DEFAULT_IDENTIFIER "uptane-primaryd"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define OOM_MESSAGE "(message lost: out of memory)"

typedef enum LogTarget {
        LOG_TARGET_UNSET,
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_JSON,
} LogTarget;

/* The ids are fixed forever: systemd/uptane.catalog and users' journal
 * queries refer to them. A new event gets a new id (systemd-id128 new). */
static const struct {
        const char *id;
        const char *name;
} events[_LOG_EVENT_MAX] = {
        [LOG_EVENT_STARTED]             = { "eb3741b4b25245eebc90cd24dbe0b209", "started" },
        [LOG_EVENT_CHECK_STARTED]       = { "db0cdb7f4cab480f95f9299b2708bd69", "check-started" },
        [LOG_EVENT_UP_TO_DATE]          = { "08d964bb6854433ca059d4cf00e7772d", "up-to-date" },
        [LOG_EVENT_UPDATE_AVAILABLE]    = { "29464c0f6ff34cf48479a1e6484dc4a9", "update-available" },
        [LOG_EVENT_DOWNLOAD_DONE]       = { "0ade8ca1ee444a718a84c3dc32d845c3", "download-done" },
        [LOG_EVENT_INSTALLED]           = { "55c7598b0c1045da9848b18f86b5aa70", "installed" },
        [LOG_EVENT_INSTALL_FAILED]      = { "cfda69837d20419096a17d6b32b6d805", "install-failed" },
        [LOG_EVENT_VERIFICATION_FAILED] = { "7b786180ec024502a25944ad36f4c751", "verification-failed" },
        [LOG_EVENT_ATTACK_DETECTED]     = { "0b83982521dd4bb9b6dfa0701487b189", "attack-detected" },
        [LOG_EVENT_MANIFEST_SENT]       = { "cbe72add86b74c78beb838d103b6c7c2", "manifest-sent" },
        [LOG_EVENT_TEMPORARY_FAILURE]   = { "1f3c4200b6a94e18a460b5e8a582f749", "temporary-failure" },
        [LOG_EVENT_REGISTERED]          = { "f713a3fa220443d4aff993eefa38d2a3", "registered" },
        [LOG_EVENT_TIME_UPDATED]        = { "6a38ee5abacc45c0846950d270d2cdba", "time-updated" },
        [LOG_EVENT_SECONDARY_REPORT]    = { "fd8cb5e947a64455af042bbc09b7be44", "secondary-report" },
        [LOG_EVENT_SECONDARY_UNREACHABLE] = { "42137ede568d487784bba3c9fda69818", "secondary-unreachable" },
        [LOG_EVENT_SECONDARY_MISBEHAVING] = { "b6d9438145074371851b864907b78b1b", "secondary-misbehaving" },
        [LOG_EVENT_SECONDARY_REFUSED]   = { "0514e661b5564485941974d37a365584", "secondary-refused" },
        [LOG_EVENT_SECONDARY_IMAGE_SENT] = { "7dff624783724973b00dc8c3fd8502e3", "secondary-image-sent" },
        [LOG_EVENT_SECONDARY_INSTALLED] = { "c4c635c6a4b140d386205b4e1a0c8e6f", "secondary-installed" },
        [LOG_EVENT_SECONDARY_INSTALL_FAILED] = { "131d4a1c12ae4e99b6356b75c49564fb", "secondary-install-failed" },
        [LOG_EVENT_SECONDARY_REPORT_WITHHELD] = { "d8cec08ba6a84819b2a47883efd04834", "secondary-report-withheld" },
};

static const char *const level_words[] = {
        [LOG_EMERG] = "emergency",
        [LOG_ALERT] = "alert",
        [LOG_CRIT] = "critical",
        [LOG_ERR] = "error",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

/* All of the state below is guarded by lock, except max_level (atomic). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static LogTarget target = LOG_TARGET_UNSET;
static bool stderr_journal; /* stderr is the journal stream (fallback lines get "<N>") */
static char *identifier;    /* NULL: DEFAULT_IDENTIFIER */
static int max_level = LOG_INFO;

const char *log_event_message_id(LogEvent e) {
        return (unsigned) e < _LOG_EVENT_MAX ? events[e].id : NULL;
}

const char *log_event_name(LogEvent e) {
        return (unsigned) e < _LOG_EVENT_MAX ? events[e].name : NULL;
}

/* systemd.exec(5): JOURNAL_STREAM is "device:inode" of the stream stdout and
 * stderr were connected to; stderr may have been redirected since. */
static bool stderr_is_journal_stream(void) {
        const char *e = secure_getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int end = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 || e[end] != '\0')
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

/* Called with lock held. UPTANE_LOG_TARGET (see log.h) wins over detection. */
static void target_decide(void) {
        const char *e = secure_getenv("UPTANE_LOG_TARGET");

        stderr_journal = stderr_is_journal_stream();
        if (e && strcmp(e, "stderr") == 0)
                target = LOG_TARGET_STDERR;
        else if (e && strcmp(e, "journal") == 0)
                target = LOG_TARGET_JOURNAL;
        else if (e && strcmp(e, "json") == 0)
                target = LOG_TARGET_JSON;
        else
                target = stderr_journal ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
        /* sd_journal_sendv() drops entries silently when there is no journald. */
        if (target == LOG_TARGET_JOURNAL && access(JOURNAL_SOCKET, F_OK) < 0)
                target = LOG_TARGET_STDERR;
}

void log_open(const char *ident) {
        /* Out of memory: the default name is better than none. */
        char *copy = ident ? strdup(ident) : NULL;

        pthread_mutex_lock(&lock);
        free(identifier);
        identifier = copy;
        target_decide();
        pthread_mutex_unlock(&lock);
}

void log_set_max_level(int priority) {
        __atomic_store_n(&max_level, LOG_PRI(priority), __ATOMIC_RELAXED);
}

/* One entry's fields, named as in the journal, MESSAGE first. */
typedef struct Entry {
        struct {
                const char *key;
                const char *value;
        } fields[12];
        size_t n;
        int priority;
        const char *message, *identifier;
        char priority_str[2];
        char error_str[sizeof("4294967295")];
        char nrc_str[sizeof("0xFF")];
} Entry;

static void entry_add(Entry *entry, const char *key, const char *value) {
        if (value)
                entry->fields[entry->n++] = (typeof(entry->fields[0])) { key, value };
}

static unsigned error_abs(int error) {
        return error < 0 ? 0u - (unsigned) error : (unsigned) error;
}

/* Called with lock held: the identifier is only stable under it. */
static void entry_fill(Entry *entry, int priority, LogEvent e, const LogFields *f, const char *message) {
        entry->priority = priority;
        entry->message = message;
        entry->identifier = identifier ?: DEFAULT_IDENTIFIER;
        (void) snprintf(entry->priority_str, sizeof(entry->priority_str), "%d", priority);
        entry_add(entry, "MESSAGE", message);
        entry_add(entry, "PRIORITY", entry->priority_str);
        entry_add(entry, "SYSLOG_IDENTIFIER", entry->identifier);
        entry_add(entry, "MESSAGE_ID", log_event_message_id(e));
        entry_add(entry, "UPTANE_EVENT", log_event_name(e));
        if (!f)
                return;
        entry_add(entry, "UPTANE_ECU_SERIAL", f->ecu_serial);
        entry_add(entry, "UPTANE_TARGET", f->target);
        entry_add(entry, "UPTANE_REPO", f->repo);
        entry_add(entry, "UPTANE_ATTACK", f->attack);
        if (f->error != 0) {
                (void) snprintf(entry->error_str, sizeof(entry->error_str), "%u", error_abs(f->error));
                entry_add(entry, "UPTANE_ERRNO", entry->error_str);
                entry_add(entry, "ERRNO", entry->error_str);
        }
        if (f->uds_nrc != 0) {
                (void) snprintf(entry->nrc_str, sizeof(entry->nrc_str), "0x%02X", f->uds_nrc & 0xffu);
                entry_add(entry, "UPTANE_UDS_NRC", entry->nrc_str);
        }
}

static void write_all(const char *p, size_t size) {
        while (size > 0) {
                ssize_t k = write(STDERR_FILENO, p, size);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return; /* nowhere left to report it */
                p += k;
                size -= (size_t) k;
        }
}

/* One field per iovec, all in one buffer: a single allocation. */
static int emit_journal(const Entry *entry) {
        struct iovec iov[sizeof(entry->fields) / sizeof(entry->fields[0])];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        char *p;

        for (size_t i = 0; i < entry->n; i++)
                size += strlen(entry->fields[i].key) + 1 + strlen(entry->fields[i].value);
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        p = buf;
        for (size_t i = 0; i < entry->n; i++) {
                iov[i].iov_base = p;
                p = stpcpy(p, entry->fields[i].key);
                *p++ = '=';
                p = mempcpy(p, entry->fields[i].value, strlen(entry->fields[i].value));
                iov[i].iov_len = (size_t) (p - (char *) iov[i].iov_base);
        }
        return sd_journal_sendv(iov, (int) entry->n);
}

static bool is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

/* A newline or an escape sequence in a value must not forge a line or
 * drive the terminal. */
static char *copy_sanitized(char *p, const char *s) {
        for (; *s; s++)
                *p++ = is_control((unsigned char) *s) ? '?' : *s;
        return p;
}

static void emit_stderr(const Entry *entry) {
        const char *level = level_words[entry->priority];
        _cleanup_free_ char *line = NULL;
        char *p;

        line = malloc(sizeof("<N>: : \n") + strlen(entry->identifier) + strlen(level) +
                      strlen(entry->message));
        if (!line)
                return;
        p = line;
        /* Only reached on the journal stream if the native protocol failed:
         * the prefix keeps the priority (sd-daemon(3)). */
        if (stderr_journal)
                p += sprintf(p, "<%d>", entry->priority);
        p = copy_sanitized(p, entry->identifier);
        p = stpcpy(p, ": ");
        p = stpcpy(p, level);
        p = stpcpy(p, ": ");
        p = copy_sanitized(p, entry->message);
        *p++ = '\n';
        write_all(line, (size_t) (p - line));
}

/* The length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_sequence_len(const unsigned char *s) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                lo = s[0] == 0xe0 ? 0xa0 : lo; /* overlong */
                hi = s[0] == 0xed ? 0x9f : hi; /* surrogates */
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                lo = s[0] == 0xf0 ? 0x90 : lo; /* overlong */
                hi = s[0] == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
        } else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* JSON needs valid UTF-8: other bytes become U+FFFD. */
static void json_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                size_t n = utf8_sequence_len(p);

                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (is_control(*p))
                        fprintf(f, "\\u%04x", *p);
                else if (n == 0)
                        fputs("\\ufffd", f);
                else {
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                p++;
        }
        fputc('"', f);
}

static int emit_json(const Entry *entry) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputc('{', f);
        for (size_t i = 0; i < entry->n; i++) {
                if (i > 0)
                        fputc(',', f);
                json_string(f, entry->fields[i].key);
                fputc(':', f);
                json_string(f, entry->fields[i].value);
        }
        fputs("}\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        write_all(buf, size);
        return 0;
}

static void emit(int priority, LogEvent e, const LogFields *fields, const char *message) {
        Entry entry = {};

        pthread_mutex_lock(&lock);
        if (target == LOG_TARGET_UNSET)
                target_decide();
        entry_fill(&entry, priority, e, fields, message);
        if (target == LOG_TARGET_JSON)
                (void) emit_json(&entry);
        else if (target != LOG_TARGET_JOURNAL || emit_journal(&entry) < 0)
                emit_stderr(&entry);
        pthread_mutex_unlock(&lock);
}

void log_eventv(int priority, LogEvent e, const LogFields *fields, const char *fmt, va_list ap) {
        _cleanup_free_ char *message = NULL;
        int saved_errno = errno;

        priority = LOG_PRI(priority);
        if (priority > __atomic_load_n(&max_level, __ATOMIC_RELAXED))
                return;
        /* As systemd's log_error_errno(): %m names the entry's error. */
        if (fields && fields->error != 0)
                errno = (int) error_abs(fields->error);
        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;
        emit(priority, e, fields, message ?: OOM_MESSAGE);
        errno = saved_errno;
}

void log_event(int priority, LogEvent e, const LogFields *fields, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_eventv(priority, e, fields, fmt, ap);
        va_end(ap);
}
