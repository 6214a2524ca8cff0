/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-primaryd: its tables and the rules between keys
 * (the engine that reads, checks and prints them is src/daemon/conf_schema.c). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_schema.h"
#include "config.h"
#include "daemon_macro.h"

#define K CONF_K
#define M CONF_M
#define G CONF_G
#define T CONF_T
#define MINUTE CONF_MINUTE
#define HOUR CONF_HOUR
#define DAY CONF_DAY

static const ConfSection sections[] = {
        { "vehicle", "Who this Primary is, as registered with the Director." },
        { "director", "The Director repository: what this vehicle should install." },
        { "image-repository", "The Image repository: the images and their metadata." },
        { "time-server", "A time server whose signed attestations give the current time (optional)." },
        { "update", "When to look for updates." },
        { "download", "Limits on every download, against endless-data and slow-retrieval attacks." },
        { "tls", "TLS towards the repositories and the time server (libcurl)." },
        { "storage", "Where the daemon keeps its state." },
        { "package-manager", "How an image is installed on the Primary." },
        { "control", "How the daemon is controlled (uptanectl)." },
        { "secondaries", "Reserved: each Secondary ECU has its own [secondary.NAME] section.", .reserved = true },
};

static const char *const package_manager_names[_PACKAGE_MANAGER_MAX + 1] = {
        [PACKAGE_MANAGER_FILE] = "file",
        [PACKAGE_MANAGER_OSTREE] = "ostree",
};

static const char *const reboot_mode_names[] = {
        [REBOOT_COMMAND] = "command",
        [REBOOT_REPORT] = "report",
        NULL,
};

static const char *const control_bus_names[] = {
        [CONTROL_BUS_SYSTEM] = "system",
        [CONTROL_BUS_USER] = "user",
        [CONTROL_BUS_NONE] = "none",
        NULL,
};

#define FIELD(f) offsetof(PrimaryConfig, f)

