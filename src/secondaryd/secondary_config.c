/* SPDX-License-Identifier: MIT */
/* The configuration of uptane-secondaryd: one table, and everything derived from it. */
#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "secondary_config.h"
#include "secondary_macro.h"

#define K UINT64_C(1024)
#define M (K * K)
#define G (M * K)
#define MAX_IDENTIFIER 256u

typedef enum ConfigType {
        CONFIG_IDENTIFIER, /* printable ASCII, no spaces */
        CONFIG_PATH,       /* absolute */
        CONFIG_ADDRESS,    /* numeric IPv4 or IPv6 */
        CONFIG_ENUM,
        CONFIG_BOOL,       /* yes/no, true/false, on/off, 1/0 */
        CONFIG_UINT,       /* decimal or 0x hex, min..max */
        CONFIG_SIZE,       /* bytes or K, M, G */
        CONFIG_PADDING,    /* "none" or a byte */
} ConfigType;

typedef struct ConfigKey {
        const char *section;
        const char *key;
        ConfigType type;
        size_t offset;
        const char *default_value;
        bool required;
        uint64_t min, max;
        const char *const *choices;
} ConfigKey;

static const char *const sections[] = {
        "ecu", "director", "image-repository", "time-server", "doip", "isotp", "storage", "limits",
};

static const char *const verification_names[] = {
        [SECONDARY_VERIFICATION_FULL] = "full",
        [SECONDARY_VERIFICATION_PARTIAL] = "partial",
        NULL,
};

#define FIELD(f) offsetof(SecondaryConfig, f)

static const ConfigKey keys[] = {
        { "ecu", "serial", CONFIG_IDENTIFIER, FIELD(serial), .required = true },
        { "ecu", "hardware-id", CONFIG_IDENTIFIER, FIELD(hardware_id), .required = true },
        { "ecu", "vin", CONFIG_IDENTIFIER, FIELD(vin) },
        { "ecu", "verification", CONFIG_ENUM, FIELD(verification), "partial", .choices = verification_names },
        { "director", "root", CONFIG_PATH, FIELD(director_root), .required = true },
        { "image-repository", "root", CONFIG_PATH, FIELD(image_root) },
        { "time-server", "public-key", CONFIG_PATH, FIELD(time_server_public_key) },
        { "doip", "enabled", CONFIG_BOOL, FIELD(doip_enabled), "yes" },
        { "doip", "listen-address", CONFIG_ADDRESS, FIELD(doip_address), "0.0.0.0" },
        { "doip", "port", CONFIG_UINT, FIELD(doip_port), "13400", .min = 0, .max = 65535 },
        { "doip", "logical-address", CONFIG_UINT, FIELD(doip_logical_address), "0x0001", .min = 0x0001,
          .max = 0x7FFF }, /* ISO 13400-2: 0x0001-0x0DFF, 0x1000-0x7FFF (not the testers' 0x0E00-0x0FFF) */
        { "doip", "tester-address-min", CONFIG_UINT, FIELD(doip_tester_min), "0x0E00", .min = 0x0E00, .max = 0x0FFF },
        { "doip", "tester-address-max", CONFIG_UINT, FIELD(doip_tester_max), "0x0FFF", .min = 0x0E00, .max = 0x0FFF },
        { "isotp", "enabled", CONFIG_BOOL, FIELD(isotp_enabled), "no" },
        { "isotp", "interface", CONFIG_IDENTIFIER, FIELD(isotp_interface), "can0" },
        { "isotp", "rx-id", CONFIG_UINT, FIELD(isotp_rx_id), .min = 0, .max = 0x1FFFFFFF },
        { "isotp", "tx-id", CONFIG_UINT, FIELD(isotp_tx_id), .min = 0, .max = 0x1FFFFFFF },
        { "isotp", "fd", CONFIG_BOOL, FIELD(isotp_fd), "no" },
        { "isotp", "padding", CONFIG_PADDING, FIELD(isotp_padding), "none" },
        { "isotp", "block-size", CONFIG_UINT, FIELD(isotp_block_size), "0", .min = 0, .max = 255 },
        { "isotp", "stmin", CONFIG_UINT, FIELD(isotp_stmin), "0", .min = 0, .max = 255 },
        { "storage", "state-directory", CONFIG_PATH, FIELD(state_directory), "/var/lib/uptane-secondary" },
        { "storage", "slot-a", CONFIG_PATH, FIELD(slot_a), "/var/lib/uptane-secondary/slot-a" },
        { "storage", "slot-b", CONFIG_PATH, FIELD(slot_b), "/var/lib/uptane-secondary/slot-b" },
        { "limits", "max-image-size", CONFIG_SIZE, FIELD(max_image_size), "1G", .min = 1, .max = 64 * G },
        { "limits", "max-metadata-size", CONFIG_SIZE, FIELD(max_metadata_size), "16M", .min = 4 * K, .max = 256 * M },
};

