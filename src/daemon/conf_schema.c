/* SPDX-License-Identifier: MIT */
/* The daemons' configuration engine: a table of keys, and everything derived from it. */
#include <arpa/inet.h>
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

#include "conf_schema.h"
#include "daemon_macro.h"


#define MAX_IDENTIFIER 256u /* bytes, as libuptane's UP_MSG_MAX_ID */
#define MAX_URL 2048u

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

int conf_message(char **reterr_message, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = vmessage(reterr_message, r, fmt, ap);
        va_end(ap);
        return r;
}

/* "WHERE: [section] key: reason", WHERE left out when NULL. */
static int key_message(char **reterr_message, int r, const char *where, const ConfKey *k, const char *fmt, ...)
        _printf_(5, 6);
static int key_message(char **reterr_message, int r, const char *where, const ConfKey *k, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        va_list ap;

        va_start(ap, fmt);
        r = vmessage(&reason, r, fmt, ap);
        va_end(ap);
        if (r == -ENOMEM && !reason)
                return r;
        return conf_message(reterr_message, r, "%s%s[%s] %s: %s", where ?: "", where ? ": " : "", k->section,
                            k->key, reason);
}

void conf_problem(FILE *out, const char *where, const char *section, const char *key, const char *fmt, ...) {
        va_list ap;

        fprintf(out, "%s%s[%s] %s: ", where ?: "", where ? ": " : "", section, key);
        va_start(ap, fmt);
        vfprintf(out, fmt, ap);
        va_end(ap);
        fputc('\n', out);
}

int conf_problems_result(FILE *out, char **buf, size_t *size, char **reterr_message) {
        if (fclose(out) != 0)
                return -ENOMEM;
        if (*size == 0)
                return 0;
        (*buf)[*size - 1] = '\0'; /* the last newline */
        return conf_message(reterr_message, -EINVAL, "%s", *buf);
}

static void *field(void *c, const ConfKey *k) {
        return (uint8_t *) c + k->offset;
}

static const void *field_const(const void *c, const ConfKey *k) {
        return (const uint8_t *) c + k->offset;
}

static char **origins(const ConfSchema *s, void *c) {
        return *(char ***) ((uint8_t *) c + s->origin_offset);
}

static char *const *origins_const(const ConfSchema *s, const void *c) {
        return *(char **const *) ((const uint8_t *) c + s->origin_offset);
}

static bool type_is_string(ConfType t) {
        return t == CONF_IDENTIFIER || t == CONF_PATH || t == CONF_URL || t == CONF_COMMAND || t == CONF_ADDRESS;
}

static bool type_is_number(ConfType t) {
        return t == CONF_DURATION || t == CONF_SIZE || t == CONF_INTEGER || t == CONF_HEX;
}

size_t conf_key_index(const ConfSchema *s, const ConfKey *k) {
        return (size_t) (k - s->keys);
}

static const ConfSection *find_section(const ConfSchema *s, const char *name, size_t len) {
        for (size_t i = 0; i < s->n_sections; i++)
                if (strlen(s->sections[i].name) == len && strncmp(s->sections[i].name, name, len) == 0)
                        return &s->sections[i];
        return NULL;
}

const ConfKey *conf_find_key(const ConfSchema *s, const char *section, const char *key) {
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].section, section) == 0 && strcmp(s->keys[i].key, key) == 0)
                        return &s->keys[i];
        return NULL;
}

static void *at(void *base, size_t offset) {
        return (uint8_t *) base + offset;
}

static const void *at_const(const void *base, size_t offset) {
        return (const uint8_t *) base + offset;
}

static bool is_name_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '_';
}

/* "PREFIXNAME", NAME of letters, digits, - and _. */
static bool is_repeated_section(const ConfSchema *s, const char *name, size_t len) {
        const ConfRepeated *rp = s->repeated;
        size_t n;

        if (!rp)
                return false;
        n = strlen(rp->prefix);
        if (len <= n || len - n > rp->name_max || strncmp(name, rp->prefix, n) != 0)
                return false;
        for (size_t i = n; i < len; i++)
                if (!is_name_char(name[i]))
                        return false;
        return true;
}

