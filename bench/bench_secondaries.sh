#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# uptane-primaryd delivering 20 MiB images to uptane-secondaryd over DoIP on
# 127.0.0.1 (issue 5, Performance), with the real uptane-server, repositories
# and three Secondaries set up as tests/integration/primaryd-secondaries.sh
# does:
#
#   (a) a SIZE_MIB (default 20) MiB image to one Secondary: wall time from the
#       start of the image's transfer (RequestFileTransfer) to the install's
#       answer (the Secondary verified, installed and was reset), and the TCP
#       connections the Primary opened to that Secondary during the cycle
#       (SYNs, counted by tshark on lo when it can capture there; "?"
#       otherwise). Next to `curl -s -o FILE` of the same image from
#       uptane-server in the same run. The production C++ client needs
#       6.2 s and over 20,000 TCP connections for this; the goal is at least
#       20x faster, with one connection.
#   (b) three Secondaries, each getting its own SIZE_MIB MiB image in one
#       cycle: from the first transfer's start to the last install's answer,
#       next to what one takes (a) and three times that, which serving them
#       one after the other would take.
#
# The times come from the Primary's JSON log: each line is stamped when read
# from the pipe; "secondary-image-sent" says how long the transfer took,
# "secondary-installed" comes with the install's answer. ROUNDS (default 3)
# rounds of each, the best printed with every round. Every process shares
# the machine's cores: the Secondaries verify and write their slots while
# the Primary sends (on 2 cores, three Secondaries cannot all run at once).
#
#   bench/bench_secondaries.sh [BUILD_DIR]      (default <repo>/build)
#
# Timings are not tests: the exit status is 0 unless the set-up fails.
set -u

ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-20}

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
use_build "${1:-$top/build}"
secd=$build/src/secondaryd/uptane-secondaryd
tester=$build/tests/tools/uds-tester

test_init bench_secondaries
build_if_missing "$server" "$uprepo" "$primaryd" "$secd" "$tester"
require_tools python3 xxd curl
work_init uptane-bench-sec
die_logs="server.log sec-s1.log sec-s2.log sec-s3.log"

vin=VIN-BENCH-SEC
img=$work/img dir=$work/dir state=$work/state cache=$work/cache target=$work/installed/firmware.bin
secs="s1 s2 s3"
# Images: per round and Secondary, each a new update (round r gives sN image r-N).
n_images=$((ROUNDS * 2))

setup() {
        echo "bench-$$-token" >"$work/token"
        mkdir -p "$work/installed" "$work/out"
        head -c 4096 /dev/urandom >"$work/pri.bin"
        "$uprepo" init --repo "$img" &&
                "$uprepo" add-target --repo "$img" "$work/pri.bin" --hardware-id pri-hw || return 1
        for s in $secs; do
                for i in $(seq 1 "$n_images"); do
                        head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/$s-$i.bin" &&
                                "$uprepo" add-target --repo "$img" "$work/$s-$i.bin" --hardware-id "hw-$s" || return 1
                done
        done
        "$uprepo" publish --repo "$img" && "$uprepo" director init --repo "$dir"
}
setup >"$work/setup.log" 2>&1 || { tail -5 "$work/setup.log" >&2; die "cannot make the repositories"; }
start_uptane_server "$img" "$dir" "$work/inv.sqlite" --timeserver-key "$work/ts.key" ||
        die "uptane-server did not start"

# --- The Secondaries --------------------------------------------------------------

declare -A port laddr
n=1
for s in $secs; do
        port[$s]=$(free_port)
        laddr[$s]=$(printf '0x01%02X' "$n")
        n=$((n + 1))
        write_secondary_conf "$s" "ecu-$s" "hw-$s" full "${port[$s]}" "${laddr[$s]}"
        printf 'factory image of %s\n' "$s" >"$work/sec-$s/slot-a"
        UPTANE_LOG_TARGET=stderr "$secd" --config "$work/sec-$s.conf" 2>>"$work/sec-$s.log" &
        add_pid "$!"