static const ConfKey keys[] = {
        { "vehicle", "vin", CONF_IDENTIFIER, FIELD(vin), .required = true,
          .doc = "Vehicle Identification Number, sent in every vehicle manifest." },
        { "vehicle", "ecu-serial", CONF_IDENTIFIER, FIELD(ecu_serial), .required = true,
          .doc = "Serial number of this Primary ECU, unique in the vehicle." },
        { "vehicle", "hardware-id", CONF_IDENTIFIER, FIELD(hardware_id), .required = true,
          .doc = "Hardware identifier of this ECU; images name the hardware they are for." },

        { "director", "url", CONF_URL, FIELD(director_url), .required = true,
          .doc = "Base URL of the Director: metadata from URL/VIN/metadata/, manifests to URL/VIN/manifest, "
                 "registration at URL/ecus." },
        { "director", "root", CONF_PATH, FIELD(director_root), .required = true,
          .doc = "Trusted initial root metadata (root.json) of the Director, provisioned at build time." },
        { "director", "provisioning-token-file", CONF_PATH, FIELD(provisioning_token_file),
          .doc = "File holding the token that registers this vehicle's ECUs with the Director on first start; "
                 "unset: the ECUs are registered by other means." },

        { "image-repository", "url", CONF_URL, FIELD(image_url), .required = true,
          .doc = "Base URL of the Image repository: metadata from URL/metadata/, images from URL/targets/." },
        { "image-repository", "root", CONF_PATH, FIELD(image_root), .required = true,
          .doc = "Trusted initial root metadata (root.json) of the Image repository." },

        { "time-server", "url", CONF_URL, FIELD(time_server_url),
          .doc = "URL the time attestation is asked from (POST); unset: no time server, the clock is trusted." },
        { "time-server", "public-key", CONF_PATH, FIELD(time_server_public_key),
          .doc = "Public key (JSON) that signs the time attestations; required with url." },

        { "update", "poll-interval", CONF_DURATION, FIELD(poll_interval_s), "10m",
          .min = 5, .max = 7 * DAY, .doc = "Time between two checks for updates." },

        { "download", "connect-timeout", CONF_DURATION, FIELD(connect_timeout_s), "10s",
          .min = 1, .max = 5 * MINUTE, .doc = "Time allowed to connect to a server." },
        { "download", "min-bytes-per-second", CONF_SIZE, FIELD(min_bytes_per_second), "1K",
          .min = 1, .max = G,
          .doc = "A download slower than this many bytes per second for min-speed-window is aborted." },
        { "download", "min-speed-window", CONF_DURATION, FIELD(min_speed_window_s), "10s",
          .min = 1, .max = HOUR, .doc = "How long a download may stay under min-bytes-per-second." },
        { "download", "max-bytes-per-second", CONF_SIZE, FIELD(max_bytes_per_second), "0",
          .min = 0, .max = 10 * G, .doc = "Bandwidth cap for downloads (bytes per second); 0: none." },
        { "download", "max-image-size", CONF_SIZE, FIELD(max_image_size), "4G",
          .min = K, .max = T, .doc = "Largest image accepted, whatever the metadata says." },
        { "download", "max-root-size", CONF_SIZE, FIELD(max_root_size), "512K",
          .min = K, .max = 16 * M, .doc = "Largest root metadata accepted." },
        { "download", "max-timestamp-size", CONF_SIZE, FIELD(max_timestamp_size), "16K",
          .min = K, .max = M, .doc = "Largest timestamp metadata accepted." },
        { "download", "max-snapshot-size", CONF_SIZE, FIELD(max_snapshot_size), "2M",
          .min = K, .max = 256 * M, .doc = "Largest snapshot metadata accepted when the timestamp gives no length." },
        { "download", "max-targets-size", CONF_SIZE, FIELD(max_targets_size), "64M",
          .min = K, .max = 256 * M, .doc = "Largest targets metadata accepted when the snapshot gives no length." },

        { "tls", "ca-file", CONF_PATH, FIELD(ca_file),
          .doc = "CA certificates (PEM) to verify servers with; unset: the system's." },
        { "tls", "client-certificate", CONF_PATH, FIELD(client_certificate),
          .doc = "Client certificate (PEM) for mutual TLS; needs client-key." },
        { "tls", "client-key", CONF_PATH, FIELD(client_key),
          .doc = "Private key (PEM) of the client certificate." },

        { "storage", "state-directory", CONF_PATH, FIELD(state_directory), "/var/lib/uptane",
          .doc = "Trusted metadata, keys and install progress (StateDirectory=)." },
        { "storage", "cache-directory", CONF_PATH, FIELD(cache_directory), "/var/cache/uptane",
          .doc = "Downloads in progress (CacheDirectory=)." },

        { "package-manager", "type", CONF_ENUM, FIELD(package_manager), "file",
          .choices = package_manager_names, .doc = "How images are installed: file or ostree." },
        { "package-manager", "file-target-path", CONF_PATH, FIELD(file_target_path),
          .doc = "type = file: where the installed image is written; required then." },
        { "package-manager", "ostree-sysroot", CONF_PATH, FIELD(ostree_sysroot), "/",
          .doc = "type = ostree: the sysroot to deploy into." },
        { "package-manager", "ostree-remote-url", CONF_URL, FIELD(ostree_remote_url),
          .doc = "type = ostree: URL of the ostree repository to pull commits from, unless the target names "
                 "one (custom.uri); required then." },
        { "package-manager", "ostree-os", CONF_IDENTIFIER, FIELD(ostree_os),
          .doc = "type = ostree: the stateroot (osname) whose deployments are updated; unset: the only one in "
                 "ostree-sysroot." },
        { "package-manager", "ostree-min-free-space", CONF_SIZE, FIELD(ostree_min_free_space), "0",
          .min = 0, .max = T,
          .doc = "type = ostree: space a pull must leave free on the sysroot's file system (its repository's "
                 "core.min-free-space-size, in whole M); 0: the repository's own setting (libostree's: 3%)." },
        { "package-manager", "reboot-command", CONF_COMMAND, FIELD(reboot_command), "/usr/bin/systemctl reboot",
          .doc = "Command run to reboot into an installed image." },
        { "package-manager", "reboot", CONF_ENUM, FIELD(reboot_mode), "command",
          .choices = reboot_mode_names,
          .doc = "After an install that needs a reboot: command (run reboot-command) or report (only say "
                 "\"reboot needed\" in the journal and on D-Bus, and let someone else reboot)." },

        { "control", "bus", CONF_ENUM, FIELD(control_bus), "system",
          .choices = control_bus_names,
          .doc = "Where org.uptane.Primary1 is offered: system, user (the session bus) or none." },
};

