/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What both daemons do with their state directory: create it, install the
 * first trusted root from the configuration, load state.json, load or make
 * the ECU key. Errors are negative errnos with a sentence in *reterr where
 * given (no logging).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "uptane/key.h"

/* Sets *reterr (when not NULL) to the sentence and returns r. */
int daemon_error(char **reterr, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* write(2) until all n bytes are written (EINTR and short writes). 0 or -errno. */
int daemon_write_all(int fd, const void *data, size_t n);

/* fsync(2) of the directory that holds path (after a rename into it). 0 or -errno. */
int daemon_fsync_dir_of(const char *path);

/* mkdir -p, each directory created with mode. */
int daemon_mkdir_p(const char *path, mode_t mode);

/* Copies root_path to dir/root.json (0600, atomic) unless a trusted root is
 * already there: later roots come from verified rotations, never again from
 * the configuration. repo ("director", "image" or NULL) names it in messages. */
int daemon_install_initial_root(const char *dir, const char *repo, const char *root_path, char **reterr);

/* Parses dir/name (at most max_bytes) as a JSON object; a missing file is an
 * empty object. One that does not parse is an error, never silently reset. */
int daemon_load_json_object(const char *dir, const char *name, size_t max_bytes, struct json_object **ret,
                            char **reterr);

/* Reads a public key in JSON (a file of at most max_bytes) from path, e.g.
 * the time server's. */
int daemon_load_public_key(const char *path, size_t max_bytes, UpKey **ret);

/* Loads dir/ecu.key, or generates an ed25519 key and stores it 0600
 * (atomically) on first start. */
int daemon_load_or_create_key(const char *dir, UpKey **ret, bool *ret_created, char **reterr);
