/* SPDX-License-Identifier: MIT */
/* The signed envelope shared by every role: parsing, signatures, common fields. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json-internal.h"
#include "metadata-internal.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "util.h"

/* Limits on one metadata document (the updater caps bytes per role before). */
static const UpJsonLimits metadata_json_limits = {
        .max_bytes = 256u * 1024u * 1024u,
        .max_depth = 32,
        .max_values = 16u * 1024u * 1024u,
};

static const char *const role_type_names[_UP_ROLE_MAX] = {
        [UP_ROLE_ROOT] = "root",
        [UP_ROLE_TIMESTAMP] = "timestamp",
        [UP_ROLE_SNAPSHOT] = "snapshot",
        [UP_ROLE_TARGETS] = "targets",
};

const char *up_role_type_name(UpRoleType t) {
        if (t < 0 || t >= _UP_ROLE_MAX)
                return NULL;
        return role_type_names[t];
}

int up_parse_iso8601(const char *s, time_t *ret) {
        struct tm tm = {}, parsed;
        const char *end;
        time_t t;

        /* Exactly YYYY-MM-DDTHH:MM:SSZ: no fractions, no offsets. */
        if (strlen(s) != 20)
                return -EBADMSG;
        for (size_t i = 0; i < 20; i++) {
                static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

                if (shape[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != shape[i])
                        return -EBADMSG;
        }
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end != '\0')
                return -EBADMSG;
        parsed = tm;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EBADMSG;
        /* timegm() turns Feb 30 into March 2: refuse dates that do not exist. */
        if (tm.tm_mday != parsed.tm_mday || tm.tm_mon != parsed.tm_mon || tm.tm_hour != parsed.tm_hour ||
            tm.tm_min != parsed.tm_min || tm.tm_sec != parsed.tm_sec)
                return -EBADMSG;
        *ret = t;
        return 0;
}