static const ConfRepeated secondaries;
static int verify(const void *c, const char *where, char **reterr);

static const ConfSchema schema = {
        .program = "uptane-primaryd",
        .sections = sections,
        .n_sections = ELEMENTSOF(sections),
        .keys = keys,
        .n_keys = ELEMENTSOF(keys),
        .origin_offset = offsetof(PrimaryConfig, origin),
        .repeated = &secondaries,
        .verify = verify,
};

int primary_config_set(PrimaryConfig *c, const char *section, const char *key, const char *value,
                       const char *where, char **reterr_message) {
        return conf_set(&schema, c, section, key, value, where, reterr_message);
}

/* Life cycle. */

int primary_config_init(PrimaryConfig *c) {
        assert(c);

        *c = (PrimaryConfig) {};
        return conf_init(&schema, c);
}

void primary_config_done(PrimaryConfig *c) {
        if (!c)
                return;
        conf_done(&schema, c);
        *c = (PrimaryConfig) {};
}

/* Reading files. */

int primary_config_load_file(PrimaryConfig *c, const char *path, char **reterr_message) {
        return conf_load_file(&schema, c, path, reterr_message);
}

int primary_config_load(PrimaryConfig *c, const char *path, char **reterr_message) {
        return conf_load(&schema, c, path, reterr_message);
}

/* Checks after all files. */

static bool key_is_set(const PrimaryConfig *c, const char *section, const char *key) {
        const ConfKey *k = conf_find_key(&schema, section, key);

        assert(k);
        return conf_value_is_set(k, c);
}

static void verify_required(const PrimaryConfig *c, const char *where, FILE *out) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].required && !key_is_set(c, keys[i].section, keys[i].key))
                        conf_problem(out, where, keys[i].section, keys[i].key, "required, but not set");
}

static void verify_pair(const PrimaryConfig *c, const char *where, FILE *out, const char *section, const char *a,
                        const char *b) {
        bool has_a = key_is_set(c, section, a), has_b = key_is_set(c, section, b);

        if (has_a && !has_b)
                conf_problem(out, where, section, b, "required when %s is set", a);
        else if (has_b && !has_a)
                conf_problem(out, where, section, a, "required when %s is set", b);
}

static void verify_package_manager(const PrimaryConfig *c, const char *where, FILE *out) {
        if (c->package_manager == PACKAGE_MANAGER_FILE && !c->file_target_path)
                conf_problem(out, where, "package-manager", "file-target-path", "required when type = file");
        if (c->package_manager == PACKAGE_MANAGER_OSTREE && !c->ostree_remote_url)
                conf_problem(out, where, "package-manager", "ostree-remote-url", "required when type = ostree");
}

static void verify_speed(const PrimaryConfig *c, const char *where, FILE *out) {
        char min[CONF_FORMAT_MAX];

        if (c->max_bytes_per_second != 0 && c->max_bytes_per_second < c->min_bytes_per_second)
                conf_problem(out, where, "download", "max-bytes-per-second",
                             "must be 0 or at least min-bytes-per-second (%s), or every download is aborted",
                             conf_format_number(CONF_SIZE, c->min_bytes_per_second, min));
}

static void verify_secondaries(const PrimaryConfig *c, const char *where, FILE *out);

static int verify(const void *config, const char *where, char **reterr) {
        const PrimaryConfig *c = config;
        _cleanup_free_ char *s = NULL;
        size_t size = 0;
        FILE *out;

        out = open_memstream(&s, &size);
        if (!out)
                return -ENOMEM;
        verify_required(c, where, out);
        verify_pair(c, where, out, "time-server", "url", "public-key");
        verify_pair(c, where, out, "tls", "client-certificate", "client-key");
        verify_package_manager(c, where, out);
        verify_speed(c, where, out);
        verify_secondaries(c, where, out);
        return conf_problems_result(out, &s, &size, reterr);
}

