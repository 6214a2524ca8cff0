/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the Primary remembers between runs, in the state directory
 * (/var/lib/uptane, StateDirectory=):
 *
 *   ecu.key                   the Primary's private key (PKCS#8, 0600), made on first start
 *   metadata/director/        trusted Director metadata (root.json first copied from the config)
 *   metadata/image/           trusted Image repository metadata
 *   state.json                everything else, one JSON object, replaced atomically
 *
 * state.json is the only file that changes during an install, so that a
 * kill -9 leaves either the old or the new record, never a mix: a pending
 * install is written before the package manager runs, and replaced by the
 * installed image (and the result to report) after it returns.
 *
 * This module does not log; errors are negative errnos with a sentence in
 * *reterr where given.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/key.h"

#define STATE_MAX_BYTES (4u * 1024u * 1024u)
#define STATE_MAX_ATTACKS_TEXT 4096u /* bytes of unreported attack descriptions kept */

typedef struct State {
        char *dir;
        struct json_object *doc; /* the content of state.json */
        bool dirty;              /* changed since loaded or saved */
} State;

/* An image as the manifest reports it. */
typedef struct ImageRecord {
        const char *name;
        uint64_t length;
        struct json_object *hashes; /* {"sha256": hex, ...}; borrowed */
} ImageRecord;

/* Creates dir (0700) and its metadata directories when missing, installs
 * the configured initial roots when no trusted root is there yet, and loads
 * state.json (an empty state when absent). A state.json that does not parse
 * is an error: it is never silently reset. */
int state_open(State *s, const char *dir, const char *director_root, const char *image_root, char **reterr);
void state_close(State *s);

/* Loads ecu.key, or generates an ed25519 key and stores it 0600 on first start. */
int state_load_or_create_key(State *s, UpKey **ret, bool *ret_created);

/* The trusted metadata directory of "director" or "image" (malloc()ed). */
int state_metadata_dir(const State *s, const char *repo, char **ret);

/* Writes state.json atomically (temp file, fsync, rename, fsync of dir). */
int state_save(State *s);
/* The same, only when a setter changed something (an idle poll writes nothing). */
int state_save_if_dirty(State *s);

/* Typed members of state.json. Getters return the default when absent. */
int64_t state_get_int(const State *s, const char *key, int64_t def);
int state_set_int(State *s, const char *key, int64_t v);
bool state_get_bool(const State *s, const char *key);
int state_set_bool(State *s, const char *key, bool v);
const char *state_get_string(const State *s, const char *key); /* NULL when absent */
int state_set_string(State *s, const char *key, const char *v);  /* NULL removes */
/* An object member (borrowed; NULL when absent); set takes the reference. */
struct json_object *state_get_object(const State *s, const char *key);
int state_set_object(State *s, const char *key, struct json_object *o);

/* "installed" and "pending" records: {"name", "length", "hashes"} (+ more). */
bool state_get_image(const State *s, const char *key, ImageRecord *ret);
struct json_object *image_record_to_json(const char *name, uint64_t length, struct json_object *hashes);

/* The release counter last assigned to an ECU (-1 when none). */
int64_t state_get_counter(const State *s, const char *ecu_serial);
int state_set_counter(State *s, const char *ecu_serial, int64_t counter);

/* Appends to the attacks not yet reported ("; "-separated, capped). */
int state_add_attack(State *s, const char *text);
