#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# uptane-primaryd downloads, verifies and installs a SIZE_MIB (default 200)
# MiB image assigned to the Primary, served by uptane-server on 127.0.0.1;
# next to `curl -s -o FILE` of the same image URL from the same server, in the
# same run. ROUNDS (default 3) rounds, interleaved; the best of each is
# printed, and the ratio of the daemon's download phase to curl -o (goal: at
# most 1.15x).
#
#   bench/bench_primaryd_download.sh [BUILD_DIR]      (default <repo>/build)
#
# Per round (images A and B take turns, so every round is a new update):
#   curl -o      curl -s -o FILE URL
#   curl+sha     the same, then sha256sum, sha512sum and sync of FILE (what
#                the daemon also does: the Image repository lists both hashes
#                and both are checked; the image is fsynced before use)
#   curl+ossl    the same with `openssl dgst -sha256`, `-sha512` (OpenSSL's
#                hash code, as the daemon's; coreutils' sha256sum is slower)
#   libuptane    bench_download: up_image_download() alone (one curl easy
#                handle, hashes, fsync), same URL
#   download     the daemon's download phase: from its "update-available"
#                event to "download-done" (transfer on the event loop thread,
#                hashing and writing on the worker, length and both hashes
#                checked, fsync, rename into the cache)
#   cycle        the whole `uptane-primaryd --once`: start, secure time, full
#                verification of both repositories, download, install (copy
#                to file-target-path, fsync, rename), vehicle manifest
# The JSON log carries no time stamps: each line is stamped when read from
# the pipe ($EPOCHREALTIME; the daemon writes every line with one write()).
# The state, the cache and curl's output are in one directory, on one
# filesystem. `sync` runs before each measurement (not timed).
#
# Timings are not tests: the exit status is 0 unless the set-up fails.
set -u

ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-200}

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
use_build "${1:-$top/build}"
libdl=$build/bench/bench_download

test_init bench_primaryd_download
build_if_missing "$server" "$uprepo" "$primaryd" "$rusage" "$libdl"
work_init uptane-bench-pdl

# --- Set-up ---------------------------------------------------------------------

echo "bench-$$-token" >"$work/token"
mkdir "$work/out" "$work/installed"
img=$work/img dir=$work/dir
{
        head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/big-a.bin" &&
                head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/big-b.bin" &&
                make_repos "$img" "$dir" pri-hw "$work/big-a.bin" "$work/big-b.bin"
} >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "cannot make the repositories"; }
len=$(stat -c %s "$work/big-a.bin")
declare -A sha256 sha512
for x in a b; do
        sha256[$x]=$(sha256sum "$work/big-$x.bin" | cut -d' ' -f1)
        sha512[$x]=$(sha512sum "$work/big-$x.bin" | cut -d' ' -f1)
done
rm -f "$work/big-a.bin" "$work/big-b.bin" # the repository has its own copies

start_uptane_server "$img" "$dir" "$work/inv.sqlite" --timeserver-key "$work/ts.key" ||
        die "uptane-server did not start"
url=$base

vin=VIN1 state=$work/state cache=$work/cache target=$work/installed/firmware.bin
write_primary_conf "$work/uptane.conf"

# Registers: nothing assigned yet.
"$primaryd" --config "$work/uptane.conf" --once >"$work/first.log" 2>&1 ||
        { cat "$work/first.log" >&2; die "the first --once run failed"; }

wall() { # command... -> seconds on stdout
        local s e
        s=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || return 1
        e=$EPOCHREALTIME
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}

stamp() {
        local line
        while IFS= read -r line; do
                printf '%s %s\n' "$EPOCHREALTIME" "$line"
        done
}

# at EVENT FILE: the stamp of the first line with that UPTANE_EVENT
at() {
        awk -v e="\"UPTANE_EVENT\":\"$2\"" 'index($0, e) { print $1; exit }' "$1"
}

# --- Rounds ---------------------------------------------------------------------