int primary_config_verify(const PrimaryConfig *c, char **reterr_message) {
        assert(c);
        return verify(c, /* where= */ NULL, reterr_message);
}

/* Printing. */

int primary_config_print(const PrimaryConfig *c, FILE *f) {
        assert(c && f);

        conf_print_effective(&schema, c, f);
        return conf_print_result(f);
}

static const char default_header[] =
        "# uptane.conf: the configuration of uptane-primaryd.\n"
        "#\n"
        "# Read from /etc/uptane.conf, then from /etc/uptane.conf.d/*.conf in lexical\n"
        "# order; a later value overrides an earlier one. Every key is shown here\n"
        "# commented out at its default; a key marked \"Required\" has none and must be\n"
        "# set. Unknown sections and keys, empty values and a key set twice in one file\n"
        "# are errors. Check the result with: uptane-primaryd --check-config\n"
        "#\n"
        "# Durations: seconds, or numbers followed by s, m, h or d (90, 10m, 1h30m).\n"
        "# Sizes: bytes, or a number followed by K, M, G or T (powers of 1024).\n"
        "#\n"
        "# Generated by uptane-primaryd --print-default-config; see uptane.conf.md.\n";

int primary_config_print_default(FILE *f) {
        assert(f);

        conf_print_default(&schema, default_header, f);
        return conf_print_result(f);
}

static const char reference_intro[] =
        "# uptane.conf(5)\n"
        "\n"
        "<!-- Generated by `uptane-primaryd --print-config-reference > docs/uptane.conf.md`.\n"
        "     A unit test checks that this file matches: edit the table in\n"
        "     src/primaryd/config.c, not this file. -->\n"
        "\n"
        "## Name\n"
        "\n"
        "uptane.conf: the configuration of uptane-primaryd, the Uptane Primary daemon.\n"
        "\n"
        "## Files\n"
        "\n"
        "- `/etc/uptane.conf`, or the file given with `--config FILE`;\n"
        "- `/etc/uptane.conf.d/*.conf`, or `FILE.d/*.conf` with `--config FILE`.\n"
        "\n"
        "`conf/uptane.conf` in the source tree (`uptane-primaryd --print-default-config`)\n"
        "lists every key commented out at its default.\n"
        "\n"
        "## Description\n"
        "\n"
        "INI syntax, read with inih: `[section]` lines, `key = value` lines, and\n"
        "comments on lines that start with `#` or `;` or after ` ;` at the end of a\n"
        "line. The main file is read first, then the drop-ins in lexical (byte) order\n"
        "of their names; names that start with `.` or do not end in `.conf` are\n"
        "ignored. A later value overrides an earlier one, so a drop-in changes a key\n"
        "without a copy of the file. By convention vendor drop-ins use the prefixes\n"
        "10 to 40 and the administrator's 60 to 90.\n"
        "\n"
        "Reading is strict. Each of these is an error, reported as\n"
        "`FILE:LINE: [section] key: reason`:\n"
        "\n"
        "- an unknown section or key, a key outside any section, a key in a reserved\n"
        "  section;\n"
        "- an empty value (remove the line to keep the default);\n"
        "- a key set twice in one file (this includes a value continued on an\n"
        "  indented line);\n"
        "- a value of the wrong type or out of range;\n"
        "- a line longer than inih's line buffer (about 200 characters).\n"
        "\n"
        "After all files, the required keys and the rules between keys are checked;\n"
        "each problem names its key.\n"
        "\n"
        "`uptane-primaryd` exits with status 78 (EX_CONFIG) on a configuration error,\n"
        "so that `RestartPreventExitStatus=78` stops systemd from restarting it in a\n"
        "loop. `uptane-primaryd --check-config` checks the configuration, prints the\n"
        "effective one (each value read from a file followed by `; FILE:LINE`) and\n"
        "exits with 0.\n"
        "\n"
        "## Value types\n"
        "\n"
        "| Type | Syntax |\n"
        "|---|---|\n"
        "| text | printable ASCII without spaces, at most 256 bytes |\n"
        "| absolute path | starts with `/` |\n"
        "| URL | `http://` or `https://`, a host, no user name or password |\n"
        "| command line | the program as an absolute path, then its arguments |\n"
        "| duration | seconds (`90`), or numbers followed by `s`, `m`, `h` or `d` (`10m`, `1h30m`) |\n"
        "| size | bytes (`1000`), or a number followed by `K`, `M`, `G` or `T` (powers of 1024) |\n"
        "| one of | one of the words listed |\n";

