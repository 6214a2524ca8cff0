/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-primaryd: one table, and everything derived from it. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define K UINT64_C(1024)
#define M (K * K)
#define G (M * K)
#define T (G * K)
#define MINUTE UINT64_C(60)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

#define MAX_IDENTIFIER 256u /* bytes, as libuptane's UP_MSG_MAX_ID */
#define MAX_URL 2048u

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

typedef enum ConfigType {
        CONFIG_IDENTIFIER, /* printable, no spaces: VIN, serials, ids */
        CONFIG_PATH,       /* absolute */
        CONFIG_URL,        /* http:// or https:// */
        CONFIG_COMMAND,    /* absolute program path, then arguments */
        CONFIG_DURATION,   /* seconds, or 30s, 10m, 1h, 1d, 1h30m */
        CONFIG_SIZE,       /* bytes, or 512K, 4M, 2G, 1T (powers of 1024) */
        CONFIG_ENUM,
        CONFIG_INTEGER,    /* decimal or 0x hex, printed in decimal */
        CONFIG_HEX,        /* decimal or 0x hex, printed in hex */
        _CONFIG_TYPE_MAX,
} ConfigType;

typedef struct ConfigSection {
        const char *name;
        const char *doc;
        bool reserved; /* takes no keys (yet) */
} ConfigSection;

typedef struct ConfigKey {
        const char *section;
        const char *key;
        ConfigType type;
        size_t offset;              /* into PrimaryConfig */
        const char *default_value;  /* NULL: none */
        bool required;              /* needs a value after all files */
        uint64_t min, max;          /* DURATION, SIZE, INTEGER, HEX */
        const char *const *choices; /* ENUM, NULL-terminated */
        const char *doc;
} ConfigKey;

