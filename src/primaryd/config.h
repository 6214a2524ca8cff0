/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The configuration of uptane-primaryd: /etc/uptane.conf (INI, read with
 * inih), then the drop-ins /etc/uptane.conf.d/ *.conf in lexical order, later
 * values overriding earlier ones.
 *
 * One table (config.c) describes every key: its section, name, type, range,
 * default and documentation. Parsing, validation, defaults, the effective
 * configuration (--check-config), the shipped conf/uptane.conf
 * (--print-default-config) and docs/uptane.conf.md (--print-config-reference)
 * all come from it, through the engine both daemons share
 * (src/daemon/conf_schema.c); config.c keeps the tables and the rules between keys.
 *
 * This module does not log: a failure returns a negative errno and, in
 * *reterr_message, a malloc()ed sentence for the caller to print. A message
 * about a file reads "FILE:LINE: [section] key: reason".
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PRIMARY_CONFIG_DEFAULT_PATH "/etc/uptane.conf"

typedef enum PackageManagerType {
        PACKAGE_MANAGER_FILE,
        PACKAGE_MANAGER_OSTREE,
        _PACKAGE_MANAGER_MAX,
        _PACKAGE_MANAGER_INVALID = -EINVAL,
} PackageManagerType;

typedef enum RebootMode {
        REBOOT_COMMAND,
        REBOOT_REPORT,
        _REBOOT_MODE_MAX,
} RebootMode;

typedef enum ControlBus {
        CONTROL_BUS_SYSTEM,
        CONTROL_BUS_USER,
        CONTROL_BUS_NONE,
        _CONTROL_BUS_MAX,
} ControlBus;

typedef enum SecondaryTransportType {
        SECONDARY_TRANSPORT_DOIP,
        SECONDARY_TRANSPORT_ISOTP,
        _SECONDARY_TRANSPORT_MAX,
} SecondaryTransportType;

/* A number key of [secondary.NAME] without a value. */
#define SECONDARY_CONFIG_UNSET UINT64_MAX

/* One [secondary.NAME] section (a second table in config.c). */
typedef struct SecondaryConfig {
        char *name;
        char *serial;
        char *hardware_id;
        char *public_key;          /* path of its public key, TUF key JSON */
        int transport;             /* SecondaryTransportType */
        int verification;          /* 0 full, 1 partial (SecondaryVerification) */
        char *address;             /* doip: numeric IPv4 or IPv6 */
        uint64_t port;
        uint64_t logical_address;
        char *interface;           /* isotp */
        uint64_t rx_id, tx_id;
        int fd;                    /* 0 no, 1 yes: CAN FD */
        uint64_t padding;          /* SECONDARY_CONFIG_UNSET: none */
        uint64_t block_size, stmin;
        uint64_t timeout_s;        /* an answer to one request */
        uint64_t install_timeout_s;/* all "response pending" of one request */

        char **origin;             /* per key of the table, as PrimaryConfig's */
        unsigned *set_on_line;     /* per key: the line of the file being read */
        unsigned load_id;          /* which file set_on_line belongs to */
} SecondaryConfig;

typedef struct PrimaryConfig {
        /* [vehicle] */
        char *vin;
        char *ecu_serial;
        char *hardware_id;
        /* [director] */
        char *director_url;
        char *director_root;
        char *provisioning_token_file;
        /* [image-repository] */
        char *image_url;
        char *image_root;
        /* [time-server] */
        char *time_server_url;
        char *time_server_public_key;
        /* [update] */
        uint64_t poll_interval_s;
        /* [download] */
        uint64_t connect_timeout_s;
        uint64_t min_bytes_per_second;
        uint64_t min_speed_window_s;
        uint64_t max_bytes_per_second; /* 0: unlimited */
        uint64_t max_image_size;
        uint64_t max_root_size;
        uint64_t max_timestamp_size;
        uint64_t max_snapshot_size;
        uint64_t max_targets_size;
        /* [tls] */
        char *ca_file;
        char *client_certificate;
        char *client_key;
        /* [storage] */
        char *state_directory;
        char *cache_directory;
        /* [package-manager] */
        int package_manager; /* PackageManagerType */
        char *file_target_path;
        char *ostree_sysroot;
        char *ostree_remote_url;
        char *ostree_os;
        uint64_t ostree_min_free_space; /* 0: the repository's own setting */
        char *reboot_command;
        int reboot_mode; /* RebootMode */
        /* [control] */
        int control_bus; /* ControlBus */

        /* [secondary.NAME] sections, in the order first seen. */
        SecondaryConfig *secondaries;
        size_t n_secondaries;

        /* Where each key was last set ("FILE:LINE"; NULL: the default),
         * indexed like the table. */
        char **origin;
} PrimaryConfig;

/* Fills in the defaults. -ENOMEM only. */
int primary_config_init(PrimaryConfig *c);
void primary_config_done(PrimaryConfig *c);

/* Sets one key as if read from a file ("where" names it in messages, may be
 * NULL). -ENOKEY: unknown section or key; -EINVAL: bad value. */
int primary_config_set(PrimaryConfig *c, const char *section, const char *key, const char *value,
                       const char *where, char **reterr_message);

/* Reads one INI file over c. -ENOENT/-EACCES/...: cannot open; -EINVAL,
 * -ENOKEY: a bad line. */
int primary_config_load_file(PrimaryConfig *c, const char *path, char **reterr_message);

/* Reads path, then path.d/ *.conf in lexical (strcmp) order, then checks the
 * result with primary_config_verify(). */
int primary_config_load(PrimaryConfig *c, const char *path, char **reterr_message);

/* Required keys and the rules between keys. -EINVAL with a message naming
 * the key. */
int primary_config_verify(const PrimaryConfig *c, char **reterr_message);

/* The effective configuration, as INI that the parser accepts again; each
 * value not at its default is followed by the file and line that set it. */
int primary_config_print(const PrimaryConfig *c, FILE *f);

/* conf/uptane.conf: every key documented and commented out at its default. */
int primary_config_print_default(FILE *f);

/* docs/uptane.conf.md: the reference, in Markdown. */
int primary_config_print_reference(FILE *f);

/* The name of a package manager type, or NULL. */
const char *package_manager_type_to_string(PackageManagerType t);

const char *secondary_transport_to_string(SecondaryTransportType t);

/* Introspection, for tests: the number of keys and the section and name of
 * key i (false when i is out of range). */
size_t primary_config_n_keys(void);
bool primary_config_key_name(size_t i, const char **ret_section, const char **ret_key);
