# shellcheck shell=sh disable=SC2034,SC2154
# (SC2034, SC2154: it sets variables for the script and reads the script's)
# SPDX-License-Identifier: MIT
#
# Shared pieces of the integration tests (tests/integration/*.sh) and the
# benchmarks (bench/*.sh). POSIX sh (dash); sourced, never run:
#
#   . "$(dirname "$0")/../lib/uptane-test.sh"            (tests/integration)
#   . "$(dirname "$0")/../tests/lib/uptane-test.sh"      (bench)
#
# Safe under set -u and set -e. Names of its own helpers and variables start
# with _ut_; the variables below are the ones it sets for the script.
#
# Counters and the summary line
#   test_init NAME      sets test_name=NAME, passed=0, failed=0. NAME prefixes
#                       every message below and the summary line.
#   ok DESC             passed+1; prints "ok - DESC".
#   skip DESC           prints "skip - DESC" (not counted).
#   fail DESC           failed+1; prints "not ok - DESC", then calls fail_details.
#   fail_details        a no-op here; a script redefines it (after sourcing)
#                       to print what explains a failure.
#   show_files BYTES FILE...
#                       for fail_details: each non-empty FILE as one line
#                       "    NAME: " and its first BYTES bytes, newlines as |.
#   check NAME COMMAND...
#                       ok NAME when COMMAND (output discarded) succeeds, else
#                       fail NAME. A script may redefine check.
#   has FILE EVENT [FIELD VALUE]...
#                       succeeds when an entry of FILE (JSON log lines) has
#                       "UPTANE_EVENT":"EVENT" and every "FIELD":"VALUE"
#                       (fixed strings); uses $work/has.1 and $work/has.2.
#   summary             prints "NAME: N passed, M failed" (scripts/run-tests.sh
#                       sums these lines); returns 0 when failed is 0, else 1,
#                       so it is a test's last command.
#
# The build's programs
#   use_build DIR       sets build=DIR and the paths of the programs in it:
#                       server (uptane-server), uprepo (uptane-repo), primaryd
#                       (uptane-primaryd), uptanectl, vehicle (up-test-vehicle),
#                       fake (fake-primary-bus), rusage (bench_rusage). Whether
#                       they are built is for require_bins or build_if_missing.
#
# Requirements
#   require_bins BIN... exits 1 with "NAME: BIN missing: build first (...)" on
#                       the first BIN that is not executable.
#   require_tools TOOL...
#                       exits 77 (skip) with "NAME: skipped: TOOL is required"
#                       on the first TOOL not in PATH.
#   build_if_missing BIN...
#                       for benchmarks: when a BIN is not executable, meson
#                       setup $build (from $top) if need be and ninja -C $build;
#                       exits 1 when that fails. Reads build and top.
#   die MESSAGE...      prints "NAME: MESSAGE" and the last 5 lines of each
#                       non-empty $work/F for F in $die_logs (default
#                       "server.log"), as "    F: LINE", on stderr; exits 1.
#
# The work directory and processes
#   work_init PREFIX    sets work to a new directory ${TMPDIR:-/tmp}/PREFIX.XXXXXX
#                       and pids to ""; traps EXIT (cleanup) and INT, TERM (exit 1).
#   add_pid PID         registers PID: cleanup kills it.
#   drop_pid PID        unregisters PID (a process the script has waited for).
#   cleanup             (the EXIT trap) kill -KILL and wait for each registered
#                       PID; removes $work unless KEEP_WORK=1, which keeps it and
#                       says so on stderr.
#   wait_until SECONDS COMMAND...
#                       until COMMAND (output discarded) succeeds, polling every
#                       0.1 s; returns 1 after SECONDS.
#   stop_pid PID SIGNAL SECONDS
#                       sends SIGNAL, waits for PID (SIGKILL after SECONDS) and
#                       unregisters it; sets rc to its exit status.
#
# Servers
#   make_repos IMAGE DIRECTOR HARDWARE-ID FILE...
#                       "$uprepo" init IMAGE, add-target of each FILE with
#                       HARDWARE-ID, publish, director init DIRECTOR (stops at
#                       the first failure; output left to the caller). Reads uprepo.
#   start_uptane_server IMAGE DIRECTOR DATABASE [ARG...]
#                       starts "$server" on 127.0.0.1 port 0 with --config
#                       $work/server.conf (made empty when missing: never
#                       /etc/uptane-server.conf) and --provisioning-token-file
#                       $work/token, then ARGs; stdout in $work/server.out,
#                       stderr appended to $work/server.log. Waits (10 s) for
#                       "listening on 127.0.0.1 port N"; sets server_pid
#                       (registered), port and base=http://127.0.0.1:PORT.
#                       Returns 1, printing nothing, when the server does not
#                       start. Reads server.
#   start_uptane_server_or_exit IMAGE DIRECTOR DATABASE [ARG...]
#                       start_uptane_server; when it fails: $work/server.log
#                       indented, fail "uptane-server starts", summary, exit 1.
#   setup_or_exit FUNCTION
#                       runs FUNCTION, its output in $work/setup.log; when it
#                       fails: that log indented, fail "setup: repositories",
#                       summary, exit 1.
#   free_port           prints a TCP port free on 127.0.0.1 now (python3).
#   start_http_server DIR
#                       python3 -m http.server serving DIR on 127.0.0.1, a
#                       free port; log in $work/http.log. Waits (10 s) until it
#                       answers; sets http_pid (registered) and http_port.
#                       Returns 1 when it does not answer.
#   start_dbus NAME CONFIG
#                       dbus-daemon --config-file=CONFIG, its address printed
#                       to $work/NAME.address, its messages to $work/NAME.log;
#                       sets bus_pid (registered). Returns 1 when no address
#                       is printed within 10 s.
#   start_session_bus   writes $work/session.conf, a session bus listening on
#                       $work/session.sock that allows everything (own, send,
#                       eavesdrop), and start_dbus session with it; sets
#                       bus_addr=unix:path=$work/session.sock, bus_pid.
#   write_primary_conf FILE [IMAGE-URL] [LINE...]
#                       a Primary's uptane.conf: VIN $vin, ECU serial pri,
#                       hardware ID pri-hw; the Director at $base/director
#                       (root $dir/metadata/root.json, token $work/token), the
#                       Image repository at IMAGE-URL (empty or left out:
#                       $base/image; root $img/metadata/root.json), the time
#                       server $base/timeserver (key $work/ts.key.pub.json),
#                       state-directory $state, cache-directory $cache,
#                       file-target-path $target, bus = none; then each LINE.
#                       Reads vin base dir img state cache target work.
#   write_secondary_conf NAME SERIAL HW VERIFICATION PORT LOGICAL-ADDRESS [LINE...]
#                       makes $work/sec-NAME and writes an uptane-secondaryd's
#                       $work/sec-NAME.conf: ECU serial SERIAL, hardware ID HW,
#                       VIN $vin, verification = VERIFICATION; the roots
#                       $dir/metadata/root.json (Director) and
#                       $img/metadata/root.json (Image repository), the time
#                       server's key $work/ts.key.pub.json; DoIP on 127.0.0.1
#                       port PORT, logical address LOGICAL-ADDRESS; then each
#                       LINE; last [storage]: state-directory $work/sec-NAME,
#                       slot-a and slot-b in it (the slots are the caller's).
#                       Reads vin dir img work.
#   active_slot NAME    prints the path of the active slot of the Secondary
#                       NAME set up by write_secondary_conf: slot-b of
#                       $work/sec-NAME when its state.json says active_slot 1,
#                       else slot-a (python3).
#   inactive_slot NAME  prints the path of its other slot.
#   assign_or_fail ECU TARGET
#                       "$uprepo" director assign TARGET of $img to ECU of $vin
#                       in $dir, output in $work/assign.log; when it fails:
#                       that log indented, fail "director assign ECU TARGET".

