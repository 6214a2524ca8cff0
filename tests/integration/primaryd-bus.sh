#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Integration test of the D-Bus interface org.uptane.Primary1 (src/primaryd/bus.c)
# and of uptanectl, on a private dbus-daemon with tests/tools/fake-primary-bus
# serving canned data: status, ecus, check (and Busy), --json, the "not
# running" message and exit status, the introspected interface, the
# PropertiesChanged signals. Run as root, it also checks the system bus policy
# systemd/org.uptane.Primary1.conf with the user nobody.
#
#   tests/integration/primaryd-bus.sh      (UPTANE_BUILD_DIR, default <repo>/build)
#
# Prints "ok - ..." / "not ok - ..." / "skip - ..." lines and last
# "primaryd-bus: N passed, N failed"; exits non-zero on any failure (77 when
# dbus-daemon is missing). KEEP_WORK=1 keeps the work directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"
policy=$repo_root/systemd/org.uptane.Primary1.conf

test_init primaryd-bus
require_bins "$uptanectl" "$fake"
for p in dbus-daemon dbus-send dbus-monitor; do
        if ! command -v "$p" >/dev/null 2>&1; then
                echo "primaryd-bus: $p missing (scripts/install-deps.sh installs dbus and dbus-bin)" >&2
                exit 77
        fi
done

work_init uptane-primaryd-bus

# Dates in the expected output are UTC.
TZ=UTC
export TZ

fail_details() { show_files 800 "$work/out" "$work/err"; }

# Runs uptanectl with the arguments; $status, $work/out, $work/err.
ctl() {
        "$uptanectl" "$@" >"$work/out" 2>"$work/err"
        status=$?
}