static int set_repeated(const ConfSchema *s, void *c, const char *section, const char *key, const char *value,
                        const char *where, unsigned load_id, unsigned line, char **reterr);
static void done_repeated(const ConfSchema *s, void *c);

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
                return CONF_MINUTE;
        case 'h':
                return CONF_HOUR;
        case 'd':
                return CONF_DAY;
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
                return CONF_K;
        case 'M':
                return CONF_M;
        case 'G':
                return CONF_G;
        case 'T':
                return CONF_T;
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

const char *conf_format_number(ConfType type, uint64_t v, char buf[static CONF_FORMAT_MAX]) {
        static const char duration_units[] = "dhms", size_units[] = "TGMK";
        const char *u = type == CONF_DURATION ? duration_units : size_units;

        if (type == CONF_INTEGER || type == CONF_HEX) {
                snprintf(buf, CONF_FORMAT_MAX, type == CONF_HEX ? "0x%" PRIX64 : "%" PRIu64, v);
                return buf;
        }

        for (; v > 0 && *u != '\0'; u++) {
                uint64_t n = type == CONF_DURATION ? duration_unit(*u) : size_unit(*u);

                if (v % n == 0) {
                        snprintf(buf, CONF_FORMAT_MAX, "%" PRIu64 "%c", v / n, *u);
                        return buf;
                }
        }
        snprintf(buf, CONF_FORMAT_MAX, "%" PRIu64, v);
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

static const char *check_address(const char *v) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
                return NULL;
        return "not a numeric IPv4 or IPv6 address";
}

static const char *check_string(ConfType type, const char *v) {
        switch (type) {
        case CONF_IDENTIFIER:
                return check_identifier(v);
        case CONF_PATH:
                return check_path(v);
        case CONF_URL:
                return check_url(v);
        case CONF_COMMAND:
                return check_command(v);
        case CONF_ADDRESS:
                return check_address(v);
        default:
                assert(false);
                return "not a string";
        }
}

