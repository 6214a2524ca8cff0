#!/usr/bin/env bash
# The test command: builds with -Werror, runs every test, runs them again
# under ASan+UBSan, runs each fuzz target for a bounded time, and the
# cross-implementation tests with tuf-js. Exits non-zero on any failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
log=$(mktemp -d)
failed_steps=()
checks_passed=0
checks_failed=0

step() { printf '\n==== %s ====\n' "$*"; }

# Sums Check's "NN%: Checks: N, Failures: F, Errors: E" lines of a log.
count_checks() {
        local n f e
        while read -r n f e; do
                checks_passed=$((checks_passed + n - f - e))
                checks_failed=$((checks_failed + f + e))
        done < <(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$1")
        # Shell tests end with "NAME: N passed, N failed".
        while read -r n f; do
                checks_passed=$((checks_passed + n))
                checks_failed=$((checks_failed + f))
        done < <(sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$1")
}

build_and_test() {
        local dir=$1; shift
        step "build $dir ($*)"
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" "$@" >"$log/$dir-setup.log" 2>&1 || { cat "$log/$dir-setup.log"; return 1; }
        fi
        ninja -C "$dir" >"$log/$dir-build.log" 2>&1 || { cat "$log/$dir-build.log"; return 1; }
        step "tests in $dir"
        meson test -C "$dir" --print-errorlogs --verbose >"$log/$dir-test.log" 2>&1
        local rc=$?
        grep -E 'Checks: [0-9]+|^[a-z-]+: [0-9]+ passed, [0-9]+ failed$|^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass):' "$log/$dir-test.log"
        count_checks "$log/$dir-test.log"
        [ $rc -eq 0 ] || { grep -B2 -A20 -E '^[^ ]*:[0-9]+:[EF]:' "$log/$dir-test.log" | head -100; }
        return $rc
}

bash scripts/install-deps.sh || { echo "dependency installation failed"; exit 1; }

build_and_test build -Dbuildtype=debugoptimized || failed_steps+=("tests")
build_and_test build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
        || failed_steps+=("tests under ASan+UBSan")

step "fuzz targets, ${FUZZ_SECONDS}s each"
if [ ! -f build-fuzz/build.ninja ]; then
        CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
                >"$log/fuzz-setup.log" 2>&1 || cat "$log/fuzz-setup.log"
fi
if ninja -C build-fuzz >"$log/fuzz-build.log" 2>&1; then
        for f in build-fuzz/tests/fuzz/fuzz_*; do
                [ -f "$f" ] && [ -x "$f" ] || continue
                name=$(basename "$f"); corpus="tests/fuzz/corpus/${name#fuzz_}"
                work=$(mktemp -d); [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
                if "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 "$work" \
                        >"$log/$name.log" 2>&1; then
                        echo "$name: $(grep -m1 stat::number_of_executed_units "$log/$name.log" | awk '{print $2}') executions, no crash"
                else
                        echo "$name: FAILED"; tail -40 "$log/$name.log"; failed_steps+=("$name")
                fi
                rm -rf "$work"
        done
else
        cat "$log/fuzz-build.log"; failed_steps+=("fuzz build")
fi

step "cross-implementation tests with tuf-js"
if UPTANE_BUILD_DIR="$top/build" bash tests/interop/run.sh >"$log/interop.log" 2>&1; then
        grep -E '^# (tests|pass|fail|skipped)' "$log/interop.log"
else
        grep -A30 "not ok" "$log/interop.log" | head -200; tail -12 "$log/interop.log"; failed_steps+=("interop")
fi
while read -r k v; do
        case $k in pass) checks_passed=$((checks_passed + v));; fail) checks_failed=$((checks_failed + v));; esac
done < <(sed -n 's/^# \(pass\|fail\) \([0-9]*\)$/\1 \2/p' "$log/interop.log")

step "system test on Debian 12 with systemd (QEMU)"
# Builds the debs, boots them in a Debian 12 guest and checks them there
# (tests/system/README.md); the last line "system: N passed, M failed" is counted.
bash tests/system/run.sh >"$log/system.log" 2>&1
system_rc=$?
grep -E '^(ok|not ok) - |^# ' "$log/system.log"
sed -n '/^== timings$/,$p' "$log/system.log"   # the time of each step, then "system: ..."
if [ $system_rc -eq 77 ]; then
        grep '^skip - ' "$log/system.log"   # not enough disk here: said, not failed
elif [ $system_rc -ne 0 ]; then
        grep -q '^system: [0-9]* passed' "$log/system.log" || tail -40 "$log/system.log"
        failed_steps+=("system test")
fi
count_checks "$log/system.log"

step "summary"
if [ ${#failed_steps[@]} -gt 0 ]; then
        echo "failed: ${failed_steps[*]}"
        echo "total: $checks_passed passed, $((checks_failed > 0 ? checks_failed : ${#failed_steps[@]})) failed"
        exit 1
fi
echo "total: $checks_passed passed, $checks_failed failed"
