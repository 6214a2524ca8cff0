#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Integration test of uptane-primaryd's configuration handling: exit status
# 78 and FILE:LINE on a bad key, the effective configuration on
# --check-config, drop-ins overriding the main file, 70 when the state cannot be set up.
#
#   tests/integration/primaryd-config.sh      (UPTANE_BUILD_DIR, default <repo>/build)
#
# Prints "ok - ..." / "not ok - ..." lines and last "primaryd-config: N passed,
# N failed"; exits non-zero on any failure. KEEP_WORK=1 keeps the work directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"

test_init primaryd-config
require_bins "$primaryd"
work_init uptane-primaryd-config
fail_details() { show_files 600 "$work/out" "$work/err"; }

# Runs uptane-primaryd with the arguments; $status, $work/out, $work/err.
run() {
        "$primaryd" "$@" >"$work/out" 2>"$work/err"
        status=$?
}

# expect STATUS DESCRIPTION: the last run exited with STATUS.
expect() {
        if [ "$status" -eq "$1" ]; then ok "$2"; else fail "$2 (exit $status, expected $1)"; fi
}

# grep_in FILE PATTERN DESCRIPTION
grep_in() {
        if grep -q -- "$2" "$1"; then ok "$3"; else fail "$3 ('$2' not found)"; fi
}

conf=$work/uptane.conf
cat >"$conf" <<'CONF'
# A test configuration.
[vehicle]
vin = TESTVIN0001
ecu-serial = primary-1
hardware-id = test-hw

[director]
url = https://director.example.com/TESTVIN0001
root = /usr/share/uptane/director-root.json

[image-repository]
url = https://images.example.com
root = /usr/share/uptane/image-root.json

[package-manager]
file-target-path = /var/lib/uptane/installed.img
CONF

run --help
expect 0 "--help exits with 0"
grep_in "$work/out" "--check-config" "--help lists --check-config"

run --version
expect 0 "--version exits with 0"
grep_in "$work/out" "^uptane-primaryd [0-9]" "--version prints the version"

run --no-such-option
expect 64 "an unknown option exits with 64 (EX_USAGE)"

run --config "$conf" --check-config
expect 0 "--check-config on a valid file exits with 0"
grep_in "$work/out" "^vin = TESTVIN0001 ; $conf:3\$" "--check-config prints a value and where it was set"
grep_in "$work/out" "^poll-interval = 10m\$" "--check-config prints defaults"
grep_in "$work/out" "^\[secondaries\]\$" "--check-config prints every section"

mkdir "$work/uptane.conf.d"
printf '[update]\npoll-interval = 1h\n' >"$work/uptane.conf.d/50-poll.conf"
printf '[update]\npoll-interval = 2h\n' >"$work/uptane.conf.d/60-poll.conf"
printf '[update]\npoll-interval = bogus\n' >"$work/uptane.conf.d/70-poll.conf.disabled"
run --config "$conf" --check-config
expect 0 "--check-config with drop-ins exits with 0"
grep_in "$work/out" "^poll-interval = 2h ; $work/uptane.conf.d/60-poll.conf:2\$" \
        "the last drop-in in lexical order wins"

printf '[storage]\nstate-directory = %s/state\ncache-directory = %s/cache\n' "$work" "$work" \
        >"$work/uptane.conf.d/65-storage.conf"
run --config "$conf" --once
rm -f "$work/uptane.conf.d/65-storage.conf"
expect 70 "asked to run without the trusted roots it names, the daemon exits with 70 (EX_SOFTWARE)"
grep_in "$work/err" "cannot read the initial director root" "and names the missing root"

printf '[update]\n\npoll-intervall = 5m\n' >"$work/uptane.conf.d/80-typo.conf"
run --config "$conf" --check-config
expect 78 "an unknown key exits with 78 (EX_CONFIG)"
grep_in "$work/err" "^$work/uptane.conf.d/80-typo.conf:3: \[update\] poll-intervall: unknown key\$" \
        "the message names file, line, section and key"
rm "$work/uptane.conf.d/80-typo.conf"

printf '[download]\nmax-image-size = 1P\n' >"$work/uptane.conf.d/80-size.conf"
run --config "$conf"
expect 78 "a bad value exits with 78 even when asked to run"
grep_in "$work/err" "80-size.conf:2: \[download\] max-image-size: '1P' is not a size" "the message says why"
rm "$work/uptane.conf.d/80-size.conf"

printf '[vehicle]\nvin = X\n' >"$work/partial.conf"
run --config "$work/partial.conf" --check-config
expect 78 "missing required keys exit with 78"
grep_in "$work/err" "^$work/partial.conf: \[director\] url: required, but not set\$" "the message names the key"

run --config "$work/none.conf" --check-config
expect 78 "a missing file exits with 78"
grep_in "$work/err" "none.conf: cannot open" "the message names the file"

run --print-default-config
expect 0 "--print-default-config exits with 0"
if cmp -s "$work/out" "$repo_root/conf/uptane.conf"; then
        ok "conf/uptane.conf is what --print-default-config prints"
else
        fail "conf/uptane.conf is stale: regenerate with --print-default-config"
fi

summary
