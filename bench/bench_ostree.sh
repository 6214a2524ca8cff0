#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# (the fixture's env file sets SYSROOT, OSNAME, REPO_URL, COMMIT1, HTTP_PID)
# shellcheck disable=SC2153
#
# uptane-primaryd ([package-manager] type = ostree) updates the Primary to a
# new 50 MiB OSTree commit (FILES, default 400, random files of KIB, default
# 128, KiB each): the wall time of pull + deploy and the peak RSS of the
# `uptane-primaryd --once` that does it, printed next to the production C++
# client's figures from issue 6 (1.57 s and 31 MB on this machine; the goal:
# no slower, at most half the memory). ROUNDS (default 3) rounds, each a new
# commit (nothing of it on the device yet), best and every round printed.
#
#   bench/bench_ostree.sh [BUILD_DIR]      (default <repo>/build)
#
# The set-up is the integration test's (tests/ostree/): the commits in an
# archive-mode repository served by python3 -m http.server on 127.0.0.1, a
# physical sysroot on a tmpfs, every daemon run inside boot-into.sh (booted
# into the current deployment, as on a device). The Image repository lists
# each commit (uptane-repo add-target --ostree-commit), the Director assigns
# it, served by uptane-server. Per round:
#   pull         the daemon's fetch phase, from its "update-available" event
#                to "download-done" (libostree pulls the commit by checksum)
#   deploy       "download-done" to "installed" (deploy, write the
#                deployments, record the install pending)
#   pull+deploy  the two together: what the issue's 1.57 s measures
#   --once       the whole `uptane-primaryd --once` (bench_rusage: wall time
#                and peak RSS of the daemon process): start, time
#                attestation, full verification of both repositories, pull,
#                deploy, vehicle manifest
#   ostree pull  for comparison, `ostree pull` (the CLI, same libostree) of
#                the same commit into an empty bare repository on the same tmpfs
# Then a simulated reboot into the new deployment (a run that reports the
# success; not timed), so that the next round starts from a booted commit.
# Log lines are stamped when read from the pipe ($EPOCHREALTIME).
#
# Needs root (tmpfs, mount namespace, chroot) and a daemon built with
# libostree. Timings are not tests: the exit status is 0 unless the set-up
# fails (1) or the requirements are missing (77, with the reason).
set -u

ROUNDS=${ROUNDS:-3}
FILES=${FILES:-400}
KIB=${KIB:-128}
REF_WALL=1.57 # s, the production client (issue 6)
REF_RSS=31    # MB

top=$(cd "$(dirname "$0")/.." && pwd)
fxdir=$top/tests/ostree
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
use_build "${1:-$top/build}"

test_init bench_ostree
if [ "$(id -u)" != 0 ]; then
        echo "$test_name: skipped: needs root (a tmpfs, mount namespaces, chroot)" >&2
        exit 77
fi
require_tools ostree python3 unshare chroot mountpoint ldd
build_if_missing "$server" "$uprepo" "$primaryd" "$rusage"
use_build "$(cd "$build" && pwd -P)"
if ! ldd "$primaryd" | grep -q libostree-1; then
        echo "$test_name: skipped: $primaryd was built without libostree" >&2
        exit 77
fi

work_init uptane-bench-ostree
work=$(cd "$work" && pwd -P)
fx=$work/fx
trap '"$fxdir/teardown.sh" "$fx" >/dev/null 2>&1; cleanup' EXIT

# --- Set-up ---------------------------------------------------------------------

FIXTURE_TMPFS_SIZE=$((ROUNDS * FILES * KIB * 5 / 1024 + 256))m "$fxdir/make-fixture.sh" "$fx" 2 \
        >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "cannot make the OSTree fixture"; }
# shellcheck disable=SC1091
. "$fx/env"
add_pid "$HTTP_PID"

echo "bench-$$-token" >"$work/token"
img=$work/img dir=$work/dir
{
        "$uprepo" init --repo "$img" && "$uprepo" publish --repo "$img" && "$uprepo" director init --repo "$dir"
} >>"$work/setup.log" 2>&1 || die "cannot make the repositories"
start_uptane_server "$img" "$dir" "$work/inv.sqlite" --timeserver-key "$work/ts.key" ||
        die "uptane-server did not start"

vin=VIN1 state=$work/state cache=$work/cache target=$work/unused
conf=$work/uptane.conf
write_primary_conf "$conf" "" "[package-manager]" "type = ostree" "ostree-sysroot = /" \
        "ostree-remote-url = $REPO_URL" "ostree-os = $OSNAME" "reboot = report"