static const ConfigSection sections[] = {
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

static const ConfigKey keys[] = {
        { "vehicle", "vin", CONFIG_IDENTIFIER, FIELD(vin), .required = true,
          .doc = "Vehicle Identification Number, sent in every vehicle manifest." },
        { "vehicle", "ecu-serial", CONFIG_IDENTIFIER, FIELD(ecu_serial), .required = true,
          .doc = "Serial number of this Primary ECU, unique in the vehicle." },
        { "vehicle", "hardware-id", CONFIG_IDENTIFIER, FIELD(hardware_id), .required = true,
          .doc = "Hardware identifier of this ECU; images name the hardware they are for." },

        { "director", "url", CONFIG_URL, FIELD(director_url), .required = true,
          .doc = "Base URL of the Director: metadata from URL/VIN/metadata/, manifests to URL/VIN/manifest, "
                 "registration at URL/ecus." },
        { "director", "root", CONFIG_PATH, FIELD(director_root), .required = true,
          .doc = "Trusted initial root metadata (root.json) of the Director, provisioned at build time." },
        { "director", "provisioning-token-file", CONFIG_PATH, FIELD(provisioning_token_file),
          .doc = "File holding the token that registers this vehicle's ECUs with the Director on first start; "
                 "unset: the ECUs are registered by other means." },

        { "image-repository", "url", CONFIG_URL, FIELD(image_url), .required = true,
          .doc = "Base URL of the Image repository: metadata from URL/metadata/, images from URL/targets/." },
        { "image-repository", "root", CONFIG_PATH, FIELD(image_root), .required = true,
          .doc = "Trusted initial root metadata (root.json) of the Image repository." },

        { "time-server", "url", CONFIG_URL, FIELD(time_server_url),
          .doc = "URL the time attestation is asked from (POST); unset: no time server, the clock is trusted." },
        { "time-server", "public-key", CONFIG_PATH, FIELD(time_server_public_key),
          .doc = "Public key (JSON) that signs the time attestations; required with url." },

        { "update", "poll-interval", CONFIG_DURATION, FIELD(poll_interval_s), "10m",
          .min = 5, .max = 7 * DAY, .doc = "Time between two checks for updates." },

        { "download", "connect-timeout", CONFIG_DURATION, FIELD(connect_timeout_s), "10s",
          .min = 1, .max = 5 * MINUTE, .doc = "Time allowed to connect to a server." },
        { "download", "min-bytes-per-second", CONFIG_SIZE, FIELD(min_bytes_per_second), "1K",
          .min = 1, .max = G,
          .doc = "A download slower than this many bytes per second for min-speed-window is aborted." },
        { "download", "min-speed-window", CONFIG_DURATION, FIELD(min_speed_window_s), "10s",
          .min = 1, .max = HOUR, .doc = "How long a download may stay under min-bytes-per-second." },
        { "download", "max-bytes-per-second", CONFIG_SIZE, FIELD(max_bytes_per_second), "0",
          .min = 0, .max = 10 * G, .doc = "Bandwidth cap for downloads (bytes per second); 0: none." },
        { "download", "max-image-size", CONFIG_SIZE, FIELD(max_image_size), "4G",
          .min = K, .max = T, .doc = "Largest image accepted, whatever the metadata says." },
        { "download", "max-root-size", CONFIG_SIZE, FIELD(max_root_size), "512K",
          .min = K, .max = 16 * M, .doc = "Largest root metadata accepted." },
        { "download", "max-timestamp-size", CONFIG_SIZE, FIELD(max_timestamp_size), "16K",
          .min = K, .max = M, .doc = "Largest timestamp metadata accepted." },
        { "download", "max-snapshot-size", CONFIG_SIZE, FIELD(max_snapshot_size), "2M",
          .min = K, .max = 256 * M, .doc = "Largest snapshot metadata accepted when the timestamp gives no length." },
        { "download", "max-targets-size", CONFIG_SIZE, FIELD(max_targets_size), "64M",
          .min = K, .max = 256 * M, .doc = "Largest targets metadata accepted when the snapshot gives no length." },

        { "tls", "ca-file", CONFIG_PATH, FIELD(ca_file),
          .doc = "CA certificates (PEM) to verify servers with; unset: the system's." },
        { "tls", "client-certificate", CONFIG_PATH, FIELD(client_certificate),
          .doc = "Client certificate (PEM) for mutual TLS; needs client-key." },
        { "tls", "client-key", CONFIG_PATH, FIELD(client_key),
          .doc = "Private key (PEM) of the client certificate." },

        { "storage", "state-directory", CONFIG_PATH, FIELD(state_directory), "/var/lib/uptane",
          .doc = "Trusted metadata, keys and install progress (StateDirectory=)." },
        { "storage", "cache-directory", CONFIG_PATH, FIELD(cache_directory), "/var/cache/uptane",
          .doc = "Downloads in progress (CacheDirectory=)." },

        { "package-manager", "type", CONFIG_ENUM, FIELD(package_manager), "file",
          .choices = package_manager_names, .doc = "How images are installed: file or ostree." },
        { "package-manager", "file-target-path", CONFIG_PATH, FIELD(file_target_path),
          .doc = "type = file: where the installed image is written; required then." },
        { "package-manager", "ostree-sysroot", CONFIG_PATH, FIELD(ostree_sysroot), "/",
          .doc = "type = ostree: the sysroot to deploy into." },
        { "package-manager", "ostree-remote-url", CONFIG_URL, FIELD(ostree_remote_url),
          .doc = "type = ostree: URL of the ostree repository to pull commits from, unless the target names "
                 "one (custom.uri); required then." },
        { "package-manager", "ostree-os", CONFIG_IDENTIFIER, FIELD(ostree_os),
          .doc = "type = ostree: the stateroot (osname) whose deployments are updated; unset: the only one in "
                 "ostree-sysroot." },
        { "package-manager", "ostree-min-free-space", CONFIG_SIZE, FIELD(ostree_min_free_space), "0",
          .min = 0, .max = T,
          .doc = "type = ostree: space a pull must leave free on the sysroot's file system (its repository's "
                 "core.min-free-space-size, in whole M); 0: the repository's own setting (libostree's: 3%)." },
        { "package-manager", "reboot-command", CONFIG_COMMAND, FIELD(reboot_command), "/usr/bin/systemctl reboot",
          .doc = "Command run to reboot into an installed image." },
        { "package-manager", "reboot", CONFIG_ENUM, FIELD(reboot_mode), "command",
          .choices = reboot_mode_names,
          .doc = "After an install that needs a reboot: command (run reboot-command) or report (only say "
                 "\"reboot needed\" in the journal and on D-Bus, and let someone else reboot)." },

        { "control", "bus", CONFIG_ENUM, FIELD(control_bus), "system",
          .choices = control_bus_names,
          .doc = "Where org.uptane.Primary1 is offered: system, user (the session bus) or none." },
};

static int vmessage(char **reterr_message, int r, const char *fmt, va_list ap) _printf_(3, 0);
static int vmessage(char **reterr_message, int r, const char *fmt, va_list ap) {
        char *m;

        if (!reterr_message)
                return r;
        if (vasprintf(&m, fmt, ap) < 0)
                return -ENOMEM;
        free(*reterr_message);
        *reterr_message = m;
        return r;
}

/* Sets *reterr_message and returns r. */
static int message(char **reterr_message, int r, const char *fmt, ...) _printf_(3, 4);
static int message(char **reterr_message, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = vmessage(reterr_message, r, fmt, ap);
        va_end(ap);
        return r;
}

/* "WHERE: [section] key: reason", WHERE left out when NULL. */
static int key_message(char **reterr_message, int r, const char *where, const ConfigKey *k, const char *fmt, ...)
        _printf_(5, 6);
static int key_message(char **reterr_message, int r, const char *where, const ConfigKey *k, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        va_list ap;

        va_start(ap, fmt);
        r = vmessage(&reason, r, fmt, ap);
        va_end(ap);
        if (r == -ENOMEM && !reason)
                return r;
        return message(reterr_message, r, "%s%s[%s] %s: %s", where ?: "", where ? ": " : "", k->section, k->key,
                       reason);
}

static void *field(void *c, const ConfigKey *k) {
        return (uint8_t *) c + k->offset;
}

static const void *field_const(const void *c, const ConfigKey *k) {
        return (const uint8_t *) c + k->offset;
}

static bool type_is_string(ConfigType t) {
        return t == CONFIG_IDENTIFIER || t == CONFIG_PATH || t == CONFIG_URL || t == CONFIG_COMMAND;
}

static size_t key_index(const ConfigKey *k) {
        return (size_t) (k - keys);
}

static const ConfigSection *find_section(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (strlen(sections[i].name) == len && strncmp(sections[i].name, name, len) == 0)
                        return &sections[i];
        return NULL;
}

static const ConfigKey *find_key(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
                        return &keys[i];
        return NULL;
}

/* Value syntax. */

static int parse_digits(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++)
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (*s - '0'), &v))
                        return -ERANGE;
        *p = s;
        *ret = v;
        return 0;
}

static uint64_t duration_unit(char c) {
        switch (c) {
        case 's':
                return 1;
        case 'm':
                return MINUTE;
        case 'h':
                return HOUR;
        case 'd':
                return DAY;
        default:
                return 0;
        }
}

/* Seconds, or number-unit pairs: "90", "10m", "1h30m". */
static int parse_duration(const char *s, uint64_t *ret) {
        const char *p = s;
        uint64_t total = 0, v;
        int r;

        r = parse_digits(&p, &v);
        if (r < 0)
                return r;
        if (*p == '\0') {
                *ret = v;
                return 0;
        }
        for (p = s; *p != '\0'; p++) {
                uint64_t unit;

                r = parse_digits(&p, &v);
                if (r < 0)
                        return r;
                unit = duration_unit(*p);
                if (unit == 0)
                        return -EINVAL;
                if (__builtin_mul_overflow(v, unit, &v) || __builtin_add_overflow(total, v, &total))
                        return -ERANGE;
        }
        *ret = total;
        return 0;
}

static uint64_t size_unit(char c) {
        switch (c) {
        case '\0':
                return 1;
        case 'K':
                return K;
        case 'M':
                return M;
        case 'G':
                return G;
        case 'T':
                return T;
        default:
                return 0;
        }
}

