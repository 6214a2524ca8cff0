#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2154,SC2034
# (SC2154, SC2034: variables set by tests/lib/uptane-test.sh, and ones it reads)
#
# A malicious Secondary is contained and reported, and the others are still
# updated (issue 5, "a dead, slow or malicious Secondary (malformed frames,
# wrong lengths, endless data, timeouts) is contained and reported, and the
# others are still updated"). In a private network namespace (root):
#
#   the real uptane-server; uptane-primaryd --once;
#   good  uptane-secondaryd, verification = full, logical address 0x0101;
#   bad   tests/tools/bad-secondary, 0x0102: it plays the Secondary ecu-bad
#         (the identification, the key and a signed report recorded from a
#         real uptane-secondaryd of that serial) until one request, then
#         misbehaves in one mode (see bad-secondary.c).
#
# First a run where the bad one behaves (registration; exit 0). Then, for
# each mode, bad-secondary restarted in that mode and one --once with a new
# image for the good Secondary:
#   - the good Secondary installs it (its active slot holds it, the previous
#     slot the one before; the Primary logs secondary-installed for it);
#   - the bad one is logged with its serial, as the mode calls for
#     (secondary-misbehaving, secondary-unreachable or secondary-refused);
#   - --once exits 75 (a configured Secondary left out), no crash, no
#     sanitizer report;
#   - nothing of the bad one reaches the good one's slots;
#   - the run ends within its bound: the bad Secondary's timeout (1 s, or
#     install-timeout = 10 s for pending-forever) counts at most 3 times, on
#     top of twice the well-behaved run's time and 5 s of slack.
# The time each mode cost is printed.
#
#   tests/integration/primaryd-misbehaving.sh   (UPTANE_BUILD_DIR, default <repo>/build)
#
# Exits 77 (skip) when not root, without unshare or ip, or when the private
# namespace cannot be made. KEEP_WORK=1 keeps the work directory; PM_MODES
# replaces the list of modes (lines "MODE TRIGGER EVENT TIMEOUT").
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"
secd=$build/src/secondaryd/uptane-secondaryd
tester=$build/tests/tools/uds-tester
bad=$build/tests/tools/bad-secondary

test_init primaryd-misbehaving

if [ "${PM_INNER:-0}" != 1 ]; then
        require_bins "$primaryd" "$server" "$uprepo" "$secd" "$tester" "$bad"
        PATH=$PATH:/usr/sbin:/sbin
        export PATH
        require_tools python3 timeout cmp xxd date unshare ip
        if [ "$(id -u)" -ne 0 ]; then
                echo "$test_name: skipped: needs root (a private network namespace, unshare -n, for fixed DoIP ports)" >&2
                exit 77
        fi
        if ! unshare -n true 2>/dev/null; then
                echo "$test_name: skipped: no private network namespace (unshare -n failed)" >&2
                exit 77
        fi
        export PM_INNER=1 UPTANE_BUILD_DIR="$build"
        exec unshare -n sh "$0"
fi

if ! ip link set lo up 2>/dev/null; then
        echo "$test_name: skipped: cannot bring up lo in the private namespace" >&2
        exit 77
fi

work_init uptane-primaryd-misbehaving
mkdir "$work/log"
die_logs="server.log log/sec-good.log log/bad-good.log"
badlog=$work/log/bad-good.log # of the bad-secondary running

log=/dev/null
fail_details() {
        if [ -s "$log" ]; then
                echo "    $(basename "$log") (last lines):"
                sed -n 's/^{"MESSAGE":"\([^"]*\)".*/      \1/p' "$log" | tail -n 8
        fi
        if [ -s "$badlog" ]; then
                tail -n 3 "$badlog" | sed 's/^/      bad: /'
        fi
}
same() { cmp -s "$1" "$2"; }