/* "file, ostree" */
static int join_choices(const ConfKey *k, const char *separator, char **ret) {
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

static int set_string(void *c, const ConfKey *k, const char *value, const char *where, char **reterr) {
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

static int out_of_range(const ConfKey *k, const char *value, const char *where, char **reterr) {
        char min[CONF_FORMAT_MAX], max[CONF_FORMAT_MAX];

        return key_message(reterr, -EINVAL, where, k, "'%s' is out of range (%s to %s)", value,
                           conf_format_number(k->type, k->min, min), conf_format_number(k->type, k->max, max));
}

static int set_number(void *c, const ConfKey *k, const char *value, const char *where, char **reterr) {
        uint64_t v;
        int r;

        r = k->type == CONF_DURATION ? parse_duration(value, &v) : parse_size(value, &v);
        if (r == -ERANGE)
                return key_message(reterr, -EINVAL, where, k, "'%s' is too large", value);
        if (r < 0 && k->type == CONF_DURATION)
                return key_message(reterr, -EINVAL, where, k,
                                   "'%s' is not a duration (seconds, or numbers followed by s, m, h or d: 1h30m)",
                                   value);
        if (r < 0)
                return key_message(reterr, -EINVAL, where, k,
                                   "'%s' is not a size (bytes, or a number followed by K, M, G or T)", value);
        if (v < k->min || v > k->max)
                return out_of_range(k, value, where, reterr);
        *(uint64_t *) field(c, k) = v;
        return 0;
}

/* Decimal or 0x hex. */
static int set_integer(void *c, const ConfKey *k, const char *value, const char *where, char **reterr) {
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
                return out_of_range(k, value, where, reterr);
        *(uint64_t *) field(c, k) = v;
        return 0;
}

static int set_enum(void *c, const ConfKey *k, const char *value, const char *where, char **reterr) {
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

static int set_bool(void *c, const ConfKey *k, const char *value, const char *where, char **reterr) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
                        *(bool *) field(c, k) = strcmp(value, yes[i]) == 0;
                        return 0;
                }
        return key_message(reterr, -EINVAL, where, k, "'%s' is not a boolean (yes or no)", value);
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

/* The key's value in base, where it was set in *origin. */
static int set_key(const ConfKey *k, void *base, char **origin, const char *value, const char *where,
                   char **reterr_message) {
        int r;

        if (value[0] == '\0')
                return key_message(reterr_message, -EINVAL, where, k,
                                   "empty value (remove the line to keep the default)");
        if (k->unset_word && strcmp(value, k->unset_word) == 0) {
                assert(type_is_number(k->type));
                *(uint64_t *) field(base, k) = CONF_UNSET;
                r = 0;
        } else if (type_is_string(k->type))
                r = set_string(base, k, value, where, reterr_message);
        else if (k->type == CONF_ENUM)
                r = set_enum(base, k, value, where, reterr_message);
        else if (k->type == CONF_BOOL)
                r = set_bool(base, k, value, where, reterr_message);
        else if (k->type == CONF_INTEGER || k->type == CONF_HEX)
                r = set_integer(base, k, value, where, reterr_message);
        else
                r = set_number(base, k, value, where, reterr_message);
        if (r < 0)
                return r;
        return set_origin(origin, where);
}

int conf_set(const ConfSchema *s, void *c, const char *section, const char *key, const char *value,
             const char *where, char **reterr_message) {
        const char *w = where ?: "", *sep = where ? ": " : "";
        const ConfSection *sec;
        const ConfKey *k;

        assert(s && c && section && key && value);

        if (section[0] == '\0')
                return conf_message(reterr_message, -ENOKEY, "%s%s%s: key outside of any section", w, sep, key);
        if (is_repeated_section(s, section, strlen(section)))
                return set_repeated(s, c, section, key, value, where, /* load_id= */ 0, /* line= */ 0,
                                    reterr_message);
        sec = find_section(s, section, strlen(section));
        if (!sec)
                return conf_message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown section [%s]", w, sep, section,
                                    key, section);
        if (sec->reserved)
                return conf_message(reterr_message, -ENOKEY,
                                    "%s%s[%s] %s: section [%s] is reserved and takes no keys yet", w, sep, section,
                                    key, section);
        k = conf_find_key(s, section, key);
        if (!k)
                return conf_message(reterr_message, -ENOKEY, "%s%s[%s] %s: unknown key", w, sep, section, key);
        return set_key(k, c, &origins(s, c)[conf_key_index(s, k)], value, where, reterr_message);
}

/* Life cycle. */

/* Defaults of keys[0..n) into base, origin[] per key. */
static int init_keys(const ConfKey *keys, size_t n, void *base, char **origin) {
        for (size_t i = 0; i < n; i++) {
                const ConfKey *k = &keys[i];
                int r;

                if (type_is_number(k->type))
                        *(uint64_t *) field(base, k) = CONF_UNSET;
                else if (k->type == CONF_ENUM)
                        *(int *) field(base, k) = -1;
                if (!k->default_value)
                        continue;
                r = set_key(k, base, &origin[i], k->default_value, /* where= */ NULL, /* reterr= */ NULL);
                assert(r != -EINVAL); /* the table's defaults are valid */
                if (r < 0)
                        return r;
        }
        return 0;
}

static void done_keys(const ConfKey *keys, size_t n, void *base, char **origin) {
        for (size_t i = 0; i < n; i++) {
                if (type_is_string(keys[i].type)) {
                        free(*(char **) field(base, &keys[i]));
                        *(char **) field(base, &keys[i]) = NULL;
                }
                if (origin)
                        free(origin[i]);
        }
}

int conf_init(const ConfSchema *s, void *c) {
        char **origin;
        int r;

        assert(s && c);

        origin = calloc(s->n_keys, sizeof(char *));
        if (!origin)
                return -ENOMEM;
        *(char ***) ((uint8_t *) c + s->origin_offset) = origin;
        r = init_keys(s->keys, s->n_keys, c, origin);
        if (r < 0)
                conf_done(s, c);
        return r;
}

void conf_done(const ConfSchema *s, void *c) {
        char ***origin;

        if (!c)
                return;
        origin = (char ***) ((uint8_t *) c + s->origin_offset);
        done_keys(s->keys, s->n_keys, c, *origin);
        free(*origin);
        *origin = NULL;
        done_repeated(s, c);
}

/* Repeated sections. */

static void done_element(const ConfRepeated *rp, void *e) {
        conf_done(rp->schema, e);
        free(*(unsigned **) at(e, rp->set_on_line_offset));
        free(*(char **) at(e, rp->name_offset));
}

static void done_repeated(const ConfSchema *s, void *c) {
        const ConfRepeated *rp = s->repeated;
        void **array;
        size_t *n;

        if (!rp)
                return;
        array = at(c, rp->array_offset);
        n = at(c, rp->count_offset);
        for (size_t i = 0; i < *n; i++)
                done_element(rp, at(*array, i * rp->element_size));
        free(*array);
        *array = NULL;
        *n = 0;
}

static int init_element(const ConfRepeated *rp, void *e, const char *name) {
        char **e_name = at(e, rp->name_offset);
        unsigned **set_on_line = at(e, rp->set_on_line_offset);

        memset(e, 0, rp->element_size);
        *e_name = strdup(name);
        *set_on_line = calloc(rp->schema->n_keys, sizeof(unsigned));
        if (!*e_name || !*set_on_line)
                return -ENOMEM;
        return conf_init(rp->schema, e);
}

/* The section PREFIXNAME, added when first seen. */
static int get_element(const ConfRepeated *rp, void *c, const char *name, void **ret) {
        void **array = at(c, rp->array_offset), *a, *e;
        size_t *n = at(c, rp->count_offset);
        int r;

        for (size_t i = 0; i < *n; i++) {
                e = at(*array, i * rp->element_size);
                if (strcmp(*(char **) at(e, rp->name_offset), name) == 0) {
                        *ret = e;
                        return 0;
                }
        }
        a = realloc(*array, (*n + 1) * rp->element_size);
        if (!a)
                return -ENOMEM;
        *array = a;
        e = at(a, *n * rp->element_size);
        r = init_element(rp, e, name);
        if (r < 0) {
                done_element(rp, e);
                return r;
        }
        (*n)++;
        *ret = e;
        return 0;
}

/* load_id and line are 0 unless a file is read. */
static int set_repeated(const ConfSchema *s, void *c, const char *section, const char *key, const char *value,
                        const char *where, unsigned load_id, unsigned line, char **reterr) {
        const ConfRepeated *rp = s->repeated;
        const ConfKey *k = conf_find_key(rp->schema, rp->schema->sections[0].name, key);
        unsigned *set_on_line, *e_load_id;
        ConfKey named;
        size_t i;
        void *e;
        int r;

        if (!k)
                return conf_message(reterr, -ENOKEY, "%s%s[%s] %s: unknown key", where ?: "", where ? ": " : "",
                                    section, key);
        named = *k;
        named.section = section; /* messages name the real section */
        r = get_element(rp, c, section + strlen(rp->prefix), &e);
        if (r < 0)
                return r;
        i = conf_key_index(rp->schema, k);
        set_on_line = *(unsigned **) at(e, rp->set_on_line_offset);
        e_load_id = at(e, rp->load_id_offset);
        if (load_id != 0 && *e_load_id != load_id) {
                memset(set_on_line, 0, rp->schema->n_keys * sizeof(unsigned));
                *e_load_id = load_id;
        }
        if (load_id != 0 && set_on_line[i] > 0)
                return key_message(reterr, -EINVAL, where, &named, "already set on line %u of this file",
                                   set_on_line[i]);
        r = set_key(&named, e, &origins(rp->schema, e)[i], value, where, reterr);
        if (r < 0)
                return r;
        if (load_id != 0)
                set_on_line[i] = line;
        return 0;
}

/* Reading files. */

typedef struct LoadState {
        const ConfSchema *schema;
        void *c;
        const char *path;
        FILE *f;
        unsigned line;         /* the line last read */
        unsigned *set_on_line; /* per key: the line of this file that set it, 0: none */
        unsigned load_id;      /* this reading of a file, for repeated-section keys set twice */
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
        size_t len;

        if (*s != '[')
                return;
        end = strchr(s, ']');
        if (!end)
                return; /* inih reports a missing ']' */
        len = (size_t) (end - s - 1);
        if (find_section(st->schema, s + 1, len) || is_repeated_section(st->schema, s + 1, len))
                return;
        fail_here(st, conf_message(&st->message, -ENOKEY, "%s:%u: [%.*s]: unknown section", st->path, st->line,
                                   (int) len, s + 1));
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
                fail_here(st, conf_message(&st->message, -EINVAL, "%s:%u: NUL byte in the line", st->path, st->line));
                return NULL;
        }
        if (buf[n - 1] != '\n' && !feof(st->f)) {
                fail_here(st, conf_message(&st->message, -EINVAL, "%s:%u: line longer than %d characters", st->path,
                                           st->line, size - 2));
                return NULL;
        }
        check_section_line(st, buf);
        return st->error != 0 ? NULL : buf;
}