static int vmessage(char **reterr, int r, const char *fmt, va_list ap) _printf_(3, 0);
static int vmessage(char **reterr, int r, const char *fmt, va_list ap) {
        char *m;

        if (!reterr)
                return r;
        if (vasprintf(&m, fmt, ap) < 0)
                return -ENOMEM;
        free(*reterr);
        *reterr = m;
        return r;
}

static int message(char **reterr, int r, const char *fmt, ...) _printf_(3, 4);
static int message(char **reterr, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = vmessage(reterr, r, fmt, ap);
        va_end(ap);
        return r;
}

static void *field(SecondaryConfig *c, const ConfigKey *k) {
        return (uint8_t *) c + k->offset;
}

static const void *field_const(const SecondaryConfig *c, const ConfigKey *k) {
        return (const uint8_t *) c + k->offset;
}

static bool type_is_string(ConfigType t) {
        return t == CONFIG_IDENTIFIER || t == CONFIG_PATH || t == CONFIG_ADDRESS;
}

static const ConfigKey *find_key(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
                        return &keys[i];
        return NULL;
}

static bool section_known(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (strlen(sections[i]) == len && strncmp(sections[i], name, len) == 0)
                        return true;
        return false;
}

/* --- Values --------------------------------------------------------------------- */

static const char *check_string(ConfigType t, const char *v) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (t == CONFIG_ADDRESS)
                return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1
                               ? NULL
                               : "not a numeric IPv4 or IPv6 address";
        if (t == CONFIG_PATH && v[0] != '/')
                return "not an absolute path";
        if (strlen(v) > (t == CONFIG_PATH ? PATH_MAX - 1 : MAX_IDENTIFIER))
                return "too long";
        for (const unsigned char *p = (const unsigned char *) v; *p; p++)
                if (*p < ' ' || *p == 0x7f || (t == CONFIG_IDENTIFIER && (*p == ' ' || *p > 0x7f)))
                        return t == CONFIG_IDENTIFIER ? "only printable ASCII characters without spaces are allowed"
                                                      : "control characters are not allowed";
        return NULL;
}

static int parse_uint(const char *s, uint64_t *ret) {
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, &end, 0);
        if (errno != 0)
                return -errno;
        return *end == '\0' ? 0 : -EINVAL;
}

static int parse_size(const char *s, uint64_t *ret) {
        uint64_t v, unit = 1;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end == 'K' || *end == 'M' || *end == 'G')
                unit = *end == 'K' ? K : *end == 'M' ? M : G, end++;
        if (*end != '\0')
                return -EINVAL;
        if (__builtin_mul_overflow(v, unit, ret))
                return -ERANGE;
        return 0;
}

