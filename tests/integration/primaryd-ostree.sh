#!/bin/sh
# SPDX-License-Identifier: MIT
# (the fixture's env file sets SYSROOT, OSNAME, REPO_URL, COMMIT1.., COMMIT_NAME..., HTTP_PID)
# shellcheck disable=SC2153,SC2154
#
# Integration test of uptane-primaryd with [package-manager] type = ostree:
# the Primary updates itself to an OSTree commit, really deployed by
# libostree into a physical sysroot, and reports only once the new
# deployment booted. The fixture (tests/ostree/) serves an OS repository on
# 127.0.0.1 and simulates boots: every daemon run is inside
# tests/ostree/boot-into.sh, so libostree sees the deployment the test chose
# as booted (ostree-sysroot = /), and UPTANE_TEST_BOOT_ID names the boot.
# uptane-server serves the Image repository (which lists the commits with
# uptane-repo add-target --ostree-commit) and the Director.
#
#   1. first start, booted into commit 1: registered, up to date;
#   2. attacks: the Director assigns a commit the Image repository does not
#      list (under a listed name, and under a name it does not list); the OSTree
#      server serves an object whose content differs from what the signed
#      checksum covers: refused, nothing pulled or deployed;
#   3. commit 2 assigned: pulled and deployed ([0] commit 2, [1] commit 1),
#      pending with reboot needed, the reboot command run, nothing reported
#      yet; a second run in the same boot does nothing;
#   4. the bootloader falls back to commit 1: the failure is reported with
#      the code BOOT_ROLLED_BACK, the Director records "failed";
#   5. commit 2 assigned again, installed, booted: the success is reported,
#      the Director records "installed" and ends the assignment;
#   6. a pull killed half-way (UPTANE_TEST_CRASH_POINT=ostree-pull-half), an
#      object not yet fetched tampered on the server before the restart:
#      refused, nothing deployed; the object restored: the pull completes;
#   7. kill -9 at ostree-pull-half (the restart resumes), ostree-deployed,
#      install-pending and install-done: each restart leaves the right
#      deployment and the pending install, the next boot reports success.
#
#   tests/integration/primaryd-ostree.sh   (UPTANE_BUILD_DIR, default <repo>/build)
#
# Needs root (a tmpfs, mount namespaces, chroot), the ostree tools and a
# daemon built with libostree; exits 77 with the reason otherwise. Prints
# "ok - ..." / "not ok - ..." lines and last "primaryd-ostree: N passed, N
# failed". KEEP_WORK=1 keeps the work directory (the fixture is unmounted).
# The daemon's JSON log of each run is in WORK/log/NAME.log.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
fxdir=$repo_root/tests/ostree
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"

test_init primaryd-ostree
if [ "$(id -u)" != 0 ]; then
        echo "$test_name: skipped: needs root (a tmpfs, mount namespaces and chroot for the simulated boots)" >&2
        exit 77
fi
require_bins "$primaryd" "$server" "$uprepo"
require_tools ostree python3 sqlite3 unshare chroot mountpoint timeout chattr lsattr ldd
if ! ldd "$primaryd" 2>/dev/null | grep -q 'libostree-1'; then
        echo "$test_name: skipped: $primaryd was built without libostree (install libostree-dev, meson setup again)" >&2
        exit 77
fi
# boot-into.sh binds the build directory at the same path: no symlinks in it
use_build "$(cd "$build" && pwd -P)"

work_init uptane-primaryd-ostree
work=$(cd "$work" && pwd -P)
fx=$work/fx
trap '"$fxdir/teardown.sh" "$fx" >/dev/null 2>&1; cleanup' EXIT
mkdir "$work/log"

