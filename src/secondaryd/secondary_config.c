/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-secondaryd: its table and the rules between keys
 * (the engine that reads, checks and prints them is src/daemon/conf_schema.c). */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "conf_schema.h"
#include "daemon_macro.h"
#include "secondary_config.h"


static const ConfSection sections[] = {
        { "ecu", "Who this Secondary is, as registered with the Director." },
        { "director", "The Director repository's trust anchor." },
        { "image-repository", "The Image repository's trust anchor (full verification only)." },
        { "time-server", "The time server whose signed attestations give the current time (optional)." },
        { "doip", "UDS on DoIP (ISO 13400-2) over Ethernet." },
        { "isotp", "UDS on ISO-TP (ISO 15765-2) over CAN, with the kernel's CAN_ISOTP sockets." },
        { "storage", "Where the daemon keeps its state and its two image slots." },
        { "limits", "Limits on what the Primary sends, against endless-data attacks." },
};

static const char *const verification_names[] = {
        [SECONDARY_VERIFICATION_FULL] = "full",
        [SECONDARY_VERIFICATION_PARTIAL] = "partial",
        NULL,
};

#define FIELD(f) offsetof(SecondaryConfig, f)

static const ConfKey keys[] = {
        { "ecu", "serial", CONF_IDENTIFIER, FIELD(serial), .required = true,
          .doc = "This ECU's serial, unique in the vehicle (its entry in the Director's targets)." },
        { "ecu", "hardware-id", CONF_IDENTIFIER, FIELD(hardware_id), .required = true,
          .doc = "This ECU's hardware identifier; images name the hardware they are for." },
        { "ecu", "vin", CONF_IDENTIFIER, FIELD(vin),
          .doc = "The vehicle's VIN, checked against the Director targets' custom.vin; unset: any VIN." },
        { "ecu", "verification", CONF_ENUM, FIELD(verification), "partial", .choices = verification_names,
          .doc = "full (both repositories, its own image) or partial (the Director's targets and root)." },

        { "director", "root", CONF_PATH, FIELD(director_root), .required = true,
          .doc = "The Director's initial trusted root metadata (root.json), provisioned at build time." },

        { "image-repository", "root", CONF_PATH, FIELD(image_root),
          .doc = "The Image repository's initial trusted root.json; required with verification = full." },

        { "time-server", "public-key", CONF_PATH, FIELD(time_server_public_key),
          .doc = "The time server's public key (TUF key JSON); unset: the system clock is trusted." },

        { "doip", "enabled", CONF_BOOL, FIELD(doip_enabled), "yes", .doc = "Serve UDS on DoIP." },
        { "doip", "listen-address", CONF_ADDRESS, FIELD(doip_address), "0.0.0.0",
          .doc = "The address to listen on (TCP and UDP)." },
        { "doip", "port", CONF_INTEGER, FIELD(doip_port), "13400", .min = 0, .max = 65535,
          .doc = "The TCP and UDP port (0: any free one)." },
        { "doip", "logical-address", CONF_HEX, FIELD(doip_logical_address), "0x0001", .min = 0x0001, .max = 0x7FFF,
          .doc = "This ECU's DoIP logical address (ISO 13400-2: 0x0001-0x0DFF or 0x1000-0x7FFF; 0x0E00-0x0FFF "
                 "are testers')." },
        { "doip", "tester-address-min", CONF_HEX, FIELD(doip_tester_min), "0x0E00", .min = 0x0E00, .max = 0x0FFF,
          .doc = "The lowest tester (Primary) source address accepted for routing activation." },
        { "doip", "tester-address-max", CONF_HEX, FIELD(doip_tester_max), "0x0FFF", .min = 0x0E00, .max = 0x0FFF,
          .doc = "The highest tester (Primary) source address accepted for routing activation." },

        { "isotp", "enabled", CONF_BOOL, FIELD(isotp_enabled), "no", .doc = "Serve UDS on ISO-TP." },
        { "isotp", "interface", CONF_IDENTIFIER, FIELD(isotp_interface), "can0",
          .doc = "The CAN interface (can0, vcan0)." },
        { "isotp", "rx-id", CONF_HEX, FIELD(isotp_rx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "The CAN id the Primary's requests come on (above 0x7FF: 29-bit ids); required with enabled = yes." },
        { "isotp", "tx-id", CONF_HEX, FIELD(isotp_tx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "The CAN id this ECU answers on; required with enabled = yes." },
        { "isotp", "fd", CONF_BOOL, FIELD(isotp_fd), "no",
          .doc = "CAN FD frames of 64 bytes (the interface's MTU must be 72)." },
        { "isotp", "padding", CONF_HEX, FIELD(isotp_padding), "none", .min = 0, .max = 0xFF, .unset_word = "none",
          .doc = "Pad every frame with this byte; none: no padding." },
        { "isotp", "block-size", CONF_INTEGER, FIELD(isotp_block_size), "0", .min = 0, .max = 255,
          .doc = "The block size sent in flow control frames (0: no further flow control)." },
        { "isotp", "stmin", CONF_INTEGER, FIELD(isotp_stmin), "0", .min = 0, .max = 255,
          .doc = "STmin sent in flow control frames (0-127 ms, 0xF1-0xF9 100-900 us)." },

        { "storage", "state-directory", CONF_PATH, FIELD(state_directory), "/var/lib/uptane-secondary",
          .doc = "Trusted metadata, the ECU key and state.json (StateDirectory=)." },
        { "storage", "slot-a", CONF_PATH, FIELD(slot_a), "/var/lib/uptane-secondary/slot-a",
          .doc = "The first image slot; what it holds on first start is the factory image." },
        { "storage", "slot-b", CONF_PATH, FIELD(slot_b), "/var/lib/uptane-secondary/slot-b",
          .doc = "The second image slot; installs go to the inactive one." },

        { "limits", "max-image-size", CONF_SIZE, FIELD(max_image_size), "1G", .min = 1, .max = 64 * CONF_G,
          .doc = "Largest image accepted from the Primary." },
        { "limits", "max-metadata-size", CONF_SIZE, FIELD(max_metadata_size), "16M", .min = 4 * CONF_K, .max = 256 * CONF_M,
          .doc = "Largest metadata file accepted from the Primary." },
};

static int verify(const void *c, const char *where, char **reterr);

static const ConfSchema schema = {
        .program = "uptane-secondaryd",
        .sections = sections,
        .n_sections = ELEMENTSOF(sections),
        .keys = keys,
        .n_keys = ELEMENTSOF(keys),
        .origin_offset = offsetof(SecondaryConfig, origin),
        .origin_on_own_line = true,
        .verify = verify,
};

int secondary_config_init(SecondaryConfig *c) {
        *c = (SecondaryConfig) {};
        return conf_init(&schema, c);
}

void secondary_config_done(SecondaryConfig *c) {
        if (!c)
                return;
        conf_done(&schema, c);
        *c = (SecondaryConfig) {};
}

int secondary_config_set(SecondaryConfig *c, const char *section, const char *key, const char *value,
                         const char *where, char **reterr_message) {
        return conf_set(&schema, c, section, key, value, where, reterr_message);
}

int secondary_config_load_file(SecondaryConfig *c, const char *path, char **reterr_message) {
        return conf_load_file(&schema, c, path, reterr_message);
}

int secondary_config_load(SecondaryConfig *c, const char *path, char **reterr_message) {
        return conf_load(&schema, c, path, reterr_message);
}

static const char *origin_of(const SecondaryConfig *c, const char *section, const char *key) {
        return conf_origin(&schema, c, section, key) ?: "default";
}

/* The first problem only, named by the file and line of the key that causes it. */
static int verify(const void *config, const char *where, char **reterr) {
        const SecondaryConfig *c = config;

        (void) where;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].required && !conf_value_is_set(&keys[i], c))
                        return conf_message(reterr, -EINVAL, "[%s] %s: required, but not set", keys[i].section,
                                            keys[i].key);
        if (c->verification == SECONDARY_VERIFICATION_FULL && !c->image_root)
                return conf_message(reterr, -EINVAL, "%s: [image-repository] root: required with verification = full",
                                    origin_of(c, "ecu", "verification"));
        if (c->doip_logical_address >= 0x0E00 && c->doip_logical_address <= 0x0FFF)
                return conf_message(reterr, -EINVAL, "%s: [doip] logical-address: 0x0E00-0x0FFF are the testers' addresses",
                                    origin_of(c, "doip", "logical-address"));
        if (!c->doip_enabled && !c->isotp_enabled)
                return conf_message(reterr, -EINVAL, "%s: [doip] enabled: neither DoIP nor ISO-TP is enabled",
                                    origin_of(c, "doip", "enabled"));
        if (c->doip_tester_min > c->doip_tester_max)
                return conf_message(reterr, -EINVAL, "%s: [doip] tester-address-min: above tester-address-max",
                                    origin_of(c, "doip", "tester-address-min"));
        if (c->isotp_enabled && (c->isotp_rx_id == CONF_UNSET || c->isotp_tx_id == CONF_UNSET ||
                                 c->isotp_rx_id == c->isotp_tx_id))
                return conf_message(reterr, -EINVAL, "%s: [isotp] enabled: needs rx-id and tx-id, two different CAN ids",
                                    origin_of(c, "isotp", "enabled"));
        if (strcmp(c->slot_a, c->slot_b) == 0)
                return conf_message(reterr, -EINVAL, "%s: [storage] slot-b: the same file as slot-a",
                                    origin_of(c, "storage", "slot-b"));
        return 0;
}

