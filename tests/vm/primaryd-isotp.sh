#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154,SC2034,SC2054
# (SC2154, SC2034: variables set for and read by tests/lib/uptane-test.sh;
# SC2054: tshark's "-d iso15765.subdissector,uds" has its comma on purpose)
#
# primaryd-isotp.sh BUILD_DIR [OUT_DIR]
#
# Runs in the guest of tests/vm/run-in-vm.sh (real kernel CAN: vcan0 with MTU
# 72, can-isotp): a Primary and two Secondaries over ISO-TP through a whole
# update (issue 5, Tests, "Real kernel CAN"), with a third one dead:
#
#   classic  uptane-secondaryd, verification = full, classic CAN, ids 0x7E0
#            (requests) / 0x7E8 (answers), padding 0xCC, block size 8
#   fd       uptane-secondaryd, verification = partial, CAN FD (64 bytes),
#            ids 0x7E1 / 0x7E9, no padding, block size 0
#   dead     configured in the Primary over ISO-TP (ids 0x7E2 / 0x7EA,
#            timeout = 2s) and registered with the Director with its key, but
#            nothing listens on its ids: its uptane-secondaryd ran only (on
#            DoIP, never on vcan0) for its key to be read, then stopped
#
# uptane-server runs on the guest's 127.0.0.1; each Secondary also listens on
# DoIP on 127.0.0.1 only so that its public key can be read (22 F1A0 with
# tests/tools/uds-tester) before the Primary is configured; everything the
# Primary does goes over ISO-TP. dumpcap records vcan0 while
#
#   1. the first --once registers the Primary and the three ECUs; the live
#      ones' signed reports reach the Director;
#   2. one --once delivers an update for the Primary, classic (20 KiB) and fd
#      (200 KiB); each Secondary's active slot is its image, the previous
#      slot keeps the factory one;
#   3. the next --once reports: the Director records "installed";
#   4. with PRIMARYD_ISOTP_BIG=1 only, one more --once gives classic a 200 KiB
#      image too: about 110 s more under software emulation, where each
#      classic CAN frame paced by the kernel (its default 50 us frame
#      transmission time) costs some 3 ms. The guest starts with an empty
#      environment: tests/vm/run-in-vm.sh env PRIMARYD_ISOTP_BIG=1
#      tests/vm/primaryd-isotp.sh BUILD_DIR, with VM_TIMEOUT=300.
#      PRIMARYD_ISOTP_FD_BYTES and PRIMARYD_ISOTP_BIG_BYTES change the 200 KiB
#      of fd-1.bin and classic-2.bin (bench/bench_isotp.sh: 1 MiB each),
#      PRIMARYD_ISOTP_CLASSIC_BS the classic Secondary's block size (8).
#   5. the reports-only --once of 3 again with the dead Secondary left out of
#      uptane.conf: that cycle's time without it.
#
# In each --once with it, the dead Secondary is logged with its serial
# (secondary-unreachable) and left out, the live ones are served all the
# same, and --once exits 75 (a configured Secondary was left out: try again
# later) where it exits 0 without it. Each --once's time is printed; the dead
# one may cost a cycle a few of its 2 s timeouts, not more (docs/POUF.md,
# "Serving many Secondaries at once"): the first and the reports cycle with
# it take at most 5 timeouts more than the reports cycle without it, the
# update at most 150 s (a sanity bound: its transfers vary with the load).
#
# Then tshark decodes the capture as ISO-TP with UDS on top: zero malformed or
# warning frames (but those past tshark's own reassembly limit of 16*255
# consecutive frames per message, counted apart, as in isotp-smoke.sh; the
# dead Secondary's unanswered requests, 22 F18C, are single frames, which
# tshark decodes as whole UDS requests: nothing to count apart), and
# the UDS services 22 10 2E 38 36 37 31 11 on the wire. Measured and printed:
# the CAN frames that carried each Secondary's image (fd: 200 KiB; classic:
# 20 KiB, or 200 KiB with PRIMARYD_ISOTP_BIG=1) against the protocol's
# minimum for the TransferData blocks actually sent.
# Prints "ok - ..." / "not ok - ..." and last "primaryd-isotp: N passed, M failed".
# The capture, the logs and tshark's output stay in OUT_DIR (default BUILD_DIR/vm-primaryd-isotp).
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: primaryd-isotp.sh BUILD_DIR [OUT_DIR]}" && pwd)
out=${2:-$build/vm-primaryd-isotp}
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "$build"
secd=$build/src/secondaryd/uptane-secondaryd
fd_bytes=${PRIMARYD_ISOTP_FD_BYTES:-204800}
big_bytes=${PRIMARYD_ISOTP_BIG_BYTES:-204800}
classic_bs=${PRIMARYD_ISOTP_CLASSIC_BS:-8}
tester=$build/tests/tools/uds-tester
test_init primaryd-isotp

