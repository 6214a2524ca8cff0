/* SPDX-License-Identifier: MIT */
/* Targets metadata: the images (targets) a role vouches for. */
#include "metadata-internal.h"
#include "uptane/json.h"
#include "util.h"

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

int up_targets_parse(UpMetadata *m) {
        UpTargetsInfo *ti = &m->targets;
        struct json_object *delegations;
        int r;

        r = up_json_get_object(m->signed_obj, "targets", &ti->targets);
        if (r < 0)
                return r;
        json_object_object_foreach(ti->targets, path, entry) {
                (void) path;
                r = check_target_entry(entry);
                if (r < 0)
                        return r;
        }
        if (!json_object_object_get_ex(m->signed_obj, "delegations", &delegations))
                return 0;
        return up_delegations_parse(delegations, ti);
}

void up_targets_done(UpMetadata *m) {
        up_delegations_done(&m->targets);
}

int up_targets_get(const UpMetadata *t, const char *path, UpTargetFile *ret) {
        struct json_object *entry, *v;
        UpTargetFile tf = {};

        if (!json_object_object_get_ex(t->targets.targets, path, &entry))
                return -ENOENT;
        /* Shape checked at parse time. */
        json_object_object_get_ex(entry, "length", &v);
        tf.length = json_object_get_int64(v);
        json_object_object_get_ex(entry, "hashes", &tf.hashes);
        if (!json_object_object_get_ex(entry, "custom", &tf.custom))
                tf.custom = NULL;
        tf.path = path;
        *ret = tf;
        return 0;
}

size_t up_targets_count(const UpMetadata *t) {
        return (size_t) json_object_object_length(t->targets.targets);
}