static int parse_bool(const char *s) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcmp(s, yes[i]) == 0)
                        return 1;
                if (strcmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int set_string(SecondaryConfig *c, const ConfigKey *k, const char *value, const char **why) {
        char **p = field(c, k), *v;

        *why = check_string(k->type, value);
        if (*why)
                return -EINVAL;
        v = strdup(value);
        if (!v)
                return -ENOMEM;
        free(*p);
        *p = v;
        return 0;
}

static int set_number(SecondaryConfig *c, const ConfigKey *k, const char *value, const char **why) {
        uint64_t v;
        int r;

        r = k->type == CONFIG_SIZE ? parse_size(value, &v) : parse_uint(value, &v);
        if (r < 0) {
                *why = k->type == CONFIG_SIZE ? "not a size (bytes, or a number followed by K, M or G)"
                                              : "not a number (decimal, or hexadecimal with 0x)";
                return -EINVAL;
        }
        if (v < k->min || v > k->max) {
                *why = "out of range";
                return -EINVAL;
        }
        *(uint64_t *) field(c, k) = v;
        return 0;
}

static int set_value(SecondaryConfig *c, const ConfigKey *k, const char *value, const char **why) {
        uint64_t v;
        int b;

        switch (k->type) {
        case CONFIG_ENUM:
                for (int i = 0; k->choices[i]; i++)
                        if (strcmp(k->choices[i], value) == 0) {
                                *(int *) field(c, k) = i;
                                return 0;
                        }
                *why = "not one of the allowed values";
                return -EINVAL;
        case CONFIG_BOOL:
                b = parse_bool(value);
                if (b < 0) {
                        *why = "not a boolean (yes or no)";
                        return -EINVAL;
                }
                *(bool *) field(c, k) = b;
                return 0;
        case CONFIG_PADDING:
                if (strcmp(value, "none") == 0) {
                        *(int64_t *) field(c, k) = -1;
                        return 0;
                }
                if (parse_uint(value, &v) < 0 || v > 255) {
                        *why = "neither \"none\" nor a byte (0 to 0xFF)";
                        return -EINVAL;
                }
                *(int64_t *) field(c, k) = (int64_t) v;
                return 0;
        case CONFIG_UINT:
        case CONFIG_SIZE:
                return set_number(c, k, value, why);
        default:
                return set_string(c, k, value, why);
        }
}

static int set_key(SecondaryConfig *c, const ConfigKey *k, const char *value, const char *where, char **reterr) {
        const char *why = "empty value (remove the line to keep the default)";
        char *o = NULL;
        int r;

        r = value[0] == '\0' ? -EINVAL : set_value(c, k, value, &why);
        if (r == -EINVAL)
                return message(reterr, r, "%s%s[%s] %s: '%s': %s", where ?: "", where ? ": " : "", k->section, k->key,
                               value, why);
        if (r < 0)
                return r;
        if (where && !(o = strdup(where)))
                return -ENOMEM;
        free(c->origin[k - keys]);
        c->origin[k - keys] = o;
        return 0;
}

int secondary_config_set(SecondaryConfig *c, const char *section, const char *key, const char *value,
                         const char *where, char **reterr_message) {
        const char *w = where ?: "", *sep = where ? ": " : "";
        const ConfigKey *k;

        if (!section_known(section, strlen(section)))
                return message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown section [%s]", w, sep, section, key,
                               section);
        k = find_key(section, key);
        if (!k)
                return message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown key", w, sep, section, key);
        return set_key(c, k, value, where, reterr_message);
}

/* --- Life cycle ------------------------------------------------------------------ */

int secondary_config_init(SecondaryConfig *c) {
        *c = (SecondaryConfig) {};
        c->origin = calloc(ELEMENTSOF(keys), sizeof(char *));
        if (!c->origin)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                int r;

                if (!keys[i].default_value)
                        continue;
                r = set_key(c, &keys[i], keys[i].default_value, NULL, NULL);
                assert(r != -EINVAL);
                if (r < 0) {
                        secondary_config_done(c);
                        return r;
                }
        }
        return 0;
}

void secondary_config_done(SecondaryConfig *c) {
        if (!c || !c->origin)
                return;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (type_is_string(keys[i].type))
                        free(*(char **) field(c, &keys[i]));
                free(c->origin[i]);
        }
        free(c->origin);
        *c = (SecondaryConfig) {};
}

/* --- Files ----------------------------------------------------------------------- */

typedef struct LoadState {
        SecondaryConfig *c;
        const char *path;
        FILE *f;
        unsigned line;
        unsigned *set_on_line;
        int error;
        unsigned error_line;
        char *message;
} LoadState;

static void fail_here(LoadState *st, int r) {
        st->error = r;
        st->error_line = st->line;
}

