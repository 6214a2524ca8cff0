#!/bin/sh
# SPDX-License-Identifier: MIT
# SC2154: variables set through eval (sec_pid_NAME, port_NAME, laddr_NAME);
# SC2086: $decode is a list of tshark options, split on purpose.
# shellcheck disable=SC2154,SC2086
#
# A Primary and its Secondaries over DoIP, end to end (issue 5, Tests): the
# real uptane-server, uptane-primaryd --once and three Secondaries on
# loopback, in a private network namespace while tshark captures the DoIP
# ports:
#
#   full     uptane-secondaryd, verification = full, logical address 0x0101
#   partial  uptane-secondaryd, verification = partial, 0x0102
#   dead     configured (its key registered) but not running: its port is closed
#
#   1. the first --once registers the Primary and the three ECUs; the full and
#      partial Secondaries' signed reports reach the Director in the manifest;
#      the dead one is logged with its serial (secondary-unreachable) and
#      stops nothing (the Secondaries are served concurrently: secondary_pool.c);
#   2. one update for the Primary and both Secondaries in one --once: each
#      Secondary's new active slot holds its image, the previous slot is kept,
#      the Director records "installed" for each;
#      then, with the time server down, the Secondaries keep their nonces (no
#      attestation): their reports stay out of the manifest, which the
#      Director accepts (a reused nonce would be a 409 for all of it);
#      with the time server back, they are reported again;
#   3. a compromised Primary, played with tests/tools/uds-tester against the
#      full Secondary: the genuine, trusted metadata with a wrong image of the
#      right length (refused at install, nothing installed), replayed metadata
#      (refused at verification); then the genuine Primary installs;
#   4. a replayed time attestation (2E F1A4): NRC 0x22;
#   5. the seed's 3.5, both repositories' keys compromised: both Secondaries
#      install the evil image (the limit of the threat model: COMPROMISED);
#      3.6's recovery puts the genuine images back;
#   6. the capture: tshark decodes every frame with no malformed or warning
#      frame; the UDS services and the routing activation are on the wire;
#   7. measured, not asserted: a 20 MiB image to the full Secondary (wall time
#      of sending it and installing, from the Primary's JSON log as the lines
#      arrive; TCP connections to its port, from a second capture).
#
#   tests/integration/primaryd-secondaries.sh   (UPTANE_BUILD_DIR, default <repo>/build)
#
# Without a private network namespace (unshare -n as root, -rn otherwise),
# tshark or ip, it runs on 127.0.0.1 in the host's namespace and skips the
# capture checks, saying why. Exits 77 when a required tool is missing.
# Prints "ok - ..." / "not ok - ..." / "skip - ..." and last
# "primaryd-secondaries: N passed, N failed". KEEP_WORK=1 keeps the work
# directory (logs in WORK/log, the captures WORK/*.pcapng).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"
secd=$build/src/secondaryd/uptane-secondaryd
tester=$build/tests/tools/uds-tester
# Datagrams to this port tell when tshark sees the link (nothing listens).
probe_port=13399

test_init primaryd-secondaries

if [ "${PS_INNER:-0}" != 1 ]; then
        require_bins "$primaryd" "$server" "$uprepo" "$secd" "$tester"
        require_tools sqlite3 python3 timeout cmp od xxd
        PATH=$PATH:/usr/sbin:/sbin
        export PATH
        PS_INNER=1 PS_CAPTURE=0 PS_NOCAPTURE_WHY=
        if ! command -v tshark >/dev/null 2>&1; then
                PS_NOCAPTURE_WHY="tshark is missing"
        elif ! command -v ip >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
                PS_NOCAPTURE_WHY="ip or unshare is missing"
        else
                if [ "$(id -u)" -eq 0 ]; then netns="unshare -n"; else netns="unshare -rn"; fi
                if $netns true 2>/dev/null; then
                        PS_CAPTURE=1
                else
                        PS_NOCAPTURE_WHY="no private network namespace ($netns failed)"
                fi
        fi
        export PS_INNER PS_CAPTURE PS_NOCAPTURE_WHY UPTANE_BUILD_DIR="$build"
        if [ "$PS_CAPTURE" = 1 ]; then
                exec $netns sh "$0"
        fi
        exec sh "$0"
fi

# From here on: in the namespace (PS_CAPTURE=1) or on the host's 127.0.0.1.
if [ "$PS_CAPTURE" = 1 ] && ! ip link set lo up 2>/dev/null; then
        PS_CAPTURE=0 PS_NOCAPTURE_WHY="cannot bring up lo in the namespace"
        echo "$test_name: no capture: $PS_NOCAPTURE_WHY; the private namespace has no loopback" >&2
        exit 77
fi