/* Bytes, or a number and one of K, M, G, T (powers of 1024). */
static int parse_size(const char *s, uint64_t *ret) {
        uint64_t v, unit;
        int r;

        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        unit = size_unit(*s);
        if (unit == 0 || (*s != '\0' && s[1] != '\0'))
                return -EINVAL;
        if (__builtin_mul_overflow(v, unit, &v))
                return -ERANGE;
        *ret = v;
        return 0;
}

#define FORMAT_MAX 32

/* The largest unit that divides v: 600 -> "10m", 90 -> "90s". */
static const char *format_number(ConfigType type, uint64_t v, char buf[static FORMAT_MAX]) {
        static const char duration_units[] = "dhms", size_units[] = "TGMK";
        const char *u = type == CONFIG_DURATION ? duration_units : size_units;

        if (type == CONFIG_INTEGER || type == CONFIG_HEX) {
                snprintf(buf, FORMAT_MAX, type == CONFIG_HEX ? "0x%" PRIX64 : "%" PRIu64, v);
                return buf;
        }

        for (; v > 0 && *u != '\0'; u++) {
                uint64_t n = type == CONFIG_DURATION ? duration_unit(*u) : size_unit(*u);

                if (v % n == 0) {
                        snprintf(buf, FORMAT_MAX, "%" PRIu64 "%c", v / n, *u);
                        return buf;
                }
        }
        snprintf(buf, FORMAT_MAX, "%" PRIu64, v);
        return buf;
}

static bool has_control_characters(const char *v) {
        for (const unsigned char *p = (const unsigned char *) v; *p != '\0'; p++)
                if (*p < ' ' || *p == 0x7f)
                        return true;
        return false;
}

static bool is_graph_ascii(const char *v, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) v[i] <= ' ' || (unsigned char) v[i] >= 0x7f)
                        return false;
        return true;
}

/* NULL when valid, else why not. */
static const char *check_identifier(const char *v) {
        if (strlen(v) > MAX_IDENTIFIER)
                return "longer than 256 bytes";
        if (!is_graph_ascii(v, strlen(v)))
                return "only printable ASCII characters without spaces are allowed";
        return NULL;
}

static const char *check_path(const char *v) {
        if (v[0] != '/')
                return "not an absolute path";
        if (strlen(v) >= PATH_MAX)
                return "path too long";
        if (has_control_characters(v))
                return "control characters are not allowed";
        return NULL;
}

static const char *check_url(const char *v) {
        const char *host;
        size_t len;

        if (strncmp(v, "https://", 8) == 0)
                host = v + 8;
        else if (strncmp(v, "http://", 7) == 0)
                host = v + 7;
        else
                return "not an http:// or https:// URL";
        if (strlen(v) > MAX_URL)
                return "URL longer than 2048 bytes";
        if (!is_graph_ascii(v, strlen(v)))
                return "spaces, control and non-ASCII characters are not allowed in a URL";
        len = strcspn(host, "/?#");
        if (len == 0)
                return "no host in the URL";
        if (memchr(host, '@', len))
                return "credentials in a URL are not supported (see [tls])";
        return NULL;
}

static const char *check_command(const char *v) {
        if (v[0] != '/')
                return "must start with the absolute path of a program";
        if (has_control_characters(v))
                return "control characters are not allowed";
        return NULL;
}

static const char *check_string(ConfigType type, const char *v) {
        switch (type) {
        case CONFIG_IDENTIFIER:
                return check_identifier(v);
        case CONFIG_PATH:
                return check_path(v);
        case CONFIG_URL:
                return check_url(v);
        case CONFIG_COMMAND:
                return check_command(v);
        default:
                assert(false);
                return "not a string";
        }
}

/* "file, ostree" */
static int join_choices(const ConfigKey *k, const char *separator, char **ret) {
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; k->choices[i]; i++)
                fprintf(f, "%s%s", i > 0 ? separator : "", k->choices[i]);
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* Setting values. */

static int set_string(void *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        char **p = field(c, k), *v;
        const char *why;

        why = check_string(k->type, value);
        if (why)
                return key_message(reterr, -EINVAL, where, k, "'%s': %s", value, why);
        v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*p);
        *p = v;
        return 0;
}

static int set_number(void *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        char min[FORMAT_MAX], max[FORMAT_MAX];
        uint64_t v;
        int r;

        r = k->type == CONFIG_DURATION ? parse_duration(value, &v) : parse_size(value, &v);
        if (r == -ERANGE)
                return key_message(reterr, -EINVAL, where, k, "'%s' is too large", value);
        if (r < 0 && k->type == CONFIG_DURATION)
                return key_message(reterr, -EINVAL, where, k,
                                   "'%s' is not a duration (seconds, or numbers followed by s, m, h or d: 1h30m)",
                                   value);
        if (r < 0)
                return key_message(reterr, -EINVAL, where, k,
                                   "'%s' is not a size (bytes, or a number followed by K, M, G or T)", value);
        if (v < k->min || v > k->max)
                return key_message(reterr, -EINVAL, where, k, "'%s' is out of range (%s to %s)", value,
                                   format_number(k->type, k->min, min), format_number(k->type, k->max, max));
        *(uint64_t *) field(c, k) = v;
        return 0;
}

/* Decimal or 0x hex. */
static int set_integer(void *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        char min[FORMAT_MAX], max[FORMAT_MAX];
        const char *p = value;
        uint64_t v = 0;
        int base = 10;

        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2] != '\0') {
                base = 16;
                p += 2;
        }
        for (; *p != '\0'; p++) {
                int d = *p >= '0' && *p <= '9' ? *p - '0'
                      : base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                      : base == 16 && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

                if (d < 0)
                        return key_message(reterr, -EINVAL, where, k, "'%s' is not a number (decimal or 0x hex)",
                                           value);
                if (__builtin_mul_overflow(v, (uint64_t) base, &v) || __builtin_add_overflow(v, (uint64_t) d, &v))
                        return key_message(reterr, -EINVAL, where, k, "'%s' is too large", value);
        }
        if (v < k->min || v > k->max)
                return key_message(reterr, -EINVAL, where, k, "'%s' is out of range (%s to %s)", value,
                                   format_number(k->type, k->min, min), format_number(k->type, k->max, max));
        *(uint64_t *) field(c, k) = v;
        return 0;
}

