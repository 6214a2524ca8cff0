#!/bin/sh
# Checks the shipped systemd files without running them, for each unit
# (uptane-primaryd, uptane-secondaryd, uptane-server):
#   - systemd-analyze verify --root on an installed tree reports nothing (it
#     exits 0 on parse warnings, so any output is a failure). The tree is the
#     packages' files when UPTANE_DEBS_DIR holds the .debs
#     (scripts/build-debs.sh), else the units with a stub at ExecStart=;
#   - systemd-analyze security --offline: the score is printed, at most 2.0;
#   - Type=notify, Restart=on-failure, RestartPreventExitStatus=78, a
#     dedicated user, StateDirectory=, WatchdogSec=;
#   - AF_CAN only in the units whose daemon speaks ISO-TP;
#   - every hardening line has a '#' comment saying why;
#   - each man page of Documentation= has a source in docs/man;
#   - journalctl parses systemd/uptane.catalog and lists each of its entries;
#   - systemd-sysusers creates the users from the sysusers files.
#
#   tests/integration/systemd-units.sh     (UPTANE_SOURCE_DIR, default <repo>;
#                                           UPTANE_DEBS_DIR, optional)
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${UPTANE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
catalog=$src/systemd/uptane.catalog
units="uptane-primaryd uptane-secondaryd uptane-server"
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
: >"$work/last.log"

# The tree verify sees: the host's units (targets such as sysinit.target),
# /bin/kill for ExecReload=, then the packages' files or the units and stubs.
root=$work/root
mkdir -p "$root/usr/lib/systemd" "$root/bin"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/kill"
debs=""
if [ -n "${UPTANE_DEBS_DIR:-}" ]; then
        for u in $units; do
                deb=$(ls "$UPTANE_DEBS_DIR/${u}"_*.deb 2>/dev/null | head -n 1)
                [ -n "$deb" ] && dpkg-deb -x "$deb" "$root" && debs="$debs $u"
        done
fi
for u in $units; do
        case " $debs " in *" $u "*) continue ;; esac
        cp "$src/systemd/$u.service" "$root/usr/lib/systemd/system/"
        exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$src/systemd/$u.service")
        mkdir -p "$root$(dirname "$exe")"
        cp /bin/true "$root$exe"
done
echo "systemd-units: verify tree: ${debs:+the .debs of$debs; }the rest from systemd/ with stubs at ExecStart="

for u in $units; do
        unit=$src/systemd/$u.service

        if systemd-analyze verify --man=no --root="$root" "$u.service" >"$work/last.log" 2>&1 &&
           [ ! -s "$work/last.log" ]; then
                ok "$u: systemd-analyze verify --root reports nothing"
        else
                fail "$u: systemd-analyze verify --root"
        fi

        if systemd-analyze security --offline=true "$unit" >"$work/last.log" 2>&1; then
                score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$work/last.log")
                echo "systemd-units: $u.service exposure score $score (at most $max_score)"
                if [ -n "$score" ] && awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s <= m) }'; then
                        ok "$u: exposure score $score <= $max_score"
                else
                        # Only what raises the score, not the whole table.
                        grep -e '✗' -e 'Overall' "$work/last.log" >"$work/worse.log"
                        mv "$work/worse.log" "$work/last.log"
                        fail "$u: exposure score '$score' > $max_score"
                fi
        else
                fail "$u: systemd-analyze security --offline=true"
        fi

        : >"$work/last.log"
        for want in '^Type=notify$' '^Restart=on-failure$' '^RestartPreventExitStatus=78$' \
                    '^StateDirectory=[a-z]' '^\(User=[a-z]\|DynamicUser=yes\)' '^NoNewPrivileges=yes$'; do
                grep -q "$want" "$unit" || echo "missing: $want" >>"$work/last.log"
        done
        if [ -s "$work/last.log" ]; then
                fail "$u: supervision and user settings"
        else
                ok "$u: Type=notify, Restart=on-failure, RestartPreventExitStatus=78, own user, StateDirectory="
        fi

        : >"$work/last.log"
        if grep -q '^WatchdogSec=[1-9]' "$unit"; then
                ok "$u: WatchdogSec= set"
        else
                fail "$u: WatchdogSec= missing"
        fi

        # ISO-TP needs AF_CAN in primaryd and secondaryd; the server never talks CAN.
        families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
        case $u in
        uptane-server) want_can=no ;;
        *) want_can=yes ;;
        esac
        case " $families " in *" AF_CAN "*) has_can=yes ;; *) has_can=no ;; esac
        if [ "$has_can" = "$want_can" ]; then
                ok "$u: AF_CAN allowed: $has_can ($families)"
        else
                echo "RestrictAddressFamilies=$families" >"$work/last.log"
                fail "$u: AF_CAN allowed: $has_can, want $want_can"
        fi

        # A hardening line whose previous line is not a comment.
        awk '/^(NoNewPrivileges|Protect|Private|Restrict|LockPersonality|MemoryDeny|SystemCall|Capability|UMask|RemoveIPC|ProcSubset)/ &&
             prev !~ /^#/ { print FILENAME ":" NR ": " $0 } { prev = $0 }' \
                "$unit" >"$work/last.log"
        if [ -s "$work/last.log" ]; then
                fail "$u: hardening lines without a comment"
        else
                ok "$u: every hardening line has a comment"
        fi

        : >"$work/last.log"
        for page in $(sed -n 's/^Documentation=//p' "$unit" | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p'); do
                [ -f "$src/docs/man/$page.scd" ] || [ "$page" = uptane.conf.5 ] ||
                        echo "no docs/man/$page.scd" >>"$work/last.log"
        done
        if [ -s "$work/last.log" ]; then
                fail "$u: Documentation= man pages"
        else
                ok "$u: every Documentation= man page has a source"
        fi
done

if command -v journalctl >/dev/null 2>&1; then
        mkdir -p "$work/cat/usr/lib/systemd/catalog"
        cp "$catalog" "$work/cat/usr/lib/systemd/catalog/uptane-primaryd.catalog"
        want=$(grep -c '^-- ' "$catalog")
        if journalctl --root="$work/cat" --update-catalog >"$work/last.log" 2>&1 &&
           journalctl --root="$work/cat" --list-catalog >"$work/list" 2>>"$work/last.log"; then
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
        for pair in "uptane-primaryd:uptane:Uptane Primary daemon:/var/lib/uptane" \
                    "uptane-server:uptane-server:Uptane server (Image repository, Director, time server):/var/lib/uptane-server"; do
                file=${pair%%:*}
                rest=${pair#*:}
                user=${rest%%:*}
                rest=${rest#*:}
                gecos=${rest%:*}
                home=${rest##*:}
                if systemd-sysusers --root="$work/sysroot" "$src/systemd/$file.sysusers" >"$work/last.log" 2>&1 &&
                   grep -qF "$user:x:" "$work/sysroot/etc/passwd" &&
                   grep "^$user:x:" "$work/sysroot/etc/passwd" | grep -qF ":$gecos:$home:" &&
                   grep -q "^$user:" "$work/sysroot/etc/group"; then
                        ok "systemd-sysusers creates user and group $user ($file.sysusers)"
                else
                        grep "^$user:" "$work/sysroot/etc/passwd" >>"$work/last.log"
                        fail "systemd-sysusers $file.sysusers"
                fi
        done
else
        skip "sysusers" "systemd-sysusers not found"
fi

echo "systemd-units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
