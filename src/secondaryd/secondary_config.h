/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The configuration of uptane-secondaryd: /etc/uptane-secondary.conf (INI,
 * read with inih), then FILE.d/ *.conf in lexical order, later values
 * overriding earlier ones. One table (secondary_config.c) describes every
 * key; the engine in src/daemon/conf_schema.c derives the parser, the
 * defaults, --check-config and conf/uptane-secondary.conf from it.
 *
 * No logging here: a failure returns a negative errno and a malloc()ed
 * sentence in *reterr_message, "FILE:LINE: [section] key: reason" for a file.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf_schema.h"

#define SECONDARY_CONFIG_DEFAULT_PATH "/etc/uptane-secondary.conf"

typedef enum SecondaryVerificationType {
        SECONDARY_VERIFICATION_FULL,
        SECONDARY_VERIFICATION_PARTIAL,
        _SECONDARY_VERIFICATION_MAX,
} SecondaryVerificationType;

typedef struct SecondaryConfig {
        /* [ecu] */
        char *serial;
        char *hardware_id;
        char *vin;
        int verification; /* SecondaryVerificationType */
        /* [director], [image-repository] */
        char *director_root;
        char *image_root;
        /* [time-server] */
        char *time_server_public_key;
        /* [doip] */
        bool doip_enabled;
        char *doip_address;
        uint64_t doip_port;
        uint64_t doip_logical_address;
        uint64_t doip_tester_min;
        uint64_t doip_tester_max;
        /* [isotp] */
        bool isotp_enabled;
        char *isotp_interface;
        uint64_t isotp_rx_id; /* CONF_UNSET: not set */
        uint64_t isotp_tx_id;
        bool isotp_fd;
        uint64_t isotp_padding; /* CONF_UNSET (UINT64_MAX): none */
        uint64_t isotp_block_size;
        uint64_t isotp_stmin;
        /* [storage] */
        char *state_directory;
        char *slot_a;
        char *slot_b;
        /* [limits] */
        uint64_t max_image_size;
        uint64_t max_metadata_size;

        char **origin; /* per key: "FILE:LINE" that set it, NULL: the default */
} SecondaryConfig;

int secondary_config_init(SecondaryConfig *c);
void secondary_config_done(SecondaryConfig *c);

/* -ENOKEY unknown section or key, -EINVAL bad value. */
int secondary_config_set(SecondaryConfig *c, const char *section, const char *key, const char *value,
                         const char *where, char **reterr_message);
int secondary_config_load_file(SecondaryConfig *c, const char *path, char **reterr_message);
/* path, then path.d/ *.conf, then secondary_config_verify(). */
int secondary_config_load(SecondaryConfig *c, const char *path, char **reterr_message);
int secondary_config_verify(const SecondaryConfig *c, char **reterr_message);
/* The effective configuration as INI; values from files followed by "# FILE:LINE". */
int secondary_config_print(const SecondaryConfig *c, FILE *f);
/* conf/uptane-secondary.conf: every key documented and commented out at its default. */
int secondary_config_print_default(FILE *f);

const char *secondary_verification_to_string(SecondaryVerificationType t);