static int set_enum(void *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        _cleanup_free_ char *list = NULL;
        int r;

        for (int i = 0; k->choices[i]; i++)
                if (strcmp(k->choices[i], value) == 0) {
                        *(int *) field(c, k) = i;
                        return 0;
                }
        r = join_choices(k, ", ", &list);
        if (r < 0)
                return r;
        return key_message(reterr, -EINVAL, where, k, "'%s' is not one of: %s", value, list);
}

static int set_origin(char **slot, const char *where) {
        char *o = NULL;

        if (where) {
                o = strdup(where);
                if (!o)
                        return -ENOMEM;
        }
        free(*slot);
        *slot = o;
        return 0;
}

/* The key's field in base (a PrimaryConfig or a SecondaryConfig), and where it was set in *origin. */
static int set_key_in(void *base, char **origin, const ConfigKey *k, const char *value, const char *where,
                      char **reterr) {
        int r;

        if (value[0] == '\0')
                return key_message(reterr, -EINVAL, where, k, "empty value (remove the line to keep the default)");
        if (type_is_string(k->type))
                r = set_string(base, k, value, where, reterr);
        else if (k->type == CONFIG_ENUM)
                r = set_enum(base, k, value, where, reterr);
        else if (k->type == CONFIG_INTEGER || k->type == CONFIG_HEX)
                r = set_integer(base, k, value, where, reterr);
        else
                r = set_number(base, k, value, where, reterr);
        if (r < 0)
                return r;
        return set_origin(origin, where);
}

static int set_key(PrimaryConfig *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        return set_key_in(c, &c->origin[key_index(k)], k, value, where, reterr);
}

static bool is_secondary_section(const char *name, size_t len);
static int secondary_set(PrimaryConfig *c, const char *section, const char *key, const char *value,
                         const char *where, unsigned load_id, unsigned line, char **reterr);

int primary_config_set(PrimaryConfig *c, const char *section, const char *key, const char *value,
                       const char *where, char **reterr_message) {
        const char *w = where ?: "", *sep = where ? ": " : "";
        const ConfigSection *s;
        const ConfigKey *k;

        assert(c && section && key && value);

        if (section[0] == '\0')
                return message(reterr_message, -ENOKEY, "%s%s%s: key outside of any section", w, sep, key);
        if (is_secondary_section(section, strlen(section)))
                return secondary_set(c, section, key, value, where, /* load_id= */ 0, /* line= */ 0, reterr_message);
        s = find_section(section, strlen(section));
        if (!s)
                return message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown section [%s]", w, sep, section, key,
                               section);
        if (s->reserved)
                return message(reterr_message, -ENOKEY, "%s%s[%s] %s: section [%s] is reserved and takes no keys yet",
                               w, sep, section, key, section);
        k = find_key(section, key);
        if (!k)
                return message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown key", w, sep, section, key);
        return set_key(c, k, value, where, reterr_message);
}

/* Life cycle. */

int primary_config_init(PrimaryConfig *c) {
        assert(c);

        *c = (PrimaryConfig) {};
        c->origin = calloc(ELEMENTSOF(keys), sizeof(char *));
        if (!c->origin)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                int r;

                if (!keys[i].default_value)
                        continue;
                r = set_key(c, &keys[i], keys[i].default_value, /* where= */ NULL, /* reterr= */ NULL);
                assert(r != -EINVAL); /* the table's defaults are valid */
                if (r < 0) {
                        primary_config_done(c);
                        return r;
                }
        }
        return 0;
}

static void secondaries_done(PrimaryConfig *c);

void primary_config_done(PrimaryConfig *c) {
        if (!c)
                return;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (type_is_string(keys[i].type))
                        free(*(char **) field(c, &keys[i]));
                if (c->origin)
                        free(c->origin[i]);
        }
        free(c->origin);
        secondaries_done(c);
        *c = (PrimaryConfig) {};
}

/* Reading files. */

typedef struct LoadState {
        PrimaryConfig *c;
        const char *path;
        FILE *f;
        unsigned line;         /* the line last read */
        unsigned *set_on_line; /* per key: the line of this file that set it, 0: none */
        unsigned load_id;      /* this reading of a file, for [secondary.NAME] keys set twice */
        int error;             /* the first error found by us (not a syntax error) */
        unsigned error_line;
        char *message;
} LoadState;

static void fail_here(LoadState *st, int r) {
        st->error = r;
        st->error_line = st->line;
}

/* inih only tells about keys: sections are checked as lines go by, so that
 * an unknown section is an error even with no key in it. */
static void check_section_line(LoadState *st, const char *line) {
        const char *s = line + strspn(line, " \t"), *end;

        if (*s != '[')
                return;
        end = strchr(s, ']');
        if (!end || find_section(s + 1, (size_t) (end - s - 1)) || is_secondary_section(s + 1, (size_t) (end - s - 1)))
                return; /* inih reports a missing ']' */
        fail_here(st, message(&st->message, -ENOKEY, "%s:%u: [%.*s]: unknown section", st->path, st->line,
                              (int) (end - s - 1), s + 1));
}

/* inih's reader: one line per call, and no silent split of a long line. */
static char *read_line(char *buf, int size, void *userdata) {
        LoadState *st = userdata;
        size_t n;

        if (st->error != 0 || !fgets(buf, size, st->f))
                return NULL;
        st->line++;
        n = strlen(buf);
        if (n == 0) {
                fail_here(st, message(&st->message, -EINVAL, "%s:%u: NUL byte in the line", st->path, st->line));
                return NULL;
        }
        if (buf[n - 1] != '\n' && !feof(st->f)) {
                fail_here(st, message(&st->message, -EINVAL, "%s:%u: line longer than %d characters", st->path,
                                      st->line, size - 2));
                return NULL;
        }
        check_section_line(st, buf);
        return st->error != 0 ? NULL : buf;
}