vin=VIN-MISBEHAVING-1
img=$work/img
dir=$work/dir
db=$work/inv.sqlite
state=$work/state
cache=$work/cache
target=$work/installed/firmware.bin
port_good=13400 port_bad=13401
laddr_good=0x0101 laddr_bad=0x0102

# mode trigger expected-event timeout(s): bad-secondary's --mode and --trigger
# (the request that starts it, see bad-secondary.c), the event the Primary
# logs for ecu-bad, and the configured timeout that bounds the mode. 22 F18C
# to F1A2: the reports (the first phase); 10 02: the time attestation; 31
# (the verify routine) and 36 (the 40th TransferData, in the image): the
# delivery, for which ecu-bad gets an update too; 22 F1A1@2: the report read
# again for the manifest, after the time attestation.
modes='bad-header - secondary-misbehaving 1
short-payload 22F1A1 secondary-unreachable 1
endless 22F1A1 secondary-misbehaving 1
trickle 22F1A2 secondary-unreachable 1
silent 22F18C secondary-unreachable 1
pending-forever 22F1A1 secondary-unreachable 10
wrong-address 22F191 secondary-misbehaving 1
wrong-sid 22F1A0 secondary-misbehaving 1
uds-wrong-length 1002 secondary-misbehaving 1
truncated-did 22F1A2 secondary-misbehaving 1
bad-json 22F1A1 secondary-misbehaving 1
bad-signature 22F1A1 secondary-misbehaving 1
huge-did 22F1A1 secondary-misbehaving 1
uds-wrong-length 3101 secondary-misbehaving 1
pending-forever 3101 secondary-unreachable 10
close 36@40 secondary-unreachable 1
bad-signature 22F1A1@2 secondary-misbehaving 1
trickle 22F1A1@2 secondary-unreachable 1'
# PM_MODES: other lines of the same form instead (to look at one mode).
modes=${PM_MODES:-$modes}
n_modes=$(printf '%s\n' "$modes" | wc -l)

# --- Images, repositories, the server -------------------------------------------------------

setup() {
        head -c 3001 /dev/urandom >"$work/pri-1.bin" &&
                head -c 102400 /dev/urandom >"$work/bad-1.bin" &&
                "$uprepo" init --repo "$img" &&
                "$uprepo" add-target --repo "$img" "$work/pri-1.bin" --hardware-id pri-hw &&
                "$uprepo" add-target --repo "$img" "$work/bad-1.bin" --hardware-id hw-bad || return 1
        i=1
        while [ "$i" -le "$n_modes" ]; do
                head -c $((5000 + i)) /dev/urandom >"$work/good-$i.bin" &&
                        "$uprepo" add-target --repo "$img" "$work/good-$i.bin" --hardware-id hw-good || return 1
                i=$((i + 1))
        done
        "$uprepo" publish --repo "$img" &&
                "$uprepo" director init --repo "$dir" &&
                echo "tok-$$-misbehaving" >"$work/token"
}
setup_or_exit setup
start_uptane_server_or_exit "$img" "$dir" "$db" --timeserver-key "$work/ts.key"

# --- The Secondaries ----------------------------------------------------------------------------

# sec_conf NAME SERIAL HW PORT LOGICAL-ADDRESS: its conf (full verification), a factory image in slot-a
sec_conf() {
        write_secondary_conf "$1" "$2" "$3" full "$4" "$5"
        printf 'factory image of %s\n' "$2" >"$work/sec-$1/slot-a"
}
sec_conf good ecu-good hw-good "$port_good" "$laddr_good"
sec_conf bad ecu-bad hw-bad "$port_bad" "$laddr_bad"

