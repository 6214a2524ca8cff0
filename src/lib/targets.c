/* SPDX-License-Identifier: MIT */
/*
 * Targets metadata: the images (targets) a role vouches for. Image
 * repositories can list 100,000 images, so the entries are never held as one
 * JSON tree: each is parsed, checked and canonicalized on its own, and only
 * its canonical bytes are kept (they are what the signature covers anyway).
 */
#include "json-internal.h"
#include "metadata-internal.h"
#include "uptane/json.h"
#include "util.h"

/* One target entry is small; anything big is an attack. */
static const UpJsonLimits entry_limits = {
        .max_bytes = 1024u * 1024u,
        .max_depth = 16,
        .max_values = 16384,
};

static int check_target_entry(struct json_object *entry) {
        struct json_object *hashes, *custom;
        int64_t length;
        int r;

        if (!json_object_is_type(entry, json_type_object))
                return -EBADMSG;
        r = up_json_get_int64(entry, "length", &length);
        if (r < 0)
                return r;
        if (length < 0)
                return -EBADMSG;
        r = up_json_get_object(entry, "hashes", &hashes);
        if (r < 0)
                return r;
        json_object_object_foreach(hashes, alg, hex) {
                (void) alg;
                if (!json_object_is_type(hex, json_type_string))
                        return -EBADMSG;
        }
        if (json_object_object_get_ex(entry, "custom", &custom) && !json_object_is_type(custom, json_type_object))
                return -EBADMSG;
        return 0;
}

static void entries_free(UpTargetEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].path);
                if (e[i].json)
                        json_object_put(e[i].json);
        }
        free(e);
}

/* Collects path -> value span of every entry, sorted by path bytes. */
typedef struct SpanEntry {
        char *path;
        UpJsonSpan value;
} SpanEntry;

static int span_entry_compare(const void *a, const void *b) {
        return strcmp(((const SpanEntry *) a)->path, ((const SpanEntry *) b)->path);
}

static void span_entries_free(SpanEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(e[i].path);
        free(e);
}

static int collect_entries(const char *buf, const UpJsonSpan *targets, SpanEntry **ret, size_t *ret_n) {
        SpanEntry *e = NULL;
        size_t n = 0, cap = 0, pos = targets->start;
        char *key;
        UpJsonSpan v;
        int r;

        while ((r = up_json_span_next_member(buf, targets->end, &pos, &key, &v)) > 0) {
                if (n == cap) {
                        SpanEntry *ne;

                        cap = cap ? cap * 2 : 64;
                        ne = realloc(e, cap * sizeof(SpanEntry));
                        if (!ne) {
                                free(key);
                                r = -ENOMEM;
                                break;
                        }
                        e = ne;
                }
                e[n++] = (SpanEntry) { key, v };
        }
        if (r < 0) {
                span_entries_free(e, n);
                return r;
        }
        if (n > 1)
                qsort(e, n, sizeof(SpanEntry), span_entry_compare);
        /* Two entries with one path: which one is meant? */
        for (size_t i = 1; i < n; i++)
                if (streq(e[i - 1].path, e[i].path)) {
                        span_entries_free(e, n);
                        return -EBADMSG;
                }
        *ret = e;
        *ret_n = n;
        return 0;
}

/* Writes {"path":{...},...} canonically and records where each entry is. */
static int write_entries(UpCjsonWriter *w, const char *buf, SpanEntry *se, size_t n, UpTargetEntry *out) {
        int r;

        r = up_cjson_writer_raw(w, "{", 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_json_ struct json_object *entry = NULL;

                r = up_json_parse(buf + se[i].value.start, se[i].value.end - se[i].value.start, &entry_limits,
                                  &entry);
                if (r >= 0)
                        r = check_target_entry(entry);
                if (r >= 0 && i > 0)
                        r = up_cjson_writer_raw(w, ",", 1);
                if (r >= 0)
                        r = up_cjson_writer_string(w, se[i].path, strlen(se[i].path));
                if (r >= 0)
                        r = up_cjson_writer_raw(w, ":", 1);
                out[i].canonical_offset = up_cjson_writer_len(w);
                if (r >= 0)
                        r = up_cjson_writer_value(w, entry);
                out[i].canonical_len = up_cjson_writer_len(w) - out[i].canonical_offset;
                out[i].path = TAKE_PTR(se[i].path);
        }
        if (r >= 0)
                r = up_cjson_writer_raw(w, "}", 1);
        return r;
}

