#!/bin/sh
# SPDX-License-Identifier: MIT
#
# libvnet's DoIP on the wire, judged by an independent decoder: in a private
# network namespace (only its own lo), tshark captures while
# tests/tools/doip-exchange runs libvnet's entity and tester through
# vehicle identification, entity status and power mode (UDP), routing
# activation, UDS requests of all sizes (a download in 13 blocks, one message
# written 32 bytes at a time over many TCP segments), responsePending, an
# alive check, a diagnostic NACK (unknown target) and a generic NACK (too
# large). tshark must decode all of it with no malformed or warning frame,
# and the decoded fields (doip.type, addresses, response and ACK/NACK codes,
# uds.sid) must show each step.
#
#   tests/integration/doip-wire.sh      (UPTANE_BUILD_DIR, default <repo>/build)
#
# Skips (77) without tshark or ip, or when no network namespace can be made
# (unshare -n as root, unshare -rn otherwise). KEEP_WORK=1 keeps the capture
# ($work/doip.pcapng). Prints "ok - ..." / "not ok - ..." and last
# "doip-wire: N passed, N failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"
exchange=$build/tests/tools/doip-exchange
# Datagrams to this port tell when tshark sees the link (nothing listens).
probe_port=13399

test_init doip-wire

if [ "${DOIP_WIRE_NETNS:-0}" != 1 ]; then
        require_bins "$exchange"
        PATH=$PATH:/usr/sbin:/sbin
        export PATH
        require_tools tshark ip unshare
        if [ "$(id -u)" -eq 0 ]; then
                netns="unshare -n"
        else
                netns="unshare -rn"
        fi
        if ! $netns true 2>/dev/null; then
                echo "doip-wire: skipped: no private network namespace ($netns failed)" >&2
                exit 77
        fi
        DOIP_WIRE_NETNS=1
        export DOIP_WIRE_NETNS UPTANE_BUILD_DIR="$build"
        exec $netns sh "$0"
fi

# In the namespace from here on.
if ! ip link set lo up 2>/dev/null; then
        echo "doip-wire: skipped: cannot bring up lo in the namespace" >&2
        exit 77
fi
work_init uptane-doip-wire
cap=$work/doip.pcapng
die_logs="tshark.err exchange.out"
fail_details() { show_files 800 "$work/exchange.out"; }

tshark -i lo -f "port 13400 or udp port $probe_port" -w "$cap" -P -l >"$work/tshark.out" 2>"$work/tshark.err" &
tshark_pid=$!
add_pid "$tshark_pid"

# probe_seen N: sends a probe; true once tshark printed more than N of them.
probe_seen() {
        "$exchange" --probe "$probe_port" >/dev/null 2>&1
        sleep 0.1
        [ "$(grep -c "$probe_port" "$work/tshark.out")" -gt "$1" ]
}
wait_until 20 probe_seen 0 || die "tshark does not capture on lo"

"$exchange" --address 127.0.0.1 --port 13400 >"$work/exchange.out" 2>&1
rc=$?
while IFS= read -r line; do
        case $line in
        "ok - "*) ok "exchange: ${line#ok - }" ;;
        "not ok - "*) fail "exchange: ${line#not ok - }" ;;
        esac
done <"$work/exchange.out"
check "doip-exchange exits 0" test "$rc" -eq 0

# Everything sent before the last probe is in the capture once it is.
probes=$(grep -c "$probe_port" "$work/tshark.out")
wait_until 10 probe_seen "$probes" || fail "the last probe was captured"
stop_pid "$tshark_pid" INT 10
check "tshark wrote the capture" test -s "$cap"

# expect NAME FILTER OP N: the number of frames FILTER matches is OP (-eq,
# -ge) N. Queued: one tshark pass counts them all (io,stat; no commas in
# filters).
checks=$work/checks
: >"$checks"
expect() {
        printf '%s\t%s\t%s\t%s\n' "$1" "$3" "$4" "$2" >>"$checks"
}

fail_details() { :; }
expect "tshark decodes DoIP" 'doip' -ge 80
expect "no malformed or warning frame" '_ws.malformed || _ws.expert.severity >= "Warning"' -eq 0