# stop_now PID SIGNAL: SIGNAL, then SIGKILL after 10 s; waits for PID, with
# no "Killed"/"Terminated" line from the shell in the test's output.
stop_now() {
        kill -"$2" "$1" 2>/dev/null
        _n=100
        while [ "$_n" -gt 0 ] && [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; do
                sleep 0.1
                _n=$((_n - 1))
        done
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        drop_pid "$1"
}
# start_sec NAME: uptane-secondaryd NAME, until it listens; sets sec_pid
start_sec() {
        UPTANE_LOG_TARGET=stderr "$secd" --config "$work/sec-$1.conf" 2>>"$work/log/sec-$1.log" &
        sec_pid=$!
        add_pid "$sec_pid"
        wait_until 10 grep -q 'listening on 127.0.0.1 TCP port' "$work/log/sec-$1.log"
}
# did NAME DID FILE: reads DID of the Secondary NAME into FILE
did() {
        eval "_port=\$port_$1 _la=\$laddr_$1"
        _out=$("$tester" 127.0.0.1 "$_port" "$_la" "22$2" | head -n 1)
        case $_out in
        62"$2"*) printf '%s' "${_out#62"$2"}" | xxd -r -p >"$3" ;;
        *) return 1 ;;
        esac
}

# The real ecu-bad once: its key, its signed report and its nonce, which
# bad-secondary then serves; then it is stopped for good.
start_sec bad || die "uptane-secondaryd bad does not start"
for d in F1A0 F1A1 F1A2; do
        did bad "$d" "$work/bad-$d" || die "reading $d of the real ecu-bad"
done
stop_now "$sec_pid" TERM
start_sec good || die "uptane-secondaryd good does not start"
good_pid=$sec_pid
did good F1A0 "$work/good.pub.json" || die "reading F1A0 of ecu-good"
cp "$work/sec-good/ecu.key" "$work/good-ecu.key"

bad_pid=
# start_bad MODE TRIGGER LOG: bad-secondary in MODE (TRIGGER -: the first
# request), its messages in $work/log/LOG.log (badlog)
start_bad() {
        if [ -n "$bad_pid" ]; then
                stop_now "$bad_pid" TERM
                bad_pid=
        fi
        _t=
        [ "$2" = - ] || _t="--trigger=$2"
        badlog=$work/log/$3.log
        # shellcheck disable=SC2086
        "$bad" --port "$port_bad" --logical-address "$laddr_bad" --mode "$1" $_t \
                --did-string F18C=ecu-bad --did-string F191=hw-bad --did-string F1A3=full \
                --did "F1A0=$work/bad-F1A0" --did "F1A1=$work/bad-F1A1" --did "F1A2=$work/bad-F1A2" \
                2>"$badlog" &
        bad_pid=$!
        add_pid "$bad_pid"
        wait_until 10 grep -q "mode $1 listening" "$badlog"
}

conf=$work/uptane.conf
write_primary_conf "$conf" ""
cat >>"$conf" <<EOF

[secondary.good]
serial = ecu-good
hardware-id = hw-good
public-key = $work/good.pub.json
verification = full
transport = doip
address = 127.0.0.1
port = $port_good
logical-address = $laddr_good
timeout = 2s

[secondary.bad]
serial = ecu-bad
hardware-id = hw-bad
public-key = $work/bad-F1A0
verification = full
transport = doip
address = 127.0.0.1
port = $port_bad
logical-address = $laddr_bad
timeout = 1s
install-timeout = 10s
EOF

