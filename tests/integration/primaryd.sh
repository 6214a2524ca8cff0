#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Integration test of uptane-primaryd, the Primary daemon, against the real
# uptane-server on 127.0.0.1 with repositories made by uptane-repo:
#
#   1. first start: registration, the ECU key, state.json, no temp files;
#   2. an update delivered: events, the file installed, the Director's inventory;
#   3. the demo's attacks staged with "uptane-repo attack": exit 65, the attack
#      class in the log, nothing installed, the attack reported to the Director;
#   4. kill -9 (UPTANE_TEST_CRASH_POINT) during download and install: the next
#      run recovers (the download resumed with Range from a range-capable
#      static server), nothing unverified ever at file-target-path;
#   5. configuration errors (78) and a missing initial root (70);
#   6. daemon mode: sd_notify READY/STATUS/STOPPING, SIGHUP reload, SIGTERM,
#      and uptanectl status/ecus/check on a private D-Bus session bus.
#
#   tests/integration/primaryd.sh      (UPTANE_BUILD_DIR, default <repo>/build)
#
# Prints "ok - ..." / "not ok - ..." / "skip - ..." lines and last
# "primaryd: N passed, N failed"; exits non-zero on any failure (77: a required
# tool is missing). KEEP_WORK=1 keeps the work directory. The daemon logs JSON
# (UPTANE_LOG_TARGET=json) into WORK/log/STEP.log.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"
catalog=$repo_root/systemd/uptane.catalog

test_init primaryd
require_bins "$primaryd" "$server" "$uprepo" "$uptanectl"
require_tools sqlite3 python3 timeout cmp

work_init uptane-primaryd-test
mkdir "$work/log"

log=/dev/null # the JSON log of the last daemon run
shown_log=
# on a failure, the daemon's messages, once per log
fail_details() {
        if [ -s "$log" ] && [ "$log" != "$shown_log" ]; then
                shown_log=$log
                echo "    $(basename "$log"):"
                sed -n 's/^{"MESSAGE":"\([^"]*\)".*/      \1/p' "$log" | tail -n 8
        fi
}
# check_rc NAME WANT: the last run's exit status ($rc) is WANT
check_rc() {
        if [ "$rc" = "$2" ]; then ok "$1"; else fail "$1 (exit $rc, want $2)"; fi
}

# events FILE EVENT: how many entries of FILE are EVENT
events() {
        grep -c -F "\"UPTANE_EVENT\":\"$2\"" "$1" 2>/dev/null
}
# at_least FILE EVENT N: FILE has N or more EVENT entries
at_least() {
        [ "$(events "$1" "$2")" -ge "$3" ]
}
# sql QUERY: on the inventory (the server is running: WAL)
sql() {
        sqlite3 -cmd '.timeout 10000' "$db" "$1" 2>>"$work/sqlite.err"
}
# same FILE1 FILE2: the files exist and are equal
same() { cmp -s "$1" "$2"; }
# msgid SUBJECT-START: the MESSAGE_ID of the catalog entry whose Subject starts so
msgid() {
        awk -v s="Subject: $1" '/^-- [0-9a-f]+$/ { id = $2 } index($0, s) == 1 { print id; exit }' "$catalog"
}

vin=VIN1
img=$work/img
dir=$work/dir
db=$work/inv.sqlite
state=$work/state
cache=$work/cache
target=$work/installed/firmware.bin

# --- Repositories and the server ------------------------------------------------

setup() {
        i=1
        for size in 3000 4000 5000 6000 7000 8000 2000 9000 10000 11000 12000; do
                head -c "$size" /dev/urandom >"$work/fw-$i.bin" || return 1
                i=$((i + 1))
        done
        head -c 20000000 /dev/urandom >"$work/fw-big.bin" &&
                "$uprepo" init --repo "$img" &&
                for i in 1 2 3 4; do
                        "$uprepo" add-target --repo "$img" "$work/fw-$i.bin" --hardware-id pri-hw || return 1
                done &&
                "$uprepo" add-target --repo "$img" "$work/fw-5.bin" --hardware-id pri-hw --release-counter 2 &&
                "$uprepo" add-target --repo "$img" "$work/fw-6.bin" --hardware-id pri-hw --release-counter 2 &&
                "$uprepo" add-target --repo "$img" "$work/fw-7.bin" --name fw-other.bin --hardware-id other-hw &&
                # after fw-6.bin (release counter 2), the crash tests' images may not go lower
                for i in 8 9 10 11 big; do
                        "$uprepo" add-target --repo "$img" "$work/fw-$i.bin" --hardware-id pri-hw --release-counter 2 ||
                                return 1
                done &&
                "$uprepo" publish --repo "$img" &&
                "$uprepo" director init --repo "$dir" &&
                echo "tok-$$-primaryd" >"$work/token" &&
                : >"$work/server.conf" # an explicit (empty) config: never /etc/uptane-server.conf
}
setup_or_exit setup