static int on_key(void *userdata, const char *section, const char *name, const char *value) {
        LoadState *st = userdata;
        _cleanup_free_ char *where = NULL;
        const ConfKey *k;
        int r;

        if (asprintf(&where, "%s:%u", st->path, st->line) < 0) {
                fail_here(st, -ENOMEM);
                return 0;
        }
        if (is_repeated_section(st->schema, section, strlen(section))) {
                r = set_repeated(st->schema, st->c, section, name, value, where, st->load_id, st->line,
                                 &st->message);
                if (r < 0)
                        fail_here(st, r);
                return r < 0 ? 0 : 1;
        }
        k = conf_find_key(st->schema, section, name);
        if (k && st->set_on_line[conf_key_index(st->schema, k)] > 0) {
                fail_here(st, key_message(&st->message, -EINVAL, where, k, "already set on line %u of this file",
                                          st->set_on_line[conf_key_index(st->schema, k)]));
                return 0;
        }
        r = conf_set(st->schema, st->c, section, name, value, where, &st->message);
        if (r < 0) {
                fail_here(st, r);
                return 0;
        }
        st->set_on_line[conf_key_index(st->schema, k)] = st->line;
        return 1;
}

/* inih returns the line of the first error: ours, or a syntax error before it. */
static int load_result(LoadState *st, int line, char **reterr) {
        if (line == -2)
                return -ENOMEM;
        if (line > 0 && (st->error == 0 || (unsigned) line < st->error_line))
                return conf_message(reterr, -EINVAL,
                                    "%s:%d: syntax error: expected [section], key = value or a comment", st->path,
                                    line);
        if (st->error < 0 && reterr && st->message) {
                free(*reterr);
                *reterr = TAKE_PTR(st->message);
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
                return conf_message(reterr, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
                (void) fclose(f);
                return conf_message(reterr, -EINVAL, "%s: not a regular file", path);
        }
        *ret = f;
        return 0;
}

int conf_load_file(const ConfSchema *s, void *c, const char *path, char **reterr_message) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ unsigned *set_on_line = NULL;
        static unsigned load_counter;
        LoadState st;
        int line, r;

        assert(s && c && path);

        r = open_config(path, &f, reterr_message);
        if (r < 0)
                return r;
        set_on_line = calloc(s->n_keys, sizeof(unsigned));
        if (!set_on_line)
                return -ENOMEM;
        st = (LoadState) { .schema = s, .c = c, .path = path, .f = f, .set_on_line = set_on_line,
                           .load_id = ++load_counter };
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

static int load_dropin(const ConfSchema *s, void *c, const char *dir, const char *name, char **reterr) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return conf_load_file(s, c, path, reterr);
}