static int key_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* canonical(signed), where signed.targets comes from the entries. */
static int write_signed(UpMetadata *m, const char *buf, SpanEntry *se, size_t n) {
        _cleanup_(up_cjson_writer_freep) UpCjsonWriter *w = NULL;
        size_t n_keys = (size_t) json_object_object_length(m->signed_obj), k = 0;
        _cleanup_free_ char **keys = NULL;
        int r;

        keys = calloc(n_keys + 1, sizeof(char *));
        if (!keys)
                return -ENOMEM;
        json_object_object_foreach(m->signed_obj, key, val) {
                (void) val;
                keys[k++] = key;
        }
        if (k > 1)
                qsort(keys, k, sizeof(char *), key_compare);
        r = up_cjson_writer_new(&w);
        if (r < 0)
                return r;
        r = up_cjson_writer_raw(w, "{", 1);
        for (size_t i = 0; r >= 0 && i < k; i++) {
                if (i > 0)
                        r = up_cjson_writer_raw(w, ",", 1);
                if (r >= 0)
                        r = up_cjson_writer_string(w, keys[i], strlen(keys[i]));
                if (r >= 0)
                        r = up_cjson_writer_raw(w, ":", 1);
                if (r < 0)
                        break;
                if (streq(keys[i], "targets"))
                        r = write_entries(w, buf, se, n, m->targets.entries);
                else
                        r = up_cjson_writer_value(w, json_object_object_get(m->signed_obj, keys[i]));
        }
        if (r >= 0)
                r = up_cjson_writer_raw(w, "}", 1);
        if (r >= 0)
                r = up_cjson_writer_finish(w, &m->canonical, &m->canonical_len);
        return r;
}

int up_targets_parse(UpMetadata *m, const char *buf, const UpJsonSpan *targets) {
        UpTargetsInfo *ti = &m->targets;
        struct json_object *delegations, *empty;
        SpanEntry *se = NULL;
        size_t n = 0;
        int r;

        r = up_json_get_object(m->signed_obj, "targets", &empty);
        if (r < 0)
                return r;
        r = collect_entries(buf, targets, &se, &n);
        if (r < 0)
                return r;
        ti->entries = calloc(n + 1, sizeof(UpTargetEntry));
        if (!ti->entries) {
                span_entries_free(se, n);
                return -ENOMEM;
        }
        ti->n_entries = n;
        r = write_signed(m, buf, se, n);
        span_entries_free(se, n);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(m->signed_obj, "delegations", &delegations))
                return 0;
        return up_delegations_parse(delegations, ti);
}

void up_targets_done(UpMetadata *m) {
        up_delegations_done(&m->targets);
        entries_free(m->targets.entries, m->targets.n_entries);
        m->targets.entries = NULL;
        m->targets.n_entries = 0;
}

static UpTargetEntry *find_entry(const UpMetadata *t, const char *path) {
        size_t lo = 0, hi = t->targets.n_entries;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(path, t->targets.entries[mid].path);

                if (c == 0)
                        return &t->targets.entries[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static int entry_json(const UpMetadata *t, UpTargetEntry *e, struct json_object **ret) {
        int r;

        if (!e->json) {
                r = up_json_parse_canonical(t->canonical + e->canonical_offset, e->canonical_len, &entry_limits,
                                            &e->json);
                if (r < 0)
                        return r;
        }
        *ret = e->json;
        return 0;
}

static int fill_target_file(const UpMetadata *t, UpTargetEntry *e, UpTargetFile *ret) {
        struct json_object *entry, *v;
        UpTargetFile tf = {};
        int r;

        r = entry_json(t, e, &entry);
        if (r < 0)
                return r;
        /* Shape checked at parse time. */
        json_object_object_get_ex(entry, "length", &v);
        tf.length = json_object_get_int64(v);
        json_object_object_get_ex(entry, "hashes", &tf.hashes);
        if (!json_object_object_get_ex(entry, "custom", &tf.custom))
                tf.custom = NULL;
        tf.path = e->path;
        *ret = tf;
        return 0;
}

int up_targets_get(const UpMetadata *t, const char *path, UpTargetFile *ret) {
        UpTargetEntry *e = find_entry(t, path);

        if (!e)
                return -ENOENT;
        return fill_target_file(t, e, ret);
}

int up_targets_at(const UpMetadata *t, size_t i, UpTargetFile *ret) {
        if (i >= t->targets.n_entries)
                return -ENOENT;
        return fill_target_file(t, &t->targets.entries[i], ret);
}

size_t up_targets_count(const UpMetadata *t) {
        return t->targets.n_entries;
}
