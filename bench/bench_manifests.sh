#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Load test of uptane-server's manifest intake, then a durability check.
#
#   bench/bench_manifests.sh [BUILD_DIR]        (default <repo>/build)
#
# 1. Load: the script starts uptane-server on 127.0.0.1 (port 0) with fresh
#    repositories and database; bench_manifests runs VEHICLES concurrent
#    vehicles (default 50), each registering and then PUTting MANIFESTS
#    manifests (default 20) with fresh nonces. Prints manifests/s, p50/p99
#    latency and the server's peak RSS (VmHWM).
# 2. Durability: the same load on a new database; after KILL_AT manifests were
#    acknowledged (default a third of them) the server gets kill -9, is started
#    again on the same database, and every manifest answered 2xx must be in the
#    nonces and manifests tables.
#
# Each load run is bounded by TIME_LIMIT seconds (default 120): the client
# sends nothing after it and `timeout -s KILL` backs that up. Exit status 1
# when a load run fails or an acknowledged manifest is missing.
set -u

VEHICLES=${VEHICLES:-50}
MANIFESTS=${MANIFESTS:-20}
TIME_LIMIT=${TIME_LIMIT:-120}
total=$((VEHICLES * MANIFESTS))
KILL_AT=${KILL_AT:-$((total / 3))}

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
use_build "${1:-$top/build}"
client=$build/bench/bench_manifests

test_init bench_manifests
build_if_missing "$server" "$uprepo" "$client"
command -v sqlite3 >/dev/null 2>&1 || { echo "bench_manifests: the sqlite3 CLI is required" >&2; exit 1; }

work_init uptane-bench-manifests

# start_server DB: uptane-server on 127.0.0.1, any port; sets server_pid and url
start_server() {
        start_uptane_server "$work/image" "$work/director" "$1" || die "uptane-server did not start"
        url=$base
}

# stop_server: SIGTERM (SIGKILL after 10 s); exit status in rc
stop_server() {
        stop_pid "$server_pid" TERM 10
}

# field NAME FILE: value of NAME=... on the RESULT line of a client's output
field() {
        sed -n "s/^RESULT .*[ ]$1=\([^ ]*\).*/\1/p" "$2"
}

client_args() {
        echo "--url $url --token-file $work/token --vehicles $VEHICLES --manifests $MANIFESTS --time-limit $TIME_LIMIT"
}

# --- Setup ----------------------------------------------------------------------

echo "bench-$$-token" >"$work/token"
{
        head -c 1024 /dev/urandom >"$work/bench-fw-1.0.bin" &&
                make_repos "$work/image" "$work/director" bench-hw-sec "$work/bench-fw-1.0.bin"
} >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "cannot make the repositories"; }

# --- 1. Load --------------------------------------------------------------------

echo "== load: $VEHICLES vehicles x $MANIFESTS manifests, fresh nonces (limit ${TIME_LIMIT} s)"
start_server "$work/load.sqlite"
# shellcheck disable=SC2046
timeout -s KILL $((TIME_LIMIT + 10)) "$client" $(client_args) --prefix LOAD --acked "$work/acked-load.csv" \
        >"$work/load.out" 2>&1
client_rc=$?
sed 's/^/  /' "$work/load.out"
rss_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$server_pid/status")
stop_server
[ "$client_rc" -eq 0 ] || die "the load client failed (exit $client_rc)"
[ "$rc" -eq 0 ] || die "uptane-server exited $rc after SIGTERM"
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
echo "  server peak RSS (VmHWM): $rss_mb MB"
load_acked=$(wc -l <"$work/acked-load.csv" | tr -d ' ')
load_stored=$(sqlite3 -readonly "$work/load.sqlite" 'SELECT COUNT(*) FROM manifests')
echo "  acknowledged $load_acked, stored $load_stored"
mps=$(field manifests_per_s "$work/load.out")
p50=$(field p50_ms "$work/load.out")
p99=$(field p99_ms "$work/load.out")