require_bins "$primaryd" "$server" "$uprepo" "$secd" "$tester"
[ -d /sys/class/net/vcan0 ] || { echo "no vcan0: run this in tests/vm/run-in-vm.sh"; exit 1; }
[ "$(cat /sys/class/net/vcan0/mtu)" = 72 ] || { echo "vcan0's MTU is not 72: no CAN FD"; exit 1; }
if ! command -v dumpcap >/dev/null || ! command -v tshark >/dev/null; then echo "SKIP: no dumpcap/tshark"; exit 77; fi
require_tools python3 sqlite3 cmp
uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "guest up $(uptime_s) s"

# the work directory on the guest's tmpfs: no 9p writes while capturing
TMPDIR=/tmp work_init primaryd-isotp
mkdir -p "$out" "$work/log"
rm -rf "${out:?}"/*
dumpcap_pid=
on_exit() {
        if [ -n "$dumpcap_pid" ]; then kill -INT "$dumpcap_pid" 2>/dev/null; wait "$dumpcap_pid" 2>/dev/null; fi
        cp -r "$work/log" "$out/" 2>/dev/null
        cp "$work"/*.conf "$work/server.log" "$out/" 2>/dev/null
        cleanup
}
trap on_exit EXIT
die_logs="server.log log/sec-classic.log log/sec-fd.log log/sec-dead.log"

vin=VIN-ISOTP-1
img=$work/img dir=$work/dir db=$work/inv.sqlite state=$work/state cache=$work/cache
target=$work/installed/firmware.bin
pcap=$work/vcan0.pcap

sql() { sqlite3 -cmd '.timeout 10000' "$db" "$1" 2>>"$work/sqlite.err"; }
same() { cmp -s "$1" "$2"; }
check_rc() { if [ "$rc" = "$2" ]; then ok "$1"; else fail "$1 (exit $rc, want $2)"; fi; }
shown_log=
fail_details() {
        [ -s "${log:-}" ] && [ "$log" != "$shown_log" ] || return 0
        shown_log=$log
        sed -n 's/^{"MESSAGE":"\([^"]*\)".*/      \1/p' "$log" | tail -n 8
}

# --- images, repositories, the server ---------------------------------------------------------
setup() {
        head -c 3000 /dev/urandom >"$work/pri-1.bin" &&
                head -c 20480 /dev/urandom >"$work/classic-1.bin" &&
                head -c "$fd_bytes" /dev/urandom >"$work/fd-1.bin" &&
                head -c "$big_bytes" /dev/urandom >"$work/classic-2.bin" &&
                "$uprepo" init --repo "$img" &&
                "$uprepo" add-target --repo "$img" "$work/pri-1.bin" --hardware-id pri-hw &&
                "$uprepo" add-target --repo "$img" "$work/classic-1.bin" --hardware-id hw-classic &&
                "$uprepo" add-target --repo "$img" "$work/classic-2.bin" --hardware-id hw-classic &&
                "$uprepo" add-target --repo "$img" "$work/fd-1.bin" --hardware-id hw-fd &&
                "$uprepo" publish --repo "$img" &&
                "$uprepo" director init --repo "$dir" &&
                echo "tok-$$-isotp" >"$work/token"
}
setup >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; die "setup: repositories"; }
start_uptane_server "$img" "$dir" "$db" --timeserver-key "$work/ts.key" || die "uptane-server does not start"
echo "guest up $(uptime_s) s: server on $base"