: >"$work/times"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
        x=$([ $((r % 2)) = 0 ] && echo a || echo b)
        # Image repository with consistent snapshots: targets/SHA256.NAME.
        img_url=$url/image/targets/${sha256[$x]}.big-$x.bin
        "$uprepo" director assign --repo "$work/dir" --image-repo "$work/img" VIN1 pri "big-$x.bin" \
                >>"$work/setup.log" 2>&1 || die "cannot assign big-$x.bin"

        sync
        t=$(wall curl -sf -o "$work/out/curl" "$img_url") || die "curl failed"
        echo "curl $t" >>"$work/times"
        rm -f "$work/out/curl"
        sync
        # shellcheck disable=SC2016
        t=$(wall sh -c 'curl -sf -o "$1" "$2" && sha256sum "$1" && sha512sum "$1" && sync "$1"' \
                sh "$work/out/curl" "$img_url") || die "curl+sha failed"
        echo "curl+sha $t" >>"$work/times"
        rm -f "$work/out/curl"
        sync
        # shellcheck disable=SC2016
        t=$(wall sh -c 'curl -sf -o "$1" "$2" && openssl dgst -sha256 "$1" && openssl dgst -sha512 "$1" && sync "$1"' \
                sh "$work/out/curl" "$img_url") || die "curl+openssl failed"
        echo "curl+ossl $t" >>"$work/times"
        rm -f "$work/out/curl"
        sync
        t=$("$libdl" "$img_url" "$work/out" "$len" "${sha256[$x]}" "${sha512[$x]}") || die "bench_download failed"
        echo "lib ${t#download }" >>"$work/times"
        rm -f "$work/out/image"

        sync
        log=$work/round-$r.log
        { UPTANE_LOG_TARGET=json "$rusage" "$primaryd" --config "$work/uptane.conf" --once 2>&1 >/dev/null; } |
                stamp >"$log"
        grep -q 'RUSAGE .* status=0$' "$log" || { tail -5 "$log" >&2; die "the --once run of round $r failed"; }
        a=$(at "$log" update-available)
        d=$(at "$log" download-done)
        n=$(at "$log" installed)
        if [ -z "$a" ] || [ -z "$d" ] || [ -z "$n" ]; then
                cat "$log" >&2
                die "round $r: big-$x.bin not installed"
        fi
        [ "$(sha256sum <"$work/installed/firmware.bin" | cut -d' ' -f1)" = "${sha256[$x]}" ] ||
                die "round $r: the installed file is not big-$x.bin"
        sed -n 's/.*RUSAGE wall=\([^ ]*\) user=\([^ ]*\) sys=\([^ ]*\) .*/cycle \1 cpu \2 \3/p' "$log" >>"$work/times"
        awk -v a="$a" -v d="$d" -v n="$n" 'BEGIN { printf "phase %.3f\ninstall %.3f\n", d - a, n - d }' \
                >>"$work/times"
        r=$((r + 1))
done

awk -v rounds="$ROUNDS" -v mib="$SIZE_MIB" '
$1 == "cycle" { if (!("cycle" in best) || $2 < best["cycle"]) { best["cycle"] = $2; cpu = $4 + $5 } ; next }
{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2; all[$1] = all[$1] sprintf(" %.3f", $2) }
END {
        printf "%d MiB image over 127.0.0.1 from uptane-server, best of %d rounds (sha256 + sha512 checked)\n", mib, rounds
        printf "  %-38s %8.3f s   (rounds:%s)\n", "curl -s -o FILE", best["curl"], all["curl"]
        printf "  %-38s %8.3f s   (rounds:%s)\n", "curl -o + sha256sum + sha512sum + sync", best["curl+sha"], all["curl+sha"]
        printf "  %-38s %8.3f s   (rounds:%s)\n", "curl -o + openssl dgst sha256, sha512", best["curl+ossl"], all["curl+ossl"]
        printf "  %-38s %8.3f s   (rounds:%s)\n", "libuptane up_image_download()", best["lib"], all["lib"]
        printf "  %-38s %8.3f s   (rounds:%s)\n", "uptane-primaryd download phase", best["phase"], all["phase"]
        printf "  %-38s %8.3f s   (rounds:%s)\n", "uptane-primaryd install (into place)  ", best["install"], all["install"]
        printf "  %-38s %8.3f s   (CPU %.3f s)\n", "uptane-primaryd --once, whole cycle", best["cycle"], cpu
        r = best["phase"] / best["curl"]
        printf "ratio download phase / curl -o    %5.2fx%s\n", r, (r > 1.15 ? "  (goal: <= 1.15x)" : "  (goal <= 1.15x: met)")
        printf "ratio download phase / curl+sha   %5.2fx\n", best["phase"] / best["curl+sha"]
        printf "ratio download phase / curl+ossl  %5.2fx\n", best["phase"] / best["curl+ossl"]
        printf "ratio whole cycle / curl -o       %5.2fx\n", best["cycle"] / best["curl"]
}' "$work/times"
