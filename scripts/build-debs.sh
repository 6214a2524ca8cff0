#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages of the current tree (committed or not) into
# OUTDIR and checks them: dpkg-buildpackage, lintian (no error, no warning),
# the files each package must ship, conffiles, maintainer scripts.
#
#   scripts/build-debs.sh OUTDIR
#
# The tree is copied to a temporary directory first: dpkg-buildpackage
# writes into the tree and its parent. The last line reads
# "packaging: N passed, M failed"; the exit status is 0 only when M is 0.
set -uo pipefail

if [ $# -ne 1 ]; then
        echo "usage: $0 OUTDIR" >&2
        exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 1
out=$(cd "$1" && pwd)

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
finish() {
        echo "packaging: $passed passed, $failed failed"
        [ "$failed" -eq 0 ]
        exit
}

work=$(mktemp -d "${TMPDIR:-/tmp}/uptane-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
tree=$work/uptane-primaryd

# Tracked and new files, without build directories or ignored files.
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z -c -o --exclude-standard |
                while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
                grep -zv -e '^build' -e '^tests/interop/node_modules/' |
                tar -c --null -T - -f -) | tar -x -C "$tree"
else
        tar -C "$src" -c --exclude='./build*' --exclude='./.git' \
                --exclude='./tests/interop/node_modules' -f - . | tar -x -C "$tree"
fi

start=$(date +%s)
echo "building in $tree (log: $out/build.log)"
if (cd "$tree" && nice dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
        ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
        grep -E -e 'error:|^FAILED|ERROR|warning:' "$out/build.log" | tail -n 20 | cut -c1-300 | sed 's/^/    /'
        fail "dpkg-buildpackage -us -uc -b"
        finish
fi

rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
changes=$(ls "$out"/*.changes)

# lintian prints E: and W: lines (and overridden tags not at all).
if command -v lintian >/dev/null 2>&1; then
        lintian --fail-on none "$changes" >"$out/lintian.log" 2>&1
        sed 's/^/    /' "$out/lintian.log"
        errors=$(grep -c '^E: ' "$out/lintian.log")
        warnings=$(grep -c '^W: ' "$out/lintian.log")
        if [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]; then
                ok "lintian: 0 errors, 0 warnings"
        else
                fail "lintian: $errors errors, $warnings warnings"
        fi
else
        fail "lintian not installed (scripts/install-deps.sh)"
fi

# deb_has PACKAGE PATH...: each PATH is in the package's data.
deb_has() {
        local pkg=$1 deb list p
        shift
        deb=$(ls "$out/${pkg}"_*.deb 2>/dev/null | head -n 1)
        if [ -z "$deb" ]; then
                fail "$pkg: no .deb"
                return
        fi
        list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
        for p in "$@"; do
                if grep -qx -- "$p" <<<"$list"; then
                        ok "$pkg ships $p"
                else
                        fail "$pkg ships $p"
                fi
        done
}

# control_has PACKAGE FILE PATTERN WHAT: the control member FILE matches.
control_has() {
        local deb
        deb=$(ls "$out/${1}"_*.deb 2>/dev/null | head -n 1)
        if [ -n "$deb" ] && dpkg-deb --info "$deb" "$2" 2>/dev/null | grep -q -- "$3"; then
                ok "$1: $4"
        else
                fail "$1: $4"
        fi
}

deb_has uptane-primaryd /usr/bin/uptane-primaryd /usr/bin/uptanectl /etc/uptane.conf \
        /lib/systemd/system/uptane-primaryd.service /usr/lib/sysusers.d/uptane-primaryd.conf \
        /usr/lib/systemd/catalog/uptane-primaryd.catalog /usr/share/dbus-1/system.d/org.uptane.Primary1.conf \
        /usr/share/man/man8/uptane-primaryd.8.gz /usr/share/man/man1/uptanectl.1.gz \
        /usr/share/man/man5/uptane.conf.5.gz
deb_has uptane-secondaryd /usr/bin/uptane-secondaryd /etc/uptane-secondary.conf \
        /lib/systemd/system/uptane-secondaryd.service /usr/lib/systemd/catalog/uptane-secondaryd.catalog \
        /usr/share/man/man8/uptane-secondaryd.8.gz \
        /usr/share/man/man5/uptane-secondary.conf.5.gz
deb_has uptane-server /usr/bin/uptane-server /usr/bin/uptane-repo /usr/bin/uptane-tuf-client \
        /lib/systemd/system/uptane-server.service /usr/lib/sysusers.d/uptane-server.conf \
        /usr/share/man/man8/uptane-server.8.gz /usr/share/man/man1/uptane-repo.1.gz \
        /usr/share/man/man1/uptane-tuf-client.1.gz

control_has uptane-primaryd conffiles '^/etc/uptane.conf$' "/etc/uptane.conf is a conffile"
control_has uptane-secondaryd conffiles '^/etc/uptane-secondary.conf$' "/etc/uptane-secondary.conf is a conffile"
control_has uptane-primaryd postinst 'systemd-sysusers.*uptane-primaryd.conf' "postinst creates the user"
control_has uptane-server postinst 'systemd-sysusers.*uptane-server.conf' "postinst creates the user"
control_has uptane-primaryd postinst "deb-systemd-helper enable 'uptane-primaryd.service'" \
        "postinst enables uptane-primaryd.service"
# Test and back-office tools: enabled again on upgrade only if the user had (debian-installed).
for pkg in uptane-secondaryd uptane-server; do
        control_has "$pkg" postinst "debian-installed '$pkg.service'" "postinst leaves $pkg.service disabled unless the user enabled it"
done
for pkg in uptane-primaryd uptane-secondaryd uptane-server; do
        control_has "$pkg" prerm "deb-systemd-invoke stop '$pkg.service'" "prerm stops $pkg.service on removal"
        control_has "$pkg" postrm 'rm -rf /var/lib/uptane' "postrm purges the state"
done

echo "debs in $out ($(($(date +%s) - start)) s)"
finish