start_uptane_server_or_exit "$img" "$dir" "$db" --timeserver-key "$work/ts.key"

conf=$work/uptane.conf
write_primary_conf "$conf"

# pd NAME [VAR=VALUE...]: uptane-primaryd --once with $conf; exit status in $rc, JSON log in $log
pd() {
        pd_conf "$conf" "$@"
}
# pd_conf CONF NAME [VAR=VALUE...]
pd_conf() {
        _c=$1
        log=$work/log/$2.log
        _out=$work/log/$2.out
        shift 2
        env UPTANE_LOG_TARGET=json "$@" timeout 120 "$primaryd" --config "$_c" --once >"$_out" 2>"$log"
        rc=$?
}
# assign TARGET [ARGS...]: the Director assigns TARGET to pri
assign() {
        _t=$1
        shift
        if ! "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" pri "$_t" "$@" \
                >"$work/assign.log" 2>&1; then
                sed 's/^/    /' "$work/assign.log"
                fail "director assign $_t"
        fi
}
# attack ARGS...: uptane-repo attack ARGS (a failure is a failed check)
attack() {
        if "$uprepo" attack "$@" >"$work/attack.log" 2>&1; then
                return 0
        fi
        sed 's/^/    /' "$work/attack.log"
        fail "uptane-repo attack $*"
        return 1
}
# leftovers DIR...: files other than what the state keeps: ecu.key, state.json, metadata/*/*.json
# (storage writes DIR/.NAME.XXXXXX, keys KEY.XXXXXX; the file package manager PATH.new)
leftovers() {
        find "$@" -type f ! -path "$state/ecu.key" ! -path "$state/state.json" \
                ! -regex "$state/metadata/\(director\|image\)/[0-9a-z.]*\.json" -print
        find "$@" -name '.*' ! -name . -print
        _x='[A-Za-z0-9]'
        find "$@" \( -name '*.new' -o -name '*.tmp' -o -name '*.XXXXXX' -o -name "*.$_x$_x$_x$_x$_x$_x" \) -print
}
check_no_temp_files() {
        if [ -d "$work/installed" ]; then
                leftovers "$state" "$work/installed"
        else
                leftovers "$state"
        fi >"$work/leftovers" 2>&1
        # the installed directory legitimately holds firmware.bin and firmware.bin.previous
        grep -v -e "^$target\$" -e "^$target\.previous\$" "$work/leftovers" >"$work/leftovers.2"
        if [ -s "$work/leftovers.2" ]; then
                fail "$1: no temp files left in the state directory or next to file-target-path"
                sed 's/^/    left: /' "$work/leftovers.2"
        else
                ok "$1: no temp files left in the state directory or next to file-target-path"
        fi
}
# installed_is NAME FILE: the file at file-target-path is FILE
installed_is() {
        if same "$target" "$2"; then ok "$1"; else fail "$1 (file-target-path differs from $(basename "$2"))"; fi
}
# result_of TARGET: the Director's last result for pri and TARGET
result_of() {
        sql "SELECT result FROM results WHERE vin = '$vin' AND serial = 'pri' AND target = '$1' ORDER BY id DESC LIMIT 1"
}
attacks_max() { sql 'SELECT COALESCE(MAX(id), 0) FROM attacks'; }

# expect_attack LABEL CLASS EXPECTED-INSTALLED [REPO [TARGET]]: the run just made was refused as CLASS
expect_attack() {
        _label=$1 _class=$2 _inst=$3 _repo=${4:-} _tgt=${5:-}
        check_rc "$_label: --once exits 65" 65
        set -- attack-detected UPTANE_ATTACK "$_class" UPTANE_ECU_SERIAL pri
        [ -n "$_repo" ] && set -- "$@" UPTANE_REPO "$_repo"
        [ -n "$_tgt" ] && set -- "$@" UPTANE_TARGET "$_tgt"
        _what="attack-detected, UPTANE_ATTACK=$_class${_repo:+ UPTANE_REPO=$_repo}${_tgt:+ UPTANE_TARGET=$_tgt}"
        if has "$log" "$@"; then ok "$_label: $_what"; else fail "$_label: $_what"; fi
        check "$_label: nothing downloaded or installed" \
                test "$(events "$log" download-done)$(events "$log" installed)" = 00
        installed_is "$_label: file-target-path unchanged" "$_inst"
        check "$_label: no image or .part kept in the cache" test -z "$(ls -A "$cache/images" 2>/dev/null)"
        _n=$(sql "SELECT COUNT(*) FROM attacks WHERE id > $attacks_before AND vin = '$vin' AND serial = 'pri' \
AND what LIKE '$_class: %'")
        if [ "${_n:-0}" -ge 1 ]; then
                ok "$_label: the manifest reported the attack: the Director's attacks table has it for pri"
        else
                fail "$_label: the manifest reported the attack: the Director's attacks table has it for pri"
                sql "SELECT what FROM attacks WHERE id > $attacks_before" | sed 's/^/    attacks: /'
        fi
}