work_init uptane-primaryd-secondaries
tshark_pid=
# tshark stops its dumpcap on SIGINT; cleanup's SIGKILL would leave it running
on_exit() {
        if [ -n "$tshark_pid" ]; then
                kill -INT "$tshark_pid" 2>/dev/null
                wait "$tshark_pid" 2>/dev/null
        fi
        cleanup
}
trap on_exit EXIT
mkdir "$work/log"
die_logs="server.log log/sec-full.log log/sec-partial.log"

log=/dev/null # the JSON log of the last Primary run
shown_log=
fail_details() {
        if [ -s "$log" ] && [ "$log" != "$shown_log" ]; then
                shown_log=$log
                echo "    $(basename "$log"):"
                sed -n 's/^\([0-9.]* \)\{0,1\}{"MESSAGE":"\([^"]*\)".*/      \2/p' "$log" | tail -n 10
        fi
}
check_rc() {
        if [ "$rc" = "$2" ]; then ok "$1"; else fail "$1 (exit $rc, want $2)"; fi
}
sql() {
        sqlite3 -cmd '.timeout 10000' "$db" "$1" 2>>"$work/sqlite.err"
}
same() { cmp -s "$1" "$2"; }
# hexof FILE / hexstr STRING: upper-case hex, no spaces
hexof() { od -An -v -tx1 "$1" | tr -d ' \n' | tr a-f A-F; }
hexstr() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
vin=VIN-SECONDARIES-1
img=$work/img
dir=$work/dir
db=$work/inv.sqlite
state=$work/state
cache=$work/cache
target=$work/installed/firmware.bin

# --- Images, repositories, the server --------------------------------------------------------

setup() {
        for i in 1 2 3; do
                head -c $((3000 + i)) /dev/urandom >"$work/pri-$i.bin" &&
                        head -c $((5000 + i)) /dev/urandom >"$work/full-$i.bin" &&
                        head -c $((7000 + i)) /dev/urandom >"$work/part-$i.bin" || return 1
        done
        head -c 20971520 /dev/urandom >"$work/full-big.bin" &&
                "$uprepo" init --repo "$img" &&
                for i in 1 2 3; do
                        "$uprepo" add-target --repo "$img" "$work/pri-$i.bin" --hardware-id pri-hw &&
                                "$uprepo" add-target --repo "$img" "$work/full-$i.bin" --hardware-id hw-full &&
                                "$uprepo" add-target --repo "$img" "$work/part-$i.bin" --hardware-id hw-part || return 1
                done &&
                "$uprepo" add-target --repo "$img" "$work/full-big.bin" --hardware-id hw-full &&
                "$uprepo" publish --repo "$img" &&
                "$uprepo" director init --repo "$dir" &&
                echo "tok-$$-secondaries" >"$work/token"
}
setup_or_exit setup
start_uptane_server_or_exit "$img" "$dir" "$db" --timeserver-key "$work/ts.key"
[ -s "$work/ts.key.pub.json" ] || die "uptane-server wrote no $work/ts.key.pub.json"

# --- The Secondaries ----------------------------------------------------------------------------

port_full=$(free_port) port_partial=$(free_port) port_dead=$(free_port)
while [ "$port_partial" = "$port_full" ]; do port_partial=$(free_port); done
while [ "$port_dead" = "$port_full" ] || [ "$port_dead" = "$port_partial" ]; do port_dead=$(free_port); done
laddr_full=0x0101 laddr_partial=0x0102 laddr_dead=0x0103

# sec_conf NAME SERIAL HW VERIFICATION PORT LOGICAL-ADDRESS
sec_conf() {
        write_secondary_conf "$@"
        # the factory image in slot-a
        [ -e "$work/sec-$1/slot-a" ] || printf 'factory image of %s\n' "$2" >"$work/sec-$1/slot-a"
}
sec_conf full ecu-full hw-full full "$port_full" "$laddr_full"
sec_conf partial ecu-partial hw-part partial "$port_partial" "$laddr_partial"
sec_conf dead ecu-dead hw-dead full "$port_dead" "$laddr_dead"
cp "$work/sec-full/slot-a" "$work/factory-full"
cp "$work/sec-partial/slot-a" "$work/factory-partial"