int up_format_iso8601(time_t t, char *ret) {
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        if (strftime(ret, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
                return -EINVAL;
        return 0;
}

int up_percent_encode(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out, *p;

        out = malloc(n * 3 + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (isalnum(*c) || strchr("-._~", *c)) {
                        *p++ = (char) *c;
                        continue;
                }
                *p++ = '%';
                *p++ = hex[*c >> 4];
                *p++ = hex[*c & 15];
        }
        *p = '\0';
        *ret = out;
        return 0;
}

void up_string_array_free(char **a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                free(a[i]);
        free(a);
}

int up_string_array_parse(struct json_object *a, size_t max, char ***ret, size_t *ret_n) {
        char **v;
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        if (n > max)
                return -EFBIG;
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_array_get_idx(a, i);

                if (!json_object_is_type(s, json_type_string)) {
                        up_string_array_free(v, i);
                        return -EBADMSG;
                }
                v[i] = strdup(json_object_get_string(s));
                if (!v[i]) {
                        up_string_array_free(v, i);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void up_role_keys_done(UpRoleKeys *rk) {
        up_string_array_free(rk->keyids, rk->n_keyids);
        *rk = (UpRoleKeys) {};
}

int up_role_keys_parse(struct json_object *o, UpRoleKeys *ret) {
        struct json_object *keyids;
        UpRoleKeys rk = {};
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_json_get_array(o, "keyids", &keyids);
        if (r < 0)
                return r;
        r = up_json_get_int64(o, "threshold", &rk.threshold);
        if (r < 0)
                return r;
        if (rk.threshold < 1)
                return -EBADMSG;
        r = up_string_array_parse(keyids, UP_MAX_KEYS_PER_ROLE, &rk.keyids, &rk.n_keyids);
        if (r < 0)
                return r;
        /* A key listed twice must not count twice towards the threshold. */
        for (size_t i = 0; i < rk.n_keyids; i++)
                for (size_t j = i + 1; j < rk.n_keyids; j++)
                        if (streq(rk.keyids[i], rk.keyids[j])) {
                                up_role_keys_done(&rk);
                                return -ENOTUNIQ;
                        }
        *ret = rk;
        return 0;
}

void up_keyring_done(UpKeyring *ring) {
        for (size_t i = 0; i < ring->n; i++)
                up_key_unref(ring->keys[i]);
        up_string_array_free(ring->keyids, ring->n);
        free(ring->keys);
        *ring = (UpKeyring) {};
}

int up_keyring_parse(struct json_object *keys, UpKeyring *ret) {
        UpKeyring ring = {};
        size_t n, i = 0;

        if (!json_object_is_type(keys, json_type_object))
                return -EBADMSG;
        n = (size_t) json_object_object_length(keys);
        if (n > UP_MAX_KEYS_PER_ROLE)
                return -EFBIG;
        ring.keyids = calloc(n + 1, sizeof(char *));
        ring.keys = calloc(n + 1, sizeof(UpKey *));
        if (!ring.keyids || !ring.keys) {
                up_keyring_done(&ring);
                return -ENOMEM;
        }
        json_object_object_foreach(keys, keyid, key) {
                if (!json_object_is_type(key, json_type_object)) {
                        ring.n = i;
                        up_keyring_done(&ring);
                        return -EBADMSG;
                }
                ring.keyids[i] = strdup(keyid);
                /* A key we cannot use stays listed but never verifies anything. */
                (void) up_key_from_json(key, &ring.keys[i]);
                i++;
                if (!ring.keyids[i - 1]) {
                        ring.n = i;
                        up_keyring_done(&ring);
                        return -ENOMEM;
                }
        }
        ring.n = i;
        *ret = ring;
        return 0;
}

const UpKey *up_keyring_find(const UpKeyring *ring, const char *keyid) {
        if (!ring)
                return NULL;
        for (size_t i = 0; i < ring->n; i++)
                if (streq(ring->keyids[i], keyid))
                        return ring->keys[i];
        return NULL;
}

size_t up_keyring_size(const UpKeyring *ring) {
        return ring ? ring->n : 0;
}

int up_metafile_parse(struct json_object *o, UpMetaFile *ret) {
        UpMetaFile mf = { .length = -1 };
        struct json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_json_get_int64(o, "version", &mf.version);
        if (r < 0)
                return r;
        if (mf.version < 1)
                return -EBADMSG;
        if (json_object_object_get_ex(o, "length", &v)) {
                r = up_json_get_int64(o, "length", &mf.length);
                if (r < 0)
                        return r;
                if (mf.length < 0)
                        return -EBADMSG;
        }
        if (json_object_object_get_ex(o, "hashes", &v)) {
                if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) == 0)
                        return -EBADMSG;
                json_object_object_foreach(v, alg, hex) {
                        (void) alg;
                        if (!json_object_is_type(hex, json_type_string))
                                return -EBADMSG;
                }
                mf.hashes = v;
        }
        *ret = mf;
        return 0;
}

static int parse_signatures(UpMetadata *m, struct json_object *sigs) {
        size_t n;

        n = json_object_array_length(sigs);
        if (n > UP_MAX_SIGNATURES)
                return -EFBIG;
        m->sigs = calloc(n + 1, sizeof(UpSignature));
        if (!m->sigs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_array_get_idx(sigs, i);
                const char *keyid, *sig;
                int r;

                if (!json_object_is_type(s, json_type_object))
                        return -EBADMSG;
                r = up_json_get_string(s, "keyid", &keyid);
                if (r < 0)
                        return r;
                r = up_json_get_string(s, "sig", &sig);
                if (r < 0)
                        return r;
                /* Duplicates could be used to reach a threshold with one key. */
                for (size_t j = 0; j < i; j++)
                        if (streq(m->sigs[j].keyid, keyid))
                                return -ENOTUNIQ;
                m->sigs[i] = (UpSignature) { .keyid = keyid, .sig = sig, .sig_len = strlen(sig) };
                m->n_sigs = i + 1;
        }
        return 0;
}

static int check_spec_version(struct json_object *signed_obj) {
        struct json_object *v;
        const char *s;
        char *end;
        long major;

        /* Optional: Uptane metadata from other producers may not carry it. */
        if (!json_object_object_get_ex(signed_obj, "spec_version", &v))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(v);
        errno = 0;
        major = strtol(s, &end, 10);
        if (errno != 0 || end == s || (*end != '.' && *end != '\0'))
                return -EBADMSG;
        return major == 1 ? 0 : -EOPNOTSUPP;
}

static int check_type(struct json_object *signed_obj, UpRoleType expected) {
        const char *type;
        int r;

        r = up_json_get_string(signed_obj, "_type", &type);
        if (r < 0)
                return r;
        /* Uptane's reference and aktualizr write "Root", TUF writes "root". */
        if (strcasecmp(type, role_type_names[expected]) != 0)
                return -EMEDIUMTYPE;
        return 0;
}

static int parse_common(UpMetadata *m, UpRoleType expected) {
        struct json_object *sigs;
        const char *expires;
        int r;

        if (!json_object_is_type(m->doc, json_type_object))
                return -EBADMSG;
        r = up_json_get_object(m->doc, "signed", &m->signed_obj);
        if (r < 0)
                return r;
        r = up_json_get_array(m->doc, "signatures", &sigs);
        if (r < 0)
                return r;
        r = check_type(m->signed_obj, expected);
        if (r < 0)
                return r;
        r = check_spec_version(m->signed_obj);
        if (r < 0)
                return r;
        r = up_json_get_int64(m->signed_obj, "version", &m->version);
        if (r < 0)
                return r;
        if (m->version < 1)
                return -EBADMSG;
        r = up_json_get_string(m->signed_obj, "expires", &expires);
        if (r < 0)
                return r;
        r = up_parse_iso8601(expires, &m->expires);
        if (r < 0)
                return r;
        return parse_signatures(m, sigs);
}

static int parse_role(UpMetadata *m) {
        switch (m->type) {
        case UP_ROLE_ROOT:      return up_root_parse(m);
        case UP_ROLE_TIMESTAMP: return up_timestamp_parse(m);
        case UP_ROLE_SNAPSHOT:  return up_snapshot_parse(m);
        case UP_ROLE_TARGETS:   return -EBADMSG; /* here only when signed.targets is no object */
        default:                return -EINVAL;
        }
}

static int parse_document(UpMetadata *m, const void *buf, size_t len) {
        int r;

        r = up_json_parse(buf, len, &metadata_json_limits, &m->doc);
        if (r < 0)
                return r;
        r = parse_common(m, m->type);
        if (r < 0)
                return r;
        r = parse_role(m);
        if (r < 0)
                return r;
        return up_cjson_encode(m->signed_obj, &m->canonical, &m->canonical_len);
}

/* Finds signed.targets in a validated document; -ENOENT if it is not there. */
static int find_targets_span(const char *buf, size_t len, UpJsonSpan *ret) {
        UpJsonSpan doc = { 0, len }, signed_span;
        int r;

        r = up_json_span_find_member(buf, doc, "signed", &signed_span);
        if (r < 0)
                return r;
        return up_json_span_find_member(buf, signed_span, "targets", ret);
}

/* A targets document: the tree is built without the entries of "targets"
 * (replaced by {}); targets.c canonicalizes those one by one. */
static int parse_targets_document(UpMetadata *m, const char *buf, size_t len) {
        _cleanup_free_ char *light = NULL;
        UpJsonSpan targets;
        size_t light_len;
        int r;

        r = up_json_validate(buf, len, &metadata_json_limits, NULL);
        if (r < 0)
                return r;
        r = find_targets_span(buf, len, &targets);
        if (r == -ENOENT || (r >= 0 && buf[targets.start] != '{'))
                return parse_document(m, buf, len); /* reports what is wrong */
        if (r < 0)
                return r;
        light_len = len - (targets.end - targets.start) + 2;
        light = malloc(light_len);
        if (!light)
                return -ENOMEM;
        memcpy(light, buf, targets.start);
        memcpy(light + targets.start, "{}", 2);
        memcpy(light + targets.start + 2, buf + targets.end, len - targets.end);
        r = up_json_parse(light, light_len, &metadata_json_limits, &m->doc);
        if (r < 0)
                return r;
        r = parse_common(m, m->type);
        if (r < 0)
                return r;
        return up_targets_parse(m, buf, &targets);
}

int up_metadata_parse(const void *buf, size_t len, UpRoleType expected, UpMetadata **ret) {
        UpMetadata *m;
        int r;

        if (expected < 0 || expected >= _UP_ROLE_MAX || (!buf && len > 0))
                return -EINVAL;
        m = calloc(1, sizeof(UpMetadata));
        if (!m)
                return -ENOMEM;
        m->n_ref = 1;
        m->type = expected;
        if (expected == UP_ROLE_TARGETS)
                r = parse_targets_document(m, buf, len);
        else
                r = parse_document(m, buf, len);
        if (r < 0) {
                up_metadata_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

UpMetadata *up_metadata_ref(UpMetadata *m) {
        if (m)
                m->n_ref++;
        return m;
}

UpMetadata *up_metadata_unref(UpMetadata *m) {
        if (!m || --m->n_ref > 0)
                return NULL;
        if (m->type == UP_ROLE_ROOT)
                up_root_done(m);
        else if (m->type == UP_ROLE_TARGETS)
                up_targets_done(m);
        free(m->sigs);
        free(m->canonical);
        if (m->doc)
                json_object_put(m->doc);
        free(m);
        return NULL;
}

UpRoleType up_metadata_type(const UpMetadata *m) {
        return m->type;
}

int64_t up_metadata_version(const UpMetadata *m) {
        return m->version;
}

time_t up_metadata_expires(const UpMetadata *m) {
        return m->expires;
}

bool up_metadata_is_expired(const UpMetadata *m, time_t now) {
        return now >= m->expires;
}

struct json_object *up_metadata_signed(const UpMetadata *m) {
        return m->signed_obj;
}

static const UpSignature *find_signature(const UpMetadata *m, const char *keyid) {
        for (size_t i = 0; i < m->n_sigs; i++)
                if (streq(m->sigs[i].keyid, keyid))
                        return &m->sigs[i];
        return NULL;
}

static bool signature_valid(const UpMetadata *m, const UpKey *key, const UpSignature *s) {
        _cleanup_free_ uint8_t *sig = NULL;
        size_t sig_len;

        if (s->sig_len == 0 || up_hex_decode(s->sig, s->sig_len, &sig, &sig_len) < 0)
                return false;
        return up_key_verify(key, m->canonical, m->canonical_len, sig, sig_len) == 0;
}

int up_metadata_verify(const UpMetadata *m, const UpKeyring *ring, const UpRoleKeys *role) {
        const UpKey **counted;
        int64_t n_valid = 0;

        if (!m || !role || role->threshold < 1)
                return -EINVAL;
        counted = calloc(role->n_keyids + 1, sizeof(UpKey *));
        if (!counted)
                return -ENOMEM;
        for (size_t i = 0; i < role->n_keyids && n_valid < role->threshold; i++) {
                const UpKey *key = up_keyring_find(ring, role->keyids[i]);
                const UpSignature *s = find_signature(m, role->keyids[i]);
                bool dup = false;

                if (!key || !s)
                        continue;
                for (int64_t j = 0; j < n_valid && !dup; j++)
                        dup = up_key_equal(counted[j], key); /* two key ids, one key */
                if (dup || !signature_valid(m, key, s))
                        continue;
                counted[n_valid++] = key;
        }
        free(counted);
        return n_valid >= role->threshold ? 0 : -EKEYREJECTED;
}

int up_fileinfo_check(int64_t length, struct json_object *hashes, const void *data, size_t len) {
        size_t n_checked = 0;

        if (length >= 0 && (uint64_t) length != len)
                return -EILSEQ;
        if (!hashes || !json_object_is_type(hashes, json_type_object) || json_object_object_length(hashes) == 0)
                return -EBADMSG;
        json_object_object_foreach(hashes, name, hexobj) {
                uint8_t digest[UP_HASH_MAX_SIZE];
                _cleanup_free_ uint8_t *want = NULL;
                size_t want_len;
                int alg, r;

                alg = up_hash_alg_from_name(name);
                if (alg < 0)
                        continue; /* unknown algorithms are skipped, not trusted */
                if (!json_object_is_type(hexobj, json_type_string))
                        return -EBADMSG;
                r = up_hex_decode(json_object_get_string(hexobj), (size_t) json_object_get_string_len(hexobj),
                                  &want, &want_len);
                if (r < 0)
                        return -EILSEQ;
                r = up_hash_buffer(alg, data, len, digest);
                if (r < 0)
                        return r;
                if (want_len != up_hash_alg_size(alg) || !up_memeq(want, digest, want_len))
                        return -EILSEQ;
                n_checked++;
        }
        return n_checked > 0 ? 0 : -EOPNOTSUPP;
}