# --- 1. First start ---------------------------------------------------------------

pd first
check_rc "first start: --once exits 0" 0
registered_id=$(msgid "The Primary registered")
check "first start: the catalog has the REGISTERED MESSAGE_ID" test -n "$registered_id"
check "first start: registered (UPTANE_EVENT=registered, MESSAGE_ID=$registered_id)" \
        has "$log" registered MESSAGE_ID "$registered_id" UPTANE_ECU_SERIAL pri
check "first start: the vehicle manifest was sent" has "$log" manifest-sent
check "first start: up to date" has "$log" up-to-date
check "first start: ecu.key created, mode 0600" test "$(stat -c %a "$state/ecu.key" 2>/dev/null)" = 600
check "first start: the state directory is 0700" test "$(stat -c %a "$state" 2>/dev/null)" = 700
check "first start: state.json present, registered" grep -q '"registered" *: *true' "$state/state.json"
check "first start: the trusted initial roots were copied" \
        same "$state/metadata/director/root.json" "$dir/metadata/root.json"
check "first start: the Director's inventory has pri as the Primary of $vin" \
        test "$(sql "SELECT vin || is_primary || hardware_id FROM ecus WHERE serial = 'pri'")" = "${vin}1pri-hw"
check "first start: nothing installed" test ! -e "$target"
check "first start: no directory made for file-target-path yet" test ! -e "$work/installed"
check_no_temp_files "first start"
pd second
check_rc "second start: --once exits 0" 0
check "second start: no new registration" test "$(events "$log" registered)" = 0

# --- 2. An update delivered -------------------------------------------------------

assign fw-1.bin
pd update-1
check_rc "update fw-1.bin: --once exits 0" 0
for ev in update-available download-done installed; do
        check "update fw-1.bin: $ev (UPTANE_TARGET=fw-1.bin, UPTANE_ECU_SERIAL=pri)" \
                has "$log" "$ev" UPTANE_TARGET fw-1.bin UPTANE_ECU_SERIAL pri
done
check "update fw-1.bin: manifest-sent" has "$log" manifest-sent
check "update fw-1.bin: events in order (available, downloaded, installed, manifest)" test "$(
        sed -n 's/.*"UPTANE_EVENT":"\(update-available\|download-done\|installed\|manifest-sent\)".*/\1/p' "$log" |
                tr '\n' ' ')" = "update-available download-done installed manifest-sent "
installed_is "update fw-1.bin: file-target-path holds fw-1.bin (its directory made)" "$work/fw-1.bin"
check "update fw-1.bin: the Director's results say installed" test "$(result_of fw-1.bin)" = installed
check "update fw-1.bin: the inventory has fw-1.bin installed on pri" test "$(sql "SELECT \
json_extract(installed, '\$.filepath') FROM ecus WHERE serial = 'pri'")" = fw-1.bin
check "update fw-1.bin: state.json records fw-1.bin installed, nothing pending" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["installed"]["name"] == "fw-1.bin" and s["installed"]["length"] == 3000 and "pending" not in s' \
        "$state/state.json"
check "update fw-1.bin: the downloaded copy was removed from the cache" \
        test -z "$(ls -A "$cache/images" 2>/dev/null)"
check_no_temp_files "update fw-1.bin"
pd after-1
check_rc "after the update: --once exits 0" 0
check "after the update: up-to-date, nothing downloaded" test "$(events "$log" up-to-date)$(events "$log" \
        update-available)$(events "$log" download-done)$(events "$log" installed)" = 1000
pd after-1b
check_rc "again: --once exits 0" 0
check "again: no-change, nothing downloaded or sent" test "$(grep -c 'Up to date (no-change)' "$log")$(events \
        "$log" update-available)$(events "$log" download-done)$(events "$log" manifest-sent)" = 1000
