/* SPDX-License-Identifier: MIT */
/* Timestamp metadata: which snapshot is current. */
#include "metadata-internal.h"
#include "uptane/json.h"

int up_timestamp_parse(UpMetadata *m) {
        struct json_object *meta, *snap;
        int r;

        r = up_json_get_object(m->signed_obj, "meta", &meta);
        if (r < 0)
                return r;
        r = up_json_get_object(meta, "snapshot.json", &snap);
        if (r < 0)
                return r;
        return up_metafile_parse(snap, &m->timestamp_snapshot);
}

const UpMetaFile *up_timestamp_snapshot_meta(const UpMetadata *ts) {
        return &ts->timestamp_snapshot;
}