log=/dev/null # the JSON log of the last daemon run
shown_log=
# on a failure: the daemon's last messages (once per log), the deployments
fail_details() {
        if [ -s "$log" ] && [ "$log" != "$shown_log" ]; then
                shown_log=$log
                echo "    $(basename "$log"):"
                sed -n 's/^{"MESSAGE":"\([^"]*\)".*/      \1/p; /^boot-into:/s/^/      /p' "$log" | tail -n 8
        fi
        [ -z "${SYSROOT:-}" ] || echo "    deployments: $(deployments | short | tr '\n' ' ')"
}
check_rc() {
        if [ "$rc" = "$2" ]; then ok "$1"; else fail "$1 (exit $rc, want $2)"; fi
}
events() {
        grep -c -F "\"UPTANE_EVENT\":\"$2\"" "$1" 2>/dev/null
}
sql() {
        sqlite3 -cmd '.timeout 10000' "$db" "$1" 2>>"$work/sqlite.err"
}
# result_of TARGET: the Director's last result for pri and TARGET
result_of() {
        sql "SELECT result FROM results WHERE vin = '$vin' AND serial = 'pri' AND target = '$1' ORDER BY id DESC LIMIT 1"
}
attacks_max() { sql 'SELECT COALESCE(MAX(id), 0) FROM attacks'; }
# no_report: the last vehicle manifest has no installation report
no_report() {
        ! sql "SELECT body FROM manifests WHERE vin = '$vin' ORDER BY id DESC LIMIT 1" | grep -q installation_report
}
# reported_code CODE: a vehicle manifest's installation report has the result code CODE
reported_code() {
        sql "SELECT body FROM manifests WHERE vin = '$vin'" | grep -q "\"code\":\"$1\""
}
installed_name() { sql "SELECT json_extract(installed, '\$.filepath') FROM ecus WHERE serial = 'pri'"; }
installed_sha256() { sql "SELECT json_extract(installed, '\$.fileinfo.hashes.sha256') FROM ecus WHERE serial = 'pri'"; }
# assigned: the names the Director's published targets assign to pri
assigned() {
        python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["signed"]["targets"]
print(" ".join(n for n, e in sorted(t.items()) if "pri" in e.get("custom", {}).get("ecuIdentifiers", {})))' \
                "$dir/vehicles/$vin/metadata/targets.json"
}
# state EXPR: a Python expression over state.json (s) holds
state() {
        python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
                "$state/state.json" "$1"
}

# --- Deployments and objects -----------------------------------------------------------

deployments() { "$fxdir/deployments.sh" "$SYSROOT" 2>/dev/null; }
# short: CSUM.SERIAL lines as the commit's name (c1, c2, ...) and serial
short() {
        sed "s/^$COMMIT1\./c1./; s/^$COMMIT2\./c2./; s/^$COMMIT3\./c3./$short_sed"
}
short_sed=
# deployed_are CSUM.SERIAL...: the deployments, in order, are exactly these
deployed_are() {
        test "$(deployments | tr '\n' ' ')" = "$* "
}
# obj REPO CSUM TYPE: the path of an object in a repository's objects/
obj() {
        printf '%s/objects/%s/%s.%s' "$1" "$(printf %s "$2" | cut -c1-2)" "$(printf %s "$2" | cut -c3-)" "$3"
}
device_repo() { printf '%s/ostree/repo' "$SYSROOT"; }
has_commit() { test -e "$(obj "$(device_repo)" "$1" commit)"; }
# commit_complete CSUM: the device holds the commit, not marked as partly pulled
commit_complete() { has_commit "$1" && test ! -e "$(device_repo)/state/$1.commitpartial"; }
incomplete() { ! commit_complete "$1"; }
# stored CSUM: the device's objects/ has the file object
stored() {
        find "$(device_repo)/objects" -name "$(printf %s "$1" | cut -c3-).file" | grep -q .
}
not_stored() { ! stored "$1"; }
# default_is CSUM: the default deployment ([0]) is of the commit
default_is() { deployments | head -n 1 | grep -q "^$1\."; }
# deployed CSUM.SERIAL: that deployment exists
deployed() { deployments | grep -qx "$1"; }
# file_objects CSUM: the checksums of the commit's regular files (on the server)
file_objects() {
        ostree --repo="$SERVER_REPO" ls -R -C "$1" / | awk '$1 ~ /^-/ { print $5 }' | sort -u
}
# fetched CSUM: whether the device has the file object, committed or in a pull's staging directory
fetched() {
        test -n "$(find "$(device_repo)/objects" "$(device_repo)/tmp" -name "$(printf %s "$1" | cut -c3-).file" \
                2>/dev/null | head -n 1)"
}
# tamper CSUM: the server serves another (valid) file object's bytes for it; the original is kept
tamper() {
        _o=$(obj "$SERVER_REPO" "$1" filez)
        cp "$_o" "$_o.orig" && cp "$(obj "$SERVER_REPO" "$decoy" filez)" "$_o"
}
untamper() {
        _o=$(obj "$SERVER_REPO" "$1" filez)
        mv "$_o.orig" "$_o"
}
# object_gets: how many object files the OSTree server sent so far
object_gets() {
        grep -c '"GET /objects/[^ ]*\.filez ' "$FIXTURE/http.log" 2>/dev/null
}

# --- Fixture, repositories, server ----------------------------------------------------