# start_sec NAME: starts uptane-secondaryd NAME, waits until it listens; sets sec_pid_NAME
start_sec() {
        _n=$(grep -c 'listening on 127.0.0.1 TCP port' "$work/log/sec-$1.log" 2>/dev/null)
        _n=${_n:-0}
        UPTANE_LOG_TARGET=stderr "$secd" --config "$work/sec-$1.conf" 2>>"$work/log/sec-$1.log" &
        eval "sec_pid_$1=\$!"
        add_pid "$!"
        wait_until 10 listening_more "$1" "$_n"
}
# listening_more NAME N: the log of NAME says "listening" more than N times
listening_more() {
        [ "$(grep -c 'listening on 127.0.0.1 TCP port' "$work/log/sec-$1.log")" -gt "$2" ]
}
# stop_sec NAME
stop_sec() {
        eval "_p=\$sec_pid_$1"
        stop_pid "$_p" TERM 10
}
# uds NAME HEX...: uds-tester against the Secondary NAME (one DoIP connection)
uds() {
        eval "_port=\$port_$1 _la=\$laddr_$1"
        shift
        "$tester" 127.0.0.1 "$_port" "$_la" "$@"
}

# A private capture of the live Secondaries' DoIP (the dead one's port: SYN, RST, a warning by design).
cap=$work/secondaries.pcapng  # 1. and 2.
capb=$work/secondaries-b.pcapng # from 3. on
decode="-d tcp.port==$port_full,doip -d tcp.port==$port_partial,doip"
# start_capture FILE FILTER [ARG...]
start_capture() {
        _capfile=$1 _filter=$2
        shift 2
        : >"$work/tshark.out"
        tshark -i lo -f "$_filter or udp port $probe_port" -w "$_capfile" -P -l "$@" \
                >"$work/tshark.out" 2>"$work/tshark.err" &
        tshark_pid=$!
        add_pid "$tshark_pid"
        wait_until 20 probe_seen 0
}
probe() {
        python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("127.0.0.1", int(sys.argv[1])))' \
                "$probe_port" 2>/dev/null
}
# probe_seen N: sends a probe; true once tshark printed more than N of them
probe_seen() {
        probe
        sleep 0.1
        [ "$(grep -c "$probe_port" "$work/tshark.out")" -gt "$1" ]
}
# stop_capture: everything sent before the last probe is in the file once it is
stop_capture() {
        _probes=$(grep -c "$probe_port" "$work/tshark.out")
        wait_until 10 probe_seen "$_probes" || fail "tshark saw the last probe"
        stop_pid "$tshark_pid" INT 10
        tshark_pid=
}
if [ "$PS_CAPTURE" = 1 ]; then
        start_capture "$cap" "tcp port $port_full or tcp port $port_partial" ||
                die "tshark does not capture on lo: $(tail -n 2 "$work/tshark.err" | tr '\n' ' ')"
else
        skip "the capture: $PS_NOCAPTURE_WHY (running on the host's 127.0.0.1)"
fi

for name in full partial dead; do
        start_sec "$name" || die "uptane-secondaryd $name does not start"
        out=$(uds "$name" 22F1A0 | head -n 1)
        case $out in
        62F1A0*) printf '%s' "${out#62F1A0}" | xxd -r -p >"$work/$name.pub.json" ;;
        *) die "reading F1A0 of $name: $out" ;;
        esac
done
check "each Secondary made its ecu.key (0600) on its first start" test \
        "$(stat -c %a "$work/sec-full/ecu.key")$(stat -c %a "$work/sec-partial/ecu.key")" = 600600
check "F1A0 is a TUF key JSON (ed25519)" python3 -c '
import json, sys
for f in sys.argv[1:]:
    k = json.load(open(f))
    assert k["keytype"] == "ed25519" and len(k["keyval"]["public"]) == 64, k' \
        "$work/full.pub.json" "$work/partial.pub.json" "$work/dead.pub.json"
# The dead Secondary: its key is known (registered), the ECU is not running.
stop_sec dead

conf=$work/uptane.conf
write_primary_conf "$conf" ""
for name in full partial dead; do
        eval "_port=\$port_$name _la=\$laddr_$name"
        case $name in
        full) serial=ecu-full hw=hw-full verif=full ;;
        partial) serial=ecu-partial hw=hw-part verif=partial ;;
        dead) serial=ecu-dead hw=hw-dead verif=full ;;
        esac
        cat >>"$conf" <<EOF

[secondary.$name]
serial = $serial
hardware-id = $hw
public-key = $work/$name.pub.json
verification = $verif
transport = doip
address = 127.0.0.1
port = $_port
logical-address = $_la
timeout = 2s
EOF
done

