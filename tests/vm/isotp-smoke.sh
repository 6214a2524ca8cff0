#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# isotp-smoke.sh BUILD_DIR [OUT_DIR]
#
# Runs in the guest of tests/vm/run-in-vm.sh (real kernel CAN, vcan0 with
# MTU 72): libvnet's ISO-TP link (tests/tools/isotp-echo) echoes messages of
# 1 byte up to the kernel's limit of 66000 bytes on classic CAN and CAN FD,
# 11- and 29-bit ids, with and without padding, several block sizes and
# STmin values; a message over the limit must fail with -EFBIG. dumpcap
# records vcan0; tshark must decode every frame as ISO-TP (reassembled, UDS
# on top) with zero malformed or warning frames; the messages rebuilt from
# the frames must be the ones sent, and the number of CAN frames of each
# scenario the protocol's minimum.
# The capture and tshark's output stay in OUT_DIR (default BUILD_DIR/vm-isotp).
set -euo pipefail

build=$(cd "${1:?usage: isotp-smoke.sh BUILD_DIR [OUT_DIR]}" && pwd)
out=${2:-$build/vm-isotp}
echo_bin=$build/tests/tools/isotp-echo
pcap=/tmp/isotp.pcap            # tmpfs while capturing: no 9p writes during the transfers
failures=0
passes=0