static char *read_line(char *buf, int size, void *userdata) {
        LoadState *st = userdata;
        const char *s, *end;
        size_t n;

        if (st->error != 0 || !fgets(buf, size, st->f))
                return NULL;
        st->line++;
        n = strlen(buf);
        if (n == 0 || (buf[n - 1] != '\n' && !feof(st->f))) {
                fail_here(st, message(&st->message, -EINVAL, "%s:%u: NUL byte or line longer than %d characters",
                                      st->path, st->line, size - 2));
                return NULL;
        }
        s = buf + strspn(buf, " \t");
        if (*s == '[' && (end = strchr(s, ']')) && !section_known(s + 1, (size_t) (end - s - 1))) {
                fail_here(st, message(&st->message, -ENOKEY, "%s:%u: [%.*s]: unknown section", st->path, st->line,
                                      (int) (end - s - 1), s + 1));
                return NULL;
        }
        return buf;
}

static int on_key(void *userdata, const char *section, const char *name, const char *value) {
        LoadState *st = userdata;
        _cleanup_free_ char *where = NULL;
        const ConfigKey *k = find_key(section, name);
        int r;

        if (asprintf(&where, "%s:%u", st->path, st->line) < 0) {
                fail_here(st, -ENOMEM);
                return 0;
        }
        if (k && st->set_on_line[k - keys] > 0) {
                fail_here(st, message(&st->message, -EINVAL, "%s: [%s] %s: already set on line %u of this file",
                                      where, section, name, st->set_on_line[k - keys]));
                return 0;
        }
        r = secondary_config_set(st->c, section, name, value, where, &st->message);
        if (r < 0) {
                fail_here(st, r);
                return 0;
        }
        st->set_on_line[k - keys] = st->line;
        return 1;
}

int secondary_config_load_file(SecondaryConfig *c, const char *path, char **reterr_message) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ unsigned *set_on_line = NULL;
        struct stat sb;
        LoadState st;
        int line, r;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                return message(reterr_message, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode))
                return message(reterr_message, -EINVAL, "%s: not a regular file", path);
        set_on_line = calloc(ELEMENTSOF(keys), sizeof(unsigned));
        if (!set_on_line)
                return -ENOMEM;
        st = (LoadState) { .c = c, .path = path, .f = f, .set_on_line = set_on_line };
        line = ini_parse_stream(read_line, &st, on_key, &st);
        if (line == -2)
                r = -ENOMEM;
        else if (line > 0 && (st.error == 0 || (unsigned) line < st.error_line))
                r = message(reterr_message, -EINVAL, "%s:%d: syntax error: expected [section], key = value or a comment",
                            path, line);
        else {
                r = st.error;
                if (r < 0 && reterr_message && st.message) {
                        free(*reterr_message);
                        *reterr_message = TAKE_PTR(st.message);
                }
        }
        free(st.message);
        return r;
}

static int is_dropin(const struct dirent *d) {
        size_t n = strlen(d->d_name);

        return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_dropins(SecondaryConfig *c, const char *dir, char **reterr) {
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, is_dropin, compare_names);
        if (n < 0)
                return errno == ENOENT ? 0 : message(reterr, -errno, "%s: cannot read the directory: %m", dir);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (r >= 0)
                        r = asprintf(&p, "%s/%s", dir, names[i]->d_name) < 0
                                    ? -ENOMEM
                                    : secondary_config_load_file(c, p, reterr);
                free(names[i]);
        }
        free(names);
        return r;
}

int secondary_config_load(SecondaryConfig *c, const char *path, char **reterr_message) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = secondary_config_load_file(c, path, reterr_message);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = load_dropins(c, dir, reterr_message);
        if (r < 0)
                return r;
        return secondary_config_verify(c, reterr_message);
}

static const char *origin_of(const SecondaryConfig *c, const char *section, const char *key) {
        const ConfigKey *k = find_key(section, key);

        return k && c->origin[k - keys] ? c->origin[k - keys] : "default";
}