done
listening() { grep -q 'listening on 127.0.0.1 TCP port' "$work/sec-$1.log"; }
for s in $secs; do
        wait_until 10 listening "$s" || die "uptane-secondaryd $s does not start"
        out=$("$tester" 127.0.0.1 "${port[$s]}" "${laddr[$s]}" 22F1A0 | head -n 1)
        case $out in
        62F1A0*) printf '%s' "${out#62F1A0}" | xxd -r -p >"$work/$s.pub.json" ;;
        *) die "reading F1A0 of $s: $out" ;;
        esac
done

conf=$work/uptane.conf
write_primary_conf "$conf"
for s in $secs; do
        cat >>"$conf" <<EOF

[secondary.$s]
serial = ecu-$s
hardware-id = hw-$s
public-key = $work/$s.pub.json
verification = full
transport = doip
address = 127.0.0.1
port = ${port[$s]}
logical-address = ${laddr[$s]}
timeout = 10s
EOF
done

stamp() {
        local line
        while IFS= read -r line; do
                printf '%s %s\n' "$EPOCHREALTIME" "$line"
        done
}

# once NAME: uptane-primaryd --once, its stamped JSON log in $work/NAME.log
once() {
        { UPTANE_LOG_TARGET=json timeout 600 "$primaryd" --config "$conf" --once 2>&1 >/dev/null; } |
                stamp >"$work/$1.log"
}
once first
grep -q '"UPTANE_EVENT":"registered"' "$work/first.log" || { tail -5 "$work/first.log" >&2; die "no registration"; }

assign() {
        "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" "$1" "$2" >>"$work/setup.log" 2>&1 ||
                die "cannot assign $2 to $1"
}

# window LOG SERIAL...: "START END" of the deliveries to those Secondaries:
# the first transfer's start (image-sent's stamp less its seconds) and the
# last install's answer; empty when one is missing
window() {
        python3 - "$@" <<'EOF'
import json, re, sys
log, serials = sys.argv[1], set(sys.argv[2:])
start, end, done = None, None, set()
for line in open(log):
    t, _, j = line.partition(" ")
    try:
        e = json.loads(j)
    except ValueError:
        continue
    s, ev = e.get("UPTANE_ECU_SERIAL"), e.get("UPTANE_EVENT")
    if s not in serials:
        continue
    if ev == "secondary-image-sent":
        m = re.search(r"in ([0-9.]+) s\)", e.get("MESSAGE", ""))
        t0 = float(t) - float(m.group(1)) if m else float(t)
        start = t0 if start is None else min(start, t0)
    elif ev == "secondary-installed":
        end = float(t) if end is None else max(end, float(t))
        done.add(s)
if start is not None and end is not None and done == serials:
    print("%.6f %.6f" % (start, end))
EOF
}