[ -x "$echo_bin" ] || { echo "no $echo_bin: build the project first"; exit 1; }
[ -d /sys/class/net/vcan0 ] || { echo "no vcan0: run this in tests/vm/run-in-vm.sh"; exit 1; }
[ "$(cat /sys/class/net/vcan0/mtu)" = 72 ] || { echo "vcan0's MTU is not 72: no CAN FD"; exit 1; }
command -v dumpcap >/dev/null && command -v tshark >/dev/null || { echo "SKIP: no dumpcap/tshark (apt-get install tshark)"; exit 77; }
mkdir -p "$out"
rm -f "$pcap" "$out"/*.txt "$out"/*.pcap

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }
# seconds since the guest booted, for the log
uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "guest up $(uptime_s) s"

# ---- capture ------------------------------------------------------------------------------
dumpcap -q -P -i vcan0 -w "$pcap" 2> "$out/dumpcap.txt" &
dumpcap_pid=$!
for _ in $(seq 100); do [ -s "$pcap" ] && break; sleep 0.1; done      # the pcap header: capturing
[ -s "$pcap" ] || { cat "$out/dumpcap.txt"; echo "dumpcap did not start"; exit 1; }
echo "guest up $(uptime_s) s: capturing"

# ---- the frames a message needs: the protocol's minimum ----------------------------------------
# consecutive_frames SIZE TX_DL sets cf: 0 for a single frame; else after a
# first frame of TX_DL - 2 data bytes (TX_DL - 6 above 4095 bytes), TX_DL - 1
# each. CAN FD (TX_DL > 8) single frames carry TX_DL - 2 bytes, classic ones 7.
consecutive_frames() {
        local n=$1 dl=$2 esc=0 ff
        [ "$dl" -gt 8 ] && esc=1
        if [ "$n" -le $((dl - 1 - esc)) ]; then cf=0; return; fi
        ff=$((dl - (n > 4095 ? 6 : 2)))
        cf=$(((n - ff + dl - 2) / (dl - 1)))
}

# frames SIZE TX_DL BS sets nframes: the single frame, or the first frame,
# the consecutive frames and the receiver's flow control frames (one per BS
# consecutive frames; just one with BS 0).
frames() {
        consecutive_frames "$1" "$2"
        if [ "$cf" -eq 0 ]; then nframes=1
        elif [ "$3" -eq 0 ]; then nframes=$((2 + cf))
        else nframes=$((1 + cf + (cf + $3 - 1) / $3))
        fi
}

# ---- scenarios ------------------------------------------------------------------------------
# scenario NAME TESTER_ID ECU_ID "LINK OPTIONS" TX_DL BS SIZES
declare -A expected_frames=() scenario_ids=() scenario_sizes=()
scenarios=()
messages_sent=0
too_long_for_tshark=0
scenario() {
        local name=$1 tester=$2 ecu=$3 opts=$4 dl=$5 bs=$6 sizes=$7 n want=0 ready=/tmp/ready.$1 server_pid rc
        local count=0
        for n in ${sizes//,/ }; do
                count=$((count + 1))
                frames "$n" "$dl" "$bs"
                want=$((want + 2 * nframes))     # request and echo
                [ "$cf" -lt 4080 ] || too_long_for_tshark=$((too_long_for_tshark + 2))
        done
        expected_frames[$name]=$want
        scenario_ids[$name]="$tester $ecu"
        scenario_sizes[$name]=$sizes
        scenarios+=("$name")

        echo "== $name: tester $tester, ECU $ecu, $opts; sizes $sizes"
        rm -f "$ready"
        # shellcheck disable=SC2086
        "$echo_bin" server vcan0 --tx "$ecu" --rx "$tester" $opts --count "$count" --ready "$ready" &
        server_pid=$!
        for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
        rc=0
        # shellcheck disable=SC2086
        "$echo_bin" client vcan0 --tx "$tester" --rx "$ecu" $opts --sizes "$sizes" || rc=$?
        [ "$rc" -eq 77 ] && { echo "SKIP: no CAN ISO-TP in this kernel"; kill "$dumpcap_pid"; exit 77; }
        [ "$rc" -eq 0 ] && pass || fail "$name: client"
        wait "$server_pid" && pass || fail "$name: server"
        messages_sent=$((messages_sent + 2 * count))
}

# --no-txtime: under software emulation every paced frame (the kernel's
# default 50 us frame transmission time) costs milliseconds; only the small
# STmin scenario keeps the default pacing.
start=$(date +%s.%N)
scenario classic-padded     7E0 7E8 "--pad 0xCC --bs 8 --no-txtime"         8 8  1,7,8,4095,4096,66000
scenario classic-unpadded   7E1 7E9 "--bs 0 --no-txtime"                    8 0  1,62,4095,4096
scenario classic-stmin      7E2 7EA "--pad 0x55 --bs 4 --stmin 1 --tx-stmin 200" 8 4 300
scenario fd64-29bit   18DA10F1 18DAF110 "--ext --fd 64 --pad 0xAA --bs 16 --no-txtime" 64 16 1,62,63,4095,4096,66000
scenario fd16-unpadded      7E3 7EB "--fd 16 --bs 0 --no-txtime"            16 0 14,15,4096
echo "transfers: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"

sleep 0.3
kill -INT "$dumpcap_pid"
wait "$dumpcap_pid" || true
cp "$pcap" "$out/isotp.pcap"
echo "guest up $(uptime_s) s: captured"

# ---- the capture, through tshark (one pass, every frame) -----------------------------------------
std_ids=$(printf '%d,' 0x7E0 0x7E8 0x7E1 0x7E9 0x7E2 0x7EA 0x7E3 0x7EB)
ext_ids=$(printf '%d,' 0x18DA10F1 0x18DAF110)
decode=(-o "iso15765.can.ids:${std_ids%,}" -o "iso15765.can.extended_ids:${ext_ids%,}" -d iso15765.subdissector,uds)
fields=(frame.number can.id can.len iso15765.message_type iso15765.sequence_number iso15765.data_length
        iso15765.frame_length iso15765.reassembled.length _ws.malformed _ws.malformed.dissector_bug
        _ws.expert.severity uds.sid)
start=$(date +%s.%N)
tshark -r "$pcap" "${decode[@]}" -T fields -E separator=/t "${fields[@]/#/-e}" \
        > "$out/frames.txt" 2> "$out/tshark-stderr.txt"
echo "tshark: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"

# Per frame: malformed or warning; not ISO-TP; ISO-TP messages rebuilt from the
# frames' PCIs (sequence numbers must run 1..15, 0, 1...; lengths add up); and
# the messages tshark itself reassembled and handed to UDS.
# Wireshark's ISO-TP dissector reassembles at most 16*255 segments per
# message (its packet-iso15765.c asserts on frag_id_high): classic CAN
# messages of 4080 consecutive frames and more (over about 28.5 KB) come out
# as "Dissector bug" frames there. Those are counted apart, and only there.
awk -F'\t' '
function severity_max(s,    k, a, i, m) { k = split(s, a, ","); m = 0; for (i = 1; i <= k; i++) if (a[i] + 0 > m) m = a[i] + 0; return m }
function note(kind, text) { n[kind]++; if (text != "") print kind, text }
function message(id, len,    v) { n["message"]++; v = (id in sizes) ? sizes[id] "," len : len; sizes[id] = v }
function reassembled(len) { n["reassembled"]++; if (len + 0 > longest) longest = len + 0 }
{
        num = $1; id = $2; len = $3 + 0; type = $4; sn = $5
        frames[id]++
        limited = $9 ~ /frag_id_high/
        if (limited) note("limit", num " " id)
        if (!limited && ($9 != "" || severity_max($11) >= 6291456)) note("malformed", num " " $9)
        if (type == "") { note("notisotp", num); next }
        if ($8 != "" && $12 != "") reassembled($8)
        if (type == "0x00") { if ($12 != "") reassembled($6); message(id, $6); next }
        if (type == "0x01") {
                if (want[id] > got[id]) note("broken", num " first frame before the message on " id " ended")
                want[id] = $7 + 0
                got[id] = len - (want[id] > 4095 ? 6 : 2)
                next_sn[id] = 1
                next
        }
        if (type == "0x02") {
                if (got[id] >= want[id]) { note("broken", num " consecutive frame outside a message"); next }
                if (sn + 0 != next_sn[id]) note("broken", num " sequence number " sn + 0 " instead of " next_sn[id])
                next_sn[id] = (next_sn[id] + 1) % 16
                got[id] += len - 1
                if (got[id] >= want[id]) message(id, want[id])
                next
        }
        if (type != "0x03") note("broken", num " message type " type)
}
END {
        for (id in frames) print "frames", id, frames[id]
        for (id in sizes) print "sizes", id, sizes[id]
        for (k in n) print "count", k, n[k]
        print "count total", NR
        print "longest", longest + 0
}' "$out/frames.txt" > "$out/analysis.txt"
echo "guest up $(uptime_s) s: analysed"

# the summary, into the shell without further processes
declare -A nframes_of=() sizes_of=() counted=()
longest=0
while read -r kind key value; do
        case $kind in
        frames) nframes_of[$key]=$value ;;
        sizes) sizes_of[$key]=$value ;;
        count) counted[$key]=$value ;;
        longest) longest=$key ;;
        esac
done < "$out/analysis.txt"
count() { echo "${counted[$1]:-0}"; }

echo "capture: $(count total) CAN frames; $(count malformed) malformed or warning; $(count notisotp) not ISO-TP;" \
     "$(count broken) protocol errors; $(count message) messages; $(count reassembled) reassembled by tshark" \
     "with UDS, the longest $longest bytes; $(count limit) frames past tshark's reassembly limit"
[ "$(count malformed)" -eq 0 ] && pass ||
        { grep -m 10 ^malformed "$out/analysis.txt"; fail "tshark: malformed or warning frames"; }
[ "$(count notisotp)" -eq 0 ] && pass || fail "tshark: frames not decoded as ISO-TP"
[ "$(count broken)" -eq 0 ] && pass || { grep -m 10 ^broken "$out/analysis.txt"; fail "ISO-TP protocol errors in the capture"; }
# tshark reassembles (and hands to UDS) every message but those past its limit
[ "$(count reassembled)" -eq "$((messages_sent - too_long_for_tshark))" ] && pass ||
        fail "tshark reassembled $(count reassembled) messages, expected $((messages_sent - too_long_for_tshark))"
{ [ "$(count limit)" -eq 0 ] || [ "$too_long_for_tshark" -gt 0 ]; } && pass || fail "tshark's reassembly limit hit unexpectedly"
[ "$longest" -eq 66000 ] && pass || fail "no 66000-byte message reassembled by tshark"

sum=0
for name in "${scenarios[@]}"; do
        read -r a b <<< "${scenario_ids[$name]}"
        a=$((16#$a)) b=$((16#$b))
        # the messages on each id, in order, must be the sizes sent
        for id in $a $b; do
                [ "${sizes_of[$id]:-}" = "${scenario_sizes[$name]}" ] && pass ||
                        fail "$name: messages on id $id: '${sizes_of[$id]:-}', sent '${scenario_sizes[$name]}'"
        done
        seen=$((${nframes_of[$a]:-0} + ${nframes_of[$b]:-0}))
        sum=$((sum + seen))
        printf '%-18s %6d CAN frames, minimum %6d\n' "$name" "$seen" "${expected_frames[$name]}"
        [ "$seen" -eq "${expected_frames[$name]}" ] && pass || fail "$name: $seen frames, the minimum is ${expected_frames[$name]}"
done
[ "$sum" -eq "$(count total)" ] && pass || fail "$(($(count total) - sum)) frames outside the scenarios' ids"

echo "guest up $(uptime_s) s"
echo "vm-isotp: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