booted=$COMMIT1.0
nboot=1
# run [COMMAND...]: COMMAND (default uptane-primaryd --once) booted into $booted
run() {
        [ $# -gt 0 ] || set -- "$primaryd" --config "$conf" --once
        UPTANE_LOG_TARGET=json UPTANE_TEST_BOOT_ID=boot-$nboot \
                "$fxdir/boot-into.sh" "$SYSROOT" "$OSNAME" "$booted" --bind "$build" --bind "$work" -- "$@"
}
run >"$work/first.log" 2>&1 || { tail -5 "$work/first.log" >&2; die "the first --once run failed"; }

stamp() {
        local line
        while IFS= read -r line; do
                printf '%s %s\n' "$EPOCHREALTIME" "$line"
        done
}
# at FILE EVENT: the stamp of the first line with that UPTANE_EVENT
at() {
        awk -v e="\"UPTANE_EVENT\":\"$2\"" 'index($0, e) { print $1; exit }' "$1"
}
wall() {
        local s e
        s=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || return 1
        e=$EPOCHREALTIME
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}

# --- Rounds ---------------------------------------------------------------------

: >"$work/times"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
        c=$("$fxdir/add-commit.sh" "$fx" "big-$r" "$FILES" "$KIB") || die "cannot make the commit of round $r"
        {
                "$uprepo" add-target --repo "$img" --ostree-commit "$c" --name "os-big-$r" --hardware-id pri-hw &&
                        "$uprepo" publish --repo "$img" &&
                        "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" pri "os-big-$r"
        } >>"$work/setup.log" 2>&1 || die "cannot publish and assign os-big-$r"

        # the CLI's pull of the same commit, into an empty repository (deleted after)
        ref=$fx/ref-repo
        if ! ostree --repo="$ref" init --mode=bare >/dev/null ||
                ! ostree --repo="$ref" remote add --no-gpg-verify bench "$REPO_URL"; then
                die "ostree init failed"
        fi
        sync
        t=$(wall ostree --repo="$ref" pull bench "$c") || die "ostree pull failed"
        echo "cli $t" >>"$work/times"
        rm -rf "$ref"

        sync
        log=$work/round-$r.log
        { run "$rusage" "$primaryd" --config "$conf" --once 2>&1 >/dev/null; } | stamp >"$log"
        grep -q 'RUSAGE .* status=0$' "$log" || { tail -5 "$log" >&2; die "the --once run of round $r failed"; }
        a=$(at "$log" update-available)
        d=$(at "$log" download-done)
        n=$(at "$log" installed)
        if [ -z "$a" ] || [ -z "$d" ] || [ -z "$n" ]; then
                tail -5 "$log" >&2
                die "round $r: os-big-$r not installed"
        fi
        [ "$("$fxdir/deployments.sh" "$SYSROOT" | head -n 1)" = "$c.0" ] ||
                die "round $r: the default deployment is not $c.0"
        awk -v a="$a" -v d="$d" -v n="$n" \
                'BEGIN { printf "pull %.3f\ndeploy %.3f\npulldeploy %.3f\n", d - a, n - d, n - a }' >>"$work/times"
        sed -n 's/.*RUSAGE wall=\([^ ]*\) .* maxrss_kb=\([0-9]*\) .*/once \1\nrss \2/p' "$log" >>"$work/times"

        # the simulated reboot into the new commit: the install is reported
        booted=$c.0
        nboot=$((nboot + 1))
        run >"$work/reboot-$r.log" 2>&1 || { tail -5 "$work/reboot-$r.log" >&2; die "round $r: the run after the reboot failed"; }
        r=$((r + 1))
done

awk -v rounds="$ROUNDS" -v files="$FILES" -v kib="$KIB" -v ref_wall="$REF_WALL" -v ref_rss="$REF_RSS" '
{ v = $1 == "rss" ? $2 / 1024 : $2
  if (!($1 in best) || v < best[$1]) best[$1] = v
  if (!($1 in worst) || v > worst[$1]) worst[$1] = v
  all[$1] = all[$1] sprintf(" %.3f", v) }
END {
        printf "%.0f MiB OSTree commit (%d random files of %d KiB) over 127.0.0.1 (python3 -m http.server), %d rounds\n",
                files * kib / 1024, files, kib, rounds
        printf "  %-40s %8s   %9s\n", "", "wall", "peak RSS"
        printf "  %-40s %6.2f s   %6.1f MB   (issue 6)\n", "production client: pull + deploy", ref_wall, ref_rss
        printf "  %-40s %6.3f s   %9s   (rounds:%s)\n", "uptane-primaryd pull + deploy", best["pulldeploy"], "",
                all["pulldeploy"]
        printf "  %-40s %6.3f s   %9s   (rounds:%s)\n", "  of which pull", best["pull"], "", all["pull"]
        printf "  %-40s %6.3f s   %9s   (rounds:%s)\n", "  of which deploy", best["deploy"], "", all["deploy"]
        printf "  %-40s %6.3f s   %6.1f MB   (rounds:%s; RSS up to %.1f MB)\n", "uptane-primaryd --once, whole cycle",
                best["once"], best["rss"], all["once"], worst["rss"]
        printf "  %-40s %6.3f s   %9s   (rounds:%s)\n", "ostree pull (CLI), pull only", best["cli"], "", all["cli"]
        w = best["pulldeploy"]; m = worst["rss"]
        printf "goal pull + deploy <= %.2f s: %s (%.2fx)\n", ref_wall, w <= ref_wall ? "met" : "NOT met", w / ref_wall
        printf "goal peak RSS <= %.1f MB (half of %d): %s (%.2fx of the production client)\n", ref_rss / 2, ref_rss,
                m <= ref_rss / 2 ? "met" : "NOT met", m / ref_rss
}' "$work/times"
