#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The steady-state poll: uptane-primaryd asks for updates and there is nothing
# new. Prints its CPU time and memory per poll next to the production C++
# client's (aktualizr: about 0.04 s CPU and 25 MB RSS per idle poll, from the
# issue; the goal is a fifth of both).
#
#   bench/bench_poll.sh [BUILD_DIR]        (default <repo>/build)
#
# Set-up: uptane-server on 127.0.0.1 (port 0) with fresh repositories, a 4 KiB
# image assigned to the Primary, one --once run that registers and installs
# it and one more that reports it; from then on every check is "no-change".
#
# (a) RUNS (default 20) further `uptane-primaryd --once`: user+sys CPU time and
#     peak RSS of each process (wait4(), by bench_rusage), so process start-up
#     (exec, loading the shared libraries) is included; the same for
#     `uptane-primaryd --version` (start-up alone).
# (b) the daemon itself (poll-interval INTERVAL, default 5 s) for POLLS polls
#     (default 12, about a minute): its CPU time from the kernel's process CPU
#     clock (the nanosecond value behind utime+stime in /proc/PID/stat, which
#     only counts in 10 ms ticks) between the end of its first check and the
#     end of its POLLS-th next one, divided by POLLS; then VmHWM, VmRSS, and how
#     much of it is anonymous (the daemon's own) and file-backed (shared-library
#     pages, shared with other processes); Pss splits the shared pages.
# The server's CPU time over the same polls is printed for context.
#
# Timings are not tests: the exit status is 0 unless the set-up fails.
set -u

RUNS=${RUNS:-20}
POLLS=${POLLS:-12}
INTERVAL=${INTERVAL:-5}
# aktualizr, from the issue; the goal is a fifth of both.
REF_CPU=0.040
REF_RSS_MB=25

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/uptane-test.sh
. "$top/tests/lib/uptane-test.sh"
use_build "${1:-$top/build}"

test_init bench_poll
build_if_missing "$server" "$uprepo" "$primaryd" "$rusage"
work_init uptane-bench-poll
die_logs="server.log once.log daemon.log"

# cpu_s PID...: each process's CPU time (all its threads, also ended ones), in seconds
cpu_s() {
        python3 -c '
import sys, time
# clock_getcpuclockid(pid): CPUCLOCK_SCHED of the whole process
print(" ".join("%.6f" % time.clock_gettime(((~int(p)) << 3) | 2) for p in sys.argv[1:]))' "$@"
}

# ticks_s PID: utime+stime from /proc/PID/stat, in seconds (10 ms resolution)
ticks_s() {
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# status_kb PID FIELD: a "FIELD: N kB" line of /proc/PID/status or smaps_rollup
status_kb() {
        cat "/proc/$1/status" "/proc/$1/smaps_rollup" 2>/dev/null | awk -v f="$2:" '$1 == f { print $2; exit }'
}

# count EVENT FILE: how many UPTANE_EVENT=EVENT lines the JSON log has
count() {
        grep -c "\"UPTANE_EVENT\":\"$1\"" "$2" 2>/dev/null
}

# --- Set-up ---------------------------------------------------------------------

echo "bench-$$-token" >"$work/token"
img=$work/img dir=$work/dir
{
        head -c 4096 /dev/urandom >"$work/fw-1.bin" &&
                make_repos "$img" "$dir" pri-hw "$work/fw-1.bin"
} >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; die "cannot make the repositories"; }

start_uptane_server "$img" "$dir" "$work/inv.sqlite" --timeserver-key "$work/ts.key" ||
        die "uptane-server did not start"

mkdir -p "$work/installed"
vin=VIN1 state=$work/state cache=$work/cache target=$work/installed/firmware.bin
write_primary_conf "$work/uptane.conf" "" "[update]" "poll-interval = ${INTERVAL}s"

once() {
        UPTANE_LOG_TARGET=json "$primaryd" --config "$work/uptane.conf" --once >>"$work/once.log" 2>&1
}
"$uprepo" director assign --repo "$work/dir" --image-repo "$work/img" VIN1 pri fw-1.bin >>"$work/setup.log" 2>&1 ||
        die "cannot assign the image"