# --- the Secondaries ---------------------------------------------------------------------------
# sec_conf NAME SERIAL HW VERIFICATION DOIP-PORT LOGICAL-ADDRESS RX-ID TX-ID ISOTP-LINES
sec_conf() {
        write_secondary_conf "$1" "$2" "$3" "$4" "$5" "$6" "" "[isotp]" "enabled = yes" "interface = vcan0" \
                "rx-id = $7" "tx-id = $8" "$9"
        printf 'factory image of %s\n' "$2" >"$work/sec-$1/slot-a"
        cp "$work/sec-$1/slot-a" "$work/factory-$1"
}
sec_conf classic ecu-classic hw-classic full 13501 0x0101 0x7E0 0x7E8 "padding = 0xCC
block-size = $classic_bs"
sec_conf fd ecu-fd hw-fd partial 13502 0x0102 0x7E1 0x7E9 "fd = yes"
# dead: DoIP only (its key is read there), no [isotp]: it never touches vcan0
write_secondary_conf dead ecu-dead hw-dead full 13503 0x0103 ""
printf 'factory image of ecu-dead\n' >"$work/sec-dead/slot-a"

for name in classic fd dead; do
        UPTANE_LOG_TARGET=stderr "$secd" --config "$work/sec-$name.conf" 2>>"$work/log/sec-$name.log" &
        sec_pid=$!
        add_pid "$sec_pid"
        [ "$name" = dead ] || wait_until 20 grep -q 'ISO-TP: serving on vcan0' "$work/log/sec-$name.log" ||
                die "uptane-secondaryd $name does not serve on vcan0"
        wait_until 10 grep -q 'listening on 127.0.0.1 TCP port' "$work/log/sec-$name.log" ||
                die "uptane-secondaryd $name does not listen on DoIP"
        case $name in classic) p=13501 la=0x0101 ;; fd) p=13502 la=0x0102 ;; dead) p=13503 la=0x0103 ;; esac
        o=$("$tester" 127.0.0.1 "$p" "$la" 22F1A0 | head -n 1)
        case $o in
        62F1A0*) python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1][6:]))' "$o" >"$work/$name.pub.json" ;;
        *) die "reading F1A0 of $name over DoIP: $o" ;;
        esac
done
# The dead Secondary: its key is known (configured, registered), the ECU does not run.
stop_pid "$sec_pid" TERM 5
ok "classic and fd serve ISO-TP on vcan0; the keys of all three read (F1A0); dead stopped"