int secondary_config_verify(const SecondaryConfig *c, char **reterr_message) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].required && !*(char *const *) field_const(c, &keys[i]))
                        return message(reterr_message, -EINVAL, "[%s] %s: required, but not set", keys[i].section,
                                       keys[i].key);
        if (c->verification == SECONDARY_VERIFICATION_FULL && !c->image_root)
                return message(reterr_message, -EINVAL, "%s: [image-repository] root: required with verification = full",
                               origin_of(c, "ecu", "verification"));
        if (c->doip_logical_address >= 0x0E00 && c->doip_logical_address <= 0x0FFF)
                return message(reterr_message, -EINVAL, "%s: [doip] logical-address: 0x0E00-0x0FFF are the testers' addresses",
                               origin_of(c, "doip", "logical-address"));
        if (!c->doip_enabled && !c->isotp_enabled)
                return message(reterr_message, -EINVAL, "%s: [doip] enabled: neither DoIP nor ISO-TP is enabled",
                               origin_of(c, "doip", "enabled"));
        if (c->doip_tester_min > c->doip_tester_max)
                return message(reterr_message, -EINVAL, "%s: [doip] tester-address-min: above tester-address-max",
                               origin_of(c, "doip", "tester-address-min"));
        if (c->isotp_enabled && (!c->origin[find_key("isotp", "rx-id") - keys] ||
                                 !c->origin[find_key("isotp", "tx-id") - keys] || c->isotp_rx_id == c->isotp_tx_id))
                return message(reterr_message, -EINVAL,
                               "%s: [isotp] enabled: needs rx-id and tx-id, two different CAN ids",
                               origin_of(c, "isotp", "enabled"));
        if (strcmp(c->slot_a, c->slot_b) == 0)
                return message(reterr_message, -EINVAL, "%s: [storage] slot-b: the same file as slot-a",
                               origin_of(c, "storage", "slot-b"));
        return 0;
}

/* --- Printing -------------------------------------------------------------------- */

static void print_value(const SecondaryConfig *c, const ConfigKey *k, FILE *f) {
        const void *p = field_const(c, k);

        switch (k->type) {
        case CONFIG_ENUM:
                fputs(k->choices[*(const int *) p], f);
                break;
        case CONFIG_BOOL:
                fputs(*(const bool *) p ? "yes" : "no", f);
                break;
        case CONFIG_PADDING:
                if (*(const int64_t *) p < 0)
                        fputs("none", f);
                else
                        fprintf(f, "0x%02" PRIX64, (uint64_t) *(const int64_t *) p);
                break;
        case CONFIG_UINT:
                fprintf(f, k->max == 65535 || k->max == 255 ? "%" PRIu64 : "0x%04" PRIX64, *(const uint64_t *) p);
                break;
        case CONFIG_SIZE:
                fprintf(f, "%" PRIu64, *(const uint64_t *) p);
                break;
        default:
                fputs(*(char *const *) p, f);
        }
}

static bool key_is_set(const SecondaryConfig *c, const ConfigKey *k) {
        if (type_is_string(k->type))
                return *(char *const *) field_const(c, k) != NULL;
        return k->default_value || c->origin[k - keys];
}

int secondary_config_print(const SecondaryConfig *c, FILE *f) {
        fputs("# The effective configuration of uptane-secondaryd. A value read from a file\n"
              "# is followed by where: FILE:LINE. Other values are the defaults.\n",
              f);
        for (size_t s = 0; s < ELEMENTSOF(sections); s++) {
                fprintf(f, "\n[%s]\n", sections[s]);
                for (const ConfigKey *k = keys; k < keys + ELEMENTSOF(keys); k++) {
                        if (strcmp(k->section, sections[s]) != 0)
                                continue;
                        if (!key_is_set(c, k)) {
                                fprintf(f, "#%s =\n", k->key);
                                continue;
                        }
                        fprintf(f, "%s = ", k->key);
                        print_value(c, k, f);
                        if (c->origin[k - keys])
                                fprintf(f, "\n# %s", c->origin[k - keys]);
                        fputc('\n', f);
                }
        }
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}

const char *secondary_verification_to_string(SecondaryVerificationType t) {
        return t >= 0 && t < _SECONDARY_VERIFICATION_MAX ? verification_names[t] : NULL;
}
