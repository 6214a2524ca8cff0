#!/bin/sh
# Checks the shipped systemd files without running them:
#   - systemd-analyze verify on the unit (ExecStart pointed at /bin/true, as the
#     daemon is not installed) must report nothing;
#   - systemd-analyze security --offline: the exposure score must be <= 2.0;
#   - every hardening line in the unit has a '#' comment saying why;
#   - journalctl parses systemd/uptane.catalog and lists each of its entries;
#   - systemd-sysusers creates the uptane user from the sysusers file.
#
#   tests/integration/systemd-units.sh     (UPTANE_SOURCE_DIR, default <repo>)
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${UPTANE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
unit=$src/systemd/uptane-primaryd.service
catalog=$src/systemd/uptane.catalog
sysusers=$src/systemd/uptane-primaryd.sysusers
max_score=2.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "systemd-units: skipped: systemd-analyze not found (install systemd to run these checks)"
        exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/uptane-systemd-units.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; [ -s "$work/last.log" ] && sed 's/^/    /' "$work/last.log"; }
skip() { echo "ok - $1 # SKIP $2"; }

# The copy keeps the unit's name: verify derives the unit type from it.
mkdir "$work/unit"
sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$unit" >"$work/unit/uptane-primaryd.service"
if systemd-analyze verify "$work/unit/uptane-primaryd.service" >"$work/last.log" 2>&1 && [ ! -s "$work/last.log" ]; then
        ok "systemd-analyze verify reports nothing"
else
        fail "systemd-analyze verify"
fi

if systemd-analyze security --offline=true "$unit" >"$work/last.log" 2>&1; then
        score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$work/last.log")
        echo "systemd-units: exposure score $score (at most $max_score)"
        if [ -n "$score" ] && awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s <= m) }'; then
                ok "exposure score $score <= $max_score"
        else
                # Only what raises the score, not the whole table.
                grep -e '✗' -e 'Overall' "$work/last.log" >"$work/worse.log"
                mv "$work/worse.log" "$work/last.log"
                fail "exposure score '$score' > $max_score"
        fi
else
        fail "systemd-analyze security --offline=true"
fi

# A hardening line whose previous line is not a comment.
awk '/^(NoNewPrivileges|Protect|Private|Restrict|LockPersonality|MemoryDeny|SystemCall|Capability|UMask|RemoveIPC|ProcSubset)/ &&
     prev !~ /^#/ { print FILENAME ":" NR ": " $0 } { prev = $0 }' "$unit" >"$work/last.log"
if [ -s "$work/last.log" ]; then
        fail "hardening lines without a comment"
else
        ok "every hardening line has a comment"
fi

if command -v journalctl >/dev/null 2>&1; then
        mkdir -p "$work/root/usr/lib/systemd/catalog"
        cp "$catalog" "$work/root/usr/lib/systemd/catalog/uptane-primaryd.catalog"
        want=$(grep -c '^-- ' "$catalog")
        if journalctl --root="$work/root" --update-catalog >"$work/last.log" 2>&1 &&
           journalctl --root="$work/root" --list-catalog >"$work/list" 2>>"$work/last.log"; then
                got=$(grep -c ' uptane-primaryd: ' "$work/list")
                if [ "$got" -eq "$want" ] && [ "$want" -gt 0 ]; then
                        ok "journalctl lists the $got catalog entries"
                else
                        cp "$work/list" "$work/last.log"
                        fail "journalctl lists $got catalog entries, the file has $want"
                fi
        else
                fail "journalctl --update-catalog"
        fi
else
        skip "catalog" "journalctl not found"
fi

if command -v systemd-sysusers >/dev/null 2>&1; then
        mkdir -p "$work/sysroot/etc"
        if systemd-sysusers --root="$work/sysroot" "$sysusers" >"$work/last.log" 2>&1 &&
           grep -q '^uptane:x:[0-9]*:[0-9]*:Uptane Primary daemon:/var/lib/uptane:' "$work/sysroot/etc/passwd" &&
           grep -q '^uptane:' "$work/sysroot/etc/group"; then
                ok "systemd-sysusers creates user and group uptane"
        else
                fail "systemd-sysusers"
        fi
else
        skip "sysusers" "systemd-sysusers not found"
fi

echo "systemd-units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