installed_is "again: fw-1.bin still installed" "$work/fw-1.bin"

# --- 3. Attacks -------------------------------------------------------------------

# 3.1: the Director's copies of fw-2.bin replaced, the Image repository's
# hidden: the daemon falls back to the Director's copy (a second mirror).
assign fw-2.bin
attacks_before=$(attacks_max)
if attack director-mitm-image --repo "$dir" --image-repo "$img" --vin "$vin" fw-2.bin; then
        pd 3.1
        expect_attack "3.1 director-mitm-image" arbitrary-software "$work/fw-1.bin" director fw-2.bin
        check "3.1 director-mitm-image: refused for the image's hash" \
                grep -q 'image fw-2.bin refused: length or hash does not match' "$log"
        attack undo director-mitm-image --repo "$dir"
fi

# 3.2: the Image repository's copies of fw-2.bin replaced by other bytes.
attacks_before=$(attacks_max)
if attack image-mitm-image --repo "$img" --director "$dir" fw-2.bin; then
        pd 3.2
        expect_attack "3.2 image-mitm-image" arbitrary-software "$work/fw-1.bin" image fw-2.bin
        attack undo image-mitm-image --repo "$img"
fi

# 3.3: the Director's timestamp saved with fw-2.bin assigned; after the update
# the Director publishes newer ones; the saved one is served again.
attack save-timestamp --repo "$dir" --vin "$vin"
pd 3.3-update
check_rc "3.3 after undoing 3.2: the update to fw-2.bin works (exit 0)" 0
installed_is "3.3 after undoing 3.2: file-target-path holds fw-2.bin" "$work/fw-2.bin"
check "3.3 after undoing 3.2: the previous image is kept as .previous" same "$target.previous" "$work/fw-1.bin"
check "3.3 after undoing 3.2: the inventory's attacks column was cleared by the new report" \
        test -z "$(sql "SELECT attacks FROM ecus WHERE serial = 'pri'")"
pd 3.3-newer
check_rc "3.3 the newer Director timestamp: exit 0" 0
attacks_before=$(attacks_max)
if attack replay-timestamp --repo "$dir" --vin "$vin"; then
        pd 3.3
        expect_attack "3.3 replay-timestamp" rollback "$work/fw-2.bin" director
        attack undo replay-timestamp --repo "$dir"
        pd 3.3-undone
        check_rc "3.3 undone: exit 0" 0
fi

# freeze: a validly signed Director timestamp that expired a day ago.
attacks_before=$(attacks_max)
if attack freeze --repo "$dir" --vin "$vin"; then
        pd freeze
        expect_attack "freeze" freeze "$work/fw-2.bin" director
        attack undo freeze --repo "$dir"
        pd freeze-undone
        check_rc "freeze undone: exit 0" 0
fi

# endless-data: the Director's timestamp padded to 1 MiB ([download] max-timestamp-size 16K).
attacks_before=$(attacks_max)
if attack endless-data --repo "$dir" --vin "$vin"; then
        pd endless-data
        expect_attack "endless-data" endless-data "$work/fw-2.bin" director
        attack undo endless-data --repo "$dir"
        pd endless-undone
        check_rc "endless-data undone: exit 0" 0
fi

# The Image repository is read only while an update is in flight: fw-3.bin.
assign fw-3.bin
# mix-and-match: a second targets version of the Image repository, not yet
# fetched; the file named by the snapshot holds the first one.
"$uprepo" add-target --repo "$img" "$work/fw-1.bin" --name fw-mm.bin --hardware-id pri-hw >/dev/null &&
        "$uprepo" publish --repo "$img" >/dev/null
attacks_before=$(attacks_max)
if attack mix-and-match --repo "$img"; then
        pd mix-and-match
        expect_attack "mix-and-match" mix-and-match "$work/fw-2.bin" image
        attack undo mix-and-match --repo "$img"
fi

# slow-retrieval: uptane-server trickles the Image repository at 16 bytes/s;
# the daemon gives up below 1 KiB/s for 2 s.
slow_conf=$work/uptane-slow.conf
write_primary_conf "$slow_conf" "" "[download]" "min-bytes-per-second = 1K" "min-speed-window = 2s"
attacks_before=$(attacks_max)
if attack slow-retrieval --repo "$img" --size 16; then
        t0=$(date +%s)
        pd_conf "$slow_conf" slow-retrieval
        t1=$(date +%s)
        expect_attack "slow-retrieval" slow-retrieval "$work/fw-2.bin" image
        check "slow-retrieval: refused within 15 s ($((t1 - t0)) s)" test $((t1 - t0)) -le 15
        attack undo slow-retrieval --repo "$img"