static const char reference_outro[] =
        "\n"
        "## Rules between keys\n"
        "\n"
        "- `[time-server]` `url` and `public-key` are set together, or neither is.\n"
        "- `[tls]` `client-certificate` and `client-key` are set together, or neither is.\n"
        "- `[package-manager]` `type = file` needs `file-target-path`, and\n"
        "  `type = ostree` needs `ostree-remote-url`.\n"
        "- `[download]` `max-bytes-per-second` is 0 or at least `min-bytes-per-second`.\n"
        "- `[secondary.NAME]` `transport = doip` needs `address` and `logical-address`;\n"
        "  `transport = isotp` needs `interface`, `rx-id` and `tx-id`, two different ids.\n"
        "- Every `[secondary.NAME]` has its own `serial`, not the Primary's `ecu-serial`.\n"
        "\n"
        "## Example\n"
        "\n"
        "```ini\n"
        "[vehicle]\n"
        "vin = WAUZZZ8V0KA000001\n"
        "ecu-serial = primary-0001\n"
        "hardware-id = acme-head-unit\n"
        "\n"
        "[director]\n"
        "url = https://director.example.com/vehicles/WAUZZZ8V0KA000001\n"
        "root = /usr/share/uptane/director-root.json\n"
        "\n"
        "[image-repository]\n"
        "url = https://images.example.com\n"
        "root = /usr/share/uptane/image-root.json\n"
        "\n"
        "[package-manager]\n"
        "file-target-path = /var/lib/uptane/installed.img\n"
        "```\n"
        "\n"
        "A drop-in `/etc/uptane.conf.d/60-poll.conf` that polls every hour:\n"
        "\n"
        "```ini\n"
        "[update]\n"
        "poll-interval = 1h\n"
        "```\n";

static void print_reference_secondary(FILE *f);

int primary_config_print_reference(FILE *f) {
        assert(f);

        fputs(reference_intro, f);
        conf_print_reference_sections(&schema, f);
        print_reference_secondary(f);
        fputs(reference_outro, f);
        return conf_print_result(f);
}

const char *package_manager_type_to_string(PackageManagerType t) {
        if (t < 0 || t >= _PACKAGE_MANAGER_MAX)
                return NULL;
        return package_manager_names[t];
}

size_t primary_config_n_keys(void) {
        return ELEMENTSOF(keys);
}

bool primary_config_key_name(size_t i, const char **ret_section, const char **ret_key) {
        if (i >= ELEMENTSOF(keys))
                return false;
        if (ret_section)
                *ret_section = keys[i].section;
        if (ret_key)
                *ret_key = keys[i].key;
        return true;
}

/* [secondary.NAME]: one section per Secondary ECU, keys from a second table. */

#define SECONDARY_PREFIX "secondary."
#define SECONDARY_NAME_MAX 64u
#define SFIELD(f) offsetof(SecondaryConfig, f)

static const char *const secondary_transport_names[] = {
        [SECONDARY_TRANSPORT_DOIP] = "doip",
        [SECONDARY_TRANSPORT_ISOTP] = "isotp",
        NULL,
};

static const char *const verification_names[] = { "full", "partial", NULL };
static const char *const yes_no_names[] = { "no", "yes", NULL };

