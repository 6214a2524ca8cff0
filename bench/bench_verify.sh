#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Compares up_key_verify() with `openssl speed` on this machine.
#
#   bench/bench_verify.sh [PATH_TO_bench_verify]
#
# Without an argument bench_verify is built with cc into a temporary directory.
# Both sides are run ROUNDS times (default 3), interleaved, and the best rate
# of each is kept: on a shared machine the best run is the least disturbed one.
# Both count operations per second of CPU time.
set -eu

ROUNDS=${ROUNDS:-3}
SECONDS_PER_TEST=${SECONDS_PER_TEST:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

bin=${1:-}
if [ -z "$bin" ]; then
        # The stub stands in until the real canonical JSON encoder is there.
        cjson=$top/tests/unit/cjson_stub.c
        [ -f "$cjson" ] || cjson=$top/src/lib/canonical_json.c
        bin=$tmp/bench_verify
        # shellcheck disable=SC2046
        ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O2 -I"$top/include" -I"$top/src/lib" \
                "$top/src/lib/key.c" "$top/src/lib/hash.c" "$cjson" "$top/bench/bench_verify.c" \
                $(pkg-config --cflags --libs libcrypto json-c) -o "$bin"
fi

i=0
while [ "$i" -lt "$ROUNDS" ]; do
        "$bin" "$SECONDS_PER_TEST" >>"$tmp/ours"
        # openssl 3.0 names: ed25519, ecdsap256, rsa3072. -mr prints
        # "+F2:idx:bits:sign/s:verify/s" (RSA), "+F4:..." (ECDSA),
        # "+F6:idx:bits:name:sign/s:verify/s" (EdDSA).
        openssl speed -mr -seconds "$SECONDS_PER_TEST" ed25519 ecdsap256 rsa3072 2>/dev/null |
                grep '^+F' >>"$tmp/openssl"
        i=$((i + 1))
done

awk -v rounds="$ROUNDS" '
function keep(tab, k, v) { if (!(k in tab) || v + 0 > tab[k] + 0) tab[k] = v }
FNR == NR { keep(ours, $1, $2); next }
{
        n = split($0, f, ":")
        if (f[1] == "+F6" && f[4] == "Ed25519") keep(ossl, "ed25519", f[6])
        else if (f[1] == "+F4" && f[3] == "256") keep(ossl, "ecdsa-p256", f[5])
        else if (f[1] == "+F2" && f[3] == "3072") keep(ossl, "rsa-3072-pss", f[5])
}
END {
        printf "best of %d rounds, verifications per CPU second\n", rounds
        printf "%-14s %12s %12s %7s\n", "scheme", "ours/s", "openssl/s", "ratio"
        split("ed25519 ecdsa-p256 rsa-3072-pss", order, " ")
        bad = 0
        for (i = 1; i <= 3; i++) {
                s = order[i]
                r = (s in ossl && ossl[s] > 0) ? ours[s] / ossl[s] : 0
                printf "%-14s %12.0f %12.0f %7.2f%s\n", s, ours[s], ossl[s], r, r < 0.9 ? "  < 0.9" : ""
                if (r < 0.9) bad = 1
        }
        exit bad
}' "$tmp/ours" "$tmp/openssl"
