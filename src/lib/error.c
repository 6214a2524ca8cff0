/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "uptane/error.h"

const char *up_strerror(int err) {
        switch (abs(err)) {
        case 0:                   return "success";
        case UP_ERR_MALFORMED:    return "malformed data";
        case UP_ERR_SIGNATURE:    return "signature threshold not met";
        case UP_ERR_EXPIRED:      return "metadata expired (freeze attack?)";
        case UP_ERR_ROLLBACK:     return "version went backwards (rollback attack?)";
        case UP_ERR_MIX_AND_MATCH:return "does not match the referencing metadata (mix-and-match attack?)";
        case UP_ERR_TOO_BIG:      return "larger than allowed (endless data attack?)";
        case UP_ERR_SLOW:         return "transfer too slow or timed out (slow retrieval attack?)";
        case UP_ERR_NOT_FOUND:    return "not found";
        case UP_ERR_WRONG_TYPE:   return "metadata of the wrong role type";
        case UP_ERR_HASH:         return "length or hash does not match the metadata";
        case UP_ERR_UNSUPPORTED:  return "unsupported algorithm, key type or version";
        case UP_ERR_LOOP:         return "too many roles or versions to follow";
        case UP_ERR_DUPLICATE:    return "duplicate key id";
        case UP_ERR_HARDWARE:     return "image is not for this ECU's hardware";
        case UP_ERR_UNKNOWN_ECU:  return "names an ECU that is not in this vehicle";
        default:                  return strerror(abs(err));
        }
}

UpAttack up_error_attack(int err) {
        switch (abs(err)) {
        case UP_ERR_SIGNATURE:
        case UP_ERR_WRONG_TYPE:
        case UP_ERR_HASH:
        case UP_ERR_DUPLICATE:
        case UP_ERR_HARDWARE:
        case UP_ERR_UNKNOWN_ECU:  return UP_ATTACK_ARBITRARY_SOFTWARE;
        case UP_ERR_EXPIRED:      return UP_ATTACK_FREEZE;
        case UP_ERR_ROLLBACK:     return UP_ATTACK_ROLLBACK;
        case UP_ERR_MIX_AND_MATCH:return UP_ATTACK_MIX_AND_MATCH;
        case UP_ERR_TOO_BIG:      return UP_ATTACK_ENDLESS_DATA;
        case UP_ERR_SLOW:         return UP_ATTACK_SLOW_RETRIEVAL;
        case UP_ERR_MALFORMED:
        case UP_ERR_LOOP:         return UP_ATTACK_MALFORMED;
        default:                  return UP_ATTACK_NONE;
        }
}

static const char *const attack_names[_UP_ATTACK_MAX] = {
        [UP_ATTACK_NONE] = "none",
        [UP_ATTACK_ARBITRARY_SOFTWARE] = "arbitrary-software",
        [UP_ATTACK_ROLLBACK] = "rollback",
        [UP_ATTACK_FREEZE] = "freeze",
        [UP_ATTACK_MIX_AND_MATCH] = "mix-and-match",
        [UP_ATTACK_ENDLESS_DATA] = "endless-data",
        [UP_ATTACK_SLOW_RETRIEVAL] = "slow-retrieval",
        [UP_ATTACK_MALFORMED] = "malformed-metadata",
};

const char *up_attack_name(UpAttack a) {
        if (a < 0 || a >= _UP_ATTACK_MAX)
                return "unknown";
        return attack_names[a];
}
