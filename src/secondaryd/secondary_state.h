/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Secondary's persistent state, below [storage] state-directory:
 *
 *   ecu.key            its private key (ed25519, PKCS#8 PEM, 0600), made on first start
 *   director/, image/  trusted metadata; root.json first copied from the configured root
 *   incoming/{director,image,target}/  what the Primary sent: nothing there is trusted
 *   state.json         the fields of SecondaryState below, replaced atomically
 *
 * The slot files are configured apart ([storage] slot-a, slot-b).
 */

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "secondary_config.h"
#include "uptane/key.h"

#define SECONDARY_STATE_MAX_BYTES (256u * 1024u)
#define SECONDARY_ATTACKS_MAX 4096u /* bytes of attacks_detected, as UP_MSG_MAX_TEXT */

typedef struct SecondaryState {
        char *dir;
        char *director_dir, *image_dir;                            /* trusted */
        char *incoming_director, *incoming_image, *incoming_target; /* received */
        UpKey *key;

        /* state.json */
        char *installed_name;               /* "factory" until the first install */
        int64_t installed_length;
        struct json_object *installed_hashes; /* {"sha256": hex, ...} */
        int active_slot;                    /* 0: slot-a, 1: slot-b */
        int64_t release_counter;            /* of the installed image; -1: none yet */
        int64_t time;                       /* latest verified (attested) time; 0: none */
        int64_t previous_time;
        int64_t nonce;                      /* the current nonce */
        int64_t report_counter;             /* of the next report */
        char *attacks;                      /* attacks_detected; "" when none */
} SecondaryState;

/* Creates the directories, installs the initial roots, loads or makes the
 * key, loads state.json (or starts one: a fresh nonce, the factory image =
 * the content of slot-a, created empty when missing). */
int secondary_state_open(SecondaryState *s, const SecondaryConfig *c, bool *ret_key_created, char **reterr);
void secondary_state_close(SecondaryState *s);

/* Writes state.json atomically. */
int secondary_state_save(const SecondaryState *s);

/* Appends "what" to attacks (bounded, "; "-separated); does not save. */
int secondary_state_add_attack(SecondaryState *s, const char *what);

/* Empties dir (regular files only, one level). */
int secondary_clear_dir(const char *dir);