fi
pd fw-3
check_rc "after mix-and-match and slow-retrieval: the update to fw-3.bin works (exit 0)" 0
installed_is "after mix-and-match and slow-retrieval: file-target-path holds fw-3.bin" "$work/fw-3.bin"

# An image for other hardware, assigned to pri by the Director.
attacks_before=$(attacks_max)
assign fw-other.bin
pd hardware
expect_attack "wrong hardware id (fw-other.bin for other-hw)" arbitrary-software "$work/fw-3.bin" director \
        fw-other.bin
check "wrong hardware id: refused for the hardware" grep -q "image is not for this ECU's hardware" "$log"
check "wrong hardware id: no failed installation report (the assignment stays)" \
        test -z "$(result_of fw-other.bin)"
assign fw-4.bin
pd fw-4
check_rc "after the wrong hardware id: the update to fw-4.bin works (exit 0)" 0
installed_is "after the wrong hardware id: file-target-path holds fw-4.bin" "$work/fw-4.bin"

# 3.4: the Director's keys assign an evil fw-1.bin the Image repository does not vouch for.
# The metadata verifies and is kept: undo would now be a rollback, recover (3.6) is the way back.
head -c 3000 /dev/zero | tr '\0' E >"$work/evil.bin"
attacks_before=$(attacks_max)
if attack director-keyed-target --repo "$dir" --vin "$vin" --ecu pri --hardware-id pri-hw \
        --content "$work/evil.bin" fw-1.bin; then
        pd 3.4
        expect_attack "3.4 director-keyed-target" arbitrary-software "$work/fw-4.bin" director-vs-image fw-1.bin
fi

# 3.6: new online keys in both repositories, the clean state published as new versions.
if attack recover --repo "$dir" --image-repo "$img"; then
        pd 3.6
        check_rc "3.6 recover: --once exits 0" 0
        check "3.6 recover: no attack-detected" test "$(events "$log" attack-detected)" = 0
        installed_is "3.6 recover: fw-4.bin still installed" "$work/fw-4.bin"
        assign fw-5.bin
        pd 3.6-update
        check_rc "3.6 recover: an update (fw-5.bin) works with the rotated keys (exit 0)" 0
        check "3.6 recover: installed fw-5.bin" has "$log" installed UPTANE_TARGET fw-5.bin
        installed_is "3.6 recover: file-target-path holds fw-5.bin" "$work/fw-5.bin"
        # Dealt with: a later recover must not put back the state before 3.4.
        attack drop recover --repo "$dir"
        attack drop director-keyed-target --repo "$dir"
fi

# 3.7: new Director metadata signed with the keys retired by recover.
attacks_before=$(attacks_max)
if attack revoked-keys --repo "$dir" --vin "$vin"; then
        pd 3.7
        expect_attack "3.7 revoked-keys" arbitrary-software "$work/fw-5.bin" director
        check "3.7 revoked-keys: refused for its signatures" grep -q 'not signed by a threshold of' "$log"
        attack undo revoked-keys --repo "$dir"
        pd 3.7-undone
        check_rc "3.7 undone: exit 0" 0
fi

# release-counter-rollback: fw-5.bin (release counter 2) is installed; fw-6.bin
# is assigned, then republished with counter 1 in both repositories.
assign fw-6.bin
attacks_before=$(attacks_max)
if attack release-counter-rollback --repo "$dir" --vin "$vin" --image-repo "$img" fw-6.bin; then
        pd counter
        expect_attack "release-counter-rollback" rollback "$work/fw-5.bin" director-vs-image fw-6.bin
        # Validly signed and kept: recover puts the counter back, as new versions.
        if attack recover --repo "$dir" --image-repo "$img"; then
                pd counter-recover
                check_rc "release-counter-rollback recovered: fw-6.bin installed (exit 0)" 0
                installed_is "release-counter-rollback recovered: file-target-path holds fw-6.bin" "$work/fw-6.bin"
        fi
fi

# --- 4. kill -9 at the crash points -------------------------------------------------

