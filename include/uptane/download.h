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
 * the file (404, 403, 410); -EBUSY when another download or sink of NAME runs.
 *
 * The call blocks until the transfer ends: the daemon runs it off its event
 * loop (a worker thread), never on it. Nothing here logs; errors are negative
 * errno values. curl_global_init() is the caller's business.
 *
 * up_image_download() is libcurl's easy interface over an UpImageSink (below),
 * which holds everything but the transport: a program that drives its own
 * transfers (curl multi on an event loop) feeds the bytes to a sink and gets
 * the same checks.
 */

#include <stdbool.h>
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

/*
 * The image sink: the file, hash, length and resume logic of a download,
 * without the transport. The transport asks for
 * "Range: bytes=up_image_sink_offset()-" when that is > 0, passes the answer's
 * status to up_image_sink_begin() and its body to up_image_sink_write(), and
 * calls up_image_sink_commit() when the body ended normally. A sink may serve
 * several requests in turn (a retry after a cut resumes from the new offset).
 *
 * One thread at a time per sink. Every call may block on the disk (open hashes
 * the .part again, commit fsyncs): the daemon calls them on a worker thread.
 */
typedef struct UpImageSink UpImageSink;

/* Opens dir/name.part (name: one path component) for the image described by
 * expected (copied, hashes included). Takes an exclusive lock on the .part:
 * another sink or download of the same name gives -EBUSY. Checks the free
 * space (the length minus what the .part already holds, plus space_margin;
 * 0: 1 MiB) before creating anything: -ENOSPC. A .part left by an earlier
 * attempt is resumed: its bytes are hashed again. A .part longer than the
 * length is debris: it is started over. -EINVAL for a bad name, no hashes or
 * a length above INT64_MAX. */
int up_image_sink_open(const char *dir, const char *name, const UpImageExpected *expected, uint64_t space_margin,
                       UpImageSink **ret);

/* Bytes held so far. A request asks for "Range: bytes=OFFSET-" when > 0. */
uint64_t up_image_sink_offset(const UpImageSink *s);

/* Empties the .part and the hashes: the server sends the whole file again
 * (it ignored the range, or the caller asks again without one). */
int up_image_sink_restart(UpImageSink *s);

/* Before the first byte of an answer's body: status is the HTTP status,
 * content_range_start the first byte of a 206's Content-Range (-1 when absent
 * or unparsable, see up_http_content_range_start()). A 200 starts the file
 * over (up_image_sink_restart()) when bytes were held; a 206 must start at
 * the offset. Anything else is -EIO and changes nothing (the .part stays good
 * for another request). A 416 to a range means the server has fewer bytes
 * than the .part: close with keep_part false. */
int up_image_sink_begin(UpImageSink *s, long status, int64_t content_range_start);

/* Appends and hashes (once, while writing). -EFBIG as soon as the total would
 * pass the length, and nothing is written: the sink is then failed for good
 * (commit returns -EFBIG, close deletes the .part). A failed write (-ENOSPC,
 * -EIO, ...) fails the sink too; the .part is kept or not as close is told,
 * and a later sink hashes whatever it holds again. */
int up_image_sink_write(UpImageSink *s, const void *buf, size_t len);

/* Checks the length and every hash, then fsync, rename name.part -> name,
 * fsync of dir. -ERANGE when fewer bytes than the length are held: nothing is
 * checked and the sink stays usable (ask for the rest; when the server said
 * its answer was complete, it has another file: close with keep_part false).
 * -EILSEQ when a hash differs: the sink is failed and close deletes the .part.
 * The error of a failed sink otherwise. */
int up_image_sink_commit(UpImageSink *s);

/* Frees s and returns NULL. keep_part true keeps name.part for a later resume
 * (transport errors), unless it is empty; false deletes it. After a failed
 * verification (-EILSEQ, -EFBIG) the .part is deleted whatever keep_part says.
 * Nothing is deleted after a commit that renamed the file. */
UpImageSink *up_image_sink_close(UpImageSink *s, bool keep_part);

static inline void up_image_sink_closep(UpImageSink **s) {
        if (*s)
                up_image_sink_close(*s, true);
}

/* Parses the value of an HTTP Content-Range header, "bytes A-B/N" (N may be
 * '*': length unknown), into A. The unit is case-insensitive and followed by
 * one or more spaces; blanks and CR LF around the value are ignored. Requires
 * A <= B, and B < N. -EBADMSG otherwise, a 416's form without A included. */
int up_http_content_range_start(const char *value, uint64_t *ret);