static int on_key(void *userdata, const char *section, const char *name, const char *value) {
        LoadState *st = userdata;
        _cleanup_free_ char *where = NULL;
        const ConfigKey *k;
        int r;

        if (asprintf(&where, "%s:%u", st->path, st->line) < 0) {
                fail_here(st, -ENOMEM);
                return 0;
        }
        if (is_secondary_section(section, strlen(section))) {
                r = secondary_set(st->c, section, name, value, where, st->load_id, st->line, &st->message);
                if (r < 0)
                        fail_here(st, r);
                return r < 0 ? 0 : 1;
        }
        k = find_key(section, name);
        if (k && st->set_on_line[key_index(k)] > 0) {
                fail_here(st, key_message(&st->message, -EINVAL, where, k, "already set on line %u of this file",
                                          st->set_on_line[key_index(k)]));
                return 0;
        }
        r = primary_config_set(st->c, section, name, value, where, &st->message);
        if (r < 0) {
                fail_here(st, r);
                return 0;
        }
        st->set_on_line[key_index(k)] = st->line;
        return 1;
}

/* inih returns the line of the first error: ours, or a syntax error before it. */
static int load_result(LoadState *st, int line, char **reterr) {
        if (line == -2)
                return -ENOMEM;
        if (line > 0 && (st->error == 0 || (unsigned) line < st->error_line))
                return message(reterr, -EINVAL, "%s:%d: syntax error: expected [section], key = value or a comment",
                               st->path, line);
        if (st->error < 0 && reterr && st->message) {
                free(*reterr);
                *reterr = st->message;
                st->message = NULL;
        }
        return st->error;
}

static int open_config(const char *path, FILE **ret, char **reterr) {
        struct stat sb;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                return message(reterr, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
                (void) fclose(f);
                return message(reterr, -EINVAL, "%s: not a regular file", path);
        }
        *ret = f;
        return 0;
}

int primary_config_load_file(PrimaryConfig *c, const char *path, char **reterr_message) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ unsigned *set_on_line = NULL;
        static unsigned load_counter;
        LoadState st;
        int line, r;

        assert(c && path);

        r = open_config(path, &f, reterr_message);
        if (r < 0)
                return r;
        set_on_line = calloc(ELEMENTSOF(keys), sizeof(unsigned));
        if (!set_on_line)
                return -ENOMEM;
        st = (LoadState) { .c = c, .path = path, .f = f, .set_on_line = set_on_line, .load_id = ++load_counter };
        line = ini_parse_stream(read_line, &st, on_key, &st);
        r = load_result(&st, line, reterr_message);
        free(st.message);
        return r;
}

static int is_dropin(const struct dirent *d) {
        size_t n = strlen(d->d_name);

        return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Lexical order: strcmp(), whatever the locale. */
static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_dropin(PrimaryConfig *c, const char *dir, const char *name, char **reterr) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return primary_config_load_file(c, path, reterr);
}

static int load_dropins(PrimaryConfig *c, const char *dir, char **reterr) {
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, is_dropin, compare_names);
        if (n < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return 0;
                return message(reterr, r, "%s: cannot read the directory: %s", dir, strerror(-r));
        }
        for (int i = 0; i < n; i++) {
                if (r >= 0)
                        r = load_dropin(c, dir, names[i]->d_name, reterr);
                free(names[i]);
        }
        free(names);
        return r;
}

static int verify(const PrimaryConfig *c, const char *where, char **reterr);

int primary_config_load(PrimaryConfig *c, const char *path, char **reterr_message) {
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(c && path);

        r = primary_config_load_file(c, path, reterr_message);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = load_dropins(c, dir, reterr_message);
        if (r < 0)
                return r;
        return verify(c, path, reterr_message);
}

/* Checks after all files. */

static bool key_is_set(const PrimaryConfig *c, const char *section, const char *key) {
        const ConfigKey *k = find_key(section, key);

        assert(k && type_is_string(k->type));
        return *(char *const *) field_const(c, k) != NULL;
}

static void problem(FILE *out, const char *where, const char *section, const char *key, const char *fmt, ...)
        _printf_(5, 6);
static void problem(FILE *out, const char *where, const char *section, const char *key, const char *fmt, ...) {
        va_list ap;

        fprintf(out, "%s%s[%s] %s: ", where ?: "", where ? ": " : "", section, key);
        va_start(ap, fmt);
        vfprintf(out, fmt, ap);
        va_end(ap);
        fputc('\n', out);
}

static void verify_required(const PrimaryConfig *c, const char *where, FILE *out) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].required && !key_is_set(c, keys[i].section, keys[i].key))
                        problem(out, where, keys[i].section, keys[i].key, "required, but not set");
}

static void verify_pair(const PrimaryConfig *c, const char *where, FILE *out, const char *section, const char *a,
                        const char *b) {
        bool has_a = key_is_set(c, section, a), has_b = key_is_set(c, section, b);

        if (has_a && !has_b)
                problem(out, where, section, b, "required when %s is set", a);
        else if (has_b && !has_a)
                problem(out, where, section, a, "required when %s is set", b);
}

static void verify_package_manager(const PrimaryConfig *c, const char *where, FILE *out) {
        if (c->package_manager == PACKAGE_MANAGER_FILE && !c->file_target_path)
                problem(out, where, "package-manager", "file-target-path", "required when type = file");
        if (c->package_manager == PACKAGE_MANAGER_OSTREE && !c->ostree_remote_url)
                problem(out, where, "package-manager", "ostree-remote-url", "required when type = ostree");
}

static void verify_speed(const PrimaryConfig *c, const char *where, FILE *out) {
        char min[FORMAT_MAX];

        if (c->max_bytes_per_second != 0 && c->max_bytes_per_second < c->min_bytes_per_second)
                problem(out, where, "download", "max-bytes-per-second",
                        "must be 0 or at least min-bytes-per-second (%s), or every download is aborted",
                        format_number(CONFIG_SIZE, c->min_bytes_per_second, min));
}