# isotp_secondary NAME VERIFICATION TX-ID RX-ID TIMEOUT [LINE...]: the
# Primary's [secondary.NAME] for ecu-NAME (hw-NAME) on vcan0.
isotp_secondary() {
        local name=$1 verification=$2 tx=$3 rx=$4 timeout=$5
        shift 5
        printf '\n[secondary.%s]\nserial = ecu-%s\nhardware-id = hw-%s\npublic-key = %s\n' \
                "$name" "$name" "$name" "$work/$name.pub.json"
        printf 'verification = %s\ntransport = isotp\ninterface = vcan0\ntx-id = %s\nrx-id = %s\ntimeout = %s\n' \
                "$verification" "$tx" "$rx" "$timeout"
        [ $# -eq 0 ] || printf '%s\n' "$@"
}
conf=$work/uptane.conf
write_primary_conf "$conf" ""
isotp_secondary classic full 0x7E0 0x7E8 5s "padding = 0xCC" "block-size = $classic_bs" >>"$conf"
isotp_secondary fd partial 0x7E1 0x7E9 5s "fd = yes" >>"$conf"
# the same without the dead Secondary: a cycle's time without it (5.)
cp "$conf" "$work/uptane-live.conf"
dead_timeout=2
isotp_secondary dead full 0x7E2 0x7EA "${dead_timeout}s" >>"$conf"

# --- the capture -------------------------------------------------------------------------------
dumpcap -q -P -i vcan0 -w "$pcap" 2>"$work/log/dumpcap.txt" &
dumpcap_pid=$!
wait_until 10 test -s "$pcap" || die "dumpcap did not start: $(cat "$work/log/dumpcap.txt")"

# pd NAME [CONF]: uptane-primaryd --once; exit status in rc, its JSON log in
# log, its wall time in took (seconds); each time also in times
times=
pd() {
        log=$work/log/$1.log
        _t0=$(date +%s.%N)
        rc=0
        UPTANE_LOG_TARGET=json timeout 200 "$primaryd" --config "${2:-$conf}" --once >"$work/log/$1.out" 2>"$log" || rc=$?
        took=$(awk -v s="$_t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
        times="$times $1 ${took}s"
        echo "guest up $(uptime_s) s: --once $1: exit $rc, $took s"
}
# took_at_most WHAT SECONDS TOOK
took_at_most() {
        if awk -v t="$3" -v m="$2" 'BEGIN { exit !(t <= m) }'; then ok "$1: $3 s <= $2 s"; else fail "$1: $3 s > $2 s"; fi
}
# dead_contained WHAT: in log, the dead Secondary is logged with its serial, no live one
failing="-e '\"UPTANE_EVENT\":\"secondary-unreachable\"' -e '\"UPTANE_EVENT\":\"secondary-misbehaving\"'"
failing="$failing -e '\"UPTANE_EVENT\":\"secondary-refused\"'"
dead_contained() {
        check "$1: the dead Secondary is logged with its serial (secondary-unreachable)" has secondary-unreachable ecu-dead
        check "$1: no live Secondary logged as failing" sh -c "! grep -F $failing '$log' | grep -q -e ecu-classic -e ecu-fd"
}
has() { # has EVENT SERIAL
        grep -F "\"UPTANE_EVENT\":\"$1\"" "$log" | grep -qF "\"UPTANE_ECU_SERIAL\":\"$2\""
}
assign() {
        "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" "$1" "$2" >"$work/assign.log" 2>&1 ||
                { sed 's/^/    /' "$work/assign.log"; fail "director assign $1 $2"; }
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
active() {
        python3 -c '
import json, sys
s = json.load(open(sys.argv[1] + "/state.json"))
print(sys.argv[1] + ("/slot-b" if s.get("active_slot", 0) == 1 else "/slot-a"))' "$work/sec-$1"
}
slot_is() { if same "$(active "$2")" "$3"; then ok "$1"; else fail "$1"; fi; }

# 1. registration and reports
pd first
took_first=$took
check_rc "first --once: exit 75 (the dead Secondary left out; the others served)" 75
dead_contained "first --once"
check "first --once: the inventory has the Primary and the three ECUs (the dead one registered too)" test \
        "$(sql "SELECT serial || ':' || hardware_id FROM ecus WHERE vin = '$vin' ORDER BY serial" | tr '\n' ' ')" = \
        "ecu-classic:hw-classic ecu-dead:hw-dead ecu-fd:hw-fd pri:pri-hw "
check "first --once: the manifest has the signed reports of pri, ecu-classic, ecu-fd (not ecu-dead)" python3 -c '
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(body,) = db.execute("SELECT body FROM manifests WHERE vin = ? ORDER BY id DESC LIMIT 1", (sys.argv[2],)).fetchone()
reps = json.loads(body)["signed"]["ecu_version_manifests"]
assert sorted(reps) == ["ecu-classic", "ecu-fd", "pri"], sorted(reps)' "$db" "$vin"
check "first --once: the Director took the Secondaries' reports (factory)" \
        test "$(installed_of ecu-classic) $(installed_of ecu-fd)" = "factory factory"

# 2. an update for the three ECUs in one --once
assign pri pri-1.bin
assign ecu-classic classic-1.bin
assign ecu-fd fd-1.bin
pd update
took_update=$took
check_rc "update: --once exits 75 (the live ones updated; the dead one left out)" 75
dead_contained "update"
check "update: the Primary installed pri-1.bin" same "$target" "$work/pri-1.bin"
slot_is "update: ecu-classic's active slot holds classic-1.bin (20 KiB)" classic "$work/classic-1.bin"
slot_is "update: ecu-fd's active slot holds fd-1.bin ($((fd_bytes / 1024)) KiB)" fd "$work/fd-1.bin"
check "update: ecu-classic's previous slot kept its factory image" same "$work/sec-classic/slot-a" "$work/factory-classic"
check "update: ecu-fd's previous slot kept its factory image" same "$work/sec-fd/slot-a" "$work/factory-fd"
check "update: installed events for ecu-classic and ecu-fd" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-installed\"' '$log' | grep -qF ecu-classic && grep -F '\"UPTANE_EVENT\":\"secondary-installed\"' '$log' | grep -qF ecu-fd"

# 3. the reports
pd after
took_after=$took
check_rc "after the update: --once exits 75 (the dead one left out)" 75
dead_contained "after the update"
check "after the update: the Director records installed for pri, ecu-classic, ecu-fd" test \
        "$(result_of pri pri-1.bin) $(result_of ecu-classic classic-1.bin) $(result_of ecu-fd fd-1.bin)" = \
        "installed installed installed"
check "after the update: the inventory shows the new images" test \
        "$(installed_of pri) $(installed_of ecu-classic) $(installed_of ecu-fd)" = "pri-1.bin classic-1.bin fd-1.bin"
check "after the update: nothing more to install (no update-available)" sh -c \
        "! grep -q '\"UPTANE_EVENT\":\"update-available\"' '$log'"

# 4. optional: a 200 KiB image for the classic CAN Secondary too
classic_size=20480
if [ "${PRIMARYD_ISOTP_BIG:-0}" = 1 ]; then
        classic_size=$big_bytes
        assign ecu-classic classic-2.bin
        pd update-classic
        check_rc "200 KiB to classic: --once exits 75 (the dead one left out)" 75
        slot_is "200 KiB to classic: ecu-classic's active slot holds classic-2.bin" classic "$work/classic-2.bin"
        pd after-classic
        check "200 KiB to classic: the Director records installed" test "$(result_of ecu-classic classic-2.bin)" = installed
fi
# 5. the reports-only cycle of 3 again, without the dead Secondary
pd after-live "$work/uptane-live.conf"
check_rc "without the dead Secondary: --once exits 0" 0
check "without the dead Secondary: no Secondary logged as failing" sh -c "! grep -qF $failing '$log'"
echo "--once times:$times (the dead Secondary's timeout: $dead_timeout s)"
bound=$(awk -v l="$took" -v t="$dead_timeout" 'BEGIN { print l + 5 * t }')
took_at_most "the reports cycle with the dead Secondary: at most 5 of its timeouts over the same without it" \
        "$bound" "$took_after"
took_at_most "the first cycle (registration, reports) with the dead Secondary: as much at most" "$bound" "$took_first"
# (the update's own transfers take some 4 s here, far more on a loaded runner: a sanity bound)
took_at_most "the update cycle with the dead Secondary: bounded" 150 "$took_update"
check "no temporary failure or attack logged in any cycle" sh -c \
        "! cat '$work'/log/*.log | grep -q -e '\"UPTANE_EVENT\":\"temporary-failure\"' -e '\"UPTANE_EVENT\":\"attack-detected\"'"

sleep 0.3
kill -INT "$dumpcap_pid"
wait "$dumpcap_pid"
dumpcap_pid=
echo "guest up $(uptime_s) s: captured"

# --- the capture through tshark ------------------------------------------------------------------
ids=$(printf '%d,' 0x7E0 0x7E8 0x7E1 0x7E9 0x7E2 0x7EA)
decode=(-o "iso15765.can.ids:${ids%,}" -d iso15765.subdissector,uds)
tshark -r "$pcap" "${decode[@]}" -T fields -E separator=/t -e frame.number -e can.id -e iso15765.message_type \
        -e _ws.malformed -e _ws.expert.severity -e uds.sid -e uds.reply \
        >"$work/frames.txt" 2>"$work/tshark-stderr.txt"
echo "guest up $(uptime_s) s: decoded"
# the UDS layer's fields come one per reassembled message: lines "SID REPLY"
awk -F'\t' '
function severity_max(s,    k, a, i, m) { k = split(s, a, ","); m = 0; for (i = 1; i <= k; i++) if (a[i] + 0 > m) m = a[i] + 0; return m }
{
        total++
        if ($3 == "") notisotp++
        if ($4 ~ /frag_id_high/) { limit++; next }
        if ($4 != "" || severity_max($5) >= 6291456) { bad++; if (bad <= 10) print "malformed", $1, $4 > "/dev/stderr" }
        k = split($6, s, ","); split($7, r, ",")
        for (i = 1; i <= k; i++) print "sid", s[i], r[i]
}
END { print "count total", total + 0; print "count bad", bad + 0; print "count limit", limit + 0; print "count notisotp", notisotp + 0 }' \
        "$work/frames.txt" >"$work/analysis.txt" 2>"$work/malformed.txt"
count() { awk -v k="$1" '$1 == "count" && $2 == k { print $3 }' "$work/analysis.txt"; }
echo "capture: $(count total) CAN frames; $(count bad) malformed or warning; $(count notisotp) not ISO-TP;" \
     "$(count limit) past tshark's reassembly limit (16*255 consecutive frames per message)"
# tshark's stderr: its root notice and its reassembly limit (counted above) only
check "capture: tshark says nothing else on stderr" sh -c \
        "! grep -v -e 'Running as user' -e 'frag_id_high' '$work/tshark-stderr.txt' | grep -q ."
check "capture: at least 1000 CAN frames" test "$(count total)" -ge 1000
if [ "$(count bad)" -eq 0 ]; then ok "capture: zero malformed or warning frames"; else
        sed 's/^/    /' "$work/malformed.txt"; fail "capture: zero malformed or warning frames"; fi
check "capture: every frame decodes as ISO-TP" test "$(count notisotp)" -eq 0
for sid in 0x22 0x10 0x2e 0x38 0x36 0x37 0x31 0x11; do
        nq=$(awk -v s="$sid" '$1 == "sid" && $2 == s && $3 == "0x00"' "$work/analysis.txt" | wc -l)
        nr=$(awk -v s="$sid" '$1 == "sid" && $2 == s && $3 == "0x01"' "$work/analysis.txt" | wc -l)
        check "capture: UDS $sid requests ($nq) and responses ($nr) decoded" test "$nq" -ge 1 -a "$nr" -ge 1
done
# The dead Secondary: asked in each --once with it (its first read, 22 F18C), a
# few times at most, never answered.
n_dead_once=3
[ "${PRIMARYD_ISOTP_BIG:-0}" = 1 ] && n_dead_once=5
dead_to=$(awk -F'\t' 'tolower($2) ~ /^0x0*7e2$/ || $2 == 2018' "$work/frames.txt" | wc -l)
dead_from=$(awk -F'\t' 'tolower($2) ~ /^0x0*7ea$/ || $2 == 2026' "$work/frames.txt" | wc -l)
echo "capture: $dead_to CAN frames to the dead Secondary (0x7E2) in $n_dead_once --once, $dead_from from it (0x7EA)"
check "capture: the dead Secondary asked over ISO-TP in each --once, at most 3 frames each" \
        test "$dead_to" -ge "$n_dead_once" -a "$dead_to" -le "$((3 * n_dead_once))"
check "capture: nothing from the dead Secondary's id" test "$dead_from" -eq 0

# --- measured: the CAN frames that carried each image --------------------------------------
# From the raw SocketCAN frames (dumpcap's pcapng, read by tshark as hex):
# ISO-TP messages rebuilt per id; the image's transfer is the 38 ... 37 run
# whose TransferData blocks add up to the image's size. Its frames: the blocks'
# first and consecutive frames and the Secondary's flow control frames.
tshark -r "$pcap" -o "iso15765.can.ids:" -T fields -E separator=/t -e can.id -e can.len -e data.data \
        >"$work/raw.txt" 2>/dev/null
python3 - "$work/raw.txt" "$classic_size" "$fd_bytes" "$classic_bs" <<'EOF' >"$work/measure.txt" || fail "measuring the image transfers"
import sys
pairs = {0x7E0: (0x7E8, "classic", 8, int(sys.argv[4])), 0x7E1: (0x7E9, "fd", 64, 0)}
image_size = {"classic": int(sys.argv[2]), "fd": int(sys.argv[3])}
resp_ids = {v[0]: k for k, v in pairs.items()}
cur = {}          # request id -> [data, want, frames, fcs]
runs = {}         # request id -> list of runs; a run: list of (len, frames, fcs)
run = {}
def minimum(n, dl, bs):
    esc = 1 if dl > 8 else 0
    if n <= dl - 1 - esc:
        return 1, 0
    ff = dl - (6 if n > 4095 else 2)
    cf = (n - ff + dl - 2) // (dl - 1)
    return 1 + cf, (1 if bs == 0 else (cf + bs - 1) // bs)
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3 or not f[0]:
        continue
    cid = int(f[0], 16) if f[0].startswith("0x") else int(f[0])
    data = bytes.fromhex(f[2].replace(":", ""))
    if cid in resp_ids:
        req = resp_ids[cid]
        if data and data[0] >> 4 == 3 and req in cur:
            cur[req][3] += 1
        continue
    if cid not in pairs:
        continue
    t = data[0] >> 4
    if t == 0:
        n = data[0] & 15
        payload = data[1:1 + n] if n else data[2:2 + data[1]]
        msg = (payload, 1, 0)
    elif t == 1:
        n = (data[0] & 15) << 8 | data[1]
        off = 2
        if n == 0:
            n = int.from_bytes(data[2:6], "big"); off = 6
        cur[cid] = [bytearray(data[off:]), n, 1, 0]
        continue
    elif t == 2:
        c = cur[cid]
        c[0] += data[1:]
        c[2] += 1
        if len(c[0]) < c[1]:
            continue
        msg = (bytes(c[0][:c[1]]), c[2], c[3])
        del cur[cid]
    else:
        continue
    payload, frames, fcs = msg
    if payload[:1] == b"\x38":
        run[cid] = []
    elif payload[:1] == b"\x36" and cid in run:
        run[cid].append((len(payload), frames, fcs))
    elif payload[:1] == b"\x37" and cid in run:
        runs.setdefault(cid, []).append(run.pop(cid))
for cid, (rid, name, dl, bs) in pairs.items():
    for r in runs.get(cid, []):
        if sum(n - 2 for n, _, _ in r) != image_size[name]:
            continue
        frames = sum(x for _, x, _ in r); fcs = sum(y for _, _, y in r)
        mf = mfc = 0
        for n, _, _ in r:
            a, b = minimum(n, dl, bs); mf += a; mfc += b
        sizes = ",".join(str(n) for n, _, _ in r)
        print("%s %d %d %d %d %d %s %d" % (name, len(r), frames, fcs, mf, mfc, sizes, image_size[name]))
EOF
for name in classic fd; do
        read -r _ nblocks frames fcs minf minfc sizes isize < <(grep "^$name " "$work/measure.txt")
        if [ -n "${nblocks:-}" ]; then
                case $name in classic) what="classic CAN (8 bytes, block size $classic_bs)" ;; *) what="CAN FD (64 bytes, block size 0)" ;; esac
                echo "measured: $((isize / 1024)) KiB to ecu-$name over $what: $nblocks TransferData requests ($sizes bytes)," \
                        "$frames first+consecutive frames (minimum $minf) + $fcs flow control frames (minimum $minfc)" \
                        "= $((frames + fcs)) CAN frames, the minimum $((minf + minfc))"
                check "measured: ecu-$name's image took the minimum number of CAN frames" test "$((frames + fcs))" -eq "$((minf + minfc))"
        else
                fail "measured: the image transfer to ecu-$name found in the capture"
        fi
        unset nblocks
done
cp "$pcap" "$work/frames.txt" "$work/measure.txt" "$work/analysis.txt" "$work/tshark-stderr.txt" "$out/" 2>/dev/null
echo "guest up $(uptime_s) s"
summary