# A static server for the Image repository that honours Range (uptane-server
# answers a Range request with the whole file), logging each GET's Range.
cat >"$work/rangeserver.py" <<'EOF'
import http.server, os, sys
root, portfile, logfile = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        rng = self.headers.get("Range")
        with open(logfile, "a") as f:
            f.write("%s %s\n" % (self.path, rng or "-"))
        rel = self.path.split("?")[0]
        if not rel.startswith("/image/") or "/." in rel:
            return self.send_error(404)
        path = os.path.join(root, rel[len("/image/"):])
        if not os.path.isfile(path):
            return self.send_error(404)
        size = os.path.getsize(path)
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = int(rng[6:-1])
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        try:
            with open(path, "rb") as f:
                f.seek(start)
                while True:
                    b = f.read(65536)
                    if not b:
                        break
                    self.wfile.write(b)
        except OSError:
            pass
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
EOF
python3 "$work/rangeserver.py" "$img" "$work/range.port" "$work/range.log" 2>"$work/range.err" &
add_pid $!
range_conf=
if wait_until 10 test -s "$work/range.port"; then
        range_conf=$work/uptane-range.conf
        write_primary_conf "$range_conf" "http://127.0.0.1:$(cat "$work/range.port")/image"
else
        fail "the range-capable image server starts"
        sed 's/^/    /' "$work/range.err"
fi

# crash POINT TARGET CONF PREVIOUS: assigns TARGET, runs with the crash point, then again
crash() {
        _point=$1 _t=$2 _conf=$3 _prev=$4
        assign "$_t"
        pd_conf "$_conf" "crash-$_point" UPTANE_TEST_CRASH_POINT="$_point"
        check_rc "kill -9 at $_point: the daemon died by SIGKILL" 137
        if [ "$_point" = install-done ]; then
                # the rename happened: the verified new image, the old one as .previous
                installed_is "kill -9 at $_point: file-target-path holds the new, verified $_t" "$work/$_t"
                check "kill -9 at $_point: .previous holds the image before" same "$target.previous" "$_prev"
        else
                installed_is "kill -9 at $_point: file-target-path still holds the previous image" "$_prev"
        fi
        check "kill -9 at $_point: no partial file next to file-target-path" test ! -e "$target.new"
        check "kill -9 at $_point: state.json still parses" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
                "$state/state.json"
}
# recovered POINT TARGET: the run after the crash
recovered() {
        check_rc "after kill -9 at $1: --once exits 0" 0
        installed_is "after kill -9 at $1: file-target-path holds $2" "$work/$2"
        check "after kill -9 at $1: the Director's results say $2 installed" test "$(result_of "$2")" = installed
        check "after kill -9 at $1: nothing pending in state.json" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["installed"]["name"] == sys.argv[2] and "pending" not in s' "$state/state.json" "$2"
        check "after kill -9 at $1: the downloaded copy was removed from the cache" \
                test -z "$(ls -A "$cache/images" 2>/dev/null)"
        check_no_temp_files "after kill -9 at $1"
}

if [ -n "$range_conf" ]; then
        big_sha=$(sha256sum "$work/fw-big.bin" | cut -d' ' -f1)
        crash download-half fw-big.bin "$range_conf" "$work/fw-6.bin"
        part=$cache/images/$big_sha.part
        part_size=$(stat -c %s "$part" 2>/dev/null || echo 0)
        check "kill -9 at download-half: $big_sha.part left in cache/images ($part_size of 20000000 bytes)" \
                test "$part_size" -ge 10000000 -a "$part_size" -lt 20000000
        : >"$work/range.log"
        pd_conf "$range_conf" after-download-half
        recovered download-half fw-big.bin
        check "after kill -9 at download-half: one update-available, one download-done" \
                test "$(events "$log" update-available)$(events "$log" download-done)" = 11
        range=$(sed -n "s|^/image/targets/.*fw-big\.bin bytes=\([0-9]*\)-\$|\1|p" "$work/range.log" | head -n 1)
        if [ -n "$range" ] && [ "$range" -gt 0 ] && [ "$range" -le "$part_size" ]; then
                ok "after kill -9 at download-half: the download resumed with Range: bytes=$range-"
        else
                fail "after kill -9 at download-half: the download resumed with a Range (server log: $(grep -F \
                        fw-big "$work/range.log" | tr '\n' ' '))"
        fi
        check "after kill -9 at download-half: the .part is gone" test ! -e "$part"
        prev=$work/fw-big.bin
else
        skip "kill -9 at download-half: no range-capable image server"
        prev=$work/fw-6.bin
fi

crash metadata-stored fw-8.bin "$conf" "$prev"
pd after-metadata-stored
recovered metadata-stored fw-8.bin

