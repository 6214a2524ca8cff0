/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Downloads an image to a file, checking it against the length and hashes of
 * its verified metadata (Uptane 2.1 §5.4.4.2 step 10, §5.4.3.4):
 *
 *  - the bytes go to DIR/NAME.part and are hashed once, while written;
 *  - never more than the expected length: the transfer stops as soon as one
 *    byte too many arrives (-EFBIG, endless data);
 *  - a transfer slower than the speed guard is stopped (-ETIMEDOUT, slow
 *    retrieval);
 *  - free space is checked before any request (-ENOSPC);
 *  - a NAME.part left by an earlier attempt is resumed: its bytes are hashed
 *    again, then "Range: bytes=N-" is asked for. A 206 answer is appended, a
 *    200 answer (the server ignores ranges) starts the file over. A .part
 *    longer than the length is debris and is started over too;
 *  - at the end, length and every hash are checked (-EILSEQ) and only then
 *    is NAME.part renamed to NAME (fsync of the file and of DIR).
 *
 * An image that fails (-EILSEQ, -EFBIG, -ERANGE) is discarded: no NAME.part
 * is left. Transport errors (-ETIMEDOUT, -EIO, -ECONNREFUSED, ...) keep the
 * .part for the next attempt to resume. -ENOENT when the server does not have
 * the file (404, 403, 410); -EBUSY when another download of NAME runs.
 *
 * The call blocks until the transfer ends: the daemon runs it off its event
 * loop (a worker thread), never on it. Nothing here logs; errors are negative
 * errno values. curl_global_init() is the caller's business.
 */

#include <stdint.h>
#include <stddef.h>

#include "uptane/verification.h"

/* Called after each block written. Returning non-zero stops the download
 * (-ECANCELED, the .part is kept). */
typedef int (*UpDownloadProgress)(void *userdata, uint64_t done, uint64_t total);

typedef struct UpDownloadOptions {
        long connect_timeout_s;       /* 0: 10 s */
        long low_speed_bytes;         /* abort when slower than this ... (0: 1024 B/s) */
        long low_speed_time_s;        /* ... for this long (0: 30 s) */
        int64_t max_recv_bytes_per_s; /* 0: no limit */
        uint64_t space_margin;        /* bytes left free on top of the image (0: 1 MiB) */
        const char *ca_file;          /* NULL: system default */
        const char *client_cert;      /* PEM, for mutual TLS; NULL: none */
        const char *client_key;
        UpDownloadProgress progress;  /* NULL: none */
        void *userdata;
} UpDownloadOptions;

/* What the verified metadata says of the image. hashes[] holds at least one
 * digest; every one of them is checked. */
typedef struct UpImageExpected {
        uint64_t length;
        const UpImageHash *hashes;
        size_t n_hashes;
} UpImageExpected;

/* Downloads url into dir/name (name: one path component). opts may be NULL. */
int up_image_download(const char *url, const char *dir, const char *name, const UpImageExpected *expected,
                      const UpDownloadOptions *opts);

/* The same with the metadata's "hashes" object, parsed with
 * up_image_hashes_parse() (-EBADMSG, -EOPNOTSUPP). */
int up_image_download_json(const char *url, const char *dir, const char *name, uint64_t length,
                           struct json_object *hashes, const UpDownloadOptions *opts);

/* The same for a Director entry (after up_image_match_target()). */
int up_image_download_target(const char *url, const char *dir, const char *name, const UpDirectorTarget *d,
                             const UpDownloadOptions *opts);
