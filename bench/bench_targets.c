/* SPDX-License-Identifier: MIT */
/*
 * Parse + verify of a large targets.json (Uptane image repositories list many
 * images): builds a signed targets document with N entries, writes it out,
 * then times up_metadata_parse() + up_metadata_verify() on the bytes and
 * prints the peak RSS next to the file size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/key.h"
#include "uptane/metadata.h"
#include "uptane/storage.h"

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

static struct json_object *target_entry(unsigned i) {
        struct json_object *e = json_object_new_object(), *h = json_object_new_object();
        struct json_object *custom = json_object_new_object(), *hw = json_object_new_array();
        uint8_t d256[32], d512[64];
        char hex256[65], hex512[129];

        up_hash_buffer(UP_HASH_SHA256, &i, sizeof(i), d256);
        up_hash_buffer(UP_HASH_SHA512, &i, sizeof(i), d512);
        up_hex_encode(d256, 32, hex256);
        up_hex_encode(d512, 64, hex512);
        json_object_object_add(h, "sha256", json_object_new_string(hex256));
        json_object_object_add(h, "sha512", json_object_new_string(hex512));
        json_object_array_add(hw, json_object_new_string("hw-1"));
        json_object_object_add(custom, "hardwareIds", hw);
        json_object_object_add(custom, "releaseCounter", json_object_new_int64(i));
        json_object_object_add(e, "length", json_object_new_int64(1000 + i));
        json_object_object_add(e, "hashes", h);
        json_object_object_add(e, "custom", custom);
        return e;
}

static char *make_document(unsigned n, UpKey *key, size_t *ret_len) {
        struct json_object *s = json_object_new_object(), *t = json_object_new_object();
        char *doc = NULL;

        json_object_object_add(s, "_type", json_object_new_string("targets"));
        json_object_object_add(s, "spec_version", json_object_new_string("1.0.31"));
        json_object_object_add(s, "version", json_object_new_int64(1));
        json_object_object_add(s, "expires", json_object_new_string("2099-01-01T00:00:00Z"));
        for (unsigned i = 0; i < n; i++) {
                char path[64];
                snprintf(path, sizeof(path), "images/ecu-%06u/firmware-%u.bin", i % 977, i);
                json_object_object_add(t, path, target_entry(i));
        }
        json_object_object_add(s, "targets", t);
        if (up_metadata_sign(s, &key, 1, true, &doc, ret_len) < 0)
                doc = NULL;
        json_object_put(s);
        return doc;
}

static char *make_root(UpKey *key, size_t *ret_len) {
        struct json_object *s = json_object_new_object(), *roles = json_object_new_object();
        struct json_object *keys = json_object_new_object();
        const char *names[] = { "root", "timestamp", "snapshot", "targets" };
        char keyid[65], *doc = NULL;

        if (up_key_keyid(key, keyid) < 0)
                return NULL;
        json_object_object_add(keys, keyid, up_key_to_json(key));
        for (size_t i = 0; i < 4; i++) {
                struct json_object *role = json_object_new_object(), *keyids = json_object_new_array();

                json_object_array_add(keyids, json_object_new_string(keyid));
                json_object_object_add(role, "keyids", keyids);
                json_object_object_add(role, "threshold", json_object_new_int64(1));
                json_object_object_add(roles, names[i], role);
        }
        json_object_object_add(s, "_type", json_object_new_string("root"));
        json_object_object_add(s, "version", json_object_new_int64(1));
        json_object_object_add(s, "expires", json_object_new_string("2099-01-01T00:00:00Z"));
        json_object_object_add(s, "consistent_snapshot", json_object_new_boolean(1));
        json_object_object_add(s, "keys", keys);
        json_object_object_add(s, "roles", roles);
        if (up_metadata_sign(s, &key, 1, false, &doc, ret_len) < 0)
                doc = NULL;
        json_object_put(s);
        return doc;
}

static int write_file(const char *path, const char *data, size_t len) {
        FILE *f = fopen(path, "we");

        if (!f || fwrite(data, 1, len, f) != len) {
                if (f)
                        fclose(f);
                return -1;
        }
        return fclose(f) == 0 ? 0 : -1;
}

static int generate(unsigned n, const char *targets_path, const char *root_path) {
        UpKey *key = NULL;
        char *doc, *root;
        size_t len, root_len;
        int r;

        if (up_key_generate(UP_SCHEME_ED25519, &key) < 0)
                return 1;
        doc = make_document(n, key, &len);
        root = make_root(key, &root_len);
        r = doc && root && write_file(targets_path, doc, len) == 0 && write_file(root_path, root, root_len) == 0;
        free(doc);
        free(root);
        up_key_unref(key);
        return r ? 0 : 1;
}

static int measure(const char *targets_path, const char *root_path) {
        UpMetadata *md = NULL, *root = NULL;
        uint8_t *doc = NULL, *root_doc = NULL;
        size_t len, root_len;
        long rss_before;
        double t0, t1, t2;
        int r;

        if (up_read_file(root_path, 1 << 20, &root_doc, &root_len) < 0 ||
            up_metadata_parse(root_doc, root_len, UP_ROLE_ROOT, &root) < 0 ||
            up_read_file(targets_path, 1u << 30, &doc, &len) < 0)
                return 1;
        rss_before = peak_rss_kib();
        t0 = now_s();
        r = up_metadata_parse(doc, len, UP_ROLE_TARGETS, &md);
        t1 = now_s();
        if (r >= 0)
                r = up_metadata_verify(md, up_root_keyring(root), up_root_role(root, UP_ROLE_TARGETS));
        t2 = now_s();
        if (r < 0) {
                fprintf(stderr, "parse/verify failed: %s\n", strerror(-r));
                return 1;
        }
        printf("targets.json: %zu entries, %.1f MB\n", up_targets_count(md), (double) len / 1e6);
        printf("parse (JSON, structure, canonical form): %.3f s\n", t1 - t0);
        printf("verify signature:                        %.3f s\n", t2 - t1);
        printf("parse + verify:                          %.3f s (goal < 1 s)\n", t2 - t0);
        printf("peak RSS: %.1f MB with the file read, %.1f MB after parse+verify = %.2fx the file (goal < 3x)\n",
               (double) rss_before / 1024.0, (double) peak_rss_kib() / 1024.0,
               (double) peak_rss_kib() * 1024.0 / (double) len);
        up_metadata_unref(md);
        up_metadata_unref(root);
        free(doc);
        free(root_doc);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "generate") == 0)
                return generate((unsigned) strtoul(argv[2], NULL, 10), argv[3], argv[4]);
        if (argc == 4 && strcmp(argv[1], "measure") == 0)
                return measure(argv[2], argv[3]);
        fprintf(stderr, "usage: bench_targets generate N TARGETS.json ROOT.json | measure TARGETS.json ROOT.json\n");
        return 2;
}
