/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The two image slots ([storage] slot-a, slot-b): an install writes the
 * inactive one (a temp file next to it, fsync, checked against the verified
 * Director entry, rename, fsync of the directory), then switches the active
 * slot in state.json (atomically). The previous slot stays as it was.
 */

#include "secondary_config.h"
#include "secondary_state.h"
#include "uptane/verification.h"

/* Installs the image at path as target (verified, with its release counter).
 * Errors: -ENOENT the image is not there; -EILSEQ, -ENOEXEC (uptane/error.h
 * classes) the image does not match the entry: nothing installed; -EFBIG
 * over [limits] max-image-size; other -errno: I/O, the previous slot stays
 * active. */
int slot_install(const SecondaryConfig *c, SecondaryState *s, const UpDirectorTarget *target,
                 int64_t release_counter, const char *path);

/* The path of slot i (0: a, 1: b). */
const char *slot_path(const SecondaryConfig *c, int i);
