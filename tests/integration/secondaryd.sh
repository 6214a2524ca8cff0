#!/bin/bash
# SPDX-License-Identifier: MIT
# uptane-secondaryd over DoIP on loopback: identification DIDs, NRCs of the
# mapping, a metadata transfer refused by verification, SIGTERM, and
# configuration errors (exit 78).
set -euo pipefail

BUILD=${UPTANE_BUILD_DIR:?}
SECD=$BUILD/src/secondaryd/uptane-secondaryd
TESTER=$BUILD/tests/tools/uds-tester
T=$(mktemp -d)
PID=
cleanup() {
        [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$T/log" ] && cat "$T/log" >&2; exit 1; }

# A root the daemon only copies at start (verification would refuse it).
echo '{"signed":{},"signatures":[]}' > "$T/root.json"
cat > "$T/secondary.conf" <<CONF
[ecu]
serial = ecu-it-1
hardware-id = hw-it
vin = VIN-IT-0001
verification = partial
[director]
root = $T/root.json
[doip]
listen-address = 127.0.0.1
port = 0
logical-address = 0x0101
[storage]
state-directory = $T/state
slot-a = $T/state/slot-a
slot-b = $T/state/slot-b
[limits]
max-metadata-size = 64K
CONF

# --- configuration ----------------------------------------------------------------------
"$SECD" --config "$T/secondary.conf" --check-config | grep -q '^serial = ecu-it-1$' || fail "--check-config"
printf '[ecu]\nserial = a b\n' > "$T/bad.conf"
set +e
"$SECD" --config "$T/bad.conf" 2> "$T/err"; rc=$?
set -e
[ "$rc" = 78 ] || fail "bad value: exit $rc, expected 78"
grep -q "bad.conf:2: \[ecu\] serial" "$T/err" || fail "no FILE:LINE in: $(cat "$T/err")"
printf '[ecu]\nserial = a\nhardware-id = h\n[director]\nroot = /x\n[isotp]\nenabled = yes\n' > "$T/bad2.conf"
set +e
"$SECD" --config "$T/bad2.conf" 2> /dev/null; rc=$?
set -e
[ "$rc" = 78 ] || fail "isotp without ids: exit $rc, expected 78"
mkdir -p "$T/secondary.conf.d"
printf '[doip]\nlogical-address = 0x0E80\n' > "$T/secondary.conf.d/10-bad.conf"
set +e
"$SECD" --config "$T/secondary.conf" --check-config > /dev/null 2> "$T/err"; rc=$?
set -e
[ "$rc" = 78 ] || fail "drop-in out of range: exit $rc"
grep -q "10-bad.conf:2" "$T/err" || fail "drop-in error without FILE:LINE"
rm -r "$T/secondary.conf.d"

# --- the daemon -------------------------------------------------------------------------
UPTANE_LOG_TARGET=stderr "$SECD" --config "$T/secondary.conf" 2> "$T/log" &
PID=$!
for _ in $(seq 100); do
        PORT=$(sed -n 's/.*listening on 127.0.0.1 TCP port \([0-9]*\).*/\1/p' "$T/log")
        [ -n "$PORT" ] && break
        sleep 0.1
done
[ -n "$PORT" ] || fail "the daemon did not listen"
[ "$(stat -c %a "$T/state/ecu.key")" = 600 ] || fail "ecu.key is not 0600"

uds() { "$TESTER" 127.0.0.1 "$PORT" 0x0101 "$@"; }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }

out=$(uds 22F18C 22F191 22F1A3 22F190 22F1A2 221234 2E F1A4 00)
mapfile -t L <<< "$out"
[ "${L[0]}" = "62F18C$(hex ecu-it-1)" ] || fail "serial: ${L[0]}"
[ "${L[1]}" = "62F191$(hex hw-it)" ] || fail "hardware id: ${L[1]}"
[ "${L[2]}" = "62F1A3$(hex partial)" ] || fail "verification: ${L[2]}"
[ "${L[3]}" = "62F190$(hex VIN-IT-0001)" ] || fail "VIN: ${L[3]}"
[ "${#L[4]}" = 22 ] && [ "${L[4]:0:6}" = 62F1A2 ] || fail "nonce: ${L[4]}"
[ "${L[5]}" = 7F2231 ] || fail "unknown DID: ${L[5]}"
[ "${L[6]}" = 7F2E7F ] || fail "write in the default session: ${L[6]}"
grep -q '"nonce":'"$((16#${L[4]:6}))" "$T/state/state.json" || fail "nonce not the stored one"

# The public key and a signed report.
out=$(uds 22F1A0 22F1A1)
mapfile -t L <<< "$out"
[ "${L[0]:0:6}" = 62F1A0 ] || fail "public key: ${L[0]:0:20}"
echo "${L[1]:6}" | xxd -r -p | grep -q '"ecu_serial":"ecu-it-1"' || fail "report: ${L[1]:0:40}"

# Programming session, transfers: paths, sizes, counters.
out=$(uds 1002 3E00 3E80 \
        "38 03 0017 $(hex director/../state.json) 00 04 00000010 00000010" \
        "38 03 000F $(hex target/a/b.bin) 00 04 00000010 00000010" \
        "38 03 0015 $(hex director/targets.json) 00 04 00100000 00100000" \
        "36 01 41" \
        "38 03 0015 $(hex director/targets.json) 00 04 00000002 00000002" \
        "36 02 4142" "36 01 4142" "36 01 4142" 37 \
        31010A01 31030A01 31010A02 31020A01 31010A99 1101)
mapfile -t L <<< "$out"
[ "${L[0]:0:4}" = 5002 ] || fail "programming session: ${L[0]}"
[ "${L[1]}" = 7E00 ] || fail "tester present: ${L[1]}"
[ "${L[2]}" = timeout ] || fail "suppressed tester present answered: ${L[2]}"
[ "${L[3]}" = 7F3831 ] || fail "path traversal: ${L[3]}"
[ "${L[4]}" = 7F3831 ] || fail "two components: ${L[4]}"
[ "${L[5]}" = 7F3870 ] || fail "oversize: ${L[5]}"
[ "${L[6]}" = 7F3624 ] || fail "transfer without 0x38: ${L[6]}"
[ "${L[7]:0:4}" = 7803 ] || fail "file transfer: ${L[7]}"
[ "${L[8]}" = 7F3673 ] || fail "wrong counter: ${L[8]}"
[ "${L[9]}" = 7601 ] || fail "block 1: ${L[9]}"
[ "${L[10]}" = 7601 ] || fail "repeated block: ${L[10]}"
[ "${L[11]}" = 77 ] || fail "exit: ${L[11]}"
[ "${L[12]}" = 7F3172 ] || fail "verify of garbage: ${L[12]}"
[ "${L[13]:0:10}" = 71030A0101 ] || fail "results: ${L[13]}"
[ "${L[14]}" = 7F3122 ] || fail "install without verified metadata: ${L[14]}"
[ "${L[15]}" = 7F3112 ] || fail "stop routine: ${L[15]}"
[ "${L[16]}" = 7F3131 ] || fail "unknown routine: ${L[16]}"
[ "${L[17]}" = 5101 ] || fail "ECU reset: ${L[17]}"
[ "$(cat "$T/state/incoming/director/targets.json")" = AB ] || fail "the transferred file"
grep -q "ECU reset requested" "$T/log" || fail "reset not noted"

kill -TERM "$PID"
set +e
wait "$PID"; rc=$?
set -e
PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc"
echo "secondaryd: all checks passed"