# pd NAME: uptane-primaryd --once; exit status in $rc; its JSON log, each line
# prefixed with the time it arrived (s since the epoch), in $log
pd() {
        log=$work/log/$1.log
        { env UPTANE_LOG_TARGET=json timeout 300 "$primaryd" --config "$conf" --once 2>&1 >"$work/log/$1.out"
          echo "rc=$?" >"$work/log/$1.rc"; } |
                python3 -c '
import os, sys, time
buf = b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    t = time.time()
    buf += data
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        sys.stdout.write("%.6f %s\n" % (t, line.decode(errors="replace")))
    sys.stdout.flush()' >"$log"
        rc=$(sed -n 's/^rc=//p' "$work/log/$1.rc")
}
attack() {
        if "$uprepo" attack "$@" >"$work/attack.log" 2>&1; then
                return 0
        fi
        sed 's/^/    /' "$work/attack.log"
        fail "uptane-repo attack $*"
        return 1
}
result_of() {
        sql "SELECT result FROM results WHERE vin = '$vin' AND serial = '$1' AND target = '$2' ORDER BY id DESC LIMIT 1"
}
installed_of() {
        sql "SELECT installed FROM ecus WHERE serial = '$1'" | python3 -c '
import json, sys
t = sys.stdin.read().strip()
print(json.loads(t).get("filepath", "") if t else "")' 2>/dev/null
}
# slot_is NAME-OF-CHECK SECONDARY FILE: its active slot holds FILE
slot_is() {
        if same "$(active_slot "$2")" "$3"; then ok "$1"; else fail "$1 (active slot $(active_slot "$2") differs from $(basename "$3"))"; fi
}

# --- 1. The first cycle ----------------------------------------------------------------------------

pd first
check_rc "first --once: exit 75 (the dead Secondary is logged; the others are served; try again later)" 75
check "first --once: registered with the Director" has "$log" registered
check "first --once: the inventory has the Primary and the three ECUs, with their hardware ids" test \
        "$(sql "SELECT serial || ':' || hardware_id || ':' || is_primary FROM ecus WHERE vin = '$vin' ORDER BY serial" |
                tr '\n' ' ')" = "ecu-dead:hw-dead:0 ecu-full:hw-full:0 ecu-partial:hw-part:0 pri:pri-hw:1 "
check "first --once: the Secondaries' keys registered are the ones they read in F1A0" python3 -c '
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for serial, f in (("ecu-full", sys.argv[2]), ("ecu-partial", sys.argv[3])):
    (k,) = db.execute("SELECT public_key FROM ecus WHERE serial = ?", (serial,)).fetchone()
    assert json.loads(k)["keyval"] == json.load(open(f))["keyval"], serial' \
        "$db" "$work/full.pub.json" "$work/partial.pub.json"
check "first --once: the dead Secondary is logged with its serial (secondary-unreachable)" \
        has "$log" secondary-unreachable UPTANE_ECU_SERIAL ecu-dead
check "first --once: nothing logged against the live Secondaries" sh -c \
        "! grep -e '\"UPTANE_ECU_SERIAL\":\"ecu-full\"' -e '\"UPTANE_ECU_SERIAL\":\"ecu-partial\"' '$log' |
           grep -q -e temporary-failure -e attack-detected -e secondary-unreachable -e secondary-misbehaving -e secondary-refused"
check "first --once: a secondary-report event for ecu-full and ecu-partial" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-report\"' '$log' | grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-full\"' >/dev/null &&
         grep -F '\"UPTANE_EVENT\":\"secondary-report\"' '$log' | grep -qF '\"UPTANE_ECU_SERIAL\":\"ecu-partial\"'"
check "first --once: the vehicle manifest has the signed reports of pri, ecu-full, ecu-partial (not ecu-dead)" python3 -c '
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(body,) = db.execute("SELECT body FROM manifests WHERE vin = ? ORDER BY id DESC LIMIT 1", (sys.argv[2],)).fetchone()
m = json.loads(body)["signed"]
reps = m["ecu_version_manifests"]
assert sorted(reps) == ["ecu-full", "ecu-partial", "pri"], sorted(reps)
for serial, r in reps.items():
    assert r["signed"]["ecu_serial"] == serial and len(r["signatures"]) == 1, serial' "$db" "$vin"
check "first --once: the Director took the Secondaries' reports (their installed image: factory)" \
        test "$(installed_of ecu-full) $(installed_of ecu-partial)" = "factory factory"

# --- 2. An update for the Primary and both Secondaries -------------------------------------------

assign_or_fail pri pri-1.bin
assign_or_fail ecu-full full-1.bin
assign_or_fail ecu-partial part-1.bin
pd update
check_rc "update: --once exits 75 (the others updated; the dead Secondary is still to do)" 75
check "update: the Primary installed pri-1.bin" same "$target" "$work/pri-1.bin"
slot_is "update: ecu-full's active slot holds full-1.bin" full "$work/full-1.bin"
slot_is "update: ecu-partial's active slot holds part-1.bin" partial "$work/part-1.bin"
check "update: ecu-full's previous slot (slot-a) kept its factory image" same "$(inactive_slot full)" "$work/factory-full"
check "update: ecu-partial's previous slot (slot-a) kept its factory image" same "$(inactive_slot partial)" "$work/factory-partial"
check "update: secondary-installed events for ecu-full and ecu-partial" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-installed\"' '$log' | grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-full\"' >/dev/null &&
         grep -F '\"UPTANE_EVENT\":\"secondary-installed\"' '$log' | grep -qF '\"UPTANE_ECU_SERIAL\":\"ecu-partial\"'"