static void verify_secondaries(const PrimaryConfig *c, const char *where, FILE *out);

static int verify(const PrimaryConfig *c, const char *where, char **reterr) {
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
        if (fclose(out) != 0)
                return -ENOMEM;
        if (size == 0)
                return 0;
        s[size - 1] = '\0'; /* the last newline */
        return message(reterr, -EINVAL, "%s", s);
}

int primary_config_verify(const PrimaryConfig *c, char **reterr_message) {
        assert(c);
        return verify(c, /* where= */ NULL, reterr_message);
}

/* Printing. */

/* The value as the parser reads it, or NULL when unset. */
static const char *format_value(const void *c, const ConfigKey *k, char buf[static FORMAT_MAX]) {
        if (type_is_string(k->type))
                return *(char *const *) field_const(c, k);
        if (k->type == CONFIG_ENUM)
                return *(const int *) field_const(c, k) < 0 ? NULL : k->choices[*(const int *) field_const(c, k)];
        if (*(const uint64_t *) field_const(c, k) == SECONDARY_CONFIG_UNSET)
                return NULL;
        return format_number(k->type, *(const uint64_t *) field_const(c, k), buf);
}

static void print_effective(const void *c, const char *origin, const ConfigKey *k, FILE *f) {
        char buf[FORMAT_MAX];
        const char *v = format_value(c, k, buf);

        if (!v)
                fprintf(f, "# %s: not set\n", k->key);
        else if (origin)
                fprintf(f, "%s = %s ; %s\n", k->key, v, origin);
        else
                fprintf(f, "%s = %s\n", k->key, v);
}

static void print_effective_key(const PrimaryConfig *c, const ConfigKey *k, FILE *f) {
        print_effective(c, c->origin[key_index(k)], k, f);
}

static void print_secondaries(const PrimaryConfig *c, FILE *f);

int primary_config_print(const PrimaryConfig *c, FILE *f) {
        assert(c && f);

        fputs("# The effective configuration of uptane-primaryd. A value read from a file\n"
              "# is followed by where: FILE:LINE. Other values are the defaults.\n",
              f);
        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                fprintf(f, "\n[%s]\n", sections[s].name);
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (strcmp(keys[i].section, sections[s].name) == 0)
                                print_effective_key(c, &keys[i], f);
        }
        print_secondaries(c, f);
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}

/* "duration, 5s to 7d" and the like. */
static void print_type(const ConfigKey *k, FILE *f) {
        char min[FORMAT_MAX], max[FORMAT_MAX];
        _cleanup_free_ char *list = NULL;

        switch (k->type) {
        case CONFIG_IDENTIFIER:
                fputs("text without spaces, at most 256 bytes", f);
                break;
        case CONFIG_PATH:
                fputs("absolute path", f);
                break;
        case CONFIG_URL:
                fputs("http:// or https:// URL", f);
                break;
        case CONFIG_COMMAND:
                fputs("command line, the program as an absolute path", f);
                break;
        case CONFIG_DURATION:
        case CONFIG_SIZE:
                fprintf(f, "%s, %s to %s", k->type == CONFIG_DURATION ? "duration" : "size",
                        format_number(k->type, k->min, min), format_number(k->type, k->max, max));
                break;
        case CONFIG_ENUM:
                fprintf(f, "one of: %s", join_choices(k, ", ", &list) >= 0 ? list : "?");
                break;
        case CONFIG_INTEGER:
        case CONFIG_HEX:
                fprintf(f, "integer (decimal or 0x hex), %s to %s", format_number(k->type, k->min, min),
                        format_number(k->type, k->max, max));
                break;
        default:
                assert(false);
        }
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

static void print_default_key(const ConfigKey *k, FILE *f) {
        fprintf(f, "\n# %s\n# Type: ", k->doc);
        print_type(k, f);
        fputs(k->required ? ". Required.\n" : ".\n", f);
        fprintf(f, "#%s =%s%s\n", k->key, k->default_value ? " " : "", k->default_value ?: "");
}

static void print_default_secondary(FILE *f);

int primary_config_print_default(FILE *f) {
        assert(f);

        fputs(default_header, f);
        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                fprintf(f, "\n[%s]\n# %s\n", sections[s].name, sections[s].doc);
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (strcmp(keys[i].section, sections[s].name) == 0)
                                print_default_key(&keys[i], f);
        }
        print_default_secondary(f);
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
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

static void print_reference_key(const ConfigKey *k, FILE *f) {
        fprintf(f, "| `%s` | ", k->key);
        print_type(k, f);
        if (k->required)
                fputs(" | required", f);
        else if (k->default_value)
                fprintf(f, " | `%s`", k->default_value);
        else
                fputs(" | not set", f);
        fprintf(f, " | %s |\n", k->doc);
}

static void print_reference_section(const ConfigSection *s, FILE *f) {
        bool any = false;

        fprintf(f, "\n## [%s]\n\n%s\n", s->name, s->doc);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (strcmp(keys[i].section, s->name) != 0)
                        continue;
                if (!any)
                        fputs("\n| Key | Type | Default | Description |\n|---|---|---|---|\n", f);
                any = true;
                print_reference_key(&keys[i], f);
        }
}

static void print_reference_secondary(FILE *f);

