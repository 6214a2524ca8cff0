/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A vehicle's two repositories for the verification tests (check):
 * a Director and an Image repository (testrepo.c), the Image repository's
 * images with their hardware ids and release counters, and the Director's
 * assignments of them to ECUs (test_full_verification.c,
 * test_secondary_verification.c). Every failure fails the test.
 */

#include <check.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

#include "testrepo.h"

/* The images tv_build_standard() publishes. */
#define TV_FW_A "firmware for hw-a, v3"
#define TV_FW_B "firmware for hw-b, v1"

#define ck_ok(expr)                                                                          \
        do {                                                                                 \
                int _k = (expr);                                                             \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k)); \
        } while (0)

/* Both repositories (testrepo_new(), ed25519), the Director's targets with
 * custom.vin = vin (not yet published). */
void tv_repos_new(TestRepo **director, TestRepo **image, const char *vin);

/* o's object member key, added empty if there is none. */
struct json_object *tv_obj_child(struct json_object *o, const char *key);
/* The entry of name in r's (unpublished) targets; it must be there. */
struct json_object *tv_entry_of(TestRepo *r, const char *name);
/* Sets o's member key to v (which must not be NULL). */
void tv_set_member(struct json_object *o, const char *key, struct json_object *v);

/* name (data) in the Image repository's targets, for hardware id hw, with
 * releaseCounter counter (none if negative). */
void tv_image_add(TestRepo *image, const char *name, const char *data, const char *hw, int64_t counter);
/* What the Director does: the image's length, hashes and counter, the ECU. */
struct json_object *tv_director_assign(TestRepo *director, TestRepo *image, const char *name, const char *serial,
                                       const char *hw);
void tv_set_vin(TestRepo *director, const char *vin);
/* targets, then a new snapshot (and timestamp). */
void tv_publish(TestRepo *r);
/* ecu-a gets fw-a.bin (TV_FW_A, counter 3), ecu-b fw-b.bin (TV_FW_B,
 * counter 1); the Director, then the Image repository published. */
void tv_build_standard(TestRepo *director, TestRepo *image);
/* Changes the first hex digit of entry's sha256. */
void tv_flip_sha256(struct json_object *entry);
