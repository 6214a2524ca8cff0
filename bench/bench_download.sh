#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Downloads a SIZE_MIB (default 200) MiB image from python3 -m http.server on
# 127.0.0.1, with up_image_download() and with `curl -o`, ROUNDS times each
# (default 3), interleaved, and prints the best wall time of both and their
# ratio (goal: at most 1.15x curl).
#
#   bench/bench_download.sh [PATH_TO_bench_download]
#
# The library also hashes (sha256 + sha512 when HASHES=2, the default; only
# sha256 when HASHES=1) and fsyncs; curl -o does neither. "curl+sha" is curl
# -o followed by sha256sum/sha512sum and sync of the file, for reference.
set -eu

ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-200}
HASHES=${HASHES:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
bin=${1:-$top/build/bench/bench_download}
test_init bench_download
work_init uptane-bench-download

mkdir "$work/srv" "$work/out"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/srv/image"
len=$(stat -c %s "$work/srv/image")
sha256=$(sha256sum "$work/srv/image" | cut -d' ' -f1)
sha512=
[ "$HASHES" = 2 ] && sha512=$(sha512sum "$work/srv/image" | cut -d' ' -f1)

start_http_server "$work/srv" || { echo "http.server did not start" >&2; exit 1; }
url=http://127.0.0.1:$http_port/image

wall() { # command... -> seconds on stdout
        s=$(date +%s.%N)
        "$@" >/dev/null
        e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}

i=0
while [ "$i" -lt "$ROUNDS" ]; do
        rm -f "$work/out/curl"
        echo "curl $(wall curl -sf -o "$work/out/curl" "$url")" >>"$work/times"
        rm -f "$work/out/curl"
        # shellcheck disable=SC2016
        echo "curl+sha $(wall sh -c 'curl -sf -o "$1" "$2" && sha256sum "$1" && { [ -z "$3" ] || sha512sum "$1"; } && sync "$1"' \
                sh "$work/out/curl" "$url" "$sha512")" >>"$work/times"
        # shellcheck disable=SC2086
        "$bin" "$url" "$work/out" "$len" "$sha256" $sha512 >>"$work/times"
        i=$((i + 1))
done

awk -v rounds="$ROUNDS" -v mib="$SIZE_MIB" -v hashes="$HASHES" '
{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2 }
END {
        printf "%d MiB over 127.0.0.1, best of %d rounds, %d hash(es)\n", mib, rounds, hashes
        printf "%-10s %8.3f s\n", "curl -o", best["curl"]
        printf "%-10s %8.3f s\n", "curl+sha", best["curl+sha"]
        printf "%-10s %8.3f s\n", "libuptane", best["download"]
        r = best["download"] / best["curl"]
        printf "ratio      %8.2fx curl -o%s\n", r, (r > 1.15 ? "  (goal: <= 1.15)" : "")
        printf "ratio      %8.2fx curl+sha\n", best["download"] / best["curl+sha"]
}' "$work/times"