# The capture of the Primary's connections (SYNs to the Secondaries' ports).
capture_ok=0
if command -v tshark >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        capture_ok=1
fi
start_capture() {
        tshark -i lo -f "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0" -w "$1" -q \
                >/dev/null 2>"$work/tshark.err" &
        tshark_pid=$!
        add_pid "$tshark_pid"
        sleep 2 # dumpcap up
}
stop_capture() {
        sleep 1
        kill -INT "$tshark_pid" 2>/dev/null
        wait "$tshark_pid" 2>/dev/null
        drop_pid "$tshark_pid"
}
# syns FILE PORT START END: "IN ALL": SYNs to PORT in FILE between START and END, and in all
syns() {
        tshark -r "$1" -Y "tcp.dstport == $2" -T fields -e frame.time_epoch 2>/dev/null |
                awk -v s="$3" -v e="$4" '$1 >= s && $1 <= e { n++ } END { printf "%d %d\n", n, NR }'
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
# url_of FILE: its Image repository URL (consistent snapshots: targets/SHA256.NAME)
url_of() { echo "$base/image/targets/$(sha "$1").$(basename "$1")"; }

: >"$work/times"
i=1
r=0
while [ "$r" -lt "$ROUNDS" ]; do
        # (a) one Secondary; curl of the same image first
        sync
        s0=$EPOCHREALTIME
        curl -sf -o "$work/out/curl" "$(url_of "$work/s1-$i.bin")" || die "curl failed"
        s1=$EPOCHREALTIME
        awk -v s="$s0" -v e="$s1" 'BEGIN { printf "curl %.3f\n", e - s }' >>"$work/times"
        rm -f "$work/out/curl"
        assign ecu-s1 "s1-$i.bin"
        [ "$capture_ok" = 1 ] && start_capture "$work/one-$r.pcapng"
        sync
        once "one-$r"
        [ "$capture_ok" = 1 ] && stop_capture
        w=$(window "$work/one-$r.log" ecu-s1)
        [ -n "$w" ] || { grep -e secondary -e error "$work/one-$r.log" | tail -5 >&2; die "round $r: s1-$i.bin not installed"; }
        echo "$w" | awk '{ printf "one %.3f\n", $2 - $1 }' >>"$work/times"
        sed -n 's/.*"MESSAGE":"Secondary ecu-s1: sent [^"]* in \([0-9.]*\) s)".*/transfer \1/p' "$work/one-$r.log" \
                >>"$work/times"
        if [ "$capture_ok" = 1 ]; then
                # shellcheck disable=SC2086
                syns "$work/one-$r.pcapng" "${port[s1]}" $w | awk '{ printf "conns %d\ncycleconns %d\n", $1, $2 }' \
                        >>"$work/times"
        fi
        i=$((i + 1))

        # (b) three Secondaries at once
        for s in $secs; do assign "ecu-$s" "$s-$i.bin"; done
        sync
        once "three-$r"
        w=$(window "$work/three-$r.log" ecu-s1 ecu-s2 ecu-s3)
        [ -n "$w" ] || { grep -e secondary -e error "$work/three-$r.log" | tail -5 >&2; die "round $r: not all installed"; }
        echo "$w" | awk '{ printf "three %.3f\n", $2 - $1 }' >>"$work/times"
        i=$((i + 1))
        r=$((r + 1))
done
for s in $secs; do
        want=$work/$s-$((i - 1)).bin
        python3 -c '
import json, sys
s = json.load(open(sys.argv[1] + "/state.json"))
print(sys.argv[1] + ("/slot-b" if s.get("active_slot", 0) == 1 else "/slot-a"))' "$work/sec-$s" >"$work/active"
        cmp -s "$(cat "$work/active")" "$want" || die "$s does not run $(basename "$want")"
done

awk -v rounds="$ROUNDS" -v mib="$SIZE_MIB" -v cap="$capture_ok" '
{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2; all[$1] = all[$1] sprintf($1 ~ /conns/ ? " %d" : " %.3f", $2) }
END {
        printf "%d MiB images over DoIP on 127.0.0.1 (uptane-primaryd -> uptane-secondaryd, full verification), best of %d rounds\n", mib, rounds
        printf "  %-52s %8.3f s   (rounds:%s)\n", "curl -s -o FILE from uptane-server, same image", best["curl"], all["curl"]
        printf "  %-52s %8.3f s   (rounds:%s)\n", "(a) one Secondary: image transfer (38/36.../37)", best["transfer"], all["transfer"]
        printf "  %-52s %8.3f s   (rounds:%s)\n", "(a) one Secondary: transfer start -> install answer", best["one"], all["one"]
        if (cap == 1) {
                printf "  %-52s %8d     (rounds:%s)\n", "(a) new TCP connections, transfer start -> answer", best["conns"], all["conns"]
                printf "  %-52s %8d     (rounds:%s)\n", "(a) TCP connections to it in the whole cycle", best["cycleconns"], all["cycleconns"]
                printf "      (one carries the reports, the time, the metadata, the image and the install; after\n"
                printf "       the ECUReset the Secondary restarts and one more reads its report for the manifest)\n"
        } else
                printf "  %-52s %8s\n", "(a) TCP connections (no tshark or not root)", "?"
        printf "  %-52s %8.3f s   (rounds:%s)\n", "(b) 3 Secondaries at once: first start -> last answer", best["three"], all["three"]
        printf "  %-52s %8.3f s\n", "    one after the other would take (3 x (a))", 3 * best["one"]
        printf "ratio production client (6.2 s) / (a)     %6.1fx  (goal >= 20x)\n", 6.2 / best["one"]
        printf "ratio (a) / curl -o                       %6.2fx  (curl: HTTP only, no verification, no install)\n", best["one"] / best["curl"]
        printf "ratio (b) / (a)                           %6.2fx  (1.00: fully concurrent; 3.00: one after the other)\n", best["three"] / best["one"]
}' "$work/times"