crash install-pending fw-9.bin "$conf" "$work/fw-8.bin"
check "kill -9 at install-pending: state.json records fw-9.bin as pending" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["pending"]["name"] == "fw-9.bin"' "$state/state.json"
pd after-install-pending
recovered install-pending fw-9.bin
check "after kill -9 at install-pending: the interrupted install ran again" grep -q 'interrupted; it runs again' "$log"

crash install-done fw-10.bin "$conf" "$work/fw-9.bin"
pd after-install-done
recovered install-done fw-10.bin
check "after kill -9 at install-done: the install was settled, not redone (installed, one event, no download)" \
        test "$(events "$log" installed)$(events "$log" download-done)" = 10
check "after kill -9 at install-done: the installed event says finished after a restart" \
        grep -q 'finished after a restart' "$log"
check "after kill -9 at install-done: .previous holds fw-9.bin" same "$target.previous" "$work/fw-9.bin"

# --- 5. Configuration and state errors ----------------------------------------------

bad=$work/bad.conf
write_primary_conf "$bad" "" "[update]" "poll-interval = 5s" "no-such-key = 1"
badline=$(grep -n '^no-such-key' "$bad" | cut -d: -f1)
pd_conf "$bad" bad-config
check_rc "an unknown key: exit 78" 78
check "an unknown key: the message names $bad:$badline and the key" grep -q "bad\.conf:$badline:.*no-such-key" "$log"

noroot=$work/noroot.conf
write_primary_conf "$noroot"
sed -i -e "s|^root = $dir/metadata/root.json|root = $work/missing/root.json|" \
        -e "s|^state-directory = .*|state-directory = $work/state-noroot|" "$noroot"
pd_conf "$noroot" no-root
check_rc "a missing initial root: exit 70" 70
check "a missing initial root: the message names the file" grep -q "$work/missing/root.json" "$log"

# No server where the configuration points (port 1 refuses): a temporary failure.
down=$work/down.conf
write_primary_conf "$down"
sed -i "s|$base/|http://127.0.0.1:1/|" "$down"
pd_conf "$down" server-down
check_rc "the servers unreachable: exit 75" 75
check "the servers unreachable: temporary-failure logged, no attack" \
        test "$(events "$log" temporary-failure)" -ge 1 -a "$(events "$log" attack-detected)" = 0
installed_is "the servers unreachable: file-target-path unchanged" "$work/fw-10.bin"

# --- 6. Daemon mode -----------------------------------------------------------------

cat >"$work/notify.py" <<'EOF'
import os, socket, sys
path, out = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        for line in s.recv(65536).decode(errors="replace").split("\n"):
            if line:
                f.write(line + "\n")
EOF
python3 "$work/notify.py" "$work/notify.sock" "$work/notify" 2>"$work/notify.err" &
add_pid $!
wait_until 10 test -S "$work/notify.sock" || fail "the notify socket listener starts"

bus_addr=
if command -v dbus-daemon >/dev/null 2>&1; then
        start_session_bus || { bus_addr=; fail "dbus-daemon starts"; }
else
        skip "uptanectl against the daemon: dbus-daemon is missing"
fi

dconf=$work/daemon.conf
write_primary_conf "$dconf" "" "[update]" "poll-interval = 1h"
[ -n "$bus_addr" ] && sed -i 's/^bus = none$/bus = user/' "$dconf"
dlog=$work/log/daemon.log
log=$dlog
env UPTANE_LOG_TARGET=json NOTIFY_SOCKET="$work/notify.sock" \
        DBUS_SESSION_BUS_ADDRESS="${bus_addr:-unix:path=$work/no-bus.sock}" \
        "$primaryd" --config "$dconf" 2>"$dlog" &
daemon_pid=$!
add_pid "$daemon_pid"
check "daemon: READY=1 sent" wait_until 10 grep -qx 'READY=1' "$work/notify"
check "daemon: STATUS= sent" grep -q '^STATUS=.' "$work/notify"
check "daemon: the first cycle ends (up-to-date)" wait_until 30 has "$dlog" up-to-date
check "daemon: the first cycle ran once (check-started)" test "$(events "$dlog" check-started)" = 1