# Every payload type of the exchange.
for t in 0x0000 0x0001 0x0003 0x0004 0x0005 0x0006 0x0007 0x0008 0x4001 0x4002 0x4003 0x4004 0x8001 0x8002 0x8003; do
        expect "doip.type $t on the wire" "doip.type == $t" -ge 1
done

# UDP: identification with version 0xFF, the announcement's fields.
expect "vehicle identification request, version 0xFF" 'doip.type == 0x0001 && doip.version == 0xff' -eq 1
expect "vehicle identification request with VIN" 'doip.type == 0x0003 && doip.vin == "UPTANE0SECONDARY1"' -eq 1
expect "announcements: entity 0x1001, its VIN" \
        'doip.type == 0x0004 && doip.logical_address == 0x1001 && doip.vin == "UPTANE0SECONDARY1"' -eq 2
expect "entity status: max data size" 'doip.type == 0x4002 && doip.max_data_size == 16396' -eq 1
expect "power mode: ready" 'doip.type == 0x4004 && doip.power_mode == 0x01' -eq 1

# TCP: routing activation of both testers.
expect "routing activation request from 0x0e80" 'doip.type == 0x0005 && doip.source_address == 0x0e80' -eq 1
expect "routing activated (0x10) twice" 'doip.type == 0x0006 && doip.response_code == 0x10 && doip.source_address == 0x1001' -eq 2

# Diagnostic messages: the tester's 20 requests, each ACKed, each answered.
expect "20 requests 0x0e80 -> 0x1001" 'doip.type == 0x8001 && doip.source_address == 0x0e80 && doip.target_address == 0x1001' -eq 20
expect "20 ACKs (0x00) 0x1001 -> 0x0e80" 'doip.type == 0x8002 && doip.diag_ack_code == 0x00 && doip.target_address == 0x0e80' -eq 20
expect "responses 0x1001 -> 0x0e80 (20 and 4 pending)" 'doip.type == 0x8001 && doip.source_address == 0x1001 && doip.target_address == 0x0e80' -ge 23
expect "unknown target: NACK 0x03 from 0x2222" 'doip.type == 0x8003 && doip.diag_nack_code == 0x03 && doip.source_address == 0x2222' -eq 1
expect "too large: generic NACK 0x02" 'doip.type == 0x0000 && doip.nack_code == 0x02' -eq 1
expect "alive check answered by 0x0e80" 'doip.type == 0x0008 && doip.source_address == 0x0e80' -eq 1

# UDS: each service asked and answered.
for sid in 0x10 0x11 0x22 0x2e 0x31 0x34 0x36 0x37 0x3e; do
        expect "uds.sid $sid request" "uds.sid == $sid && uds.reply == 0" -ge 1
        expect "uds.sid $sid response" "uds.sid == $sid && uds.reply == 1" -ge 1
done
expect "responsePending (0x78) for 0x31" 'uds.err.sid == 0x31 && uds.err.code == 0x78' -ge 3
expect "ReadDataByIdentifier F190" 'uds.rdbi.data_identifier == 0xf190' -ge 2
expect "RequestDownload: block length 16002" 'uds.rd.max_number_of_block_length == 16002' -eq 1
expect "TransferData blocks 1 to 13" 'uds.td.block_sequence_counter == 13 && uds.reply == 0' -eq 1
expect "a message over 10 or more TCP segments" 'uds.sid == 0x2e && uds.reply == 0 && tcp.segment.count >= 10' -eq 1

tshark -r "$cap" -q -z "io,stat,0,$(cut -f4 "$checks" | paste -sd, -)" >"$work/iostat" 2>"$work/iostat.err"
awk -F'|' '/<>/ { for (i = 3; i < NF; i += 2) printf "%d\n", $i }' "$work/iostat" >"$work/counts"
if [ "$(wc -l <"$work/counts")" -ne "$(wc -l <"$checks")" ]; then
        fail_details() { show_files 800 "$work/iostat.err" "$work/iostat"; }
        fail "tshark counts every filter"
        fail_details() { :; }
fi
tab=$(printf '\t')
paste "$work/counts" "$checks" >"$work/results"
while IFS=$tab read -r n name op want filter; do
        if [ -n "$n" ] && [ "$n" "$op" "$want" ]; then
                ok "$name"
        else
                fail "$name ('$filter': ${n:-no} frames, expected $op $want)"
        fi
done <"$work/results"

summary