check "update: secondary-image-sent events for ecu-full and ecu-partial" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-image-sent\"' '$log' | grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-full\"' >/dev/null &&
         grep -F '\"UPTANE_EVENT\":\"secondary-image-sent\"' '$log' | grep -qF '\"UPTANE_ECU_SERIAL\":\"ecu-partial\"'"
check "update: the dead Secondary logged again with its serial" has "$log" secondary-unreachable UPTANE_ECU_SERIAL ecu-dead
cp -r "$state/metadata/director" "$work/old-director" # for the replay below
cp -r "$state/metadata/image" "$work/old-image"
pd after-update
check_rc "after the update: --once exits 75 (the dead Secondary is still to do)" 75
check "after the update: the next manifest shows the new images in the Director's inventory" test \
        "$(installed_of pri) $(installed_of ecu-full) $(installed_of ecu-partial)" = "pri-1.bin full-1.bin part-1.bin"
check "after the update: the Director recorded installed for pri, ecu-full, ecu-partial" test \
        "$(result_of pri pri-1.bin) $(result_of ecu-full full-1.bin) $(result_of ecu-partial part-1.bin)" = \
        "installed installed installed"
check "after the update: nothing more to install (no update-available)" sh -c "! grep -q '\"UPTANE_EVENT\":\"update-available\"' '$log'"

# The time server down: the Secondaries take no attestation and keep their
# nonces, which the last manifest carried. Their reports stay out (the
# Director would refuse the whole manifest: 409, nonce reused).
# manifest_serials: the ECUs whose reports the Director's last manifest has
manifest_serials() {
        python3 -c '
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(body,) = db.execute("SELECT body FROM manifests WHERE vin = ? ORDER BY id DESC LIMIT 1", (sys.argv[2],)).fetchone()
print(" ".join(sorted(json.loads(body)["signed"]["ecu_version_manifests"])))' "$db" "$vin"
}
conf_with_ts=$conf
conf=$work/uptane-no-timeserver.conf
sed "s|^url = $base/timeserver\$|url = $base/no-such-timeserver|" "$conf_with_ts" >"$conf"
pd no-timeserver
conf=$conf_with_ts
check_rc "time server down: --once exits 75 (the dead one)" 75
check "time server down: the reports of ecu-full and ecu-partial withheld (their nonces were sent already)" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-report-withheld\"' '$log' | grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-full\"' >/dev/null &&
         grep -F '\"UPTANE_EVENT\":\"secondary-report-withheld\"' '$log' | grep -qF '\"UPTANE_ECU_SERIAL\":\"ecu-partial\"'"
check "time server down: the Director accepted the manifest (no 409)" has "$log" manifest-sent
check "time server down: the manifest has the Primary's report only" test "$(manifest_serials)" = "pri"
pd timeserver-back
check_rc "time server back: --once exits 75 (the dead one)" 75
check "time server back: the manifest has the Secondaries' reports again" test "$(manifest_serials)" = \
        "ecu-full ecu-partial pri"
check "time server back: nothing withheld" sh -c "! grep -q secondary-report-withheld '$log'"

# --- 3. A compromised Primary against the full Secondary ------------------------------------------

# The Primary learns of full-2.bin while ecu-full is down: it holds the genuine
# metadata, which a compromised Primary sends with a wrong image. (Not
# captured: the Primary's SYN to the closed port is answered by a RST, which
# tshark rates a warning.)
[ "$PS_CAPTURE" = 1 ] && stop_capture
stop_sec full
assign_or_fail ecu-full full-2.bin
pd full-down
check "full down: --once exits 75 (ecu-full logged as unreachable)" test "$rc" = 75
check "full down: ecu-full logged with its serial" has "$log" secondary-unreachable UPTANE_ECU_SERIAL ecu-full
start_sec full || die "uptane-secondaryd full does not start again"
if [ "$PS_CAPTURE" = 1 ]; then
        start_capture "$capb" "tcp port $port_full or tcp port $port_partial" || fail "tshark starts again"
fi

