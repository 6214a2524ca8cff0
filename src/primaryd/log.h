/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's log: structured entries in the journal (sd_journal_send) when
 * stderr is connected to it (JOURNAL_STREAM matches stderr's device:inode),
 * plain "uptane-primaryd: LEVEL: message" lines on stderr otherwise.
 *
 * Every event a user or a monitoring system looks for has its own stable
 * MESSAGE_ID (systemd/uptane.catalog explains each one), and carries the
 * fields that say what it is about: UPTANE_ECU_SERIAL, UPTANE_TARGET,
 * UPTANE_REPO, UPTANE_ATTACK, UPTANE_ERRNO, UPTANE_UDS_NRC. Never log a secret: no key
 * material, no provisioning token, no URL user info.
 *
 * Control characters in stderr lines become '?'. For tests, the environment
 * variable UPTANE_LOG_TARGET=stderr|journal|json forces the target; "json"
 * prints one JSON object per line on stderr, keyed by the journal field
 * names (MESSAGE, PRIORITY, MESSAGE_ID, UPTANE_EVENT, ...), string values.
 */

#include <stdarg.h>
#include <syslog.h>

typedef enum LogEvent {
        LOG_EVENT_NONE,              /* an ordinary message: no MESSAGE_ID */
        LOG_EVENT_STARTED,           /* the daemon is ready */
        LOG_EVENT_CHECK_STARTED,     /* an update cycle begins */
        LOG_EVENT_UP_TO_DATE,        /* the cycle found nothing to do */
        LOG_EVENT_UPDATE_AVAILABLE,  /* verified metadata assigns a new image to an ECU */
        LOG_EVENT_DOWNLOAD_DONE,     /* an image was downloaded and verified */
        LOG_EVENT_INSTALLED,         /* an image was installed */
        LOG_EVENT_INSTALL_FAILED,    /* the package manager failed */
        LOG_EVENT_VERIFICATION_FAILED, /* metadata or an image was refused (not an attack class) */
        LOG_EVENT_ATTACK_DETECTED,   /* ... refused as one of the attacks Uptane names */
        LOG_EVENT_MANIFEST_SENT,     /* the Director accepted the vehicle version manifest */
        LOG_EVENT_TEMPORARY_FAILURE, /* network or server trouble: retried at the next poll */
        LOG_EVENT_REGISTERED,        /* the Primary registered its ECUs with the Director */
        LOG_EVENT_TIME_UPDATED,      /* a time attestation was verified */
        /* Secondaries (docs/POUF.md, "Uptane over UDS"), with their UPTANE_ECU_SERIAL: */
        LOG_EVENT_SECONDARY_REPORT,      /* its signed ECU version report was read and verified */
        LOG_EVENT_SECONDARY_UNREACHABLE, /* no answer (timeout, connection refused or reset): left out */
        LOG_EVENT_SECONDARY_MISBEHAVING, /* a malformed or wrong answer (identity, key, signature): left out */
        LOG_EVENT_SECONDARY_REFUSED,     /* a negative response (UPTANE_UDS_NRC): left out */
        LOG_EVENT_SECONDARY_IMAGE_SENT,  /* its image was transferred */
        LOG_EVENT_SECONDARY_INSTALLED,   /* it verified and installed its image */
        LOG_EVENT_SECONDARY_INSTALL_FAILED, /* it refused its image or failed to install it */
        LOG_EVENT_SECONDARY_REPORT_WITHHELD, /* its report repeats a nonce already sent: not in the manifest */
        _LOG_EVENT_MAX,
} LogEvent;

/* The 128-bit id as 32 lower-case hex digits, or NULL for LOG_EVENT_NONE. */
const char *log_event_message_id(LogEvent e);
/* A short name ("check-started"), for tests and tools; NULL for LOG_EVENT_NONE. */
const char *log_event_name(LogEvent e);

/* Optional fields of an entry; NULL or 0 members are left out. */
typedef struct LogFields {
        const char *ecu_serial; /* UPTANE_ECU_SERIAL */
        const char *target;     /* UPTANE_TARGET */
        const char *repo;       /* UPTANE_REPO: director, image, director-vs-image */
        const char *attack;     /* UPTANE_ATTACK: rollback, freeze, mix-and-match, ... */
        int error;              /* UPTANE_ERRNO (positive) and ERRNO when non-zero (either sign) */
        unsigned uds_nrc;       /* UPTANE_UDS_NRC ("0x72"): a Secondary's negative response code, 0: none */
} LogFields;

/* Decides journal vs stderr once (and again after log_open() is called again). */
void log_open(const char *identifier);
/* Messages below this priority are dropped (LOG_DEBUG keeps all; default LOG_INFO). */
void log_set_max_level(int priority);

/* fields may be NULL; %m formats fields->error when it is non-zero. errno is
 * preserved. The format never receives secrets. Thread-safe. */
void log_event(int priority, LogEvent e, const LogFields *fields, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void log_eventv(int priority, LogEvent e, const LogFields *fields, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

#define log_error(...)   log_event(LOG_ERR, LOG_EVENT_NONE, NULL, __VA_ARGS__)
#define log_warning(...) log_event(LOG_WARNING, LOG_EVENT_NONE, NULL, __VA_ARGS__)
#define log_notice(...)  log_event(LOG_NOTICE, LOG_EVENT_NONE, NULL, __VA_ARGS__)
#define log_info(...)    log_event(LOG_INFO, LOG_EVENT_NONE, NULL, __VA_ARGS__)
#define log_debug(...)   log_event(LOG_DEBUG, LOG_EVENT_NONE, NULL, __VA_ARGS__)