static int load_dropins(const ConfSchema *s, void *c, const char *dir, char **reterr) {
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, is_dropin, compare_names);
        if (n < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return 0;
                return conf_message(reterr, r, "%s: cannot read the directory: %s", dir, strerror(-r));
        }
        for (int i = 0; i < n; i++) {
                if (r >= 0)
                        r = load_dropin(s, c, dir, names[i]->d_name, reterr);
                free(names[i]);
        }
        free(names);
        return r;
}

int conf_load(const ConfSchema *s, void *c, const char *path, char **reterr_message) {
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(s && c && path);

        r = conf_load_file(s, c, path, reterr_message);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = load_dropins(s, c, dir, reterr_message);
        if (r < 0)
                return r;
        return s->verify ? s->verify(c, path, reterr_message) : 0;
}

/* Questions about values. */

const char *conf_origin(const ConfSchema *s, const void *c, const char *section, const char *key) {
        const ConfKey *k = conf_find_key(s, section, key);

        assert(k);
        return origins_const(s, c)[conf_key_index(s, k)];
}

bool conf_value_is_set(const ConfKey *k, const void *base) {
        const void *v = field_const(base, k);

        if (type_is_string(k->type))
                return *(char *const *) v != NULL;
        if (k->type == CONF_ENUM)
                return *(const int *) v >= 0;
        if (k->type == CONF_BOOL)
                return true;
        return *(const uint64_t *) v != CONF_UNSET;
}