int primary_config_print_reference(FILE *f) {
        assert(f);

        fputs(reference_intro, f);
        for (size_t s = 0; s < ELEMENTSOF(sections); s++)
                print_reference_section(&sections[s], f);
        print_reference_secondary(f);
        fputs(reference_outro, f);
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
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

static const ConfigKey secondary_keys[] = {
        { "secondary.NAME", "serial", CONFIG_IDENTIFIER, SFIELD(serial), .required = true,
          .doc = "Its ECU serial, unique in the vehicle; what it reads in F18C must be this." },
        { "secondary.NAME", "hardware-id", CONFIG_IDENTIFIER, SFIELD(hardware_id), .required = true,
          .doc = "Its hardware identifier; what it reads in F191 must be this." },
        { "secondary.NAME", "public-key", CONFIG_PATH, SFIELD(public_key), .required = true,
          .doc = "Its public key (TUF key JSON), as registered with the Director: its reports are checked with "
                 "it, and what it reads in F1A0 must be this key (no trust on first use)." },
        { "secondary.NAME", "verification", CONFIG_ENUM, SFIELD(verification), .required = true,
          .choices = verification_names,
          .doc = "The verification it does, as it reads in F1A3: full (both repositories) or partial (the "
                 "Director's targets and root)." },
        { "secondary.NAME", "transport", CONFIG_ENUM, SFIELD(transport), .required = true,
          .choices = secondary_transport_names, .doc = "UDS on doip (Ethernet) or isotp (CAN)." },
        { "secondary.NAME", "address", CONFIG_IDENTIFIER, SFIELD(address),
          .doc = "transport = doip: the DoIP entity's numeric IPv4 or IPv6 address; required then." },
        { "secondary.NAME", "port", CONFIG_INTEGER, SFIELD(port), "13400", .min = 1, .max = 65535,
          .doc = "transport = doip: its TCP port." },
        { "secondary.NAME", "logical-address", CONFIG_HEX, SFIELD(logical_address), .min = 0x0001, .max = 0x7FFF,
          .doc = "transport = doip: its DoIP logical address (ISO 13400-2: 0x0001-0x0DFF or 0x1000-0x7FFF; "
                 "0x0E00-0x0FFF are testers'); required then." },
        { "secondary.NAME", "interface", CONFIG_IDENTIFIER, SFIELD(interface),
          .doc = "transport = isotp: the CAN interface (can0, vcan0); required then." },
        { "secondary.NAME", "rx-id", CONFIG_HEX, SFIELD(rx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "transport = isotp: the CAN id its answers come on (above 0x7FF: 29-bit ids); required then." },
        { "secondary.NAME", "tx-id", CONFIG_HEX, SFIELD(tx_id), .min = 0, .max = 0x1FFFFFFF,
          .doc = "transport = isotp: the CAN id requests go out on; required then." },
        { "secondary.NAME", "fd", CONFIG_ENUM, SFIELD(fd), "no", .choices = yes_no_names,
          .doc = "transport = isotp: CAN FD frames of 64 bytes (the interface's MTU must be 72)." },
        { "secondary.NAME", "padding", CONFIG_HEX, SFIELD(padding), .min = 0, .max = 0xFF,
          .doc = "transport = isotp: pad every frame with this byte; unset: no padding." },
        { "secondary.NAME", "block-size", CONFIG_INTEGER, SFIELD(block_size), "0", .min = 0, .max = 255,
          .doc = "transport = isotp: the block size sent in flow control frames (0: no further flow control)." },
        { "secondary.NAME", "stmin", CONFIG_HEX, SFIELD(stmin), "0x0", .min = 0, .max = 0xF9,
          .doc = "transport = isotp: STmin sent in flow control frames (0x00-0x7F ms, 0xF1-0xF9 100-900 us)." },
        { "secondary.NAME", "timeout", CONFIG_DURATION, SFIELD(timeout_s), "2s", .min = 1, .max = 5 * MINUTE,
          .doc = "Time allowed for an answer to each request (and between two \"response pending\")." },
        { "secondary.NAME", "install-timeout", CONFIG_DURATION, SFIELD(install_timeout_s), "10m", .min = 10,
          .max = 2 * HOUR, .doc = "Time allowed for one request that it answers \"response pending\" (an install)." },
};

static bool is_name_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '_';
}

/* "secondary.NAME", NAME of letters, digits, - and _. */
static bool is_secondary_section(const char *name, size_t len) {
        size_t n = strlen(SECONDARY_PREFIX);

        if (len <= n || len - n > SECONDARY_NAME_MAX || strncmp(name, SECONDARY_PREFIX, n) != 0)
                return false;
        for (size_t i = n; i < len; i++)
                if (!is_name_char(name[i]))
                        return false;
        return true;
}

static size_t secondary_key_index(const ConfigKey *k) {
        return (size_t) (k - secondary_keys);
}

static const ConfigKey *find_secondary_key(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++)
                if (strcmp(secondary_keys[i].key, key) == 0)
                        return &secondary_keys[i];
        return NULL;
}

static void secondary_done(SecondaryConfig *sc) {
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++) {
                if (type_is_string(secondary_keys[i].type))
                        free(*(char **) field(sc, &secondary_keys[i]));
                if (sc->origin)
                        free(sc->origin[i]);
        }
        free(sc->origin);
        free(sc->set_on_line);
        free(sc->name);
}

static void secondaries_done(PrimaryConfig *c) {
        for (size_t i = 0; i < c->n_secondaries; i++)
                secondary_done(&c->secondaries[i]);
        free(c->secondaries);
}