# check DESCRIPTION STATUS [FILE PATTERN]...: the last run exited with STATUS
# and each FILE (out or err) has a line matching the fixed-string PATTERN
# (this script's check, in place of the library's check NAME COMMAND...).
check() {
        desc=$1 want=$2
        shift 2
        if [ "$status" -ne "$want" ]; then
                fail "$desc (exit $status, expected $want)"
                return
        fi
        while [ $# -ge 2 ]; do
                if ! grep -qF -- "$2" "$work/$1"; then
                        fail "$desc ($1 lacks '$2')"
                        return
                fi
                shift 2
        done
        ok "$desc"
}

# start_fake LOGNAME [ARGS...]: starts fake-primary-bus; sets $fake_pid; 0 once it owns the name.
start_fake() {
        log=$1
        shift
        "$fake" "$@" >"$work/$log.out" 2>"$work/$log.err" &
        fake_pid=$!
        add_pid "$fake_pid"
        wait_until 5 test -s "$work/$log.out"
}

# wait_exit PID: its exit status in $status (SIGKILL and 137 after 5 s).
wait_exit() {
        for _ in $(seq 50); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null
        wait "$1"
        status=$?
        drop_pid "$1"
}

# stop PID: SIGTERM, and its exit status in $status.
stop() {
        kill "$1"
        wait_exit "$1"
}

# --- the command line, without any bus ---------------------------------------

ctl --help
check "--help" 0 out "Usage: uptanectl" out "Exit status:"
ctl --version
check "--version" 0 out "uptanectl "
ctl
check "no command: usage error" 64 err "a command is needed"
ctl frobnicate
check "unknown command: usage error" 64 err "unknown command 'frobnicate'"
ctl status ecus
check "two commands: usage error" 64 err "one command only"
ctl --address "unix:path=$work/nothing.sock" status
check "no bus at the address: 69" 69 err "cannot connect to the bus at unix:path=$work/nothing.sock"

# --- a bus without the daemon -------------------------------------------------

if ! start_session_bus; then
        fail "dbus-daemon starts"
        summary
        exit 1
fi
addr=$bus_addr

ctl --address "$addr" status
check "daemon not running (--address): 69" 69 \
        err "uptane-primaryd is not running (org.uptane.Primary1 not on the bus at $addr)"
DBUS_SYSTEM_BUS_ADDRESS=$addr ctl check
check "daemon not running (system bus): 69" 69 \
        err "uptane-primaryd is not running (org.uptane.Primary1 not on the system bus)"
DBUS_SESSION_BUS_ADDRESS=$addr ctl --user ecus
check "daemon not running (user bus): 69" 69 \
        err "uptane-primaryd is not running (org.uptane.Primary1 not on the user bus)"

# --- the fake daemon ----------------------------------------------------------

dbus-monitor --address "$addr" \
        "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='/org/uptane/Primary1'" \
        >"$work/monitor" 2>&1 &
monitor_pid=$!
add_pid "$monitor_pid"

if start_fake fake "$addr"; then ok "fake-primary-bus owns the name"; else fail "fake-primary-bus owns the name"; fi
main_fake=$fake_pid

ctl --address "$addr" status
check "status" 0 \
        out "State:          idle" \
        out "Progress:       none" \
        out "Last check:     2023-11-14 22:13:20 UTC" \
        out "Last result:    up-to-date" \
        out "Next check:     2023-11-14 23:13:20 UTC" \
        out "VIN:            UPTANEVIN00000001" \
        out "Primary serial: ecu-primary-01"
DBUS_SYSTEM_BUS_ADDRESS=$addr ctl status
check "status on the system bus (default)" 0 out "VIN:            UPTANEVIN00000001"
DBUS_SESSION_BUS_ADDRESS=$addr ctl --user status
check "status on the user bus" 0 out "VIN:            UPTANEVIN00000001"

ctl --address "$addr" status --json
check "status --json" 0 out \
        '{"state":"idle","progress_done":0,"progress_total":0,"last_check_usec":1700000000000000,"last_result":"up-to-date","next_check_usec":1700003600000000,"vin":"UPTANEVIN00000001","primary_serial":"ecu-primary-01"}'

ctl --address "$addr" ecus
check "ecus" 0 \
        out "SERIAL          HARDWARE ID    PRIMARY  INSTALLED             SHA256        PENDING" \
        out "ecu-primary-01  head-unit-a    yes      head-unit-fw-1.0.bin  e3b0c44298fc  -" \
        out 'ecu-brake-02    brake\ctl "b"  no       -                     -             brake-fw-2.1.bin'
[ "$(wc -l <"$work/out")" -eq 3 ] && ok "ecus: a header and two rows" || fail "ecus: a header and two rows"

ctl --address "$addr" ecus --json
check "ecus --json (escaped)" 0 out \
        '[{"serial":"ecu-primary-01","hardware_id":"head-unit-a","primary":true,"installed_target":"head-unit-fw-1.0.bin","installed_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","pending_target":""},{"serial":"ecu-brake-02","hardware_id":"brake\\ctl \"b\"","primary":false,"installed_target":"","installed_sha256":"","pending_target":"brake-fw-2.1.bin"}]'
if command -v python3 >/dev/null 2>&1; then
        if python3 -c 'import json, sys; e = json.load(sys.stdin); assert e[1]["hardware_id"] == "brake\\ctl \"b\""' <"$work/out"; then
                ok "ecus --json parses"
        else
                fail "ecus --json parses"
        fi
else
        skip "ecus --json parses (no python3)"
fi

# The interface as busctl sees it; values left out but for the constants.
cat >"$work/interface.expected" <<'EOF'
.CheckNow method - - -
.GetEcus method - a(ssbsss) -
.LastCheck property t emits-change
.LastResult property s emits-change
.NextCheck property t emits-change
.PrimarySerial property s "ecu-primary-01" const
.Progress property (tt) emits-change
.State property s emits-change
.Vin property s "UPTANEVIN00000001" const
EOF
if ! command -v busctl >/dev/null 2>&1; then
        skip "busctl introspect, get-property (no busctl: systemd is not installed)"
else
        busctl --address="$addr" --no-pager --no-legend introspect org.uptane.Primary1 /org/uptane/Primary1 \
                org.uptane.Primary1 >"$work/introspect" 2>"$work/err"
        status=$?
        awk '$2 == "property" && $NF != "const" { print $1, $2, $3, $NF; next } { $1 = $1; print }' \
                "$work/introspect" >"$work/out"
        if [ "$status" -eq 0 ] && diff -u "$work/interface.expected" "$work/out" >"$work/err"; then
                ok "busctl introspect: the interface"
        else
                fail "busctl introspect: the interface"
        fi

        busctl --address="$addr" get-property org.uptane.Primary1 /org/uptane/Primary1 org.uptane.Primary1 \
                Progress >"$work/out" 2>"$work/err"
        status=$?
        check "Progress is (tt)" 0 out "(tt) 0 0"
fi

# --- CheckNow -----------------------------------------------------------------

ctl --address "$addr" check
check "check" 0 out "check started"
ctl --address "$addr" status
check "status while checking (with percentage)" 0 \
        out "State:          checking" out "Progress:       1024 / 4096 bytes (25%)"
ctl --address "$addr" check
check "check while checking: Busy, 75" 75 err "an update check is running already"
DBUS_SESSION_BUS_ADDRESS=$addr dbus-send --session --print-reply --type=method_call \
        --dest=org.uptane.Primary1 /org/uptane/Primary1 org.uptane.Primary1.CheckNow >"$work/out" 2>"$work/err"
status=$?
check "the error is org.uptane.Primary1.Error.Busy" 1 err "Error org.uptane.Primary1.Error.Busy"

for _ in $(seq 50); do
        ctl --address "$addr" status
        grep -qF "State:          idle" "$work/out" && break
        sleep 0.1
done
check "idle again after the check" 0 out "State:          idle" out "Last result:    no-change"
if grep -qF "2023-11-14" "$work/out"; then fail "a new LastCheck"; else ok "a new LastCheck"; fi

# dbus-monitor prints "checking" then "idle" in the PropertiesChanged signals.
sleep 0.3
if grep -q 'string "checking"' "$work/monitor" && grep -q 'string "no-change"' "$work/monitor" &&
   [ "$(grep -c 'member=PropertiesChanged' "$work/monitor")" -eq 2 ]; then
        ok "PropertiesChanged on start and end of the check"
else
        cp "$work/monitor" "$work/out"
        fail "PropertiesChanged on start and end of the check"
fi

# --- the name, errors, shutdown ----------------------------------------------

"$fake" "$addr" >"$work/out" 2>"$work/err"
status=$?
check "a second service cannot take the name" 1 err "the name is owned already"

stop "$main_fake"
check "fake-primary-bus exits 0 on SIGTERM, counted 3 CheckNow calls" 0 \
        fake.err "fake-primary-bus: 3 CheckNow calls, 1 started"
ctl --address "$addr" status
check "daemon gone: 69 again" 69 err "uptane-primaryd is not running"

start_fake failing --fail-check "$addr"
ctl --address "$addr" check
check "CheckNow failing with EIO: 1 and the reason" 1 err "CheckNow failed: Input/output error"
stop "$fake_pid"

# A lost bus ends the service's loop with a failure.
start_fake lost "$addr"
kill "$bus_pid"
wait_exit "$fake_pid"
check "fake-primary-bus exits 1 when the bus goes away" 1

# --- the system bus policy (as root: the user nobody plays the others) --------

nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1 ||
   ! nobody test -x "$uptanectl"; then
        skip "system bus policy (needs root, setpriv, the user nobody, and uptanectl readable by nobody)"
else
        mkdir "$work/sys"
        chmod 711 "$work"
        chmod 755 "$work/sys"
        cat >"$work/system.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/sys/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <!-- the default policy of Debian's /usr/share/dbus-1/system.conf -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>$policy</include>
</busconfig>
EOF
        start_dbus system "$work/system.conf"
        sys=unix:path=$work/sys/bus.sock

        nobody "$fake" "$sys" >"$work/out" 2>"$work/err"
        status=$?
        check "policy: nobody may not own the name" 1 err "Permission denied"
        start_fake sysfake "$sys" && ok "policy: root may own the name" || fail "policy: root may own the name"

        status=0
        nobody "$uptanectl" --address "$sys" status >"$work/out" 2>"$work/err" || status=$?
        check "policy: nobody may read the status" 0 out "VIN:            UPTANEVIN00000001"
        status=0
        nobody "$uptanectl" --address "$sys" ecus --json >"$work/out" 2>"$work/err" || status=$?
        check "policy: nobody may call GetEcus" 0 out '"serial":"ecu-brake-02"'
        status=0
        nobody "$uptanectl" --address "$sys" check >"$work/out" 2>"$work/err" || status=$?
        check "policy: nobody may not call CheckNow (77)" 77 err "permission denied"
        status=0
        nobody busctl --address="$sys" call org.uptane.Primary1 /org/uptane/Primary1 \
                org.freedesktop.DBus.Properties Set ssv org.uptane.Primary1 State s hacked \
                >"$work/out" 2>"$work/err" || status=$?
        [ "$status" -ne 0 ] && ok "policy: nobody may not call Properties.Set" ||
                fail "policy: nobody may not call Properties.Set"
        ctl --address "$sys" check
        check "policy: root may call CheckNow" 0 out "check started"
        stop "$fake_pid"
fi

summary
