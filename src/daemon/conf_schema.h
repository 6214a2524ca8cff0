/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemons' configuration engine: INI files (read with inih) described by
 * a table of sections and keys. Each daemon keeps only its table, its typed
 * struct and the rules between its keys; parsing, values, defaults, drop-ins,
 * the effective configuration (--check-config) and the commented reference
 * conf file all come from here.
 *
 * Reading is strict: an unknown section or key, a key outside any section,
 * an empty value, a key set twice in one file, a value of the wrong type or
 * out of range, a line longer than inih's buffer are errors. Nothing here
 * logs: a failure returns a negative errno and, in *reterr_message, a
 * malloc()ed sentence, "FILE:LINE: [section] key: reason" for a file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Units for the tables' ranges: sizes in bytes, durations in seconds. */
#define CONF_K UINT64_C(1024)
#define CONF_M (CONF_K * CONF_K)
#define CONF_G (CONF_M * CONF_K)
#define CONF_T (CONF_G * CONF_K)
#define CONF_MINUTE UINT64_C(60)
#define CONF_HOUR (60 * CONF_MINUTE)
#define CONF_DAY (24 * CONF_HOUR)

/* A number key without a value (no default, not set). */
#define CONF_UNSET UINT64_MAX

typedef enum ConfType {
        CONF_IDENTIFIER, /* printable ASCII, no spaces, at most 256 bytes: VIN, serials, ids */
        CONF_PATH,       /* absolute */
        CONF_URL,        /* http:// or https:// */
        CONF_COMMAND,    /* absolute program path, then arguments */
        CONF_ADDRESS,    /* numeric IPv4 or IPv6 */
        CONF_DURATION,   /* uint64_t seconds, or 30s, 10m, 1h, 1d, 1h30m */
        CONF_SIZE,       /* uint64_t bytes, or 512K, 4M, 2G, 1T (powers of 1024) */
        CONF_INTEGER,    /* uint64_t, decimal or 0x hex, printed in decimal */
        CONF_HEX,        /* uint64_t, decimal or 0x hex, printed in hex */
        CONF_ENUM,       /* int, the index in choices; -1 without a value */
        CONF_BOOL,       /* bool: yes/no, true/false, on/off, 1/0 */
        _CONF_TYPE_MAX,
} ConfType;

typedef struct ConfSection {
        const char *name;
        const char *doc;
        bool reserved; /* takes no keys (yet) */
} ConfSection;

typedef struct ConfKey {
        const char *section;
        const char *key;
        ConfType type;
        size_t offset;              /* of the value in the daemon's struct */
        const char *default_value;  /* NULL: none */
        bool required;              /* needs a value after all files */
        uint64_t min, max;          /* DURATION, SIZE, INTEGER, HEX */
        const char *const *choices; /* ENUM, NULL-terminated */
        const char *doc;
        const char *unset_word;     /* numbers: this word ("none") leaves the key without a value */
} ConfKey;

typedef struct ConfSchema ConfSchema;

/* Sections repeated under names of their own ("[secondary.NAME]"): an array of
 * structs in the daemon's struct, one element per NAME, in the order first seen. */
typedef struct ConfRepeated {
        const char *prefix;        /* "secondary." */
        size_t name_max;           /* NAME: 1 to name_max letters, digits, - and _ */
        const ConfSchema *schema;  /* the keys of one section ("secondary.NAME"), offsets into an element */
        size_t element_size;
        size_t array_offset;       /* in the daemon's struct: the pointer to the elements */
        size_t count_offset;       /* ... and their size_t count */
        size_t name_offset;        /* in an element: "char *name" (NAME) */
        size_t set_on_line_offset; /* "unsigned *set_on_line": per key, the line of the file being read */
        size_t load_id_offset;     /* "unsigned load_id": which file set_on_line belongs to */
} ConfRepeated;

struct ConfSchema {
        const char *program; /* "uptane-primaryd", in --check-config's header */
        const ConfSection *sections;
        size_t n_sections;
        const ConfKey *keys;
        size_t n_keys;
        size_t origin_offset; /* of "char **origin" in the struct: per key, "FILE:LINE" that set it */
        /* --check-config: "# FILE:LINE" on the line below a value instead of " ; FILE:LINE" after it. */
        bool origin_on_own_line;

        const ConfRepeated *repeated; /* optional */
        /* Required keys and rules between keys, after all files; where: the main file or NULL. */
        int (*verify)(const void *c, const char *where, char **reterr);
};

#define CONF_FORMAT_MAX 32

/* Sets *reterr_message (when not NULL) to the sentence and returns r. */
int conf_message(char **reterr_message, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes "WHERE: [section] key: " and the sentence as one line to out (a problem found by verify). */
void conf_problem(FILE *out, const char *where, const char *section, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* Turns the lines written to a memstream into -EINVAL and a message (0 when none). */
int conf_problems_result(FILE *out, char **buf, size_t *size, char **reterr_message);

/* Defaults into c (the other members zeroed before): numbers without one CONF_UNSET, enums -1.
 * -ENOMEM only. */
int conf_init(const ConfSchema *s, void *c);
void conf_done(const ConfSchema *s, void *c);

/* One key, as if read from a file ("where" names it in messages, may be NULL).
 * -ENOKEY: unknown section or key; -EINVAL: bad value. */
int conf_set(const ConfSchema *s, void *c, const char *section, const char *key, const char *value,
             const char *where, char **reterr_message);
/* Reads one INI file over c. -ENOENT/-EACCES/...: cannot open; -EINVAL, -ENOKEY: a bad line. */
int conf_load_file(const ConfSchema *s, void *c, const char *path, char **reterr_message);
/* path, then path.d/ *.conf in lexical (strcmp) order, then s->verify. */
int conf_load(const ConfSchema *s, void *c, const char *path, char **reterr_message);


const ConfKey *conf_find_key(const ConfSchema *s, const char *section, const char *key);
size_t conf_key_index(const ConfSchema *s, const ConfKey *k);
/* The key's origin in c ("FILE:LINE"), or NULL: its default. */
const char *conf_origin(const ConfSchema *s, const void *c, const char *section, const char *key);
/* Whether the key has a value (a string, an enum, a number other than CONF_UNSET; a bool always). */
bool conf_value_is_set(const ConfKey *k, const void *base);
/* The largest unit that divides v: 600 -> "10m"; hex and decimal as the type says. */
const char *conf_format_number(ConfType type, uint64_t v, char buf[static CONF_FORMAT_MAX]);

/* --check-config: a comment header, then every section and key with its value, then the repeated sections. */
void conf_print_effective(const ConfSchema *s, const void *c, FILE *f);
void conf_print_effective_key(const ConfSchema *s, const ConfKey *k, const void *base, const char *origin, FILE *f);
/* The reference conf file: header, then every key documented and commented out at its default; the
 * keys of a repeated section as "# key =", not meant to be uncommented in place. */
void conf_print_default(const ConfSchema *s, const char *header, FILE *f);
/* "duration, 5s to 7d" and the like. */
void conf_print_type(const ConfKey *k, FILE *f);
/* Markdown: one "## [section]" with a table of keys per section. */
void conf_print_reference_sections(const ConfSchema *s, FILE *f);
void conf_print_reference_key(const ConfKey *k, FILE *f);
/* fflush() and ferror(): 0 or -EIO. */
int conf_print_result(FILE *f);