static const ConfKey secondary_keys[] = {
        { "secondary.NAME", "serial", CONF_IDENTIFIER, SFIELD(serial), .required = true,
          .doc = "Its ECU serial, unique in the vehicle; what it reads in F18C must be this." },
        { "secondary.NAME", "hardware-id", CONF_IDENTIFIER, SFIELD(hardware_id), .required = true,
          .doc = "Its hardware identifier; what it reads in F191 must be this." },
        { "secondary.NAME", "public-key", CONF_PATH, SFIELD(public_key), .required = true,
          .doc = "Its public key (TUF key JSON), as registered with the Director: its reports are checked with "
                 "it, and what it reads in F1A0 must be this key (no trust on first use)." },
        { "secondary.NAME", "verification", CONF_ENUM, SFIELD(verification), .required = true,
          .choices = verification_names,
          .doc = "The verification it does, as it reads in F1A3: full (both repositories) or partial (the "
                 "Director's targets and root)." },
        { "secondary.NAME", "transport", CONF_ENUM, SFIELD(transport), .required = true,
          .choices = secondary_transport_names, .doc = "UDS on doip (Ethernet) or isotp (CAN)." },
        { "secondary.NAME", "address", CONF_IDENTIFIER, SFIELD(address),
          .doc = "transport = doip: the DoIP entity's numeric IPv4 or IPv6 address; required then." },
        { "secondary.NAME", "port", CONF_INTEGER, SFIELD(port), "13400", .min = 1, .max = 65535,
          .doc = "transport = doip: its TCP port." },
        { "secondary.NAME", "logical-address", CONF_HEX, SFIELD(logical_address), .min = 0x0001, .max = 0x7FFF,
          .doc = "transport = doip: its DoIP logical address (ISO 13400-2: 0x0001-0x0DFF or 0x1000-0x7FFF; "
                 "0x0E00-0x0FFF are testers'); required then." },
        { "secondary.NAME", "interface", CONF_IDENTIFIER, SFIELD(interface),
          .doc = "transport = isotp: the CAN interface (can0, vcan0); required then." },
        { "secondary.NAME", "rx-id", CONF_HEX, SFIELD(rx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "transport = isotp: the CAN id its answers come on (above 0x7FF: 29-bit ids); required then." },
        { "secondary.NAME", "tx-id", CONF_HEX, SFIELD(tx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "transport = isotp: the CAN id requests go out on; required then." },
        { "secondary.NAME", "fd", CONF_ENUM, SFIELD(fd), "no", .choices = yes_no_names,
          .doc = "transport = isotp: CAN FD frames of 64 bytes (the interface's MTU must be 72)." },
        { "secondary.NAME", "padding", CONF_HEX, SFIELD(padding), .min = 0, .max = 0xFF,
          .doc = "transport = isotp: pad every frame with this byte; unset: no padding." },
        { "secondary.NAME", "block-size", CONF_INTEGER, SFIELD(block_size), "0", .min = 0, .max = 255,
          .doc = "transport = isotp: the block size sent in flow control frames (0: no further flow control)." },
        { "secondary.NAME", "stmin", CONF_HEX, SFIELD(stmin), "0x0", .min = 0, .max = 0xF9,
          .doc = "transport = isotp: STmin sent in flow control frames (0x00-0x7F ms, 0xF1-0xF9 100-900 us)." },
        { "secondary.NAME", "timeout", CONF_DURATION, SFIELD(timeout_s), "2s", .min = 1, .max = 5 * MINUTE,
          .doc = "Time allowed for an answer to each request (and between two \"response pending\")." },
        { "secondary.NAME", "install-timeout", CONF_DURATION, SFIELD(install_timeout_s), "10m", .min = 10,
          .max = 2 * HOUR, .doc = "Time allowed for one request that it answers \"response pending\" (an install)." },
};

static const char secondary_doc[] =
        "Each Secondary ECU has a section [secondary.NAME] (NAME: letters, digits, - and _), "
        "reached with UDS on DoIP or on ISO-TP (docs/POUF.md, \"Uptane over UDS\").";

static const ConfSection secondary_sections[] = {
        { "secondary.NAME", secondary_doc },
};

static const ConfSchema secondary_schema = {
        .program = "uptane-primaryd",
        .sections = secondary_sections,
        .n_sections = ELEMENTSOF(secondary_sections),
        .keys = secondary_keys,
        .n_keys = ELEMENTSOF(secondary_keys),
        .origin_offset = offsetof(SecondaryConfig, origin),
};

static const ConfRepeated secondaries = {
        .prefix = SECONDARY_PREFIX,
        .name_max = SECONDARY_NAME_MAX,
        .schema = &secondary_schema,
        .element_size = sizeof(SecondaryConfig),
        .array_offset = offsetof(PrimaryConfig, secondaries),
        .count_offset = offsetof(PrimaryConfig, n_secondaries),
        .name_offset = offsetof(SecondaryConfig, name),
        .set_on_line_offset = offsetof(SecondaryConfig, set_on_line),
        .load_id_offset = offsetof(SecondaryConfig, load_id),
};

_Static_assert(SECONDARY_CONFIG_UNSET == CONF_UNSET, "a number without a value is the engine's CONF_UNSET");

static const ConfKey *find_secondary_key(const char *key) {
        return conf_find_key(&secondary_schema, "secondary.NAME", key);
}

const char *secondary_transport_to_string(SecondaryTransportType t) {
        if ((int) t < 0 || t >= _SECONDARY_TRANSPORT_MAX)
                return NULL;
        return secondary_transport_names[t];
}

static bool secondary_key_set(const SecondaryConfig *sc, const char *key) {
        const ConfKey *k = find_secondary_key(key);

        assert(k);
        return conf_value_is_set(k, sc);
}

static void verify_secondary_keys(const SecondaryConfig *sc, const char *section, const char *where, FILE *out) {
        static const char *const doip[] = { "address", "logical-address", NULL };
        static const char *const isotp[] = { "interface", "rx-id", "tx-id", NULL };
        const char *const *needed = sc->transport == SECONDARY_TRANSPORT_DOIP    ? doip
                                    : sc->transport == SECONDARY_TRANSPORT_ISOTP ? isotp
                                                                                : NULL;

        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++)
                if (secondary_keys[i].required && !secondary_key_set(sc, secondary_keys[i].key))
                        conf_problem(out, where, section, secondary_keys[i].key, "required, but not set");
        for (size_t i = 0; needed && needed[i]; i++)
                if (!secondary_key_set(sc, needed[i]))
                        conf_problem(out, where, section, needed[i], "required when transport = %s",
                                     secondary_transport_names[sc->transport]);
        if (sc->transport == SECONDARY_TRANSPORT_DOIP && sc->logical_address >= 0x0E00 && sc->logical_address <= 0x0FFF)
                conf_problem(out, where, section, "logical-address", "0x0E00-0x0FFF are the testers' addresses");
        if (sc->transport == SECONDARY_TRANSPORT_ISOTP && secondary_key_set(sc, "rx-id") &&
            sc->rx_id == sc->tx_id)
                conf_problem(out, where, section, "tx-id", "must differ from rx-id");
}

static void verify_secondaries(const PrimaryConfig *c, const char *where, FILE *out) {
        for (size_t i = 0; i < c->n_secondaries; i++) {
                const SecondaryConfig *sc = &c->secondaries[i];
                char section[sizeof(SECONDARY_PREFIX) + SECONDARY_NAME_MAX];

                snprintf(section, sizeof(section), SECONDARY_PREFIX "%s", sc->name);
                verify_secondary_keys(sc, section, where, out);
                if (!sc->serial)
                        continue;
                if (c->ecu_serial && strcmp(sc->serial, c->ecu_serial) == 0)
                        conf_problem(out, where, section, "serial", "'%s' is the Primary's [vehicle] ecu-serial",
                                     sc->serial);
                for (size_t j = 0; j < i; j++)
                        if (c->secondaries[j].serial && strcmp(c->secondaries[j].serial, sc->serial) == 0)
                                conf_problem(out, where, section, "serial", "'%s' is also [secondary.%s]'s serial",
                                             sc->serial, c->secondaries[j].name);
        }
}

static void print_reference_secondary(FILE *f) {
        fprintf(f, "\n## [secondary.NAME]\n\n%s Sections are repeated, one per Secondary; serials are unique and "
                   "differ from the Primary's.\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n",
                secondary_doc);
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++)
                conf_print_reference_key(&secondary_keys[i], f);
}
