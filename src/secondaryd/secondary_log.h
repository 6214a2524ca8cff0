/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * uptane-secondaryd's journal events. The daemon logs through
 * src/primaryd/log.c (log_open(), log_info(), LogFields); the events below
 * have MESSAGE_IDs of their own, explained in systemd/uptane-secondaryd.catalog
 * (installed as /usr/lib/systemd/catalog/uptane-secondaryd.catalog). In the
 * journal an event entry carries MESSAGE_ID, UPTANE_EVENT and the LogFields
 * (UPTANE_ECU_SERIAL, UPTANE_TARGET, UPTANE_ATTACK, UPTANE_ERRNO); on stderr
 * it is the same line as log_event() prints.
 */

#include "log.h"

typedef enum SecondaryEvent {
        SECONDARY_EVENT_IMAGE_RECEIVED,      /* the Primary sent an image (not yet verified) */
        SECONDARY_EVENT_VERIFICATION_FAILED, /* metadata or the image refused, not an attack class */
        SECONDARY_EVENT_ATTACK_REFUSED,      /* ... refused as one of the attacks Uptane names (UPTANE_ATTACK) */
        SECONDARY_EVENT_INSTALLED,           /* an image was written to the inactive slot, which is now active */
        SECONDARY_EVENT_TIME_REFUSED,        /* a time attestation was refused (bad, stale or without our nonce) */
        SECONDARY_EVENT_NONCE_ROTATED,       /* a time attestation was verified and the nonce rotated */
        SECONDARY_EVENT_REPORT_SIGNED,       /* a signed ECU version report was handed to the Primary */
        _SECONDARY_EVENT_MAX,
} SecondaryEvent;

/* 32 lower-case hex digits, and a short name ("image-received"). */
const char *secondary_event_message_id(SecondaryEvent e);
const char *secondary_event_name(SecondaryEvent e);

/* As log_event(), with the event's MESSAGE_ID in the journal. fields may be NULL. */
void secondary_log_event(int priority, SecondaryEvent e, const LogFields *fields, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