/* Printing. */

int conf_print_result(FILE *f) {
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}

/* The value as the parser reads it, or NULL when unset. */
static const char *format_value(const void *c, const ConfKey *k, char buf[static CONF_FORMAT_MAX]) {
        const void *v = field_const(c, k);

        if (type_is_string(k->type))
                return *(char *const *) v;
        if (k->type == CONF_ENUM)
                return *(const int *) v < 0 ? NULL : k->choices[*(const int *) v];
        if (k->type == CONF_BOOL)
                return *(const bool *) v ? "yes" : "no";
        if (*(const uint64_t *) v == CONF_UNSET)
                return k->unset_word;
        return conf_format_number(k->type, *(const uint64_t *) v, buf);
}

void conf_print_effective_key(const ConfSchema *s, const ConfKey *k, const void *base, const char *origin, FILE *f) {
        char buf[CONF_FORMAT_MAX];
        const char *v = format_value(base, k, buf);

        if (!v)
                fprintf(f, "# %s: not set\n", k->key);
        else if (origin && s->origin_on_own_line)
                fprintf(f, "%s = %s\n# %s\n", k->key, v, origin);
        else if (origin)
                fprintf(f, "%s = %s ; %s\n", k->key, v, origin);
        else
                fprintf(f, "%s = %s\n", k->key, v);
}

void conf_print_effective(const ConfSchema *s, const void *c, FILE *f) {
        assert(s && c && f);

        fprintf(f,
                "# The effective configuration of %s. A value read from a file\n"
                "# is followed by where: FILE:LINE. Other values are the defaults.\n",
                s->program);
        for (size_t i = 0; i < s->n_sections; i++) {
                fprintf(f, "\n[%s]\n", s->sections[i].name);
                for (size_t j = 0; j < s->n_keys; j++)
                        if (strcmp(s->keys[j].section, s->sections[i].name) == 0)
                                conf_print_effective_key(s, &s->keys[j], c, origins_const(s, c)[j], f);
        }
        if (!s->repeated)
                return;
        for (size_t i = 0, n = *(const size_t *) at_const(c, s->repeated->count_offset); i < n; i++) {
                const ConfRepeated *rp = s->repeated;
                const void *e = at_const(*(void *const *) at_const(c, rp->array_offset), i * rp->element_size);

                fprintf(f, "\n[%s%s]\n", rp->prefix, *(char *const *) at_const(e, rp->name_offset));
                for (size_t j = 0; j < rp->schema->n_keys; j++)
                        conf_print_effective_key(rp->schema, &rp->schema->keys[j], e, origins_const(rp->schema, e)[j],
                                                 f);
        }
}

