/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libuptane reports errors as negative errno values (systemd style). The
 * verification code uses a fixed errno for each class of failure, so that a
 * caller can tell an attack from a broken network without parsing strings.
 */
#include <errno.h>

#define UP_ERR_MALFORMED      EBADMSG      /* not valid metadata / JSON / encoding */
#define UP_ERR_SIGNATURE      EKEYREJECTED /* threshold of valid signatures not met */
#define UP_ERR_EXPIRED        EKEYEXPIRED  /* freeze attack: metadata expired */
#define UP_ERR_ROLLBACK       ESTALE       /* version or release counter went backwards */
#define UP_ERR_MIX_AND_MATCH  EXDEV        /* version/hash differs from the referencing role */
#define UP_ERR_TOO_BIG        EFBIG        /* endless data: larger than allowed */
#define UP_ERR_SLOW           ETIMEDOUT    /* slow retrieval */
#define UP_ERR_NOT_FOUND      ENOENT       /* file or target does not exist */
#define UP_ERR_WRONG_TYPE     EMEDIUMTYPE  /* _type is not the role requested */
#define UP_ERR_HASH           EILSEQ       /* content hash or length does not match */
#define UP_ERR_UNSUPPORTED    EOPNOTSUPP   /* unknown key type, scheme or hash algorithm */
#define UP_ERR_LOOP           ELOOP        /* too many roots / delegations visited */
#define UP_ERR_DUPLICATE      ENOTUNIQ     /* the same key id signed twice */
#define UP_ERR_HARDWARE       ENOEXEC      /* image not for this ECU's hardware id */
#define UP_ERR_UNKNOWN_ECU    ENODEV       /* Director names an ECU not in this vehicle */

typedef enum UpAttack {
        UP_ATTACK_NONE,
        UP_ATTACK_ARBITRARY_SOFTWARE,
        UP_ATTACK_ROLLBACK,
        UP_ATTACK_FREEZE,
        UP_ATTACK_MIX_AND_MATCH,
        UP_ATTACK_ENDLESS_DATA,
        UP_ATTACK_SLOW_RETRIEVAL,
        UP_ATTACK_MALFORMED,
        _UP_ATTACK_MAX,
} UpAttack;

/* Text for an error returned by libuptane (sign does not matter). Never NULL. */
const char *up_strerror(int err);

/* The threat-model class of an error (UP_ATTACK_NONE for I/O and usage errors). */
UpAttack up_error_attack(int err);

/* Stable lower-case name of an attack class, e.g. "rollback". */
const char *up_attack_name(UpAttack a);