once || die "the first --once run failed (exit $?)"
[ "$(count installed "$work/once.log")" = 1 ] || die "the first --once run did not install fw-1.bin"
once || die "the second --once run failed (exit $?)"
: >"$work/once.log"

# --- (a) --once runs ------------------------------------------------------------

: >"$work/rusage-version"
: >"$work/rusage-once"
server_before=$(cpu_s "$server_pid")
i=0
while [ "$i" -lt "$RUNS" ]; do
        "$rusage" "$primaryd" --version 2>>"$work/rusage-version" >/dev/null
        UPTANE_LOG_TARGET=json "$rusage" "$primaryd" --config "$work/uptane.conf" --once \
                2>>"$work/rusage-once" >/dev/null
        i=$((i + 1))
done
server_after=$(cpu_s "$server_pid")
grep -v '^RUSAGE' "$work/rusage-once" >"$work/once.log"
grep -q '^RUSAGE.* status=[^0]' "$work/rusage-once" && die "a --once run failed: $(grep -v status=0 "$work/rusage-once" | head -1)"
[ "$(count up-to-date "$work/once.log")" = "$RUNS" ] || die "not every --once run was up to date"
[ "$(grep -c '"MESSAGE":"Up to date (no-change)"' "$work/once.log")" = "$RUNS" ] ||
        echo "note: not every --once run stopped at an unchanged timestamp" >&2
once_server=$(awk -v a="$server_before" -v b="$server_after" -v n="$RUNS" 'BEGIN { printf "%.6f", (b - a) / n }')

# stats FILE: median and mean of user+sys, median maxrss (kB), median wall
stats() {
        sed -n 's/^RUSAGE wall=\([^ ]*\) user=\([^ ]*\) sys=\([^ ]*\) maxrss_kb=\([^ ]*\) .*/\1 \2 \3 \4/p' "$1" |
                awk '{ cpu[NR] = $2 + $3; rss[NR] = $4; wall[NR] = $1; sum += $2 + $3 }
                function median(a, n,   i, j, t) {
                        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
                        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                }
                END { printf "%.6f %.6f %d %.6f\n", median(cpu, NR), sum / NR, median(rss, NR), median(wall, NR) }'
}
# shellcheck disable=SC2046
set -- $(stats "$work/rusage-once")
once_cpu=$1 once_cpu_mean=$2 once_rss=$3 once_wall=$4
# shellcheck disable=SC2046
set -- $(stats "$work/rusage-version")
ver_cpu=$1 ver_rss=$3

# --- (b) the daemon ------------------------------------------------------------

UPTANE_LOG_TARGET=json "$primaryd" --config "$work/uptane.conf" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
add_pid "$daemon_pid"
# wait_checks N: until the daemon has ended N checks (up to date), or fail
wait_checks() {
        deadline=$(($(date +%s) + $1 * INTERVAL + 30))
        while [ "$(count up-to-date "$work/daemon.log")" -lt "$1" ]; do
                kill -0 "$daemon_pid" 2>/dev/null || die "the daemon exited"
                [ "$(date +%s)" -lt "$deadline" ] || die "the daemon did not end $1 checks in time"
                [ "$(count check-started "$work/daemon.log")" -gt "$(count up-to-date "$work/daemon.log")" ] ||
                        [ "$(count temporary-failure "$work/daemon.log")" = 0 ] || die "a check failed"
                sleep 0.05
        done
}
wait_checks 1
# Right after a check ended, so no check is half-way: the next one is INTERVAL away.
# shellcheck disable=SC2046
set -- $(cpu_s "$daemon_pid" "$server_pid")
d_before=$1 s_before=$2
t_before=$(ticks_s "$daemon_pid")
wait_checks $((POLLS + 1))
# shellcheck disable=SC2046
set -- $(cpu_s "$daemon_pid" "$server_pid")
d_after=$1 s_after=$2
t_after=$(ticks_s "$daemon_pid")
hwm=$(status_kb "$daemon_pid" VmHWM)
rss=$(status_kb "$daemon_pid" VmRSS)
anon=$(status_kb "$daemon_pid" RssAnon)
file=$(status_kb "$daemon_pid" RssFile)
pss=$(status_kb "$daemon_pid" Pss)
threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$daemon_pid/status")
libs=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$daemon_pid/maps" | sort -u | wc -l)
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_rc=$?
drop_pid "$daemon_pid"
[ "$daemon_rc" -eq 0 ] || echo "note: the daemon exited $daemon_rc after SIGTERM" >&2
no_change=$(grep -c '"MESSAGE":"Up to date (no-change)"' "$work/daemon.log")

