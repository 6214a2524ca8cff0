#!/usr/bin/env bash
# Runs the benchmarks and prints their figures next to a reference measured in
# the same run. Timings are not tests: this never fails on a slow machine.
#   bench/run.sh [BUILD_DIR]   (default: build, configured with meson)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== targets.json with 100,000 entries: parse + verify (goal < 1 s, peak RSS < 3x the file)"
"$build/bench/bench_targets" generate 100000 "$work/targets.json" "$work/root.json"
"$build/bench/bench_targets" measure "$work/targets.json" "$work/root.json"
echo
echo "== canonical JSON and the json-c tree alone, for comparison"
"$build/bench/bench_cjson" | tail -4
echo
echo "== signature verifications per second, next to openssl speed (goal >= 0.9x)"
bash "$top/bench/bench_verify.sh" "$build/bench/bench_verify" || true
echo
echo "== a 200 MiB image: libuptane's download (streaming hashes, fsync) next to curl -o (goal <= 1.15x)"
bash "$top/bench/bench_download.sh" "$build/bench/bench_download" || true
echo
echo "== uptane-primaryd: a 200 MiB image assigned to the Primary, its download phase next to curl -o (goal <= 1.15x)"
bash "$top/bench/bench_primaryd_download.sh" "$build" || true
echo
echo "== uptane-primaryd: a 50 MiB OSTree commit pulled and deployed, next to the production client (goal: <= 1.57 s, <= half of 31 MB; root only)"
bash "$top/bench/bench_ostree.sh" "$build" || true
echo
echo "== uptane-primaryd -> uptane-secondaryd over DoIP: 20 MiB to one Secondary and to three at once, next to curl (goal: >= 20x faster than 6.2 s, 1 connection)"
bash "$top/bench/bench_secondaries.sh" "$build" || true
echo
echo "== uptane-primaryd: idle poll, nothing new, next to aktualizr (goal: a fifth of 0.04 s CPU and 25 MB RSS; about 80 s)"
bash "$top/bench/bench_poll.sh" "$build" || true
echo
echo "== uptane-server under load (and kill -9): bench/bench_manifests.sh $build (about 4 minutes, not run here)"
echo "== 1 MiB to a Secondary over kernel ISO-TP (classic CAN and CAN FD) in QEMU, CAN frames next to the minimum (goal: within 2%): bench/bench_isotp.sh $build (about 5 minutes, not run here)"