static int secondary_init(SecondaryConfig *sc, const char *name) {
        *sc = (SecondaryConfig) { .transport = -1, .verification = -1 };
        sc->name = strdup(name);
        sc->origin = calloc(ELEMENTSOF(secondary_keys), sizeof(char *));
        sc->set_on_line = calloc(ELEMENTSOF(secondary_keys), sizeof(unsigned));
        if (!sc->name || !sc->origin || !sc->set_on_line)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++) {
                const ConfigKey *k = &secondary_keys[i];
                int r;

                if (k->type == CONFIG_INTEGER || k->type == CONFIG_HEX || k->type == CONFIG_DURATION)
                        *(uint64_t *) field(sc, k) = SECONDARY_CONFIG_UNSET;
                if (!k->default_value)
                        continue;
                r = set_key_in(sc, &sc->origin[i], k, k->default_value, NULL, NULL);
                assert(r != -EINVAL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The section [secondary.NAME], added when first seen. */
static int secondary_get(PrimaryConfig *c, const char *name, SecondaryConfig **ret) {
        SecondaryConfig *a;
        int r;

        for (size_t i = 0; i < c->n_secondaries; i++)
                if (strcmp(c->secondaries[i].name, name) == 0) {
                        *ret = &c->secondaries[i];
                        return 0;
                }
        a = realloc(c->secondaries, (c->n_secondaries + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        c->secondaries = a;
        r = secondary_init(&a[c->n_secondaries], name);
        if (r < 0) {
                secondary_done(&a[c->n_secondaries]);
                return r;
        }
        *ret = &a[c->n_secondaries++];
        return 0;
}

static int secondary_set(PrimaryConfig *c, const char *section, const char *key, const char *value,
                         const char *where, unsigned load_id, unsigned line, char **reterr) {
        const ConfigKey *k = find_secondary_key(key);
        SecondaryConfig *sc;
        ConfigKey named;
        size_t i;
        int r;

        if (!k)
                return message(reterr, -ENOKEY, "%s%s[%s] %s: unknown key", where ?: "", where ? ": " : "", section,
                               key);
        named = *k;
        named.section = section; /* messages name the real section */
        r = secondary_get(c, section + strlen(SECONDARY_PREFIX), &sc);
        if (r < 0)
                return r;
        i = secondary_key_index(k);
        if (load_id != 0 && sc->load_id != load_id) {
                memset(sc->set_on_line, 0, ELEMENTSOF(secondary_keys) * sizeof(unsigned));
                sc->load_id = load_id;
        }
        if (load_id != 0 && sc->set_on_line[i] > 0)
                return key_message(reterr, -EINVAL, where, &named, "already set on line %u of this file",
                                   sc->set_on_line[i]);
        r = set_key_in(sc, &sc->origin[i], &named, value, where, reterr);
        if (r < 0)
                return r;
        if (load_id != 0)
                sc->set_on_line[i] = line;
        return 0;
}

const char *secondary_transport_to_string(SecondaryTransportType t) {
        if ((int) t < 0 || t >= _SECONDARY_TRANSPORT_MAX)
                return NULL;
        return secondary_transport_names[t];
}

static bool secondary_key_set(const SecondaryConfig *sc, const char *key) {
        const ConfigKey *k = find_secondary_key(key);
        const void *v;

        assert(k);
        v = field_const(sc, k);
        if (type_is_string(k->type))
                return *(char *const *) v != NULL;
        if (k->type == CONFIG_ENUM)
                return *(const int *) v >= 0;
        return *(const uint64_t *) v != SECONDARY_CONFIG_UNSET;
}

static void verify_secondary_keys(const SecondaryConfig *sc, const char *section, const char *where, FILE *out) {
        static const char *const doip[] = { "address", "logical-address", NULL };
        static const char *const isotp[] = { "interface", "rx-id", "tx-id", NULL };
        const char *const *needed = sc->transport == SECONDARY_TRANSPORT_DOIP    ? doip
                                    : sc->transport == SECONDARY_TRANSPORT_ISOTP ? isotp
                                                                                : NULL;

        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++)
                if (secondary_keys[i].required && !secondary_key_set(sc, secondary_keys[i].key))
                        problem(out, where, section, secondary_keys[i].key, "required, but not set");
        for (size_t i = 0; needed && needed[i]; i++)
                if (!secondary_key_set(sc, needed[i]))
                        problem(out, where, section, needed[i], "required when transport = %s",
                                secondary_transport_names[sc->transport]);
        if (sc->transport == SECONDARY_TRANSPORT_DOIP && sc->logical_address >= 0x0E00 && sc->logical_address <= 0x0FFF)
                problem(out, where, section, "logical-address", "0x0E00-0x0FFF are the testers' addresses");
        if (sc->transport == SECONDARY_TRANSPORT_ISOTP && secondary_key_set(sc, "rx-id") &&
            sc->rx_id == sc->tx_id)
                problem(out, where, section, "tx-id", "must differ from rx-id");
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
                        problem(out, where, section, "serial", "'%s' is the Primary's [vehicle] ecu-serial",
                                sc->serial);
                for (size_t j = 0; j < i; j++)
                        if (c->secondaries[j].serial && strcmp(c->secondaries[j].serial, sc->serial) == 0)
                                problem(out, where, section, "serial", "'%s' is also [secondary.%s]'s serial",
                                        sc->serial, c->secondaries[j].name);
        }
}

static void print_secondaries(const PrimaryConfig *c, FILE *f) {
        for (size_t i = 0; i < c->n_secondaries; i++) {
                fprintf(f, "\n[secondary.%s]\n", c->secondaries[i].name);
                for (size_t j = 0; j < ELEMENTSOF(secondary_keys); j++)
                        print_effective(&c->secondaries[i], c->secondaries[i].origin[j], &secondary_keys[j], f);
        }
}

static const char secondary_doc[] =
        "Each Secondary ECU has a section [secondary.NAME] (NAME: letters, digits, - and _), "
        "reached with UDS on DoIP or on ISO-TP (docs/POUF.md, \"Uptane over UDS\").";

/* Commented out with "# key = ", which is not a key to uncomment: the section has no defaults to show. */
static void print_default_secondary(FILE *f) {
        fprintf(f, "\n# [secondary.NAME]\n# %s\n", secondary_doc);
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++) {
                const ConfigKey *k = &secondary_keys[i];

                fprintf(f, "#\n# %s\n# Type: ", k->doc);
                print_type(k, f);
                fputs(k->required ? ". Required.\n" : ".\n", f);
                fprintf(f, "# %s =%s%s\n", k->key, k->default_value ? " " : "", k->default_value ?: "");
        }
}

static void print_reference_secondary(FILE *f) {
        fprintf(f, "\n## [secondary.NAME]\n\n%s Sections are repeated, one per Secondary; serials are unique and "
                   "differ from the Primary's.\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n",
                secondary_doc);
        for (size_t i = 0; i < ELEMENTSOF(secondary_keys); i++)
                print_reference_key(&secondary_keys[i], f);
}