vin=VIN1
img=$work/img
dir=$work/dir
rogue=$work/rogue
db=$work/inv.sqlite
state=$work/state
cache=$work/cache
target=$work/unused-file-target

setup() {
        "$fxdir/make-fixture.sh" "$fx" 3 || return 1
        # shellcheck disable=SC1091
        . "$fx/env" || return 1
        for c in rogue tamper deployed pending "done"; do
                "$fxdir/add-commit.sh" "$fx" "$c" >/dev/null || return 1
        done
        # many objects: the pulls that are killed half-way
        "$fxdir/add-commit.sh" "$fx" resume-big 400 16 >/dev/null &&
                "$fxdir/add-commit.sh" "$fx" pull-half 400 16 >/dev/null || return 1
        # shellcheck disable=SC1091
        . "$fx/env" &&
                "$uprepo" init --repo "$img" &&
                for t in "2.0 $COMMIT2" "tamper $COMMIT_tamper" "resume $COMMIT_resume_big" \
                        "pull-half $COMMIT_pull_half" "deployed $COMMIT_deployed" "pending $COMMIT_pending" \
                        "done $COMMIT_done"; do
                        # shellcheck disable=SC2086
                        set -- $t
                        "$uprepo" add-target --repo "$img" --ostree-commit "$2" --name "os-$1" \
                                --hardware-id pri-hw || return 1
                done &&
                "$uprepo" publish --repo "$img" &&
                "$uprepo" director init --repo "$dir" &&
                # what a Director with stolen keys makes of it: another commit under
                # a listed name, and a name the Image repository does not list
                "$uprepo" init --repo "$rogue" &&
                "$uprepo" add-target --repo "$rogue" --ostree-commit "$COMMIT_rogue" --name os-2.0 \
                        --hardware-id pri-hw &&
                "$uprepo" add-target --repo "$rogue" --ostree-commit "$COMMIT_rogue" --name os-rogue \
                        --hardware-id pri-hw &&
                "$uprepo" publish --repo "$rogue" &&
                echo "tok-$$-ostree" >"$work/token" &&
                : >"$work/server.conf"
}
if ! setup >"$work/setup.log" 2>&1; then
        sed 's/^/    /' "$work/setup.log"
        fail "setup: the OSTree fixture and the repositories"
        summary
        exit 1
fi
# shellcheck disable=SC1091
. "$fx/env"
add_pid "$HTTP_PID"
short_sed="; s/^$COMMIT_rogue\./rogue./; s/^$COMMIT_tamper\./tamper./; s/^$COMMIT_resume_big\./resume./\
; s/^$COMMIT_pull_half\./pull-half./; s/^$COMMIT_deployed\./deployed./; s/^$COMMIT_pending\./pending./\
; s/^$COMMIT_done\./done./"
# the bytes served instead of a tampered object: a file of commit 1
decoy=$(ostree --repo="$SERVER_REPO" ls -C "$COMMIT1" /usr/share/uptane-os/1.0/part-1 | awk '{ print $5 }')

start_uptane_server_or_exit "$img" "$dir" "$db" --timeserver-key "$work/ts.key"

cat >"$work/reboot.sh" <<EOF
#!/bin/sh
echo "\$UPTANE_TEST_BOOT_ID" >>"$work/reboots"
EOF
chmod 0755 "$work/reboot.sh"
: >"$work/reboots"
reboots() { wc -l <"$work/reboots" | tr -d ' '; }

conf=$work/uptane.conf
write_primary_conf "$conf" "" "[package-manager]" "type = ostree" "ostree-sysroot = /" \
        "ostree-remote-url = $REPO_URL" "ostree-os = $OSNAME" "reboot = command" "reboot-command = $work/reboot.sh"

# The machine: the deployment booted and the boot's id.
booted=$COMMIT1.0
nboot=1
boot="boot-1"
# reboot_into INDEX: the next boot starts deployment INDEX (0: the default;
# 1: the rollback deployment, as a bootloader that gave up on the default)
reboot_into() {
        booted=$(deployments | sed -n "$(($1 + 1))p")
        nboot=$((nboot + 1))
        boot=boot-$nboot
}

