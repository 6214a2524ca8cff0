#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A 1 MiB image from uptane-primaryd to uptane-secondaryd over kernel ISO-TP,
# on classic CAN (8-byte frames) and on CAN FD (64-byte frames, block size 0),
# in the QEMU guest of tests/vm/run-in-vm.sh (real can-isotp, software
# emulation). Prints the CAN frames each transfer used next to the minimum
# ISO-TP needs for the same TransferData blocks, and next to the bound for
# the image's bytes alone (every frame full of payload, no flow control).
# The classic Secondary runs once with block size 0 (one flow control frame
# per message) and once with 8 (one per 8 consecutive frames: +12.5% by
# design, the receiver's choice).
#   bench/bench_isotp.sh [BUILD_DIR]      (about 2-3 minutes per run)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
size=${BENCH_ISOTP_BYTES:-1048576}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

ninja -C "$build" >/dev/null || exit 1
for bs in ${BENCH_ISOTP_BS:-0 8}; do
        start=$(date +%s)
        UPTANE_BUILD_DIR=$build VM_SHARE="$top $build $out" VM_TIMEOUT=${VM_TIMEOUT:-2400} \
                "$top/tests/vm/run-in-vm.sh" env PRIMARYD_ISOTP_BIG=1 PRIMARYD_ISOTP_FD_BYTES="$size" \
                PRIMARYD_ISOTP_BIG_BYTES="$size" PRIMARYD_ISOTP_CLASSIC_BS="$bs" \
                "$top/tests/vm/primaryd-isotp.sh" "$build" "$out/vm" >"$out/vm.log" 2>&1
        rc=$?
        echo "-- classic block size $bs: VM run $(($(date +%s) - start)) s, exit $rc"
        grep -E '^not ok' "$out/vm.log"
        # vm/measure.txt (the test's output directory): name blocks frames fcs min_frames min_fcs sizes image_size
        while read -r name _ frames fcs minf minfc _ isize; do
                case $name in
                classic) per=7 what="classic CAN, 8-byte frames, block size $bs" ;;  # 1 byte of ISO-TP PCI per frame
                *) per=63 what="CAN FD, 64-byte frames, block size 0" ;;
                esac
                used=$((frames + fcs)) min=$((minf + minfc)) bound=$(((isize + per - 1) / per))
                printf '%s KiB over %s: %d CAN frames; ISO-TP minimum for these blocks %d (%s); image bytes alone %d (+%s%%)\n' \
                        "$((isize / 1024))" "$what" "$used" "$min" \
                        "$(awk -v u="$used" -v m="$min" 'BEGIN { printf "%+.2f%%", (u - m) * 100 / m }')" "$bound" \
                        "$(awk -v u="$used" -v b="$bound" 'BEGIN { printf "%.2f", (u - b) * 100 / b }')"
        done < <(cat "$out/vm/measure.txt" 2>/dev/null)
        [ -s "$out/vm/measure.txt" ] || { echo "no measurement; the guest's log:"; tail -30 "$out/vm.log"; }
done