int secondary_config_verify(const SecondaryConfig *c, char **reterr_message) {
        return verify(c, /* where= */ NULL, reterr_message);
}

int secondary_config_print(const SecondaryConfig *c, FILE *f) {
        conf_print_effective(&schema, c, f);
        return conf_print_result(f);
}

static const char default_header[] =
        "# uptane-secondary.conf: the configuration of uptane-secondaryd.\n"
        "#\n"
        "# Read from /etc/uptane-secondary.conf, then from /etc/uptane-secondary.conf.d/*.conf\n"
        "# in lexical order; a later value overrides an earlier one. Every key is shown\n"
        "# here commented out at its default; a key marked \"Required\" has none and must\n"
        "# be set. Unknown sections and keys, empty values and a key set twice in one\n"
        "# file are errors. Check the result with: uptane-secondaryd --check-config\n"
        "#\n"
        "# Sizes: bytes, or a number followed by K, M, G or T (powers of 1024).\n"
        "#\n"
        "# Generated by uptane-secondaryd --print-default-config.\n";

int secondary_config_print_default(FILE *f) {
        conf_print_default(&schema, default_header, f);
        return conf_print_result(f);
}

const char *secondary_verification_to_string(SecondaryVerificationType t) {
        return t >= 0 && t < _SECONDARY_VERIFICATION_MAX ? verification_names[t] : NULL;
}