# pd NAME [VAR=VALUE...]: uptane-primaryd --once in the booted deployment; $rc, $log
pd() {
        log=$work/log/$1.log
        _out=$work/log/$1.out
        shift
        env UPTANE_LOG_TARGET=json UPTANE_TEST_BOOT_ID="$boot" "$@" timeout 120 \
                "$fxdir/boot-into.sh" "$SYSROOT" "$OSNAME" "$booted" --bind "$build" --bind "$work" -- \
                "$primaryd" --config "$conf" --once >"$_out" 2>"$log"
        rc=$?
}
assign() {
        if ! "$uprepo" director assign --repo "$dir" --image-repo "${2:-$img}" "$vin" pri "$1" \
                >"$work/assign.log" 2>&1; then
                sed 's/^/    /' "$work/assign.log"
                fail "director assign $1"
        fi
}

# pending_is NAME: state.json records NAME pending (with this boot's id), nothing installed under that name
pending_is() {
        state "s.get('pending', {}).get('name') == '$1' and s['pending'].get('boot_id') == '$boot' \
and s.get('installed', {}).get('name') != '$1'"
}
# success LABEL NAME CSUM: the run just made, booted into CSUM, reported NAME installed
success() {
        check_rc "$1: --once exits 0" 0
        check "$1: installed event for $2" has "$log" installed UPTANE_TARGET "$2"
        check "$1: the Director's results say $2 installed" test "$(result_of "$2")" = installed
        check "$1: the inventory has $2 ($3) installed on pri" \
                test "$(installed_name)/$(installed_sha256)" = "$2/$3"
        check "$1: the Director's assignment ended" test -z "$(assigned)"
        check "$1: state.json: $2 installed, nothing pending" \
                state "s.get('installed', {}).get('name') == '$2' and 'pending' not in s"
}

# --- 1. First start -------------------------------------------------------------------------

pd first
if grep -q 'not built into this version' "$log"; then
        echo "$test_name: skipped: uptane-primaryd has no ostree package manager" >&2
        exit 77
fi
check_rc "first start (booted into commit 1): --once exits 0" 0
check "first start: registered" has "$log" registered UPTANE_ECU_SERIAL pri
check "first start: the vehicle manifest was sent" has "$log" manifest-sent
check "first start: the inventory reports the booted commit 1 as installed" test "$(installed_sha256)" = "$COMMIT1"
check "first start: deployments unchanged ([0] commit 1)" deployed_are "$COMMIT1.0"

# --- 2. Attacks -------------------------------------------------------------------------------

# refused LABEL CSUM: the run just made pulled and deployed nothing of CSUM
nothing_from() {
        check "$1: no fetch finished, nothing installed" \
                test "$(events "$log" download-done)$(events "$log" installed)" = 00
        check "$1: deployments unchanged ([0] commit 1)" deployed_are "$COMMIT1.0"
        check "$1: nothing pending in state.json" state "'pending' not in s"
        check "$1: the reboot command was not run" test "$(reboots)" = 0
}

# rogue_obj: a file object only the rogue commit has
rogue_obj() {
        ostree --repo="$SERVER_REPO" ls -C "$COMMIT_rogue" /usr/share/uptane-os/rogue/part-1 | awk '{ print $5 }'
}

# A Director with stolen keys assigns a commit under a name the Image
# repository lists with another commit: the full verification refuses it.
attacks_before=$(attacks_max)
assign os-2.0 "$rogue"
pd rogue-commit
check_rc "unlisted commit under os-2.0: --once exits 65" 65
check "unlisted commit under os-2.0: attack-detected arbitrary-software (director-vs-image)" \
        has "$log" attack-detected UPTANE_ATTACK arbitrary-software UPTANE_TARGET os-2.0
nothing_from "unlisted commit under os-2.0"
check "unlisted commit under os-2.0: nothing of the commit pulled (no commit object on the device)" \
        test ! -e "$(obj "$(device_repo)" "$COMMIT_rogue" commit)"
check "unlisted commit under os-2.0: none of its own files pulled" not_stored "$(rogue_obj)"
check "unlisted commit under os-2.0: the Director's attacks table has it for pri" \
        test "$(sql "SELECT COUNT(*) FROM attacks WHERE id > $attacks_before AND serial = 'pri' \
AND what LIKE 'arbitrary-software: %'")" -ge 1

# The same commit under a name the Image repository does not list at all.
assign os-rogue "$rogue"
pd rogue-name
if [ "$rc" = 65 ] || [ "$rc" = 75 ]; then
        ok "unlisted name os-rogue: refused (exit $rc)"
else
        fail "unlisted name os-rogue: refused (exit $rc, want 65 or 75)"
fi
nothing_from "unlisted name os-rogue"
check "unlisted name os-rogue: nothing of the commit pulled (no commit object on the device)" \
        test ! -e "$(obj "$(device_repo)" "$COMMIT_rogue" commit)"
