/* SPDX-License-Identifier: MIT */
/*
 * Parses the input as a time attestation and verifies what parses against a
 * fixed ed25519 key (the seeds in corpus/time_attestation/ are signed by its
 * private key, which is not kept), with a nonce taken from the document and
 * one that is not in it, and times on both sides of the attested one. Crashes
 * on an errno outside the documented classes, on a verification that
 * contradicts the accessors, and when what was parsed cannot be signed again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "uptane/manifest.h"
#include "../../src/lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":" \
                 "\"97e0c589010c5cdd58c87f9c244ff969057f4b7f9bf69c52741b249e931d2a61\"}}"

static UpKey *fixed_key, *signing_key;

static void init(void) {
        struct json_object *o;

        if (fixed_key)
                return;
        o = json_tokener_parse(FUZZ_KEY);
        if (!o || up_key_from_json(o, &fixed_key) < 0 || up_key_generate(UP_SCHEME_ED25519, &signing_key) < 0)
                abort();
        json_object_put(o);
}

/* A valid nonce the attestation does not list, if there is one nearby. */
static int64_t absent_nonce(const UpTimeAttestationDoc *d) {
        for (int64_t n = 0; n < 4096; n++)
                if (!up_time_attestation_has_nonce(d, n))
                        return n;
        return -1;
}

static void check_verify(const UpTimeAttestationDoc *d, const UpKey *key) {
        time_t t = up_time_attestation_time(d);
        const int64_t *nonces;
        int64_t absent;
        size_t n;
        int sig;

        nonces = up_time_attestation_nonces(d, &n);
        absent = absent_nonce(d);
        sig = up_time_attestation_verify_nonces(d, key, NULL, 0, t - 1);
        if (sig != 0 && sig != -EKEYREJECTED)
                abort();
        /* Every check fails on a bad signature; otherwise the nonce, then the time. */
        if (n > 0 && up_time_attestation_verify(d, key, nonces[n - 1], t - 1) != sig)
                abort();
        if (n > 0 && up_time_attestation_verify_nonces(d, key, nonces, n, t - 1) != sig)
                abort();
        if (absent >= 0 && up_time_attestation_verify(d, key, absent, t - 1) != (sig ?: -ESTALE))
                abort();
        if (up_time_attestation_verify_nonces(d, key, NULL, 0, t) != (sig ?: -ESTALE))
                abort();
}

static void resign(const UpTimeAttestationDoc *d) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *again = NULL;
        _cleanup_free_ char *text = NULL;
        const int64_t *nonces, *nonces2;
        size_t len, n, n2;
        int r;

        nonces = up_time_attestation_nonces(d, &n);
        r = up_time_attestation_sign(up_time_attestation_time(d), nonces, n, signing_key, &text, &len);
        if (r == -EFBIG)
                return;
        if (r < 0 || up_time_attestation_parse(text, len, &again) < 0)
                abort();
        nonces2 = up_time_attestation_nonces(again, &n2);
        if (n2 != n || up_time_attestation_time(again) != up_time_attestation_time(d) ||
            (n > 0 && memcmp(nonces, nonces2, n * sizeof(int64_t)) != 0))
                abort();
        check_verify(again, signing_key);
        if (up_time_attestation_verify_nonces(again, signing_key, nonces, n, up_time_attestation_time(d) - 1) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *d = NULL;
        int r;

        init();
        r = up_time_attestation_parse(data, size, &d);
        if (r < 0) {
                if ((r != -EBADMSG && r != -EFBIG && r != -ENOTUNIQ) || d)
                        abort();
                return 0;
        }
        check_verify(d, fixed_key);
        resign(d);
        return 0;
}