# pd NAME: uptane-primaryd --once; exit status in rc, wall time (s) in secs, its JSON log in $log
pd() {
        log=$work/log/$1.log
        _t0=$(date +%s.%N)
        env UPTANE_LOG_TARGET=json timeout 300 "$primaryd" --config "$conf" --once >"$work/log/$1.out" 2>"$log"
        rc=$?
        secs=$(awk -v a="$_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
}
# no_sanitizer FILE...: no ASan/UBSan report in the files
no_sanitizer() {
        ! grep -q -e 'runtime error:' -e 'Sanitizer' "$@"
}

# --- The well-behaved run: registration, reports ---------------------------------------------

start_bad good - bad-good || die "bad-secondary does not start"
pd good
base=$secs
if [ "$rc" = 0 ]; then ok "well-behaved: --once exits 0 (${secs} s)"; else fail "well-behaved: --once exits 0 (exit $rc)"; fi
check "well-behaved: a secondary-report for ecu-good and for ecu-bad (the fake plays it well)" sh -c \
        "grep -F '\"UPTANE_EVENT\":\"secondary-report\"' '$log' | grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-good\"' >/dev/null &&
         grep -F '\"UPTANE_EVENT\":\"secondary-report\"' '$log' | grep -qF '\"UPTANE_ECU_SERIAL\":\"ecu-bad\"'"

# --- Each mode -----------------------------------------------------------------------------------------

i=0
prev=$work/sec-good/slot-a
cp "$prev" "$work/good-factory"
prev=$work/good-factory
times=
while read -r mode trig event tmo; do
        i=$((i + 1))
        # a trigger in the delivery: ecu-bad gets an update too
        case $trig in 3[1678]* | 11*) assign_or_fail ecu-bad bad-1.bin ;; esac
        assign_or_fail ecu-good "good-$i.bin"
        name=$i-$mode
        start_bad "$mode" "$trig" "bad-$name" || { fail "$mode: bad-secondary starts"; continue; }
        pd "$name"
        times="$times $mode=$secs"
        bound=$(awk -v t="$tmo" -v b="$base" 'BEGIN { printf "%.1f", 3 * t + 2 * b + 5 }')
        echo "    $mode: --once took $secs s (bound $bound s)"
        if [ "$rc" = 75 ]; then ok "$mode: --once exits 75 (ecu-bad left out)"; else fail "$mode: --once exits 75 (exit $rc)"; fi
        check "$mode: no sanitizer report, no crash" no_sanitizer "$log" "$work/log/$name.out" "$badlog"
        check "$mode: bad-secondary was triggered" grep -q "^bad-secondary: $mode on request" "$badlog"
        if has "$log" "$event" UPTANE_ECU_SERIAL ecu-bad; then
                ok "$mode: ecu-bad logged with its serial ($event)"
        else
                fail "$mode: ecu-bad logged with its serial ($event)"
                grep -F '"UPTANE_ECU_SERIAL":"ecu-bad"' "$log" | sed -n 's/^{"MESSAGE":"\([^"]*\)".*"UPTANE_EVENT":"\([^"]*\)".*/      \2: \1/p'
        fi
        sed -n 's/^{"MESSAGE":"\(Secondary bad (ecu-bad)[^"]*left out[^"]*\)".*/      \1/p' "$log" | head -n 1
        check "$mode: ecu-good installed good-$i.bin (secondary-installed)" has "$log" secondary-installed \
                UPTANE_ECU_SERIAL ecu-good
        if same "$(active_slot good)" "$work/good-$i.bin" && same "$(inactive_slot good)" "$prev"; then
                ok "$mode: ecu-good's active slot holds good-$i.bin, the previous slot the image before"
        else
                fail "$mode: ecu-good's slots hold good-$i.bin and the image before"
        fi
        check "$mode: nothing logged against ecu-good" sh -c "! grep -F '\"UPTANE_ECU_SERIAL\":\"ecu-good\"' '$log' |
                grep -q -e temporary-failure -e attack-detected -e secondary-unreachable -e secondary-misbehaving -e secondary-refused"
        check "$mode: in bound (${secs} s <= $bound s)" awk -v s="$secs" -v b="$bound" 'BEGIN { exit !(s <= b) }'
        prev=$work/good-$i.bin
done <<EOF
$modes
EOF

check "the good Secondary kept its key, and it still runs" sh -c \
        "cmp -s '$work/good-ecu.key' '$work/sec-good/ecu.key' && kill -0 $good_pid"
check "no file of ecu-good holds ecu-bad's image" sh -c \
        "for f in '$work'/sec-good/*; do [ -f \"\$f\" ] && cmp -s \"\$f\" '$work/bad-1.bin' && exit 1; done; exit 0"
echo "    time per mode (s):$times (well-behaved: $base)"

summary