check "unlisted name os-rogue: none of its own files pulled" not_stored "$(rogue_obj)"

# The OSTree server serves, for one object of a listed commit, other bytes:
# the commit's checksum covers them (Merkle tree): the pull fails.
tampered_obj=$(ostree --repo="$SERVER_REPO" ls -C "$COMMIT_tamper" /usr/share/uptane-os/tamper/part-1 | awk '{ print $5 }')
tamper "$tampered_obj"
attacks_before=$(attacks_max)
assign os-tamper
pd tampered
check_rc "tampered object on the OSTree server: --once exits 65" 65
check "tampered object: attack-detected arbitrary-software for os-tamper" \
        has "$log" attack-detected UPTANE_ATTACK arbitrary-software UPTANE_TARGET os-tamper
nothing_from "tampered object"
check "tampered object: the commit is not taken for present (absent or marked partial)" incomplete "$COMMIT_tamper"
check "tampered object: the tampered object was not stored" not_stored "$tampered_obj"
check "tampered object: the Director's attacks table has it for pri" \
        test "$(sql "SELECT COUNT(*) FROM attacks WHERE id > $attacks_before AND serial = 'pri' \
AND what LIKE 'arbitrary-software: %'")" -ge 1
untamper "$tampered_obj"

# --- 3. Commit 2: pulled, deployed, waiting for the reboot -------------------------------------

assign os-2.0
pd update-2
check_rc "os-2.0 (commit 2): --once exits 0" 0
for ev in update-available download-done installed; do
        check "os-2.0: $ev (UPTANE_TARGET=os-2.0)" has "$log" "$ev" UPTANE_TARGET os-2.0
done
check "os-2.0: deployed as the default: [0] commit 2, [1] commit 1" deployed_are "$COMMIT2.0" "$COMMIT1.0"
check "os-2.0: the commit is complete on the device" commit_complete "$COMMIT2"
check "os-2.0: state.json: os-2.0 pending, with this boot's id" pending_is os-2.0
check "os-2.0: the reboot command ran once" test "$(reboots)" = 1
check "os-2.0: no result at the Director yet" test -z "$(result_of os-2.0)"
check "os-2.0: the manifest carries no installation report yet" no_report
check "os-2.0: the Director still assigns os-2.0" test "$(assigned)" = os-2.0

pd update-2-again
check_rc "os-2.0, again in the same boot: --once exits 0" 0
check "os-2.0, again: nothing fetched or installed" \
        test "$(events "$log" download-done)$(events "$log" installed)" = 00
check "os-2.0, again: no second deployment" deployed_are "$COMMIT2.0" "$COMMIT1.0"
check "os-2.0, again: the reboot command did not run again" test "$(reboots)" = 1
check "os-2.0, again: still pending" pending_is os-2.0

# --- 4. The bootloader falls back to commit 1 ----------------------------------------------------

reboot_into 1
pd rolled-back
check_rc "booted back into commit 1: --once exits 0" 0
check "booted back into commit 1: install-failed event for os-2.0" has "$log" install-failed UPTANE_TARGET os-2.0
check "booted back into commit 1: the Director's results say os-2.0 failed" test "$(result_of os-2.0)" = failed
check "booted back into commit 1: the installation report says BOOT_ROLLED_BACK" reported_code BOOT_ROLLED_BACK
check "booted back into commit 1: the Director's assignment ended" test -z "$(assigned)"
check "booted back into commit 1: state.json: nothing pending, os-2.0 not installed" \
        state "'pending' not in s and s.get('installed', {}).get('name') != 'os-2.0'"
check "booted back into commit 1: the inventory still has commit 1" test "$(installed_sha256)" = "$COMMIT1"
check "booted back into commit 1: commit 1 is still deployed" deployed "$COMMIT1.0"

# --- 5. Commit 2 again: installed, booted, reported ------------------------------------------------

assign os-2.0
pd update-2b
check_rc "os-2.0 assigned again: --once exits 0" 0
check "os-2.0 assigned again: commit 2 is the default deployment" default_is "$COMMIT2"
check "os-2.0 assigned again: pending" pending_is os-2.0
reboot_into 0
pd booted-2
success "booted into commit 2" os-2.0 "$COMMIT2"
pd booted-2-again
check_rc "booted into commit 2, again: --once exits 0" 0
check "booted into commit 2, again: nothing fetched, installed or failed" \
        test "$(events "$log" download-done)$(events "$log" installed)$(events "$log" install-failed)" = 000