# --- Summary -------------------------------------------------------------------

awk -v runs="$RUNS" -v polls="$POLLS" -v interval="$INTERVAL" -v ref_cpu="$REF_CPU" -v ref_rss="$REF_RSS_MB" \
        -v d0="$d_before" -v d1="$d_after" -v t0="$t_before" -v t1="$t_after" -v s0="$s_before" -v s1="$s_after" \
        -v hwm="$hwm" -v rss="$rss" -v anon="$anon" -v file="$file" -v pss="$pss" -v threads="$threads" \
        -v libs="$libs" -v no_change="$no_change" \
        -v once_cpu="$once_cpu" -v once_cpu_mean="$once_cpu_mean" -v once_rss="$once_rss" -v once_wall="$once_wall" \
        -v once_server="$once_server" -v ver_cpu="$ver_cpu" -v ver_rss="$ver_rss" '
function mb(kb) { return kb / 1024 }
function verdict(v, goal) { return v <= goal ? "meets" : sprintf("%.1fx the goal", v / goal) }
BEGIN {
        goal_cpu = ref_cpu / 5; goal_rss = ref_rss / 5
        d_cpu = (d1 - d0) / polls
        row = "  %-66s %2s%7.4f s  %2s%5.1f MB%s\n"
        printf "%-68s %10s  %10s\n", "idle poll (nothing new), 127.0.0.1, 1 ECU, ed25519, time server", "CPU/poll", "RSS"
        printf row, "aktualizr (from the issue)", "", ref_cpu, "", ref_rss, ""
        printf row, "goal: a fifth", "<=", goal_cpu, "<=", goal_rss, ""
        printf row, sprintf("uptane-primaryd daemon, %d polls every %d s", polls, interval), "", d_cpu, "", mb(rss), " VmRSS"
        printf row, sprintf("uptane-primaryd --once, median of %d runs (a new process each)", runs), "", once_cpu, "",
                mb(once_rss), " maxrss"
        printf row, "  of which starting the process (--version, median)", "", ver_cpu, "", mb(ver_rss), " maxrss"
        printf "  %-66s %2s%7.4f s (--once: %.4f s)\n", "uptane-server, per daemon poll", "", (s1 - s0) / polls,
                once_server
        printf "\n"
        printf "daemon:  CPU %.4f s/poll (%s); /proc/PID/stat utime+stime: %.2f s over %d polls = %.4f s/poll\n",
                d_cpu, verdict(d_cpu, goal_cpu), t1 - t0, polls, (t1 - t0) / polls
        printf "         VmRSS %.1f MB (%s): anonymous %.1f MB (%s), file-backed %.1f MB (%d shared libraries);\n",
                mb(rss), verdict(mb(rss), goal_rss), mb(anon), verdict(mb(anon), goal_rss), mb(file), libs
        printf "         Pss %.1f MB, VmHWM %.1f MB, %d thread(s) between polls; %d of %d checks ended at no-change\n",
                mb(pss), mb(hwm), threads, no_change, polls + 1
        printf "--once:  CPU %.4f s median, %.4f s mean, wall %.3f s median (%s)\n",
                once_cpu, once_cpu_mean, once_wall, verdict(once_cpu, goal_cpu)
}'
