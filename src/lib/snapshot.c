/* SPDX-License-Identifier: MIT */
/* Snapshot metadata: the version of every targets role. */
#include <stdio.h>

#include "metadata-internal.h"
#include "uptane/json.h"
#include "util.h"

int up_snapshot_parse(UpMetadata *m) {
        struct json_object *meta;
        int r;

        r = up_json_get_object(m->signed_obj, "meta", &meta);
        if (r < 0)
                return r;
        json_object_object_foreach(meta, name, entry) {
                UpMetaFile mf;

                (void) name;
                r = up_metafile_parse(entry, &mf);
                if (r < 0)
                        return r;
        }
        m->snapshot_meta = meta;
        return 0;
}

int up_snapshot_get_meta(const UpMetadata *snap, const char *role, UpMetaFile *ret) {
        _cleanup_free_ char *name = NULL;
        struct json_object *entry;

        if (asprintf(&name, "%s.json", role) < 0)
                return -ENOMEM;
        if (!json_object_object_get_ex(snap->snapshot_meta, name, &entry))
                return -ENOENT;
        return up_metafile_parse(entry, ret);
}

size_t up_snapshot_n_meta(const UpMetadata *snap) {
        return (size_t) json_object_object_length(snap->snapshot_meta);
}

int up_snapshot_meta_at(const UpMetadata *snap, size_t i, const char **ret_name, UpMetaFile *ret) {
        size_t k = 0;

        json_object_object_foreach(snap->snapshot_meta, name, entry) {
                if (k++ != i)
                        continue;
                if (ret_name)
                        *ret_name = name;
                return ret ? up_metafile_parse(entry, ret) : 0;
        }
        return -ENOENT;
}