void conf_print_type(const ConfKey *k, FILE *f) {
        char min[CONF_FORMAT_MAX], max[CONF_FORMAT_MAX];
        _cleanup_free_ char *list = NULL;

        switch (k->type) {
        case CONF_IDENTIFIER:
                fputs("text without spaces, at most 256 bytes", f);
                break;
        case CONF_PATH:
                fputs("absolute path", f);
                break;
        case CONF_URL:
                fputs("http:// or https:// URL", f);
                break;
        case CONF_COMMAND:
                fputs("command line, the program as an absolute path", f);
                break;
        case CONF_ADDRESS:
                fputs("numeric IPv4 or IPv6 address", f);
                break;
        case CONF_DURATION:
        case CONF_SIZE:
                fprintf(f, "%s, %s to %s", k->type == CONF_DURATION ? "duration" : "size",
                        conf_format_number(k->type, k->min, min), conf_format_number(k->type, k->max, max));
                break;
        case CONF_ENUM:
                fprintf(f, "one of: %s", join_choices(k, ", ", &list) >= 0 ? list : "?");
                break;
        case CONF_BOOL:
                fputs("yes or no", f);
                break;
        case CONF_INTEGER:
        case CONF_HEX:
                fprintf(f, "integer (decimal or 0x hex), %s to %s", conf_format_number(k->type, k->min, min),
                        conf_format_number(k->type, k->max, max));
                break;
        default:
                assert(false);
        }
        if (k->unset_word)
                fprintf(f, ", or %s", k->unset_word);
}

static void print_default_key(const ConfKey *k, FILE *f) {
        fprintf(f, "\n# %s\n# Type: ", k->doc);
        conf_print_type(k, f);
        fputs(k->required ? ". Required.\n" : ".\n", f);
        fprintf(f, "#%s =%s%s\n", k->key, k->default_value ? " " : "", k->default_value ?: "");
}

void conf_print_default(const ConfSchema *s, const char *header, FILE *f) {
        assert(s && header && f);

        fputs(header, f);
        for (size_t i = 0; i < s->n_sections; i++) {
                fprintf(f, "\n[%s]\n# %s\n", s->sections[i].name, s->sections[i].doc);
                for (size_t j = 0; j < s->n_keys; j++)
                        if (strcmp(s->keys[j].section, s->sections[i].name) == 0)
                                print_default_key(&s->keys[j], f);
        }
        if (!s->repeated)
                return;
        /* Commented out with "# key = ", which is not a key to uncomment: the section has no defaults to show. */
        fprintf(f, "\n# [%s]\n# %s\n", s->repeated->schema->sections[0].name, s->repeated->schema->sections[0].doc);
        for (size_t i = 0; i < s->repeated->schema->n_keys; i++) {
                const ConfKey *k = &s->repeated->schema->keys[i];

                fprintf(f, "#\n# %s\n# Type: ", k->doc);
                conf_print_type(k, f);
                fputs(k->required ? ". Required.\n" : ".\n", f);
                fprintf(f, "# %s =%s%s\n", k->key, k->default_value ? " " : "", k->default_value ?: "");
        }
}

void conf_print_reference_key(const ConfKey *k, FILE *f) {
        fprintf(f, "| `%s` | ", k->key);
        conf_print_type(k, f);
        if (k->required)
                fputs(" | required", f);
        else if (k->default_value)
                fprintf(f, " | `%s`", k->default_value);
        else
                fputs(" | not set", f);
        fprintf(f, " | %s |\n", k->doc);
}

void conf_print_reference_sections(const ConfSchema *s, FILE *f) {
        for (size_t i = 0; i < s->n_sections; i++) {
                bool any = false;

                fprintf(f, "\n## [%s]\n\n%s\n", s->sections[i].name, s->sections[i].doc);
                for (size_t j = 0; j < s->n_keys; j++) {
                        if (strcmp(s->keys[j].section, s->sections[i].name) != 0)
                                continue;
                        if (!any)
                                fputs("\n| Key | Type | Default | Description |\n|---|---|---|---|\n", f);
                        any = true;
                        conf_print_reference_key(&s->keys[j], f);
                }
        }
}