test_init() {
        test_name=$1
        passed=0
        failed=0
}

ok() {
        passed=$((passed + 1))
        echo "ok - $1"
}

skip() {
        echo "skip - $1"
}

fail_details() {
        :
}

fail() {
        failed=$((failed + 1))
        echo "not ok - $1"
        fail_details
}

show_files() {
        _ut_bytes=$1
        shift
        for _ut_f in "$@"; do
                if [ -s "$_ut_f" ]; then
                        printf '    %s: ' "$(basename "$_ut_f")"
                        head -c "$_ut_bytes" "$_ut_f" | tr '\n' '|'
                        echo
                fi
        done
}

check() {
        _ut_name=$1
        shift
        if "$@" >/dev/null 2>&1; then ok "$_ut_name"; else fail "$_ut_name"; fi
}

has() {
        _ut_has_file=$1
        grep -F "\"UPTANE_EVENT\":\"$2\"" "$_ut_has_file" >"$work/has.1" 2>/dev/null || return 1
        shift 2
        while [ $# -ge 2 ]; do
                grep -F "\"$1\":\"$2\"" "$work/has.1" >"$work/has.2" || return 1
                mv "$work/has.2" "$work/has.1"
                shift 2
        done
}

summary() {
        echo "$test_name: $passed passed, $failed failed"
        [ "$failed" -eq 0 ]
}

use_build() {
        build=$1
        server=$build/src/server/uptane-server
        uprepo=$build/src/repo/uptane-repo
        primaryd=$build/src/primaryd/uptane-primaryd
        uptanectl=$build/src/uptanectl/uptanectl
        vehicle=$build/tests/tools/up-test-vehicle
        fake=$build/tests/tools/fake-primary-bus
        rusage=$build/bench/bench_rusage
}

require_bins() {
        for _ut_bin in "$@"; do
                if [ ! -x "$_ut_bin" ]; then
                        echo "$test_name: $_ut_bin missing: build first (meson setup build && ninja -C build)" >&2
                        exit 1
                fi
        done
}

require_tools() {
        for _ut_tool in "$@"; do
                if ! command -v "$_ut_tool" >/dev/null 2>&1; then
                        echo "$test_name: skipped: $_ut_tool is required" >&2
                        exit 77
                fi
        done
}

build_if_missing() {
        for _ut_bin in "$@"; do
                if [ ! -x "$_ut_bin" ]; then
                        [ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null || exit 1
                        ninja -C "$build" >/dev/null || exit 1
                        return 0
                fi
        done
}

die() {
        echo "$test_name: $*" >&2
        for _ut_f in ${die_logs:-server.log}; do
                if [ -s "$work/$_ut_f" ]; then
                        tail -5 "$work/$_ut_f" | sed "s|^|    $_ut_f: |" >&2
                fi
        done
        exit 1
}

work_init() {
        work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
        pids=""
        trap cleanup EXIT
        trap 'exit 1' INT TERM
}

add_pid() {
        pids="$pids $1"
}

drop_pid() {
        _ut_keep=
        for _ut_p in $pids; do
                [ "$_ut_p" = "$1" ] || _ut_keep="$_ut_keep $_ut_p"
        done
        pids=$_ut_keep
}

cleanup() {
        for _ut_p in $pids; do
                kill -KILL "$_ut_p" 2>/dev/null || :
                wait "$_ut_p" 2>/dev/null || :
        done
        pids=
        if [ "${KEEP_WORK:-0}" = 1 ]; then
                echo "$test_name: work directory kept: $work" >&2
        else
                rm -rf "$work"
        fi
}

wait_until() {
        _ut_n=$(($1 * 10))
        shift
        while ! "$@" >/dev/null 2>&1; do
                _ut_n=$((_ut_n - 1))
                [ "$_ut_n" -gt 0 ] || return 1
                sleep 0.1
        done
}

stop_pid() {
        (sleep "$3"; kill -KILL "$1") >/dev/null 2>&1 &
        _ut_watchdog=$!
        kill "-$2" "$1" 2>/dev/null || :
        rc=0
        wait "$1" || rc=$?
        kill "$_ut_watchdog" 2>/dev/null || :
        wait "$_ut_watchdog" 2>/dev/null || :
        drop_pid "$1"
}

make_repos() {
        _ut_img=$1 _ut_dir=$2 _ut_hw=$3
        shift 3
        "$uprepo" init --repo "$_ut_img" || return 1
        for _ut_f in "$@"; do
                "$uprepo" add-target --repo "$_ut_img" "$_ut_f" --hardware-id "$_ut_hw" || return 1
        done
        "$uprepo" publish --repo "$_ut_img" &&
                "$uprepo" director init --repo "$_ut_dir"
}

# _ut_listening: uptane-server said where it listens
_ut_listening() {
        grep -q '^listening on 127\.0\.0\.1 port [0-9]' "$work/server.out"
}

start_uptane_server() {
        _ut_img=$1 _ut_dir=$2 _ut_db=$3
        shift 3
        [ -e "$work/server.conf" ] || : >"$work/server.conf"
        : >"$work/server.out"
        "$server" --config "$work/server.conf" --listen-address 127.0.0.1 --port 0 --image "$_ut_img" \
                --director "$_ut_dir" --database "$_ut_db" --provisioning-token-file "$work/token" "$@" \
                >"$work/server.out" 2>>"$work/server.log" &
        server_pid=$!
        add_pid "$server_pid"
        _ut_n=100
        while ! _ut_listening; do
                _ut_n=$((_ut_n - 1))
                if [ "$_ut_n" -le 0 ] || ! kill -0 "$server_pid" 2>/dev/null; then
                        return 1
                fi
                sleep 0.1
        done
        port=$(sed -n 's/^listening on 127\.0\.0\.1 port \([0-9]*\)$/\1/p' "$work/server.out")
        base=http://127.0.0.1:$port
}

start_uptane_server_or_exit() {
        if ! start_uptane_server "$@"; then
                sed 's/^/    /' "$work/server.log"
                fail "uptane-server starts"
                summary
                exit 1
        fi
}

setup_or_exit() {
        if ! "$1" >"$work/setup.log" 2>&1; then
                sed 's/^/    /' "$work/setup.log"
                fail "setup: repositories"
                summary
                exit 1
        fi
}

# _ut_http_answers: the static server answers on http_port
_ut_http_answers() {
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$http_port/', timeout=2)"
}

free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_http_server() {
        http_port=$(free_port) || return 1
        python3 -m http.server --bind 127.0.0.1 --directory "$1" "$http_port" >"$work/http.log" 2>&1 &
        http_pid=$!
        add_pid "$http_pid"
        wait_until 10 _ut_http_answers
}

start_dbus() {
        dbus-daemon --config-file="$2" --nofork --print-address=1 >"$work/$1.address" 2>"$work/$1.log" &
        bus_pid=$!
        add_pid "$bus_pid"
        wait_until 10 test -s "$work/$1.address"
}

start_session_bus() {
        cat >"$work/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/session.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
        bus_addr=unix:path=$work/session.sock
        start_dbus session "$work/session.conf"
}

write_primary_conf() {
        _ut_file=$1
        _ut_iurl=${2:-$base/image}
        shift
        [ $# -gt 0 ] && shift
        cat >"$_ut_file" <<EOF
[vehicle]
vin = $vin
ecu-serial = pri
hardware-id = pri-hw

[director]
url = $base/director
root = $dir/metadata/root.json
provisioning-token-file = $work/token

[image-repository]
url = $_ut_iurl
root = $img/metadata/root.json

[time-server]
url = $base/timeserver
public-key = $work/ts.key.pub.json

[storage]
state-directory = $state
cache-directory = $cache

[package-manager]
file-target-path = $target

[control]
bus = none
EOF
        for _ut_line in "$@"; do
                printf '%s\n' "$_ut_line" >>"$_ut_file"
        done
}

write_secondary_conf() {
        _ut_s=$work/sec-$1
        mkdir -p "$_ut_s"
        cat >"$_ut_s.conf" <<EOF
[ecu]
serial = $2
hardware-id = $3
vin = $vin
verification = $4

[director]
root = $dir/metadata/root.json

[image-repository]
root = $img/metadata/root.json

[time-server]
public-key = $work/ts.key.pub.json

[doip]
listen-address = 127.0.0.1
port = $5
logical-address = $6
EOF
        shift 6
        for _ut_line in "$@"; do
                printf '%s\n' "$_ut_line" >>"$_ut_s.conf"
        done
        cat >>"$_ut_s.conf" <<EOF

[storage]
state-directory = $_ut_s
slot-a = $_ut_s/slot-a
slot-b = $_ut_s/slot-b
EOF
}

active_slot() {
        python3 -c '
import json, sys
s = json.load(open(sys.argv[1] + "/state.json"))
print(sys.argv[1] + ("/slot-b" if s.get("active_slot", 0) == 1 else "/slot-a"))' "$work/sec-$1"
}

inactive_slot() {
        case $(active_slot "$1") in
        */slot-a) echo "$work/sec-$1/slot-b" ;;
        *) echo "$work/sec-$1/slot-a" ;;
        esac
}

assign_or_fail() {
        if ! "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" "$1" "$2" >"$work/assign.log" 2>&1; then
                sed 's/^/    /' "$work/assign.log"
                fail "director assign $1 $2"
        fi
}