# --- 2. Durability: kill -9 in the middle of the load ---------------------------

echo "== durability: kill -9 after $KILL_AT acknowledged manifests, restart on the same database"
db=$work/durability.sqlite
acked=$work/acked-durability.csv
: >"$acked"
start_server "$db"
# shellcheck disable=SC2046
timeout -s KILL $((TIME_LIMIT + 10)) "$client" $(client_args) --prefix CRASH --acked "$acked" \
        >"$work/durability.out" 2>&1 &
client_pid=$!
add_pid "$client_pid"
# Every 20 ms: enough acknowledged, or the client ended.
killed_at=
i=0
while [ "$i" -lt $((TIME_LIMIT * 50)) ]; do
        n=$(wc -l <"$acked" | tr -d ' ')
        if [ "$n" -ge "$KILL_AT" ] || ! kill -0 "$client_pid" 2>/dev/null; then
                kill -KILL "$server_pid"
                killed_at=$n
                break
        fi
        sleep 0.02
        i=$((i + 1))
done
[ -n "$killed_at" ] || { kill -KILL "$server_pid"; killed_at=$(wc -l <"$acked" | tr -d ' '); }
wait "$server_pid" 2>/dev/null
drop_pid "$server_pid"
wait "$client_pid"
client_rc=$?
drop_pid "$client_pid"
sed 's/^/  /' "$work/durability.out"
echo "  server killed (kill -9) when $killed_at manifests were acknowledged"
[ "$client_rc" -eq 0 ] || die "the load client failed (exit $client_rc)"
[ "$killed_at" -lt "$total" ] || echo "  note: the load had ended before the kill; lower KILL_AT"

start_server "$db"
if command -v curl >/dev/null 2>&1; then
        curl -sf --max-time 10 "$url/health" >/dev/null || die "no answer from the restarted server"
fi
counts=$(sqlite3 -readonly -cmd '.timeout 10000' "$db" \
        "CREATE TEMP TABLE acked(vin TEXT, serial TEXT, nonce INTEGER);" \
        ".import --csv --schema temp $acked acked" \
        "CREATE TEMP TABLE stored AS SELECT m.vin AS vin, e.key AS serial,
                json_extract(e.value, '\$.signed.nonce') AS nonce
                FROM manifests m, json_each(m.body, '\$.signed.ecu_version_manifests') e;" \
        "SELECT (SELECT COUNT(*) FROM temp.acked) || ' ' ||
                (SELECT COUNT(*) FROM temp.acked a WHERE EXISTS (SELECT 1 FROM nonces n
                        WHERE n.serial = a.serial AND n.nonce = a.nonce)) || ' ' ||
                (SELECT COUNT(*) FROM temp.acked a WHERE EXISTS (SELECT 1 FROM temp.stored s
                        WHERE s.vin = a.vin AND s.serial = a.serial AND s.nonce = a.nonce)) || ' ' ||
                (SELECT COUNT(*) FROM manifests);") || die "cannot read the inventory"
stop_server
# shellcheck disable=SC2086
set -- $counts
n_acked=$1
in_nonces=$2
in_manifests=$3
n_stored=$4
echo "  acknowledged (2xx): $n_acked; found after the restart: $in_nonces in nonces, $in_manifests in manifests" \
        "($n_stored manifests stored, $((n_stored - in_manifests)) of them unacknowledged)"

echo "== summary"
echo "manifests/s: $mps  p50: $p50 ms  p99: $p99 ms  server peak RSS: $rss_mb MB" \
        " acked: $n_acked  found after kill -9: $in_manifests"
if [ "$in_nonces" -ne "$n_acked" ] || [ "$in_manifests" -ne "$n_acked" ]; then
        echo "durability: FAILED: $((n_acked - in_manifests)) acknowledged manifests lost"
        exit 1
fi
echo "durability: ok"