if [ -n "$bus_addr" ]; then
        ctl() {
                DBUS_SESSION_BUS_ADDRESS=$bus_addr timeout 20 "$uptanectl" --user "$@" >"$work/ctl.out" 2>"$work/ctl.err"
        }
        # the name is owned before the first cycle starts, the state is idle after it
        idle() { ctl status && grep -q '^State: *idle$' "$work/ctl.out"; }
        check "daemon: uptanectl --user status: State idle" wait_until 10 idle
        check "daemon: uptanectl --user status shows the VIN" grep -q "^VIN: *$vin\$" "$work/ctl.out"
        check "daemon: uptanectl --user status shows the Primary serial" grep -q '^Primary serial: *pri$' "$work/ctl.out"
        check "daemon: uptanectl --user status shows the last result" \
                grep -q '^Last result: *\(up-to-date\|no-change\)$' "$work/ctl.out"
        ctl ecus
        check "daemon: uptanectl --user ecus shows pri, pri-hw, primary, fw-10.bin installed" \
                grep -q '^pri  *pri-hw  *yes  *fw-10\.bin  *[0-9a-f]\{12\}  *-$' "$work/ctl.out"
        ctl check
        check "daemon: uptanectl --user check starts a check" grep -q 'check started' "$work/ctl.out"
        check "daemon: a new check-started event" wait_until 10 at_least "$dlog" check-started 2
        check "daemon: that cycle ends" wait_until 30 at_least "$dlog" up-to-date 2
else
        skip "daemon: uptanectl status, ecus, check (no D-Bus session bus)"
fi

# SIGHUP with a broken configuration: refused, the daemon goes on.
cp "$dconf" "$dconf.good"
echo 'no-such-key = 1' >>"$dconf"
kill -HUP "$daemon_pid"
check "daemon: SIGHUP with an unknown key: Reload refused, naming the key" \
        wait_until 10 grep -q 'Reload refused, keeping the running configuration: .*daemon\.conf:[0-9]*:.*no-such-key' \
        "$dlog"
check "daemon: still running after the refused reload" kill -0 "$daemon_pid"
mv "$dconf.good" "$dconf"

# SIGHUP: a shorter poll-interval is applied; a check follows within it.
checks=$(events "$dlog" check-started)
sed -i 's/^poll-interval = 1h$/poll-interval = 5s/' "$dconf"
kill -HUP "$daemon_pid"
check "daemon: SIGHUP logs Configuration reloaded" wait_until 10 grep -q 'Configuration reloaded' "$dlog"
check "daemon: SIGHUP sends RELOADING=1" grep -qx 'RELOADING=1' "$work/notify"
check "daemon: the reloaded poll-interval (5s) starts a check within 10 s" \
        wait_until 10 at_least "$dlog" check-started $((checks + 1))
check "daemon: that cycle ends" wait_until 30 at_least "$dlog" up-to-date $((checks + 1))

check "daemon: no attack or failure logged so far" test "$(events "$dlog" attack-detected)$(events "$dlog" \
        temporary-failure)$(events "$dlog" verification-failed)" = 000

# A cycle in flight (the Image repository trickled at 16 bytes/s, fw-11.bin
# assigned): uptanectl check is Busy, SIGTERM parks the cycle and stops.
checks=$(events "$dlog" check-started)
attack slow-retrieval --repo "$img" --size 16
assign fw-11.bin
if [ -n "$bus_addr" ]; then
        # the poll timer may have started it first: then check is Busy already
        ctl check
        wait_until 10 at_least "$dlog" check-started $((checks + 1))
        sleep 0.5
        ctl check
        status=$?
        if [ "$status" = 75 ]; then ok "daemon: uptanectl check during a cycle: Busy (75)"
        else fail "daemon: uptanectl check during a cycle: Busy (75) (exit $status: $(cat "$work/ctl.err"))"; fi
        ctl status
        check "daemon: uptanectl status during the cycle: State checking" grep -q '^State: *checking$' "$work/ctl.out"
else
        wait_until 10 at_least "$dlog" check-started $((checks + 1))
        sleep 0.5
fi
check "daemon: the cycle is in flight (no end logged)" test "$(events "$dlog" up-to-date)" -le "$checks"
stop_pid "$daemon_pid" TERM 5
check "daemon: SIGTERM during a cycle stops it within 5 s" test "$rc" != 137
check_rc "daemon: SIGTERM exit status 0" 0
check "daemon: the cycle was parked" grep -q 'Stopping (signal 15): parking the update cycle' "$dlog"
check "daemon: STOPPING=1 sent" grep -qx 'STOPPING=1' "$work/notify"
check "daemon: no attack logged for the cancelled transfer" test "$(events "$dlog" attack-detected)" = 0
installed_is "daemon: file-target-path unchanged" "$work/fw-10.bin"
attack undo slow-retrieval --repo "$img"
pd after-daemon
check_rc "after the daemon: --once installs fw-11.bin (exit 0)" 0
installed_is "after the daemon: file-target-path holds fw-11.bin" "$work/fw-11.bin"
check_no_temp_files "in the end"

echo "primaryd: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