# xfer PATH FILE: the uds-tester arguments of 38 03 PATH, 36 in 1024-byte blocks, 37
xfer() {
        _size=$(stat -c %s "$2")
        printf '38 03 %04X %s 00 04 %08X %08X\n' "${#1}" "$(hexstr "$1")" "$_size" "$_size"
        _hex=$(hexof "$2")
        _bsc=1
        while [ -n "$_hex" ]; do
                _chunk=$(printf '%s' "$_hex" | cut -c 1-2048)
                _hex=$(printf '%s' "$_hex" | cut -c 2049-)
                printf '36 %02X %s\n' "$_bsc" "$_chunk"
                _bsc=$(((_bsc + 1) % 256))
        done
        echo 37
}
# metadata_args DIR-DIRECTOR DIR-IMAGE: the transfers of every metadata file
metadata_args() {
        for _f in "$1"/*.json; do xfer "director/$(basename "$_f")" "$_f"; done
        for _f in "$2"/*.json; do xfer "image/$(basename "$_f")" "$_f"; done
}
# evil image: the length of full-2.bin, other bytes
head -c "$(stat -c %s "$work/full-2.bin")" /dev/urandom >"$work/wrong-2.bin"
before=$(active_slot full)
cp "$before" "$work/before-attack"
{
        echo 1002
        metadata_args "$state/metadata/director" "$state/metadata/image"
        echo 31010A01
        xfer target/full-2.bin "$work/wrong-2.bin"
        echo 31010A02
        echo 31030A02
} | tr '\n' '\0' | xargs -0 "$tester" 127.0.0.1 "$port_full" "$laddr_full" >"$work/wrong-image.out" 2>&1
check "compromised Primary: the genuine metadata verifies (31 01 0A01 -> 71 01 0A01 00)" \
        sh -c "grep -q '^71010A0100' '$work/wrong-image.out'"
if [ "$(tail -n 2 "$work/wrong-image.out" | head -n 1)" = 7F3172 ]; then
        ok "compromised Primary: a wrong image of the right length: install refused (NRC 0x72)"
else
        fail "compromised Primary: a wrong image: install refused (got $(tail -n 2 "$work/wrong-image.out" | tr '\n' ' '))"
        sed 's/^/    /' "$work/wrong-image.out" | cut -c 1-100 | tail -n 12
fi
status=$(tail -n 1 "$work/wrong-image.out")
check "compromised Primary: the results: 01 rejected" test "${status#71030A0201}" != "$status"
echo "    results: $(printf '%s' "${status#71030A02????}" | xxd -r -p | tr -c '[:print:]' '?')"
check "compromised Primary: nothing installed (the active slot unchanged)" same "$(active_slot full)" "$work/before-attack"

# Replayed metadata: the Director's and Image repository's files of the first update.
{
        echo 1002
        metadata_args "$work/old-director" "$work/old-image"
        echo 31010A01
        echo 31030A01
} | tr '\n' '\0' | xargs -0 "$tester" 127.0.0.1 "$port_full" "$laddr_full" >"$work/replay.out" 2>&1
if [ "$(tail -n 2 "$work/replay.out" | head -n 1)" = 7F3172 ]; then
        ok "compromised Primary: replayed (older) metadata: verification refused (NRC 0x72)"
else
        fail "compromised Primary: replayed metadata refused (got $(tail -n 2 "$work/replay.out" | tr '\n' ' '))"
fi
status=$(tail -n 1 "$work/replay.out")
check "compromised Primary: replay: the results: 01 rejected" test "${status#71030A0101}" != "$status"
echo "    results: $(printf '%s' "${status#71030A01????}" | xxd -r -p | tr -c '[:print:]' '?')"
check "compromised Primary: the active slot still unchanged" same "$(active_slot full)" "$work/before-attack"
uds full 22F1A1 | head -n 1 | cut -c 7- | xxd -r -p >"$work/report-after-attack.json"
check "compromised Primary: ecu-full reports the attacks (attacks_detected in its next report)" \
        grep -q '"attacks_detected":"[^"]' "$work/report-after-attack.json"
# The genuine Primary then delivers full-2.bin.
pd after-compromised
check_rc "after the compromised Primary: the genuine one installs full-2.bin (exit 75: the dead one)" 75
slot_is "after the compromised Primary: ecu-full's active slot holds full-2.bin" full "$work/full-2.bin"
check "after the compromised Primary: the previous slot holds full-1.bin" same "$(inactive_slot full)" "$work/full-1.bin"

# --- 4. A replayed time attestation ----------------------------------------------------------------

# attestation NONCE: a fresh attestation from the time server for NONCE, into $work/att.json
attestation() {
        python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=("{\"nonces\":[%s]}" % sys.argv[2]).encode(), method="POST")
open(sys.argv[3], "wb").write(urllib.request.urlopen(req, timeout=10).read())' "$base/timeserver" "$1" "$work/att.json"
}
sleep 1 # a time later than the Primary's last attestation
nonce_hex=$(uds full 22F1A2 | head -n 1)
nonce=$(python3 -c 'import sys; print(int(sys.argv[1][6:], 16))' "$nonce_hex")
if attestation "$nonce"; then
        att=$(hexof "$work/att.json")
        uds full 1002 "2E F1A4 $att" "2E F1A4 $att" 22F1A2 >"$work/att.out" 2>&1
        check "time attestation: a fresh one with ecu-full's nonce is taken (6E F1A4)" \
                test "$(sed -n 2p "$work/att.out")" = 6EF1A4
        check "time attestation: the same one again (replayed): NRC 0x22" test "$(sed -n 3p "$work/att.out")" = 7F2E22
        check "time attestation: the nonce was rotated" test "$(sed -n 4p "$work/att.out")" != "$nonce_hex"
else
        fail "the time server answers an attestation request"
fi
# The attestation the Primary sent in the first cycle, from the capture (or the one above).
old=
if [ "$PS_CAPTURE" = 1 ]; then
        old=$(tshark -r "$cap" $decode -Y 'uds.sid == 0x2e && uds.reply == 0' -T fields -e uds.wdbi.data_record \
                2>/dev/null | head -n 1 | tr -d ':' | tr a-f A-F)
fi
if [ -n "$old" ]; then
        out=$(uds partial 1002 "2E F1A4 $old" | tail -n 1)
        check "time attestation: the first cycle's attestation replayed to ecu-partial: NRC 0x22" test "$out" = 7F2E22
else
        skip "time attestation: the first cycle's attestation from the capture (no capture)"
fi

# --- 5. The seed's 3.5: both repositories compromised ------------------------------------------

printf 'evil content of ecu-full\n' >"$work/evil-full"
printf 'evil content of ecu-partial\n' >"$work/evil-partial"
# (one staged attack at a time: the first is dropped, kept as it is, before the second)
if attack keyed-target-both --repo "$dir" --image-repo "$img" --vin "$vin" --ecu ecu-full --hardware-id hw-full --content "$work/evil-full" \
        evil-full.bin && attack drop keyed-target-both --repo "$dir" &&
        attack keyed-target-both --repo "$dir" --image-repo "$img" --vin "$vin" --ecu ecu-partial --hardware-id hw-part \
                --content "$work/evil-partial" evil-partial.bin; then
        pd keyed-both
        check_rc "3.5 keyed-target-both: --once exits 75 (both repositories vouch: accepted; the dead one)" 75
        for name in full partial; do
                if same "$(active_slot "$name")" "$work/evil-$name"; then
                        ok "3.5 keyed-target-both: ecu-$name installed the evil image (the limit of the threat model)"
                        echo "    COMPROMISED: A malicious update has been installed! Arbitrary package attack" \
                                "successful: this Secondary (ecu-$name) has been compromised! Image: 'evil-$name.bin'"
                else
                        fail "3.5 keyed-target-both: ecu-$name installed the evil image"
                fi
        done
        check "3.5 keyed-target-both: no attack detected (nothing to detect)" sh -c \
                "! grep -q '\"UPTANE_EVENT\":\"attack-detected\"' '$log'"
        # 3.6: recovery; then genuine, newer images
        if attack recover --repo "$dir" --image-repo "$img"; then
                assign_or_fail ecu-full full-3.bin
                assign_or_fail ecu-partial part-3.bin
                pd recovered
                check_rc "3.6 recover: --once exits 75 (the dead one)" 75
                slot_is "3.6 recover: ecu-full runs full-3.bin" full "$work/full-3.bin"
                slot_is "3.6 recover: ecu-partial runs part-3.bin" partial "$work/part-3.bin"
        fi
fi

# --- 6. The capture ----------------------------------------------------------------------------------

# frames FILTER: how many frames of $cap and $capb match the display filter
frames() {
        { tshark -r "$cap" $decode -Y "$1" 2>/dev/null; tshark -r "$capb" $decode -Y "$1" 2>/dev/null; } | wc -l
}
expect() {
        n=$(frames "$2")
        if test "$n" "$3" "$4"; then ok "$1"; else fail "$1 ('$2': $n frames, expected $3 $4)"; fi
}
if [ "$PS_CAPTURE" = 1 ]; then
        stop_capture
        check "tshark wrote the captures" test -s "$cap" -a -s "$capb"
        expect "capture: tshark decodes DoIP" 'doip' -ge 100
        # TCP's own loss recovery: the kernel's tail loss probe retransmits a
        # last segment the peer has not ACKed yet (delayed ACK) after a few ms,
        # and the peer answers with a D-SACK, which tshark rates a warning.
        # Timing of the loopback, not a DoIP or UDS message: counted, shown.
        warn='_ws.malformed || _ws.expert.severity >= "Warning"'
        tcp_recovery='tcp.options.sack.dsack || tcp.analysis.retransmission || tcp.analysis.spurious_retransmission'
        expect "capture: no malformed frame" '_ws.malformed' -eq 0
        expect "capture: no warning frame (but TCP's loss recovery)" "($warn) && !($tcp_recovery)" -eq 0
        n=$(frames "$warn")
        if [ "$n" -gt 0 ]; then
                echo "    $n warning frame(s) in all:"
                for _c in "$cap" "$capb"; do
                        tshark -r "$_c" $decode -Y "$warn" -T fields -e frame.number -e _ws.col.Info \
                                -e _ws.expert.message 2>/dev/null | head -n 5 | sed "s|^|      $(basename "$_c"): |"
                done
        fi
        for sid in 0x22 0x10 0x2e 0x38 0x36 0x37 0x31 0x11; do
                expect "capture: uds.sid $sid requests and responses" "uds.sid == $sid && uds.reply == 1" -ge 1
        done
        expect "capture: routing activation requests from the tester 0x0e80" \
                'doip.type == 0x0005 && doip.source_address == 0x0e80' -ge 2
        expect "capture: routing activated (0x10) by 0x0101" \
                'doip.type == 0x0006 && doip.response_code == 0x10 && doip.source_address == 0x0101' -ge 1
        expect "capture: routing activated (0x10) by 0x0102" \
                'doip.type == 0x0006 && doip.response_code == 0x10 && doip.source_address == 0x0102' -ge 1
        expect "capture: F1A1 reports read (22 F1A1)" 'uds.rdbi.data_identifier == 0xf1a1' -ge 4
        expect "capture: the install routine 0A02 started" 'uds.rc.identifier == 0x0a02' -ge 2
        expect "capture: the refusals on the wire (7F 31 72)" 'uds.err.sid == 0x31 && uds.err.code == 0x72' -ge 2
        expect "capture: the replayed attestation refused (7F 2E 22)" 'uds.err.sid == 0x2e && uds.err.code == 0x22' -ge 1
fi

# --- 7. Measured: 20 MiB to the full Secondary ----------------------------------------------------

cap2=$work/big.pcapng
if [ "$PS_CAPTURE" = 1 ]; then
        start_capture "$cap2" "tcp port $port_full" || fail "tshark starts for the measurement"
fi
assign_or_fail ecu-full full-big.bin
pd big
check_rc "20 MiB: --once exits 75 (the dead one)" 75
slot_is "20 MiB: ecu-full's active slot holds full-big.bin" full "$work/full-big.bin"
secs=$(python3 -c '
import json, sys
start = end = None
for line in open(sys.argv[1]):
    t, _, j = line.partition(" ")
    try:
        e = json.loads(j)
    except ValueError:
        continue
    if e.get("UPTANE_ECU_SERIAL") != "ecu-full":
        continue
    if e.get("UPTANE_EVENT") == "update-available":
        start = float(t)
    elif e.get("UPTANE_EVENT") == "secondary-installed" and start:
        end = float(t)
print("%.3f" % (end - start) if start and end else "?")' "$log")
syns='?' wire='?' blocks='?' blen='?'
if [ "$PS_CAPTURE" = 1 ]; then
        stop_capture
        syns=$(tshark -r "$cap2" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==$port_full" 2>/dev/null | wc -l)
        # on the wire: from the image's RequestFileTransfer (the last 38) to the reset's answer
        tshark -r "$cap2" -d "tcp.port==$port_full,doip" -T fields -E separator=' ' \
                -e frame.time_epoch -e uds.sid -e uds.reply \
                -Y 'uds.sid == 0x38 || uds.sid == 0x36 || uds.sid == 0x11' >"$work/big.fields" 2>/dev/null
        wire=$(awk '$2 == "0x38" && $3 == "0x00" { t0 = $1 } $2 == "0x11" && $3 == "0x01" { t1 = $1 }
                END { if (t0 && t1) printf "%.3f", t1 - t0; else print "?" }' "$work/big.fields")
        blocks=$(awk '$2 == "0x36" && $3 == "0x00"' "$work/big.fields" | wc -l)
        [ "$blocks" -gt 0 ] && blen=$(((20971520 + blocks - 1) / blocks))
fi
echo "    measured: 20 MiB to the full Secondary over DoIP on loopback:"
echo "      Primary's log as the lines arrive, update-available -> installed (HTTP download and check, metadata, image, install; the reader may be scheduled late under load): $secs s"
echo "      on the wire, the image's 38 RequestFileTransfer -> 51 ECUReset answer (image + install): $wire s"
echo "      TCP connections to its port: $syns; TransferData requests: $blocks (~$blen bytes each)"
echo "      (the production client: 6.2 s, over 20,000 TCP connections)"

summary