# --- 6. An interrupted pull resumed against a tampered server ---------------------------------------

prev=$booted
deps_before=$(deployments | tr '\n' ' ')
assign os-resume
pd resume-crash UPTANE_TEST_CRASH_POINT=ostree-pull-half
check_rc "kill -9 half-way through the pull of os-resume: the daemon died by SIGKILL" 137
check "pull killed half-way: nothing deployed" test "$(deployments | tr '\n' ' ')" = "$deps_before"
check "pull killed half-way: the commit is not taken for present" incomplete "$COMMIT_resume_big"
# an object the device has not fetched yet: the resumed pull will ask for it
victim=
n_fetched=0
n_objects=0
for o in $(file_objects "$COMMIT_resume_big"); do
        n_objects=$((n_objects + 1))
        if fetched "$o"; then
                n_fetched=$((n_fetched + 1))
        elif [ -z "$victim" ]; then
                victim=$o
        fi
done
if [ -n "$victim" ]; then
        ok "pull killed half-way: $n_fetched of $n_objects file objects fetched"
        tamper "$victim"
        attacks_before=$(attacks_max)
        pd resume-tampered
        check_rc "resumed pull, a not yet fetched object tampered: --once exits 65" 65
        check "resumed pull, tampered: attack-detected arbitrary-software for os-resume" \
                has "$log" attack-detected UPTANE_ATTACK arbitrary-software UPTANE_TARGET os-resume
        check "resumed pull, tampered: nothing deployed" test "$(deployments | tr '\n' ' ')" = "$deps_before"
        check "resumed pull, tampered: nothing pending" state "'pending' not in s"
        check "resumed pull, tampered: the commit is not taken for present" incomplete "$COMMIT_resume_big"
        check "resumed pull, tampered: the tampered object was not stored" not_stored "$victim"
        untamper "$victim"
else
        fail "pull killed half-way: some file objects not fetched yet ($n_fetched of $n_objects fetched)"
fi
pd resume-clean
check_rc "resumed pull, the server honest again: --once exits 0" 0
check "resumed pull, honest: [0] os-resume, [1] the booted commit 2" \
        deployed_are "$COMMIT_resume_big.0" "$prev"
check "resumed pull, honest: pending" pending_is os-resume
check "resumed pull, honest: the commit is complete" commit_complete "$COMMIT_resume_big"
reboot_into 0
pd resume-booted
success "booted into os-resume" os-resume "$COMMIT_resume_big"

# --- 7. kill -9 at each step ---------------------------------------------------------------------------

# crash POINT NAME CSUM: kill -9 at POINT while installing NAME, restart, reboot
crash() {
        _p=$1 _n=$2 _c=$3
        _prev=$booted
        _deps=$(deployments | tr '\n' ' ')
        assign "$_n"
        pd "crash-$_p" UPTANE_TEST_CRASH_POINT="$_p"
        check_rc "kill -9 at $_p: the daemon died by SIGKILL" 137
        check "kill -9 at $_p: state.json still parses" state True
        case $_p in
        ostree-pull-half | install-pending)
                check "kill -9 at $_p: nothing deployed yet" test "$(deployments | tr '\n' ' ')" = "$_deps"
                ;;
        esac
        _gets=$(object_gets)
        pd "after-$_p"
        check_rc "after kill -9 at $_p: --once exits 0" 0
        check "after kill -9 at $_p: [0] $_n, [1] the booted deployment, no other" deployed_are "$_c.0" "$_prev"
        check "after kill -9 at $_p: $_n pending, with this boot's id" pending_is "$_n"
        check "after kill -9 at $_p: nothing reported as failed" test "$(events "$log" install-failed)" = 0
        if [ "$_p" = ostree-pull-half ]; then
                _n_obj=$(file_objects "$_c" | wc -l)
                _sent=$(($(object_gets) - _gets))
                check "after kill -9 at $_p: the pull resumed ($_sent of $_n_obj file objects sent again)" \
                        test "$_sent" -lt "$_n_obj"
        fi
        reboot_into 0
        pd "booted-$_p"
        success "after kill -9 at $_p, booted" "$_n" "$_c"
}
# ostree-pull-half before install-pending (the crash points' order in a cycle)
crash ostree-pull-half os-pull-half "$COMMIT_pull_half"
crash install-pending os-pending "$COMMIT_pending"
crash ostree-deployed os-deployed "$COMMIT_deployed"
crash install-done os-done "$COMMIT_done"

summary
